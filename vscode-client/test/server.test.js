'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
require('./helpers/vscode-mock');
const { resolveServerCommand, buildServerLaunch, expandVariables, defaultIsExecutable, ServerNotFoundError } = require('../out/server');

/** A temp dir with an executable `bin/codeintel` and a non-executable `bin/notes`. */
function fakeInstall(t) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'codeintel-vscode-'));
    t.after(() => fs.rmSync(root, { recursive: true, force: true }));
    const bin = path.join(root, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'codeintel'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    fs.writeFileSync(path.join(bin, 'notes'), 'not a program\n', { mode: 0o644 });
    return { root, bin };
}

const posix = (env, workspaceFolder) => ({ env, workspaceFolder, platform: 'linux', isExecutable: defaultIsExecutable });

test('a bare name is found on PATH, skipping directories without it', { skip: process.platform === 'win32' }, (t) => {
    const { bin } = fakeInstall(t);
    const env = { PATH: ['/nonexistent/dir', bin, '/usr/bin'].join(':') };
    assert.equal(resolveServerCommand('codeintel', posix(env)), path.join(bin, 'codeintel'));
});

test('a name that is not on PATH is a ServerNotFoundError that tells the user what to do', (t) => {
    const { bin } = fakeInstall(t);
    assert.throws(
        () => resolveServerCommand('codeintel-missing', posix({ PATH: bin })),
        (error) =>
            error instanceof ServerNotFoundError &&
            error.serverPath === 'codeintel-missing' &&
            /not on PATH/.test(error.message) &&
            /codeintel\.serverPath/.test(error.message) &&
            /pip install codeintel/.test(error.message),
    );
});

test('a file that is not executable is not taken as the server', { skip: process.platform === 'win32' }, (t) => {
    const { bin } = fakeInstall(t);
    assert.throws(() => resolveServerCommand('notes', posix({ PATH: bin })), ServerNotFoundError);
    assert.throws(() => resolveServerCommand(path.join(bin, 'notes'), posix({ PATH: '' })), /not executable/);
    assert.throws(() => resolveServerCommand(bin, posix({ PATH: '' })), ServerNotFoundError);
});

test('relative paths and ${workspaceFolder} resolve against the workspace folder', { skip: process.platform === 'win32' }, (t) => {
    const { root, bin } = fakeInstall(t);
    const expected = path.join(bin, 'codeintel');
    assert.equal(resolveServerCommand('bin/codeintel', posix({ PATH: '' }, root)), expected);
    assert.equal(resolveServerCommand('./bin/codeintel', posix({ PATH: '' }, root)), expected);
    assert.equal(resolveServerCommand('${workspaceFolder}/bin/codeintel', posix({ PATH: '' }, root)), expected);
    assert.equal(resolveServerCommand('${env:TOOLS}/codeintel', posix({ PATH: '', TOOLS: bin }, root)), expected);
});

test('${workspaceFolder} without an open folder is a clear error', () => {
    assert.throws(() => resolveServerCommand('${workspaceFolder}/.venv/bin/codeintel', posix({ PATH: '' })), /no workspace folder is open/);
});

test('on Windows the PATH lookup tries PATHEXT', () => {
    const seen = [];
    const ctx = {
        env: { Path: 'C:\\tools;C:\\py\\Scripts', PATHEXT: '.COM;.EXE' },
        platform: 'win32',
        isExecutable: (file) => (seen.push(file), file === 'C:\\py\\Scripts\\codeintel.EXE'),
    };
    assert.equal(resolveServerCommand('codeintel', ctx), 'C:\\py\\Scripts\\codeintel.EXE');
    assert.ok(seen.includes('C:\\tools\\codeintel.EXE'));
});

test('~ expands to the home directory', () => {
    assert.equal(expandVariables('~/bin/codeintel', { env: {} }), path.join(os.homedir(), 'bin/codeintel'));
    assert.equal(expandVariables('a~b', { env: {} }), 'a~b');
});

test('the launch has the resolved command, expanded args, the inherited env plus serverEnv, and the folder as cwd', { skip: process.platform === 'win32' }, (t) => {
    const { root, bin } = fakeInstall(t);
    const launch = buildServerLaunch(
        {
            serverPath: 'codeintel',
            serverArgs: ['lsp', '--log-file', '${workspaceFolder}/.codeintel/lsp.log'],
            serverEnv: { CODEINTEL_DEBUG: '1', HOME_COPY: '${env:HOME}', PATH: `${bin}:/usr/bin` },
            reportOpenIn: 'webview',
        },
        posix({ PATH: bin, HOME: '/home/someone', LANG: 'C.UTF-8', UNSET: undefined }, root),
    );
    assert.equal(launch.command, path.join(bin, 'codeintel'));
    assert.deepEqual(launch.args, ['lsp', '--log-file', `${root}/.codeintel/lsp.log`]);
    assert.equal(launch.options.cwd, root);
    assert.deepEqual(launch.options.env, {
        PATH: `${bin}:/usr/bin`,
        HOME: '/home/someone',
        LANG: 'C.UTF-8',
        CODEINTEL_DEBUG: '1',
        HOME_COPY: '/home/someone',
    });
});

test('without a workspace folder the launch has no cwd', { skip: process.platform === 'win32' }, (t) => {
    const { bin } = fakeInstall(t);
    const launch = buildServerLaunch({ serverPath: 'codeintel', serverArgs: ['lsp'], serverEnv: {}, reportOpenIn: 'webview' }, posix({ PATH: bin }));
    assert.equal(launch.options.cwd, undefined);
    assert.deepEqual(launch.args, ['lsp']);
});

test('on Windows a .cmd shim is started through the shell, an .exe directly', () => {
    const settings = { serverPath: 'codeintel', serverArgs: ['lsp'], serverEnv: {}, reportOpenIn: 'webview' };
    const ctx = (found) => ({ env: { PATH: 'C:\\bin', PATHEXT: '.EXE;.CMD' }, platform: 'win32', isExecutable: (f) => f === found });
    assert.equal(buildServerLaunch(settings, ctx('C:\\bin\\codeintel.CMD')).options.shell, true);
    assert.equal(buildServerLaunch(settings, ctx('C:\\bin\\codeintel.EXE')).options.shell, undefined);
});
