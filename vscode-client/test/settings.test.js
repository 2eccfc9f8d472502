'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
require('./helpers/vscode-mock');
const { readClientSettings, serverConfiguration, configurationForSection } = require('../out/settings');

/** A ConfigurationReader over a plain object of `key -> value` (keys under `codeintel`). */
function reader(values) {
    return { get: (key) => values[key] };
}

test('client settings default to `codeintel lsp` with no extra environment', () => {
    assert.deepEqual(readClientSettings(reader({})), {
        serverPath: 'codeintel',
        serverArgs: ['lsp'],
        serverEnv: {},
        reportOpenIn: 'webview',
    });
});

test('client settings take the configured path, arguments and environment', () => {
    const settings = readClientSettings(
        reader({
            serverPath: '  /opt/venv/bin/codeintel ',
            serverArgs: ['lsp', '--tcp', 8080],
            serverEnv: { CODEINTEL_DEBUG: 1, EMPTY: null },
            'report.openIn': 'browser',
        }),
    );
    assert.equal(settings.serverPath, '/opt/venv/bin/codeintel');
    assert.deepEqual(settings.serverArgs, ['lsp', '--tcp', '8080']);
    assert.deepEqual(settings.serverEnv, { CODEINTEL_DEBUG: '1' });
    assert.equal(settings.reportOpenIn, 'browser');
});

test('client settings of the wrong type fall back to the defaults', () => {
    const settings = readClientSettings(reader({ serverPath: '', serverArgs: 'lsp', serverEnv: ['X=1'], 'report.openIn': 'nowhere' }));
    assert.equal(settings.serverPath, 'codeintel');
    assert.deepEqual(settings.serverArgs, ['lsp']);
    assert.deepEqual(settings.serverEnv, {});
    assert.equal(settings.reportOpenIn, 'webview');
});

test('the server configuration nests the server settings and leaves out the unset ones', () => {
    assert.deepEqual(
        serverConfiguration(
            reader({
                serverPath: '/x/codeintel',
                'completion.backend': 'http',
                'completion.url': 'http://localhost:8000/v1',
                'completion.model': 'qwen',
                'completion.modelPath': '',
                'merge.threshold': 0.75,
                'index.maxFileSize': '2M',
                'diagnostics.conflictMarkers': false,
            }),
        ),
        {
            completion: { backend: 'http', url: 'http://localhost:8000/v1', model: 'qwen' },
            merge: { threshold: 0.75 },
            index: { maxFileSize: '2M' },
            diagnostics: { conflictMarkers: false },
        },
    );
});

test('settings at their defaults send nothing that would override .codeintel/config.toml', () => {
    const defaults = {
        'completion.backend': 'default',
        'completion.modelPath': '',
        'completion.url': '',
        'completion.model': '',
        'merge.threshold': null,
        'index.maxFileSize': '',
        'diagnostics.conflictMarkers': true,
    };
    assert.deepEqual(serverConfiguration(reader(defaults)), { diagnostics: { conflictMarkers: true } });
});

test('workspace/configuration sections of codeintel are answered at any depth', () => {
    const config = reader({ 'completion.backend': 'hf', 'completion.modelPath': '/models/m', 'merge.threshold': 0.8 });
    assert.deepEqual(configurationForSection('codeintel', config), {
        completion: { backend: 'hf', modelPath: '/models/m' },
        merge: { threshold: 0.8 },
    });
    assert.deepEqual(configurationForSection('codeintel.completion', config), { backend: 'hf', modelPath: '/models/m' });
    assert.equal(configurationForSection('codeintel.merge.threshold', config), 0.8);
    assert.deepEqual(configurationForSection('codeintel.index', config), {});
    assert.equal(configurationForSection('codeintel.index.maxFileSize', config), null);
});

test('workspace/configuration sections of other extensions are not ours', () => {
    const config = reader({ 'completion.backend': 'hf' });
    assert.equal(configurationForSection('python', config), undefined);
    assert.equal(configurationForSection('codeintelx', config), undefined);
    assert.equal(configurationForSection(undefined, config), undefined);
});
