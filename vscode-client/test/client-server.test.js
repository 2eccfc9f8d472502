'use strict';
/**
 * The real extension with the real vscode-languageclient, against a language server process
 * (test/helpers/fake-server.js) over stdio: what is spawned (path, args, cwd, env), what the
 * server receives on initialize and for workspace/configuration, and every command as
 * workspace/executeCommand on the wire, with the server's $/progress shown in the
 * notification. Only the `vscode` module is mocked.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { state, reset, setConfig, Uri } = require('./helpers/vscode-mock');
const extension = require('../out/extension');
const { COMMANDS } = require('../out/commands');

const SERVER = path.join(__dirname, 'helpers', 'fake-server.js');

function events(logFile, kind) {
    if (!fs.existsSync(logFile)) {
        return [];
    }
    return fs
        .readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line))
        .filter((entry) => entry.event === kind);
}

async function waitFor(what, predicate, ms = 10000) {
    const deadline = Date.now() + ms;
    for (;;) {
        const value = predicate();
        if (value) {
            return value;
        }
        if (Date.now() > deadline) {
            throw new Error(`timed out waiting for ${what}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
}

test('the extension drives a real server process over stdio', { timeout: 60000, skip: process.platform === 'win32' }, async (t) => {
    reset();
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'codeintel-e2e-'));
    t.after(() => fs.rmSync(folder, { recursive: true, force: true }));
    const logFile = path.join(folder, 'server.jsonl');
    const report = path.join(folder, '.codeintel', 'report.html');
    fs.mkdirSync(path.dirname(report));
    fs.writeFileSync(report, '<html><body><h1>report from the server</h1></body></html>');

    state.workspaceFolders = [{ uri: Uri.file(folder), name: 'ws', index: 0 }];
    Object.assign(state.config, {
        'codeintel.serverPath': SERVER,
        'codeintel.serverArgs': ['lsp', '--log-level', 'debug'],
        'codeintel.serverEnv': { FAKE_SERVER_LOG: logFile, FAKE_SERVER_REPORT: report, CODEINTEL_TEST: 'yes' },
        'codeintel.completion.backend': 'http',
        'codeintel.completion.url': 'http://127.0.0.1:9/v1',
        'codeintel.merge.threshold': 0.8,
    });

    const controller = extension.activate({ subscriptions: [] });
    let deactivated = false;
    t.after(async () => {
        if (!deactivated) {
            await extension.deactivate();
        }
    });
    await controller.settled();
    assert.deepEqual(controller.serverState, { kind: 'running' });
    assert.deepEqual(state.messages, []);
    assert.equal(state.statusItems[0].text, '$(check) codeintel');

    // What was started, and what it was told.
    const [started] = events(logFile, 'started');
    assert.deepEqual(started.argv, ['lsp', '--log-level', 'debug']);
    assert.equal(fs.realpathSync(started.cwd), fs.realpathSync(folder));
    assert.equal(started.env.CODEINTEL_TEST, 'yes');
    const [init] = events(logFile, 'initialize');
    const expectedSettings = { completion: { backend: 'http', url: 'http://127.0.0.1:9/v1' }, merge: { threshold: 0.8 } };
    assert.deepEqual(init.initializationOptions, { ...expectedSettings, workspaceTrusted: true });
    assert.equal(init.rootUri, Uri.file(folder).toString());
    const [configuration] = await waitFor('workspace/configuration', () => events(logFile, 'configuration').length && events(logFile, 'configuration'));
    assert.deepEqual(configuration.answer, [expectedSettings, expectedSettings.completion]);

    // The server's own command names are registered by the client next to ours, without a clash.
    for (const id of [...COMMANDS.map((c) => c.id), 'codeintel.index', 'codeintel.train', 'codeintel.report']) {
        assert.ok(state.commands.has(id), id);
    }

    // Every command, over the wire.
    state.quickPickAnswer = (items) => items.find((item) => item.label === 'merge');
    state.activeTextEditor = { document: { uri: Uri.file(path.join(folder, 'app.py')) } };
    await state.commands.get('codeintel.indexWorkspace')();
    await state.commands.get('codeintel.trainModel')();
    await state.commands.get('codeintel.showReport')();
    await state.commands.get('codeintel.installGitMergeDriver')();
    await state.commands.get('codeintel.resolveConflictsInFile')();
    const executed = events(logFile, 'executeCommand');
    assert.deepEqual(
        executed.map((e) => [e.command, e.arguments]),
        [
            ['codeintel.index', []],
            ['codeintel.train', ['merge']],
            ['codeintel.report', [{ format: 'html' }]],
            ['codeintel.installMergeDriver', []],
            ['codeintel.resolveConflicts', [Uri.file(path.join(folder, 'app.py')).toString()]],
        ],
    );
    assert.ok(executed.every((e) => typeof e.workDoneToken === 'string'));
    assert.deepEqual(state.progress[0].reports, [{ message: 'codeintel.index' }, { message: 'half way', increment: 50 }]);
    // Progress on a token the server created: the client's own status-bar progress, and the command's notification.
    const training = state.progress.filter((p) => p.options.title === 'codeintel: Training the merge model');
    assert.equal(training.length, 1);
    assert.deepEqual(training[0].reports, [{ message: 'Training the merge model' }, { message: 'epoch 1/4', increment: 25 }]);
    assert.ok(state.progress.some((p) => p.options.title === 'Training the merge model' && p.options.location === 10), 'status-bar progress');
    assert.equal(state.webviews[0].webview.html, '<html><body><h1>report from the server</h1></body></html>');
    assert.deepEqual(
        state.messages.map((m) => [m.level, m.text]),
        [
            ['info', 'codeintel: indexed 7 files'],
            ['info', 'codeintel: codeintel.train ran with ["merge"]'],
            ['info', 'codeintel: codeintel.installMergeDriver ran with []'],
        ],
    );

    // A settings change reaches the running server.
    setConfig({ 'codeintel.diagnostics.conflictMarkers': false });
    const [changed] = await waitFor('didChangeConfiguration', () => events(logFile, 'didChangeConfiguration').length && events(logFile, 'didChangeConfiguration'));
    assert.equal(changed.params.settings.codeintel.diagnostics.conflictMarkers, false);

    // Deactivation shuts the server down properly.
    await extension.deactivate();
    deactivated = true;
    assert.equal(events(logFile, 'shutdown').length, 1);
    assert.equal(controller.serverState.kind, 'stopped');
});
