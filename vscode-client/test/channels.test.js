'use strict';
/**
 * The output channel as a user reads it (issue #25): `codeintel.trace.server` alone turns the
 * protocol trace on (the real vscode-languageclient, with the channel the extension gives it),
 * and the server's stderr shows at the level the server logged each line, not all as [error].
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { Readable } = require('node:stream');
const { state, reset, setConfig, vscode } = require('./helpers/vscode-mock');
const extension = require('../out/extension');
const { serverStdio, stderrLeveller, traceChannel } = require('../out/channels');
const { Controller } = require('../out/controller');

function recordingChannel() {
    const channel = { name: 'codeintel', logLevel: vscode.LogLevel.Info, records: [], onDidChangeLogLevel: () => ({ dispose() {} }) };
    for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'append', 'appendLine', 'replace']) {
        channel[level] = (line) => channel.records.push([level, String(line)]);
    }
    return channel;
}

test('codeintel.trace.server turns the protocol trace on and off with the extension\'s options (the channel at its default level)', async () => {
    reset();
    state.config['codeintel.trace.server'] = 'messages';
    const controller = new Controller(extension.createLanguageClient);
    const client = extension.createLanguageClient({ command: 'codeintel', args: ['lsp'], options: {} }, controller.clientOptions());
    const traced = [];
    const connection = { trace: async (value, tracer) => { traced.push(value); tracer.log('Sending request "initialize"'); } };
    client.hookLogLevelChanged(connection);
    client.refreshTrace(connection);
    assert.equal(traced.at(-1), 1, 'Trace.Messages'); // before: Off, as the channel was not at its Trace level
    assert.ok(state.outputChannels[0].lines.some((line) => line.includes('Sending request "initialize"')));
    setConfig({ 'codeintel.trace.server': 'off' });
    assert.equal(traced.at(-1), 0, 'the setting turns it off again, without a restart');
    setConfig({ 'codeintel.trace.server': 'verbose' });
    assert.equal(traced.at(-1), 3, 'Trace.Verbose');
    await controller.dispose();
});

test('the trace channel is at the Trace level while the setting asks for a trace, and writes into the codeintel channel', () => {
    reset();
    state.config['codeintel.trace.server'] = 'messages';
    const target = recordingChannel();
    const channel = traceChannel(target);
    assert.equal(channel.logLevel, vscode.LogLevel.Trace);
    channel.trace('[Trace] Sending notification');
    assert.deepEqual(target.records, [['info', '[Trace] Sending notification']]);
});

test('server stderr lines keep the server\'s levels; a traceback and what precedes the log are errors', async () => {
    const level = stderrLeveller();
    assert.equal(level('python: some early complaint'), 'error');
    assert.equal(level('codeintel-lsp WARNING codeintel.lsp.merge: the threshold 2 is ignored'), 'warn');
    assert.equal(level('  a second line of the same message'), 'warn');
    assert.equal(level('codeintel-lsp INFO pygls: started'), 'info');
    assert.equal(level('Traceback (most recent call last):'), 'error');
    assert.equal(level('codeintel-lsp ERROR pygls.protocol: failed'), 'error');

    const channel = recordingChannel();
    serverStdio().stderr(Readable.from(['codeintel-lsp WARNING x: careful\n', 'codeintel-lsp ERROR y: broken\n']), channel);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(channel.records, [['warn', 'codeintel-lsp WARNING x: careful'], ['error', 'codeintel-lsp ERROR y: broken']]);
});
