/**
 * The running extension: owns the language client's life cycle (start, restart on a change of
 * the server settings, stop), the status bar item, the output channel, the command
 * registrations, and the bridge from commands to the server (workspace/executeCommand inside
 * a progress notification that shows the server's work-done progress and can cancel).
 * The language client is made by an injected factory so tests run it against a fake.
 */
import * as vscode from 'vscode';
import {
    CancellationToken,
    DidChangeConfigurationNotification,
    ExecuteCommandRequest,
    State,
    WorkDoneProgress,
    type ConfigurationParams,
} from 'vscode-languageclient';
import type { LanguageClientOptions } from 'vscode-languageclient/node';
import { serverStdio, traceChannel } from './channels';
import { COMMANDS, CATEGORY, commandHandlers, type CommandHost } from './commands';
import { documentSelector, WATCHED_SOURCES_GLOB } from './documents';
import { workDoneForwarder, type ProgressSink, type WorkDoneValue } from './progress';
import { ReportOpener } from './report';
import { buildServerLaunch, defaultIsExecutable, ServerNotFoundError, type ServerLaunch } from './server';
import { configurationForSection, readClientSettings, serverConfiguration, SERVER_LAUNCH_KEYS } from './settings';
import { statusView, type ServerState } from './status';

/** The part of vscode-languageclient's LanguageClient the controller uses. */
export interface ServerClient {
    start(): Promise<void>;
    stop(timeout?: number): Promise<void>;
    sendRequest(type: unknown, params: unknown, token?: vscode.CancellationToken): Promise<unknown>;
    sendNotification(type: unknown, params: unknown): Promise<void>;
    onProgress(type: unknown, token: string | number, handler: (value: WorkDoneValue) => void): vscode.Disposable;
    onDidChangeState(listener: (event: { oldState: State; newState: State }) => void): vscode.Disposable;
    protocol2CodeConverter: { asWorkspaceEdit(edit: never): Promise<vscode.WorkspaceEdit> };
}

/** A server command running inside a progress notification. */
interface CommandInFlight {
    workDoneToken: string;
    sink: ProgressSink;
    /** One forwarder per server-created progress token seen while the command runs. */
    forwarders: Map<string | number, (value: WorkDoneValue) => void>;
}

export type ClientFactory = (launch: ServerLaunch, options: LanguageClientOptions) => ServerClient;

const NOT_RUNNING = 'codeintel: the language server is not running (see "codeintel: Show server log", or run "codeintel: Restart server")';

function config(scope?: vscode.Uri): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration('codeintel', scope);
}

export class Controller implements vscode.Disposable {
    readonly output: vscode.LogOutputChannel;
    private readonly trace: vscode.LogOutputChannel;
    private readonly statusItem: vscode.StatusBarItem;
    private readonly reports: ReportOpener;
    private readonly sourceWatcher: vscode.FileSystemWatcher;
    private readonly disposables: vscode.Disposable[] = [];
    private client: ServerClient | undefined;
    private clientSubscription: vscode.Disposable | undefined;
    private lifecycle: Promise<void> = Promise.resolve();
    private state: ServerState = { kind: 'stopped' };
    private appliedEdits = 0;
    private progressTokens = 0;
    private readonly inFlight: CommandInFlight[] = [];

    constructor(
        private readonly createClient: ClientFactory,
        private readonly env: NodeJS.ProcessEnv = process.env,
        private readonly isExecutable: (file: string) => boolean = defaultIsExecutable,
    ) {
        this.output = vscode.window.createOutputChannel('codeintel', { log: true });
        this.trace = traceChannel(this.output);
        this.statusItem = vscode.window.createStatusBarItem('codeintel.status', vscode.StatusBarAlignment.Left, 0);
        this.statusItem.name = 'codeintel';
        this.reports = new ReportOpener({
            createWebviewPanel: (html, title, localRoot) => {
                const panel = vscode.window.createWebviewPanel('codeintel.report', title, vscode.ViewColumn.Active, {
                    enableScripts: false,
                    localResourceRoots: [vscode.Uri.file(localRoot)],
                });
                panel.webview.html = html;
                return {
                    reveal: () => panel.reveal(),
                    setHtml: (text) => {
                        panel.webview.html = text;
                    },
                    onDidDispose: (listener) => {
                        panel.onDidDispose(listener);
                    },
                };
            },
            openExternal: (file) => Promise.resolve(vscode.env.openExternal(vscode.Uri.file(file))),
        });
        this.sourceWatcher = vscode.workspace.createFileSystemWatcher(WATCHED_SOURCES_GLOB);
        this.disposables.push(this.output, this.trace, this.statusItem, this.sourceWatcher);
    }

    /** Register the commands and the settings listener, then start the server (not awaited). */
    activate(): Promise<void> {
        const handlers = commandHandlers(this.commandHost());
        for (const command of COMMANDS) {
            this.disposables.push(vscode.commands.registerCommand(command.id, handlers[command.id]));
        }
        this.disposables.push(vscode.workspace.onDidChangeConfiguration((event) => this.onConfigurationChanged(event)));
        // trust granted: the server restarts to learn it (it is told at initialize)
        this.disposables.push(vscode.workspace.onDidGrantWorkspaceTrust(() => void this.restart()));
        this.statusItem.show();
        return this.start();
    }

    /** Settles when the start, stop or restart in progress (if any) has finished. */
    settled(): Promise<void> {
        return this.lifecycle;
    }

    get serverState(): ServerState {
        return this.state;
    }

    /** Start the server from the current settings; failures become a message and a status, never a throw. */
    start(): Promise<void> {
        return this.enqueue(() => this.doStart());
    }

    stop(): Promise<void> {
        return this.enqueue(() => this.doStop());
    }

    /** Stop the running server (if any) and start one from the current settings. */
    restart(): Promise<void> {
        return this.enqueue(async () => {
            await this.doStop();
            await this.doStart();
        });
    }

    /** Run start/stop/restart one at a time, so overlapping restarts never leave two servers running. */
    private enqueue(operation: () => Promise<void>): Promise<void> {
        const result = this.lifecycle.then(operation, operation);
        this.lifecycle = result.catch(() => undefined);
        return result;
    }

    private async doStart(): Promise<void> {
        const settings = readClientSettings(config());
        const workspaceFolder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
        let launch: ServerLaunch;
        try {
            launch = buildServerLaunch(settings, { workspaceFolder, env: this.env, platform: process.platform, isExecutable: this.isExecutable });
        } catch (error) {
            if (!(error instanceof ServerNotFoundError)) {
                this.startFailed(error);
                return;
            }
            this.setState({ kind: 'missing', message: error.message });
            this.output.appendLine(error.message);
            void vscode.window.showErrorMessage(error.message, 'Open Settings', 'Show Log').then((choice) => {
                if (choice === 'Open Settings') {
                    void vscode.commands.executeCommand('workbench.action.openSettings', 'codeintel.serverPath');
                } else if (choice === 'Show Log') {
                    this.output.show();
                }
            });
            return;
        }
        this.output.appendLine(`starting ${[launch.command, ...launch.args].join(' ')}${launch.options.cwd ? ` in ${launch.options.cwd}` : ''}`);
        const client = this.createClient(launch, this.clientOptions());
        this.client = client;
        this.clientSubscription = client.onDidChangeState(({ newState }) => {
            if (this.client !== client) {
                return;
            }
            if (newState === State.Running) {
                this.setState({ kind: 'running' });
            } else if (newState === State.Starting) {
                this.setState({ kind: 'starting' });
            } else if (this.state.kind !== 'failed') {
                this.setState({ kind: 'stopped' });
            }
        });
        this.setState({ kind: 'starting' });
        try {
            await client.start();
            if (this.client === client) {
                this.setState({ kind: 'running' });
            }
        } catch (error) {
            if (this.client === client) {
                this.client = undefined;
                this.startFailed(error);
            }
        }
    }

    private startFailed(error: unknown): void {
        const message = error instanceof Error ? error.message : String(error);
        this.output.appendLine(`the language server did not start: ${message}`);
        this.setState({ kind: 'failed', message });
        void vscode.window
            .showErrorMessage(`codeintel: the language server did not start: ${message}`, 'Show Log')
            .then((choice) => {
                if (choice === 'Show Log') {
                    this.output.show();
                }
            });
    }

    /**
     * Progress the server reports on a token it created itself (window/workDoneProgress/create)
     * still goes to the status bar (next), and while a command runs it also feeds that
     * command's notification, so the notification shows what the server is doing.
     */
    private onWorkDoneProgress(token: string | number, value: WorkDoneValue, next: () => void): void {
        next();
        if (this.inFlight.some((running) => running.workDoneToken === token)) {
            return; // the command's own token: its subscription forwards it
        }
        const current = this.inFlight[this.inFlight.length - 1];
        if (!current) {
            return;
        }
        let forward = current.forwarders.get(token);
        if (!forward) {
            forward = workDoneForwarder(current.sink);
            current.forwarders.set(token, forward);
        }
        forward(value);
    }

    /** Options for vscode-languageclient; `workspace/configuration` for `codeintel…` is answered from SETTINGS. */
    clientOptions(): LanguageClientOptions {
        return {
            documentSelector: documentSelector(),
            outputChannel: this.output,
            // the server's stderr at its own levels, and the trace codeintel.trace.server asks for
            stdioOptions: serverStdio(),
            traceOutputChannel: this.trace,
            // VS Code's workspace trust decides whether the repository's own .codeintel/config.toml
            // may choose backends, models and the merge threshold (codeintel/trust.py)
            initializationOptions: { ...serverConfiguration(config()), workspaceTrusted: vscode.workspace.isTrusted },
            synchronize: { fileEvents: this.sourceWatcher },
            middleware: {
                handleWorkDoneProgress: (token, params, next) => this.onWorkDoneProgress(token, params, () => next(token, params)),
                workspace: {
                    configuration: async (params: ConfigurationParams, token, next) => {
                        const ours = params.items.map((item) =>
                            configurationForSection(item.section, config(item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined)),
                        );
                        if (ours.every((value) => value !== undefined)) {
                            return ours;
                        }
                        const theirs = await next(params, token);
                        return Array.isArray(theirs) ? theirs.map((value, i) => (ours[i] !== undefined ? ours[i] : value)) : theirs;
                    },
                    handleApplyEdit: async (params, next) => {
                        this.appliedEdits += 1;
                        return next(params, CancellationToken.None);
                    },
                },
            },
        };
    }

    private async doStop(): Promise<void> {
        const client = this.client;
        this.client = undefined;
        this.clientSubscription?.dispose();
        this.clientSubscription = undefined;
        if (client) {
            try {
                await client.stop(2000); // vscode-languageclient's default wait for the shutdown answer
            } catch (error) {
                this.output.appendLine(`stopping the language server: ${error instanceof Error ? error.message : String(error)}`);
            }
        }
        this.setState({ kind: 'stopped' });
    }

    private onConfigurationChanged(event: vscode.ConfigurationChangeEvent): void {
        if (SERVER_LAUNCH_KEYS.some((key) => event.affectsConfiguration(`codeintel.${key}`))) {
            void this.restart();
        } else if (event.affectsConfiguration('codeintel') && this.client && this.state.kind === 'running') {
            void this.client
                .sendNotification(DidChangeConfigurationNotification.type, { settings: { codeintel: serverConfiguration(config()) } })
                .catch((error: unknown) => this.output.appendLine(`sending the new settings: ${String(error)}`));
        }
    }

    /** workspace/executeCommand inside a cancellable progress notification fed by the server's progress. */
    async executeServerCommand(command: string, args: unknown[], title: string): Promise<unknown> {
        await this.lifecycle;
        const client = this.client;
        if (!client || this.state.kind !== 'running') {
            throw new Error(this.state.kind === 'missing' ? this.state.message : NOT_RUNNING);
        }
        const workDoneToken = `codeintel-${command}-${++this.progressTokens}`;
        this.setState({ kind: 'running', busy: title.toLowerCase() });
        try {
            return await vscode.window.withProgress(
                { location: vscode.ProgressLocation.Notification, title: `${CATEGORY}: ${title}`, cancellable: true },
                async (progress, token) => {
                    const running: CommandInFlight = { workDoneToken, sink: progress, forwarders: new Map() };
                    this.inFlight.push(running);
                    const subscription = client.onProgress(WorkDoneProgress.type, workDoneToken, workDoneForwarder(progress));
                    try {
                        return await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args, workDoneToken }, token);
                    } finally {
                        subscription.dispose();
                        this.inFlight.splice(this.inFlight.indexOf(running), 1);
                    }
                },
            );
        } finally {
            if (this.client === client && this.state.kind === 'running') {
                this.setState({ kind: 'running' });
            }
        }
    }

    private commandHost(): CommandHost {
        return {
            executeServerCommand: (command, args, title) => this.executeServerCommand(command, args, title),
            showInformation: (message) => void vscode.window.showInformationMessage(message),
            showError: (message) => void vscode.window.showErrorMessage(message),
            pickFeature: async (features) => {
                const picked = await vscode.window.showQuickPick(
                    features.map((f) => ({ label: f.feature, description: f.description })),
                    { title: 'codeintel: Train model', placeHolder: 'Which model should be trained on this repository?' },
                );
                return picked?.label;
            },
            activeDocumentUri: () => vscode.window.activeTextEditor?.document.uri.toString(),
            applyReturnedEdit: async (edit) => {
                if (!this.client) {
                    return false;
                }
                return vscode.workspace.applyEdit(await this.client.protocol2CodeConverter.asWorkspaceEdit(edit as never));
            },
            appliedEditCount: () => this.appliedEdits,
            openReport: (file) => this.reports.open(file, readClientSettings(config()).reportOpenIn),
            restartServer: () => this.restart(),
            showLog: () => this.output.show(),
        };
    }

    private setState(state: ServerState): void {
        this.state = state;
        const view = statusView(state);
        this.statusItem.text = view.text;
        this.statusItem.tooltip = view.tooltip;
        this.statusItem.command = view.command;
        this.statusItem.backgroundColor = view.isError ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    }

    async dispose(): Promise<void> {
        await this.stop();
        for (const disposable of this.disposables.splice(0)) {
            disposable.dispose();
        }
    }
}
