'use strict';
/**
 * The extension against the real `codeintel lsp` (started as `python -m codeintel lsp`, the
 * documented setting for a virtual environment), on a small git repository. Runs when
 * CODEINTEL_TEST_PYTHON names a Python where `-m codeintel lsp` works (the pytest driver
 * tests/e2e/test_vscode_extension.py sets it, with CODEINTEL_TEST_PYTHONPATH); skipped
 * otherwise. Checks only what the extension and the server agreed on.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { state, reset, Uri } = require('./helpers/vscode-mock');
const extension = require('../out/extension');

const PYTHON = process.env.CODEINTEL_TEST_PYTHON;

function gitRepo(t) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'codeintel-real-'));
    t.after(() => fs.rmSync(root, { recursive: true, force: true }));
    const env = { ...process.env, GIT_AUTHOR_NAME: 'Ada', GIT_AUTHOR_EMAIL: 'ada@example.com', GIT_COMMITTER_NAME: 'Ada', GIT_COMMITTER_EMAIL: 'ada@example.com', GIT_CONFIG_NOSYSTEM: '1' };
    const git = (...args) => execFileSync('git', ['-C', root, ...args], { env, encoding: 'utf8' });
    git('init', '-q', '-b', 'main');
    fs.writeFileSync(path.join(root, 'shapes.py'), 'class Square:\n    """A square."""\n\n    def area(self, side):\n        return side * side\n');
    git('add', '-A');
    git('commit', '-q', '-m', 'shapes');
    return { root, git };
}

test('the extension drives the real codeintel language server', { skip: PYTHON ? false : 'CODEINTEL_TEST_PYTHON is not set', timeout: 120000 }, async (t) => {
    reset();
    const { root, git } = gitRepo(t);
    state.workspaceFolders = [{ uri: Uri.file(root), name: path.basename(root), index: 0 }];
    Object.assign(state.config, {
        'codeintel.serverPath': PYTHON,
        'codeintel.serverArgs': ['-m', 'codeintel', 'lsp'],
        'codeintel.serverEnv': process.env.CODEINTEL_TEST_PYTHONPATH ? { PYTHONPATH: process.env.CODEINTEL_TEST_PYTHONPATH } : {},
        'codeintel.merge.threshold': 0.9,
    });
    const controller = extension.activate({ subscriptions: [] });
    t.after(() => extension.deactivate());
    await controller.settled();
    assert.deepEqual(controller.serverState, { kind: 'running' }, state.outputChannels[0].lines.join('\n'));

    await state.commands.get('codeintel.indexWorkspace')();
    const indexed = state.messages.find((m) => /indexed/.test(m.text));
    assert.ok(indexed && indexed.level === 'info', JSON.stringify(state.messages));
    assert.match(indexed.text, /codeintel: indexed 1 file\b/);
    assert.ok(fs.existsSync(path.join(root, '.codeintel', 'index.db')));

    await state.commands.get('codeintel.installGitMergeDriver')();
    assert.match(fs.readFileSync(path.join(root, '.gitattributes'), 'utf8'), /merge=codeintel/);
    assert.match(git('config', '--get', 'merge.codeintel.driver'), /merge-driver/);

    assert.deepEqual(state.messages.filter((m) => m.level === 'error'), []);
    await extension.deactivate();
    assert.equal(controller.serverState.kind, 'stopped');
});
