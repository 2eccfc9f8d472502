'use strict';
/**
 * A stand-in for the `vscode` module under `node --test`. Requiring this file makes
 * `require('vscode')` return `vscode`, below: the parts of the API the extension uses are
 * recording fakes (commands, messages, quick picks, progress, status bar, webviews,
 * configuration); any other member is a dummy class, because vscode-languageclient subclasses
 * vscode classes (and reads enums) when it is imported.
 */
const Module = require('node:module');

/**
 * A member the tests do not care about: constructible (and subclassable) like a vscode class,
 * and callable like a vscode function (`workspace.onDidOpenTextDocument(...)`), returning a
 * disposable.
 */
function dummyClass(name) {
    function Dummy(...args) {
        if (!new.target) {
            return { dispose() {} };
        }
        this.args = args;
    }
    Dummy.prototype.dispose = function dispose() {};
    Object.defineProperty(Dummy, 'name', { value: name });
    return Dummy;
}

/** An object whose unknown members are dummy classes. */
function withFallback(target, label) {
    const cache = new Map();
    return new Proxy(target, {
        get(obj, prop) {
            if (prop in obj) {
                return obj[prop];
            }
            if (typeof prop === 'symbol' || prop === 'then') {
                return undefined;
            }
            if (!cache.has(prop)) {
                cache.set(prop, dummyClass(`${label}.${String(prop)}`));
            }
            return cache.get(prop);
        },
    });
}

class Disposable {
    constructor(fn) {
        this.fn = fn;
    }
    dispose() {
        if (this.fn) {
            this.fn();
            this.fn = undefined;
        }
    }
    static from(...items) {
        return new Disposable(() => items.forEach((d) => d && d.dispose && d.dispose()));
    }
}

class EventEmitter {
    constructor() {
        this.listeners = [];
        this.event = (listener) => {
            this.listeners.push(listener);
            return new Disposable(() => {
                this.listeners = this.listeners.filter((l) => l !== listener);
            });
        };
    }
    fire(value) {
        for (const listener of [...this.listeners]) {
            listener(value);
        }
    }
    dispose() {
        this.listeners = [];
    }
}

class CancellationTokenSource {
    constructor() {
        this.emitter = new EventEmitter();
        this.token = { isCancellationRequested: false, onCancellationRequested: this.emitter.event };
    }
    cancel() {
        this.token.isCancellationRequested = true;
        this.emitter.fire(undefined);
    }
    dispose() {}
}

class Uri {
    constructor(scheme, fsPath) {
        this.scheme = scheme;
        this.fsPath = fsPath;
        this.path = fsPath;
    }
    static file(fsPath) {
        return new Uri('file', fsPath);
    }
    static parse(text) {
        const match = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(text);
        return match ? new Uri(match[1], decodeURIComponent(match[2])) : new Uri('file', text);
    }
    toString() {
        return `${this.scheme}://${encodeURI(this.fsPath)}`;
    }
}

class CodeActionKind {
    constructor(value) {
        this.value = value;
    }
    append(part) {
        return new CodeActionKind(this.value ? `${this.value}.${part}` : part);
    }
    contains(other) {
        return this.value === '' || other.value === this.value || other.value.startsWith(`${this.value}.`);
    }
    intersects(other) {
        return this.contains(other) || other.contains(this);
    }
}
for (const [name, value] of Object.entries({ Empty: '', QuickFix: 'quickfix', Refactor: 'refactor', RefactorExtract: 'refactor.extract', RefactorInline: 'refactor.inline', RefactorRewrite: 'refactor.rewrite', Source: 'source', SourceOrganizeImports: 'source.organizeImports', SourceFixAll: 'source.fixAll', Notebook: 'notebook' })) {
    CodeActionKind[name] = new CodeActionKind(value);
}

class ThemeColor {
    constructor(id) {
        this.id = id;
    }
}

/** Everything the fakes record, and the answers they give; reset() between tests. */
const state = {};

function reset() {
    state.commands = new Map(); // id -> handler
    state.executed = []; // [id, args] of commands.executeCommand
    state.messages = []; // {level, text, items}
    state.messageChoices = []; // answers for showXxxMessage, in order (undefined = dismissed)
    state.quickPicks = []; // {items, options}
    state.quickPickAnswer = (items) => items[0];
    state.progress = []; // {options, reports: []}
    state.cancelNextProgress = false;
    state.statusItems = [];
    state.outputChannels = [];
    state.webviews = []; // {viewType, title, options, panel}
    state.opened = []; // Uri passed to env.openExternal
    state.appliedEdits = []; // WorkspaceEdit passed to workspace.applyEdit
    state.config = {}; // 'codeintel.serverPath' -> value
    state.configListeners = new EventEmitter();
    state.trusted = true;
    state.trustListeners = new EventEmitter();
    state.watchers = [];
    state.workspaceFolders = undefined;
    state.activeTextEditor = undefined;
}
reset();

function configuration(section) {
    const prefix = section ? `${section}.` : '';
    return {
        get(key, defaultValue) {
            const full = prefix + key;
            return Object.prototype.hasOwnProperty.call(state.config, full) ? state.config[full] : defaultValue;
        },
        has(key) {
            return Object.prototype.hasOwnProperty.call(state.config, prefix + key);
        },
        inspect() {
            return undefined;
        },
        update: async (key, value) => {
            state.config[prefix + key] = value;
        },
    };
}

/** Change settings and fire onDidChangeConfiguration as VS Code does. */
function setConfig(values) {
    Object.assign(state.config, values);
    const changed = Object.keys(values);
    state.configListeners.fire({
        affectsConfiguration: (section) => changed.some((key) => key === section || key.startsWith(`${section}.`)),
    });
}

/** window.showXxxMessage: records the message, answers with the next of state.messageChoices. */
function showMessage(level) {
    return async (text, ...items) => {
        state.messages.push({ level, text, items });
        return state.messageChoices.shift();
    };
}

const window = withFallback(
    {
        showErrorMessage: showMessage('error'),
        showWarningMessage: showMessage('warning'),
        showInformationMessage: showMessage('info'),
        showQuickPick: async (items, options) => {
            state.quickPicks.push({ items, options });
            return state.quickPickAnswer(items);
        },
        withProgress: async (options, task) => {
            const record = { options, reports: [] };
            state.progress.push(record);
            const source = new CancellationTokenSource();
            if (state.cancelNextProgress) {
                state.cancelNextProgress = false;
                source.cancel();
            }
            return task({ report: (value) => record.reports.push(value) }, source.token);
        },
        createStatusBarItem: (id, alignment, priority) => {
            const item = { id, alignment, priority, text: '', tooltip: '', visible: false, show() { this.visible = true; }, hide() { this.visible = false; }, dispose() {} };
            state.statusItems.push(item);
            return item;
        },
        createOutputChannel: (name, options) => {
            // A LogOutputChannel (what vscode-languageclient 11 wants) that keeps its lines.
            const channel = { name, options, lines: [], shown: 0, logLevel: 2, onDidChangeLogLevel: () => new Disposable(), show() { this.shown += 1; }, clear() {}, hide() {}, dispose() {} };
            for (const method of ['appendLine', 'append', 'replace', 'trace', 'debug', 'info', 'warn', 'error']) {
                channel[method] = (line) => channel.lines.push(String(line));
            }
            state.outputChannels.push(channel);
            return channel;
        },
        createWebviewPanel: (viewType, title, column, options) => {
            const disposeEmitter = new EventEmitter();
            const panel = { viewType, title, options, revealed: 0, webview: { html: '' }, reveal() { this.revealed += 1; }, onDidDispose: disposeEmitter.event, dispose() { disposeEmitter.fire(); } };
            state.webviews.push(panel);
            return panel;
        },
        get activeTextEditor() {
            return state.activeTextEditor;
        },
        visibleTextEditors: [],
        tabGroups: withFallback({ all: [] }, 'tabGroups'),
    },
    'window',
);

const workspace = withFallback(
    {
        getConfiguration: (section) => configuration(section),
        onDidChangeConfiguration: (listener) => state.configListeners.event(listener),
        get isTrusted() {
            return state.trusted;
        },
        onDidGrantWorkspaceTrust: (listener) => state.trustListeners.event(listener),
        createFileSystemWatcher: (glob) => {
            const created = new EventEmitter();
            const changed = new EventEmitter();
            const deleted = new EventEmitter();
            const watcher = { glob, created, changed, deleted, onDidCreate: created.event, onDidChange: changed.event, onDidDelete: deleted.event, dispose() {} };
            state.watchers.push(watcher);
            return watcher;
        },
        applyEdit: async (edit) => {
            state.appliedEdits.push(edit);
            return true;
        },
        get workspaceFolders() {
            return state.workspaceFolders;
        },
        textDocuments: [],
        notebookDocuments: [],
    },
    'workspace',
);

const commands = withFallback(
    {
        registerCommand: (id, handler) => {
            if (state.commands.has(id)) {
                throw new Error(`command '${id}' already exists`);
            }
            state.commands.set(id, handler);
            return new Disposable(() => state.commands.delete(id));
        },
        executeCommand: async (id, ...args) => {
            state.executed.push([id, args]);
            const handler = state.commands.get(id);
            return handler ? handler(...args) : undefined;
        },
    },
    'commands',
);

const vscode = withFallback(
    {
        __esModule: true,
        version: '1.91.0',
        window,
        workspace,
        commands,
        env: withFallback({ openExternal: async (uri) => (state.opened.push(uri), true), appName: 'Visual Studio Code (mock)', language: 'en' }, 'env'),
        languages: withFallback({}, 'languages'),
        extensions: withFallback({ all: [] }, 'extensions'),
        Uri,
        Disposable,
        EventEmitter,
        CancellationTokenSource,
        ThemeColor,
        CodeActionKind,
        StatusBarAlignment: { Left: 1, Right: 2 },
        ProgressLocation: { SourceControl: 1, Window: 10, Notification: 15 },
        ViewColumn: { Active: -1, Beside: -2, One: 1, Two: 2 },
        LogLevel: { Off: 0, Trace: 1, Debug: 2, Info: 3, Warning: 4, Error: 5 },
    },
    'vscode',
);

const originalLoad = Module._load;
Module._load = function load(request, parent, isMain) {
    if (request === 'vscode') {
        return vscode;
    }
    return originalLoad.call(this, request, parent, isMain);
};

module.exports = { vscode, state, reset, setConfig, Uri };
