'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { state, reset, setConfig, Uri } = require('./helpers/vscode-mock');
const { fakeFactory } = require('./helpers/fake-client');
const { Controller } = require('../out/controller');
const { COMMANDS } = require('../out/commands');

const SERVER = '/fake/bin/codeintel';
const onlyServer = (file) => file === SERVER;
const ENV = { PATH: '/fake/bin', LANG: 'C.UTF-8' };

/** A Controller over a fake client, activated in a workspace folder; disposed after the test. */
async function activated(t, behaviour = {}, config = {}) {
    reset();
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'codeintel-ws-'));
    t.after(() => fs.rmSync(folder, { recursive: true, force: true }));
    state.workspaceFolders = [{ uri: Uri.file(folder), name: 'ws', index: 0 }];
    Object.assign(state.config, config);
    const fake = fakeFactory(behaviour);
    const controller = new Controller(fake.factory, ENV, onlyServer);
    t.after(() => controller.dispose());
    await controller.activate();
    return { controller, fake, folder, client: () => fake.clients[fake.clients.length - 1] };
}

const run = (id, ...args) => state.commands.get(id)(...args);

test('activation registers every command and starts `codeintel lsp` found on PATH in the workspace folder', async (t) => {
    const { controller, fake, folder } = await activated(t);
    assert.deepEqual([...state.commands.keys()].sort(), COMMANDS.map((c) => c.id).sort());
    assert.equal(fake.clients.length, 1);
    const { launch, options } = fake.clients[0];
    assert.equal(launch.command, SERVER);
    assert.deepEqual(launch.args, ['lsp']);
    assert.equal(launch.options.cwd, folder);
    assert.equal(launch.options.env.LANG, 'C.UTF-8');
    assert.equal(fake.clients[0].started, 1);
    assert.equal(controller.serverState.kind, 'running');
    assert.deepEqual(
        options.documentSelector.map((s) => s.language),
        ['python', 'javascript', 'javascriptreact', 'typescript', 'typescriptreact', 'java', 'go', 'rust', 'c', 'cpp'],
    );
    assert.match(state.watchers[0].glob, /\*\*\/\*\.\{py,/);
    assert.equal(state.statusItems[0].text, '$(check) codeintel');
    assert.equal(state.statusItems[0].visible, true);
    assert.deepEqual(state.messages, []);
});

test('serverPath, serverArgs and serverEnv from the settings reach the launch', async (t) => {
    const { fake } = await activated(t, {}, {
        'codeintel.serverPath': SERVER,
        'codeintel.serverArgs': ['lsp', '--tcp', '127.0.0.1:2087'],
        'codeintel.serverEnv': { CODEINTEL_DEBUG: '1' },
    });
    const { launch } = fake.clients[0];
    assert.deepEqual(launch.args, ['lsp', '--tcp', '127.0.0.1:2087']);
    assert.equal(launch.options.env.CODEINTEL_DEBUG, '1');
    assert.equal(launch.options.env.PATH, '/fake/bin');
});

test('a missing server binary is an error message with a way out, a red status, and no crash', async (t) => {
    state.messageChoices = [];
    const { controller, fake } = await activated(t, {}, { 'codeintel.serverPath': 'codeintel-not-installed' });
    assert.equal(fake.clients.length, 0);
    assert.equal(controller.serverState.kind, 'missing');
    assert.equal(state.messages.length, 1);
    const [message] = state.messages;
    assert.equal(message.level, 'error');
    assert.match(message.text, /"codeintel-not-installed" was not found \(not on PATH\)/);
    assert.match(message.text, /codeintel\.serverPath/);
    assert.deepEqual(message.items, ['Open Settings', 'Show Log']);
    assert.match(state.statusItems[0].text, /server not found/);
    assert.equal(state.statusItems[0].command, 'codeintel.restartServer');
    assert.equal(state.statusItems[0].backgroundColor.id, 'statusBarItem.errorBackground');
    assert.match(state.outputChannels[0].lines.join('\n'), /was not found/);

    // A command run now explains the same problem instead of failing obscurely.
    await run('codeintel.indexWorkspace');
    assert.equal(state.messages.length, 2);
    assert.match(state.messages[1].text, /"codeintel-not-installed" was not found/);
});

test('"Open Settings" on the missing-server message opens the serverPath setting', async (t) => {
    reset();
    state.messageChoices = ['Open Settings'];
    const fake = fakeFactory();
    const controller = new Controller(fake.factory, { PATH: '' }, onlyServer);
    t.after(() => controller.dispose());
    await controller.activate();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(state.executed, [['workbench.action.openSettings', ['codeintel.serverPath']]]);
});

test('fixing serverPath restarts the server with the new path', async (t) => {
    const { controller, fake } = await activated(t, {}, { 'codeintel.serverPath': 'missing' });
    assert.equal(controller.serverState.kind, 'missing');
    setConfig({ 'codeintel.serverPath': SERVER });
    await controller.restart(); // the listener's restart runs concurrently; this waits for it
    assert.equal(fake.clients.length, 2, 'the listener\'s restart and this one run one after the other');
    assert.equal(fake.clients[0].stopped, 1, 'no server is left running behind a newer one');
    assert.equal(fake.clients[1].launch.command, SERVER);
    assert.equal(fake.clients[1].stopped, 0);
    assert.equal(controller.serverState.kind, 'running');
});

test('a server that fails to start leaves a failed status and one error message', async (t) => {
    const { controller } = await activated(t, { startError: 'Connection to server got closed.' });
    assert.equal(controller.serverState.kind, 'failed');
    assert.equal(state.messages.length, 1);
    assert.match(state.messages[0].text, /did not start: Connection to server got closed\./);
    assert.deepEqual(state.messages[0].items, ['Show Log']);
    await run('codeintel.showReport');
    assert.match(state.messages[1].text, /not running/);
});

test('each server command sends workspace/executeCommand with the agreed name, arguments and a progress token', async (t) => {
    const answers = {
        'codeintel.index': { files: 3 },
        'codeintel.train': { ok: true, message: 'trained' },
        'codeintel.installMergeDriver': { ok: true, message: 'installed' },
        'codeintel.resolveConflicts': { changes: {} },
    };
    const { fake } = await activated(t, { respond: (params) => answers[params.command] });
    state.activeTextEditor = { document: { uri: Uri.file('/repo/app.py') } };
    state.quickPickAnswer = (items) => items.find((i) => i.label === 'merge');
    await run('codeintel.indexWorkspace');
    await run('codeintel.trainModel');
    await run('codeintel.installGitMergeDriver');
    await run('codeintel.resolveConflictsInFile');
    const sent = fake.clients[0].requests;
    assert.deepEqual(
        sent.map((r) => [r.method, r.params.command, r.params.arguments]),
        [
            ['workspace/executeCommand', 'codeintel.index', []],
            ['workspace/executeCommand', 'codeintel.train', ['merge']],
            ['workspace/executeCommand', 'codeintel.installMergeDriver', []],
            ['workspace/executeCommand', 'codeintel.resolveConflicts', ['file:///repo/app.py']],
        ],
    );
    const tokens = sent.map((r) => r.params.workDoneToken);
    assert.equal(new Set(tokens).size, 4);
    assert.ok(sent.every((r) => r.token && typeof r.token.isCancellationRequested === 'boolean'));
    assert.deepEqual(
        state.progress.map((p) => p.options.title),
        ['codeintel: Indexing workspace', 'codeintel: Training the merge model', 'codeintel: Installing the merge driver', 'codeintel: Resolving conflicts'],
    );
    assert.ok(state.progress.every((p) => p.options.cancellable === true && p.options.location === 15));
    assert.deepEqual(state.quickPicks[0].items.map((i) => i.label), ['merge', 'completion', 'sketch', 'edits', 'clones']);
    assert.equal(fake.clients[0].progressHandlers.size, 0, 'progress listeners are removed after each command');
});

test('the server\'s work-done progress shows in the notification and the status bar says what runs', async (t) => {
    let statusDuring;
    const { fake } = await activated(t, {
        respond: (params, client) => {
            statusDuring = state.statusItems[0].text;
            client.progress(
                { kind: 'begin', title: 'Indexing', percentage: 0 },
                { kind: 'report', message: '120/400 files', percentage: 30 },
                { kind: 'report', message: '400/400 files', percentage: 100 },
                { kind: 'end', message: 'done' },
            );
            return { files: 400 };
        },
    });
    await run('codeintel.indexWorkspace');
    assert.equal(fake.clients[0].requests.length, 1);
    assert.deepEqual(state.progress[0].reports, [{ message: 'Indexing' }, { message: '120/400 files', increment: 30 }, { message: '400/400 files', increment: 70 }]);
    assert.equal(statusDuring, '$(sync~spin) codeintel: indexing workspace');
    assert.equal(state.statusItems[0].text, '$(check) codeintel');
    assert.deepEqual(state.messages.map((m) => m.text), ['codeintel: indexed 400 files']);
});

test('cancelling the progress notification cancels the request', async (t) => {
    const { fake } = await activated(t, {
        respond: (params, client, token) => {
            if (token.isCancellationRequested) {
                throw new Error('Request cancelled');
            }
            return { files: 1 };
        },
    });
    state.cancelNextProgress = true;
    await run('codeintel.indexWorkspace');
    assert.equal(fake.clients[0].requests[0].token.isCancellationRequested, true);
    assert.match(state.messages[0].text, /Index workspace failed: Request cancelled/);
});

test('Show report opens the returned HTML file in a webview with scripts disabled', async (t) => {
    const { folder } = await activated(t, {
        respond: (params) => {
            assert.deepEqual(params.arguments, [{ format: 'html' }]);
            return { path: report };
        },
    });
    const report = path.join(folder, '.codeintel', 'report.html');
    fs.mkdirSync(path.dirname(report));
    fs.writeFileSync(report, '<html><body><h1>codeintel report</h1></body></html>');
    await run('codeintel.showReport');
    assert.equal(state.webviews.length, 1);
    assert.equal(state.webviews[0].webview.html, '<html><body><h1>codeintel report</h1></body></html>');
    assert.equal(state.webviews[0].options.enableScripts, false);
    assert.equal(state.webviews[0].options.localResourceRoots[0].fsPath, path.dirname(report));

    // A second run refreshes the same panel.
    fs.writeFileSync(report, '<html><body>newer</body></html>');
    await run('codeintel.showReport');
    assert.equal(state.webviews.length, 1);
    assert.equal(state.webviews[0].webview.html, '<html><body>newer</body></html>');
    assert.equal(state.webviews[0].revealed, 1);
    assert.deepEqual(state.messages, []);
});

test('Show report opens the file in the browser when report.openIn is "browser"', async (t) => {
    const report = path.join(os.tmpdir(), `codeintel-report-${process.pid}.html`);
    fs.writeFileSync(report, '<html></html>');
    t.after(() => fs.rmSync(report, { force: true }));
    await activated(t, { respond: () => ({ path: report }) }, { 'codeintel.report.openIn': 'browser' });
    await run('codeintel.showReport');
    assert.equal(state.webviews.length, 0);
    assert.equal(state.opened.length, 1);
    assert.equal(state.opened[0].fsPath, report);
});

test('Show report whose file is missing is an error message', async (t) => {
    await activated(t, { respond: () => ({ path: '/nonexistent/report.html' }) });
    await run('codeintel.showReport');
    assert.equal(state.webviews.length, 0);
    assert.match(state.messages[0].text, /the report \/nonexistent\/report\.html does not exist/);
});

test('Resolve conflicts applies the returned edit only when the server did not send workspace/applyEdit', async (t) => {
    const edit = { changes: { 'file:///repo/app.py': [{ range: {}, newText: 'x\n' }] } };
    let serverApplies = true;
    const { fake } = await activated(t, {
        respond: async (params, client) => {
            if (serverApplies) {
                await client.options.middleware.workspace.handleApplyEdit({ edit }, async () => ({ applied: true }));
            }
            return edit;
        },
    });
    state.activeTextEditor = { document: { uri: Uri.file('/repo/app.py') } };
    await run('codeintel.resolveConflictsInFile');
    assert.deepEqual(state.appliedEdits, []);
    serverApplies = false;
    await run('codeintel.resolveConflictsInFile');
    assert.deepEqual(state.appliedEdits, [{ converted: edit }]);
    assert.equal(fake.clients[0].requests.length, 2);
});

test('workspace/configuration for codeintel is answered from the settings; other sections go to VS Code', async (t) => {
    const { fake } = await activated(t, {}, { 'codeintel.completion.backend': 'http', 'codeintel.completion.url': 'http://localhost:8000/v1', 'codeintel.merge.threshold': 0.7 });
    const { middleware, initializationOptions } = fake.clients[0].options;
    assert.deepEqual(initializationOptions, { completion: { backend: 'http', url: 'http://localhost:8000/v1' }, merge: { threshold: 0.7 }, workspaceTrusted: true });
    const nextCalls = [];
    const next = async (params) => (nextCalls.push(params), params.items.map((i) => `vscode:${i.section}`));
    const ours = await middleware.workspace.configuration({ items: [{ section: 'codeintel.completion' }, { section: 'codeintel.merge.threshold' }] }, undefined, next);
    assert.deepEqual(ours, [{ backend: 'http', url: 'http://localhost:8000/v1' }, 0.7]);
    assert.equal(nextCalls.length, 0);
    const mixed = await middleware.workspace.configuration({ items: [{ section: 'editor' }, { section: 'codeintel' }] }, undefined, next);
    assert.deepEqual(mixed, ['vscode:editor', { completion: { backend: 'http', url: 'http://localhost:8000/v1' }, merge: { threshold: 0.7 } }]);
});

test('changing a server setting sends didChangeConfiguration; changing the launch settings restarts', async (t) => {
    const { controller, fake } = await activated(t);
    setConfig({ 'codeintel.merge.threshold': 0.95 });
    assert.deepEqual(fake.clients[0].notifications, [
        { method: 'workspace/didChangeConfiguration', params: { settings: { codeintel: { merge: { threshold: 0.95 } } } } },
    ]);
    setConfig({ 'codeintel.serverArgs': ['lsp', '-v'] });
    await controller.restart();
    assert.ok(fake.clients[0].stopped >= 1);
    assert.deepEqual(fake.clients[fake.clients.length - 1].launch.args, ['lsp', '-v']);
    assert.equal(controller.serverState.kind, 'running');
});

test('the server is told whether the workspace is trusted, and restarts when trust is granted', async (t) => {
    reset();
    state.trusted = false;
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'codeintel-ws-'));
    t.after(() => fs.rmSync(folder, { recursive: true, force: true }));
    state.workspaceFolders = [{ uri: Uri.file(folder), name: 'ws', index: 0 }];
    const fake = fakeFactory({});
    const controller = new Controller(fake.factory, ENV, onlyServer);
    t.after(() => controller.dispose());
    await controller.activate();
    assert.equal(fake.clients[0].options.initializationOptions.workspaceTrusted, false);
    state.trusted = true;
    state.trustListeners.fire();
    await controller.settled();
    assert.equal(fake.clients.length, 2);
    assert.equal(fake.clients[0].stopped, 1);
    assert.equal(fake.clients[1].options.initializationOptions.workspaceTrusted, true);
});

test('Restart server stops the old client and starts a new one; dispose stops it', async (t) => {
    const { controller, fake } = await activated(t);
    await run('codeintel.restartServer');
    assert.equal(fake.clients.length, 2);
    assert.equal(fake.clients[0].stopped, 1);
    assert.equal(fake.clients[1].started, 1);
    await controller.dispose();
    assert.equal(fake.clients[1].stopped, 1);
    assert.equal(state.commands.size, 0);
});

test('Show server log reveals the output channel the client logs to', async (t) => {
    const { fake } = await activated(t);
    await run('codeintel.showLog');
    assert.equal(state.outputChannels[0].shown, 1);
    assert.equal(fake.clients[0].options.outputChannel, state.outputChannels[0]);
    assert.deepEqual(state.outputChannels[0].options, { log: true });
});

test('progress on a token the server created itself feeds the running command\'s notification and still reaches the status bar', async (t) => {
    const nexts = [];
    const { fake } = await activated(t, {
        respond: (params, client) => {
            const handle = client.options.middleware.handleWorkDoneProgress;
            handle('server-token', { kind: 'begin', title: 'Training the merge model', percentage: 0 }, () => nexts.push('begin'));
            handle('server-token', { kind: 'report', message: 'epoch 1/2', percentage: 50 }, () => nexts.push('report'));
            handle('server-token', { kind: 'end', message: 'done' }, () => nexts.push('end'));
            return { ok: true, message: 'trained' };
        },
    });
    await run('codeintel.trainModel', 'merge');
    assert.deepEqual(nexts, ['begin', 'report', 'end']);
    assert.deepEqual(state.progress[0].reports, [{ message: 'Training the merge model' }, { message: 'epoch 1/2', increment: 50 }]);

    // With no command running, server progress goes only to the default handling.
    fake.clients[0].options.middleware.handleWorkDoneProgress('startup-token', { kind: 'begin', title: 'Indexing ws' }, () => nexts.push('startup'));
    assert.deepEqual(nexts.slice(-1), ['startup']);
    assert.equal(state.progress.length, 1);
});

test('an unexpected error while preparing the launch is a failed status and a message, not a rejection', async (t) => {
    reset();
    const fake = fakeFactory();
    const controller = new Controller(fake.factory, ENV, () => {
        throw new Error('EACCES: permission denied');
    });
    t.after(() => controller.dispose());
    await controller.activate();
    assert.equal(fake.clients.length, 0);
    assert.deepEqual(controller.serverState, { kind: 'failed', message: 'EACCES: permission denied' });
    assert.match(state.messages[0].text, /did not start: EACCES/);
});
