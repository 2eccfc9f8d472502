'use strict';
/**
 * package.json's contributions against the code that implements them, so the two cannot
 * drift: every contributed command is registered and vice versa, every contributed setting is
 * in the SETTINGS table with the same default and vice versa, every server setting is one the
 * server reads (the agreed keys), and the activation events cover the indexed languages.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
require('./helpers/vscode-mock');
const { COMMANDS, CATEGORY } = require('../out/commands');
const { SETTINGS } = require('../out/settings');
const { INDEXED_LANGUAGES } = require('../out/documents');

const root = path.join(__dirname, '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const contributed = manifest.contributes;

/** The workspace/executeCommand names and configuration keys agreed with the language server. */
const SERVER_COMMANDS = ['codeintel.index', 'codeintel.train', 'codeintel.report', 'codeintel.installMergeDriver', 'codeintel.resolveConflicts'];
const SERVER_SETTING_KEYS = [
    'completion.backend',
    'completion.modelPath',
    'completion.url',
    'completion.model',
    'merge.threshold',
    'index.maxFileSize',
    'diagnostics.conflictMarkers',
    'diagnostics.nearDuplicates',
    'diagnostics.suggestedEdits',
    'clones.threshold',
    'references.maxResults',
];

test('the contributed commands are exactly the registered ones, with their palette titles', () => {
    assert.deepEqual(
        contributed.commands.map((c) => [c.command, `${c.category}: ${c.title}`]),
        COMMANDS.map((c) => [c.id, `${CATEGORY}: ${c.title}`]),
    );
    const titles = contributed.commands.map((c) => `${c.category}: ${c.title}`);
    for (const wanted of [
        'codeintel: Index workspace',
        'codeintel: Train model…',
        'codeintel: Show report',
        'codeintel: Install merge driver',
        'codeintel: Resolve conflicts in this file',
        'codeintel: Restart server',
    ]) {
        assert.ok(titles.includes(wanted), wanted);
    }
});

test('every server command is sent by exactly one palette command, and no id collides with a server command', () => {
    assert.deepEqual(COMMANDS.filter((c) => c.serverCommand).map((c) => c.serverCommand).sort(), [...SERVER_COMMANDS].sort());
    const ids = COMMANDS.map((c) => c.id);
    assert.equal(new Set(ids).size, ids.length);
    // vscode-languageclient registers the server's commands under their own names.
    for (const id of ids) {
        assert.ok(!SERVER_COMMANDS.includes(id), `${id} would clash with the server's command`);
    }
});

test('menus refer only to contributed commands', () => {
    const ids = new Set(contributed.commands.map((c) => c.command));
    for (const [menu, entries] of Object.entries(contributed.menus)) {
        for (const entry of entries) {
            assert.ok(ids.has(entry.command), `${menu}: ${entry.command}`);
        }
    }
});

test('the contributed settings are exactly the SETTINGS table, with the same defaults and a description each', () => {
    const properties = contributed.configuration.properties;
    assert.deepEqual(Object.keys(properties).sort(), SETTINGS.map((s) => `codeintel.${s.key}`).sort());
    for (const spec of SETTINGS) {
        const property = properties[`codeintel.${spec.key}`];
        assert.deepEqual(property.default, spec.default, spec.key);
        assert.ok((property.description ?? property.markdownDescription ?? '').length > 20, `${spec.key} has a description`);
        if (property.enum) {
            assert.ok(property.enum.includes(spec.default), `${spec.key}: the default is one of the choices`);
        }
    }
});

test('the settings sent to the server are the keys the server reads', () => {
    assert.deepEqual(SETTINGS.filter((s) => s.scope === 'server').map((s) => s.key).sort(), [...SERVER_SETTING_KEYS].sort());
    const client = SETTINGS.filter((s) => s.scope === 'client').map((s) => s.key);
    assert.ok(client.includes('serverPath') && client.includes('serverArgs'));
    assert.deepEqual(contributed.configuration.properties['codeintel.serverArgs'].default, ['lsp']);
    assert.equal(contributed.configuration.properties['codeintel.serverPath'].default, 'codeintel');
});

test('the extension activates for every indexed language and for a workspace with .codeintel', () => {
    const events = manifest.activationEvents;
    assert.deepEqual(
        events.filter((e) => e.startsWith('onLanguage:')).map((e) => e.slice('onLanguage:'.length)),
        [...INDEXED_LANGUAGES],
    );
    for (const language of ['python', 'javascript', 'typescript', 'typescriptreact', 'java', 'go', 'rust', 'c', 'cpp']) {
        assert.ok(events.includes(`onLanguage:${language}`), language);
    }
    assert.ok(events.includes('workspaceContains:.codeintel'));
});

test('the manifest is publishable: entry point, engine, publisher, licence, and types no newer than the engine', () => {
    assert.equal(manifest.main, './out/extension.js');
    assert.ok(fs.existsSync(path.join(root, 'src', 'extension.ts')));
    assert.equal(manifest.engines.vscode, '^1.91.0');
    assert.ok(manifest.publisher && manifest.license && manifest.repository && manifest.repository.url);
    assert.ok(fs.existsSync(path.join(root, 'LICENSE')) && fs.existsSync(path.join(root, 'README.md')) && fs.existsSync(path.join(root, 'CHANGELOG.md')));
    const engine = manifest.engines.vscode.replace(/^\^/, '').split('.').map(Number);
    const types = manifest.devDependencies['@types/vscode'].replace(/^[\^~]/, '').split('.').map(Number);
    assert.ok(types[0] < engine[0] || (types[0] === engine[0] && types[1] <= engine[1]), 'vsce refuses @types/vscode newer than engines.vscode');
    assert.match(manifest.dependencies['vscode-languageclient'], /^\^?11\./);
});

test('an untrusted workspace cannot pick the server program or a completion endpoint through its own settings', () => {
    const restricted = manifest.capabilities.untrustedWorkspaces.restrictedConfigurations;
    for (const key of ['serverPath', 'serverArgs', 'serverEnv', 'completion.backend', 'completion.url']) {
        assert.ok(restricted.includes(`codeintel.${key}`), key);
    }
    const known = new Set(SETTINGS.map((s) => `codeintel.${s.key}`));
    assert.ok(restricted.every((key) => known.has(key)));
    assert.equal(manifest.capabilities.virtualWorkspaces.supported, false);
});
