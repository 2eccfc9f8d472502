'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { state, reset } = require('./helpers/vscode-mock');
const extension = require('../out/extension');
const { COMMANDS } = require('../out/commands');

test('activate() with the real LanguageClient and no server installed shows the error and keeps the commands', async () => {
    reset();
    state.config['codeintel.serverPath'] = 'codeintel-definitely-not-installed';
    const controller = extension.activate({ subscriptions: [] });
    await controller.settled(); // the start that activate() began
    assert.equal(controller.serverState.kind, 'missing');
    assert.ok(state.messages.length >= 1);
    assert.ok(state.messages.every((m) => m.level === 'error' && /codeintel-definitely-not-installed" was not found/.test(m.text)));
    assert.deepEqual([...state.commands.keys()].sort(), COMMANDS.map((c) => c.id).sort());
    await extension.deactivate();
    assert.equal(state.commands.size, 0);
});

test('the real client factory builds a LanguageClient named codeintel from the launch', () => {
    reset();
    const launch = { command: '/opt/bin/codeintel', args: ['lsp'], options: { env: { A: '1' }, cwd: '/repo' } };
    const client = extension.createLanguageClient(launch, { documentSelector: [{ scheme: 'file', language: 'python' }] });
    assert.equal(client.name, 'codeintel');
    assert.equal(client.constructor.name, 'LanguageClient');
    // No transport kind: TransportKind.stdio would add `--stdio` to the arguments.
    assert.deepEqual(client._serverOptions, { command: '/opt/bin/codeintel', args: ['lsp'], options: { env: { A: '1' }, cwd: '/repo' } });
});
