#!/usr/bin/env node
'use strict';
/**
 * A minimal language server over stdio, for the end-to-end test of the real LanguageClient:
 * it answers initialize (advertising the agreed executeCommand names), asks the client for
 * workspace/configuration, and answers executeCommand with its arguments, reporting work-done
 * progress on the token it was given (for codeintel.train, on a token it creates itself). Everything it received is written to $FAKE_SERVER_LOG
 * as JSON lines.
 */
const fs = require('node:fs');
const rpc = require('vscode-jsonrpc/node');

const log = (entry) => fs.appendFileSync(process.env.FAKE_SERVER_LOG, JSON.stringify(entry) + '\n');
const connection = rpc.createMessageConnection(new rpc.StreamMessageReader(process.stdin), new rpc.StreamMessageWriter(process.stdout));

log({ event: 'started', argv: process.argv.slice(2), cwd: process.cwd(), env: { CODEINTEL_TEST: process.env.CODEINTEL_TEST } });

connection.onRequest('initialize', (params) => {
    log({ event: 'initialize', initializationOptions: params.initializationOptions, rootUri: params.rootUri });
    return {
        capabilities: {
            textDocumentSync: 1,
            executeCommandProvider: {
                commands: ['codeintel.index', 'codeintel.train', 'codeintel.report', 'codeintel.installMergeDriver', 'codeintel.resolveConflicts'],
            },
        },
        serverInfo: { name: 'fake-codeintel', version: '0' },
    };
});

connection.onNotification('initialized', async () => {
    const answer = await connection.sendRequest('workspace/configuration', { items: [{ section: 'codeintel' }, { section: 'codeintel.completion' }] });
    log({ event: 'configuration', answer });
});

connection.onNotification('workspace/didChangeConfiguration', (params) => log({ event: 'didChangeConfiguration', params }));

connection.onRequest('workspace/executeCommand', async (params) => {
    log({ event: 'executeCommand', command: params.command, arguments: params.arguments, workDoneToken: params.workDoneToken });
    if (params.command === 'codeintel.train') {
        // As codeintel lsp does: progress on a token the server creates itself.
        const token = `server-${params.command}`;
        await connection.sendRequest('window/workDoneProgress/create', { token });
        const progress = (value) => connection.sendNotification('$/progress', { token, value });
        await progress({ kind: 'begin', title: 'Training the merge model', percentage: 0 });
        await progress({ kind: 'report', message: 'epoch 1/4', percentage: 25 });
        await progress({ kind: 'end', message: 'trained' });
    } else if (params.workDoneToken !== undefined) {
        const progress = (value) => connection.sendNotification('$/progress', { token: params.workDoneToken, value });
        await progress({ kind: 'begin', title: params.command, percentage: 0 });
        await progress({ kind: 'report', message: 'half way', percentage: 50 });
        await progress({ kind: 'end' });
    }
    if (params.command === 'codeintel.index') {
        return { files: 7 };
    }
    if (params.command === 'codeintel.report') {
        return { path: process.env.FAKE_SERVER_REPORT };
    }
    return { ok: true, message: `${params.command} ran with ${JSON.stringify(params.arguments)}` };
});

connection.onRequest('shutdown', () => {
    log({ event: 'shutdown' });
    return null;
});
connection.onNotification('exit', () => process.exit(0));
connection.listen();
