'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
require('./helpers/vscode-mock');
const { COMMANDS, TRAINABLE_FEATURES, commandHandlers, describeIndexResult, countTextEdits } = require('../out/commands');

/** A CommandHost that records everything and answers executeServerCommand with `respond`. */
function fakeHost(respond = () => ({})) {
    const host = {
        sent: [],
        info: [],
        errors: [],
        picks: [],
        pickAnswer: 'merge',
        activeUri: 'file:///repo/app.py',
        applied: [],
        serverApplies: false,
        editsByServer: 0,
        reports: [],
        restarts: 0,
        logs: 0,
        async executeServerCommand(command, args, title) {
            host.sent.push({ command, args, title });
            const result = await respond(command, args);
            if (host.serverApplies) {
                host.editsByServer += 1;
            }
            return result;
        },
        showInformation: (message) => host.info.push(message),
        showError: (message) => host.errors.push(message),
        pickFeature: async (features) => (host.picks.push(features), host.pickAnswer),
        activeDocumentUri: () => host.activeUri,
        applyReturnedEdit: async (edit) => (host.applied.push(edit), true),
        appliedEditCount: () => host.editsByServer,
        openReport: async (file) => void host.reports.push(file),
        restartServer: async () => void (host.restarts += 1),
        showLog: () => void (host.logs += 1),
    };
    return host;
}

const conflictEdit = {
    changes: { 'file:///repo/app.py': [{ range: { start: { line: 3, character: 0 }, end: { line: 9, character: 0 } }, newText: 'x = 2\n' }] },
};

test('every command in the table has a handler', () => {
    const handlers = commandHandlers(fakeHost());
    assert.deepEqual(Object.keys(handlers).sort(), COMMANDS.map((c) => c.id).sort());
});

test('Index workspace sends codeintel.index with no arguments and reports the counts', async () => {
    const host = fakeHost(() => ({ files: 42, symbols: 310, seconds: 1.5, details: { nested: true } }));
    await commandHandlers(host)['codeintel.indexWorkspace']();
    assert.deepEqual(host.sent.map(({ command, args }) => ({ command, args })), [{ command: 'codeintel.index', args: [] }]);
    assert.deepEqual(host.info, ['codeintel: indexed 42 files (symbols: 310, seconds: 1.5)']);
    assert.deepEqual(host.errors, []);
});

test('Train model asks which feature and sends codeintel.train with it', async () => {
    const host = fakeHost(() => ({ ok: true, message: 'trained merge model: 91% accuracy' }));
    host.pickAnswer = 'merge';
    await commandHandlers(host)['codeintel.trainModel']();
    assert.equal(host.picks.length, 1);
    assert.deepEqual(host.picks[0], TRAINABLE_FEATURES);
    assert.deepEqual(host.sent.map(({ command, args }) => ({ command, args })), [{ command: 'codeintel.train', args: ['merge'] }]);
    assert.deepEqual(host.info, ['codeintel: trained merge model: 91% accuracy']);
});

test('Train model with the pick dismissed sends nothing', async () => {
    const host = fakeHost();
    host.pickAnswer = undefined;
    await commandHandlers(host)['codeintel.trainModel']();
    assert.deepEqual(host.sent, []);
    assert.deepEqual(host.errors, []);
});

test('Train model called with a feature skips the pick; a failed training is an error message', async () => {
    const host = fakeHost(() => ({ ok: false, message: 'no merge commits in this repository' }));
    await commandHandlers(host)['codeintel.trainModel']('completion');
    assert.equal(host.picks.length, 0);
    assert.deepEqual(host.sent[0].args, ['completion']);
    assert.deepEqual(host.errors, ['codeintel: train completion failed: no merge commits in this repository']);
    assert.deepEqual(host.info, []);
});

test('Show report asks for html and opens the returned path', async () => {
    const host = fakeHost(() => ({ path: '/repo/.codeintel/report.html' }));
    await commandHandlers(host)['codeintel.showReport']();
    assert.deepEqual(host.sent.map(({ command, args }) => ({ command, args })), [{ command: 'codeintel.report', args: [{ format: 'html' }] }]);
    assert.deepEqual(host.reports, ['/repo/.codeintel/report.html']);
});

test('Show report without a path in the answer is an error, not a crash', async () => {
    const host = fakeHost(() => ({ sections: [] }));
    await commandHandlers(host)['codeintel.showReport']();
    assert.deepEqual(host.reports, []);
    assert.equal(host.errors.length, 1);
    assert.match(host.errors[0], /Show report failed: the server did not return the report's path/);
});

test('Install merge driver sends codeintel.installMergeDriver and shows its message', async () => {
    const host = fakeHost(() => ({ ok: true, message: 'merge driver installed in .git/config and .gitattributes' }));
    await commandHandlers(host)['codeintel.installGitMergeDriver']();
    assert.deepEqual(host.sent.map(({ command, args }) => ({ command, args })), [{ command: 'codeintel.installMergeDriver', args: [] }]);
    assert.deepEqual(host.info, ['codeintel: merge driver installed in .git/config and .gitattributes']);
});

test('Resolve conflicts sends the active file and does not apply again what the server applied', async () => {
    const host = fakeHost(() => conflictEdit);
    host.serverApplies = true;
    await commandHandlers(host)['codeintel.resolveConflictsInFile']();
    assert.deepEqual(host.sent.map(({ command, args }) => ({ command, args })), [{ command: 'codeintel.resolveConflicts', args: ['file:///repo/app.py'] }]);
    assert.deepEqual(host.applied, []);
    assert.deepEqual(host.info, [], 'one notification: the server\'s (window/showMessage), none of the client\'s');
});

test('Resolve conflicts applies a returned edit the server did not apply itself', async () => {
    const host = fakeHost(() => conflictEdit);
    await commandHandlers(host)['codeintel.resolveConflictsInFile']();
    assert.deepEqual(host.applied, [conflictEdit]);
});

test('Resolve conflicts on a URI passed in (editor menu) uses that URI', async () => {
    const host = fakeHost(() => ({ changes: {} }));
    const uri = { scheme: 'file', toString: () => 'file:///repo/other.py' };
    await commandHandlers(host)['codeintel.resolveConflictsInFile'](uri);
    assert.deepEqual(host.sent[0].args, ['file:///repo/other.py']);
    assert.deepEqual(host.info, [], 'the server says why nothing was resolved');
});

test('Resolve conflicts with no file open says so and sends nothing', async () => {
    const host = fakeHost();
    host.activeUri = undefined;
    await commandHandlers(host)['codeintel.resolveConflictsInFile']();
    assert.deepEqual(host.sent, []);
    assert.deepEqual(host.errors, ['codeintel: open the file with conflict markers first']);
});

test('a server error becomes one error message naming the command', async () => {
    const host = fakeHost(() => {
        throw new Error('index is locked by another process');
    });
    await commandHandlers(host)['codeintel.indexWorkspace']();
    assert.deepEqual(host.errors, ['codeintel: Index workspace failed: index is locked by another process']);
});

test('Restart server and Show server log call the host', async () => {
    const host = fakeHost();
    const handlers = commandHandlers(host);
    await handlers['codeintel.restartServer']();
    await handlers['codeintel.showLog']();
    assert.equal(host.restarts, 1);
    assert.equal(host.logs, 1);
    assert.deepEqual(host.sent, []);
});

test('result formatting', () => {
    assert.equal(describeIndexResult({ files: 1 }), 'codeintel: indexed 1 file');
    assert.equal(describeIndexResult(null), 'codeintel: workspace indexed');
    assert.equal(countTextEdits({ documentChanges: [{ textDocument: {}, edits: [{}, {}] }, { kind: 'create' }] }), 2);
    assert.equal(countTextEdits(undefined), 0);
});
