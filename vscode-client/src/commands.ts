/**
 * The extension's commands: the table of palette commands (package.json's
 * `contributes.commands` must match it; a unit test checks) and what each one does, written
 * against a small `CommandHost` so the logic is tested without VS Code. Each server-backed
 * command sends one workspace/executeCommand with the names and arguments agreed with the
 * language server (`codeintel.index`, `codeintel.train`, `codeintel.report`,
 * `codeintel.installMergeDriver`, `codeintel.resolveConflicts`).
 *
 * The VS Code command ids differ from the server's command names on purpose:
 * vscode-languageclient registers every command the server advertises under the server's
 * own name, and registering one id twice throws.
 */

export interface CommandSpec {
    id: string;
    title: string;
    /** The workspace/executeCommand the command sends, if any. */
    serverCommand?: string;
}

export const CATEGORY = 'codeintel';

export const COMMANDS: readonly CommandSpec[] = [
    { id: 'codeintel.indexWorkspace', title: 'Index workspace', serverCommand: 'codeintel.index' },
    { id: 'codeintel.trainModel', title: 'Train model…', serverCommand: 'codeintel.train' },
    { id: 'codeintel.showReport', title: 'Show report', serverCommand: 'codeintel.report' },
    { id: 'codeintel.installGitMergeDriver', title: 'Install merge driver', serverCommand: 'codeintel.installMergeDriver' },
    { id: 'codeintel.resolveConflictsInFile', title: 'Resolve conflicts in this file', serverCommand: 'codeintel.resolveConflicts' },
    { id: 'codeintel.restartServer', title: 'Restart server' },
    { id: 'codeintel.showLog', title: 'Show server log' },
];

/** The learned features `codeintel train FEATURE` knows, for the quick pick. */
export const TRAINABLE_FEATURES: readonly { feature: string; description: string }[] = [
    { feature: 'merge', description: 'merge-conflict resolver (MergeBERT) from this repository\'s merge history' },
    { feature: 'completion', description: 'repository-aware code completion' },
    { feature: 'sketch', description: 'code generation from docstrings (sketch, then fill)' },
    { feature: 'edits', description: 'learned code edits from past changes' },
    { feature: 'clones', description: 'clone and near-duplicate detection' },
];

/** What the commands need from the editor and the server connection. */
export interface CommandHost {
    /** Send workspace/executeCommand, with a progress notification titled `title`; rejects on error. */
    executeServerCommand(command: string, args: unknown[], title: string): Promise<unknown>;
    showInformation(message: string): void;
    showError(message: string): void;
    /** A quick pick of the features; undefined when dismissed. */
    pickFeature(features: readonly { feature: string; description: string }[]): Promise<string | undefined>;
    /** The URI (as a string) of the file in the active editor, if any. */
    activeDocumentUri(): string | undefined;
    /** Apply a WorkspaceEdit the server returned but did not apply itself; true if applied. */
    applyReturnedEdit(edit: unknown): Promise<boolean>;
    /** How many workspace/applyEdit requests the server has sent so far. */
    appliedEditCount(): number;
    openReport(path: string): Promise<void>;
    restartServer(): Promise<void>;
    showLog(): void;
}

function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errorText(error: unknown): string {
    if (error instanceof Error) {
        return error.message;
    }
    return String(error);
}

/** "indexed 12 files (symbols: 340, references: 1200)" from codeintel.index's result. */
export function describeIndexResult(result: unknown): string {
    if (!isObject(result)) {
        return 'codeintel: workspace indexed';
    }
    const details = Object.entries(result)
        .filter(([key, value]) => key !== 'files' && (typeof value === 'number' || typeof value === 'string'))
        .map(([key, value]) => `${key}: ${value}`);
    const files = typeof result.files === 'number' ? `indexed ${result.files} file${result.files === 1 ? '' : 's'}` : 'workspace indexed';
    return `codeintel: ${files}${details.length ? ` (${details.join(', ')})` : ''}`;
}

/** The number of text edits in a WorkspaceEdit (`changes` or `documentChanges`). */
export function countTextEdits(edit: unknown): number {
    if (!isObject(edit)) {
        return 0;
    }
    let count = 0;
    if (isObject(edit.changes)) {
        for (const edits of Object.values(edit.changes)) {
            count += Array.isArray(edits) ? edits.length : 0;
        }
    }
    if (Array.isArray(edit.documentChanges)) {
        for (const change of edit.documentChanges) {
            if (isObject(change) && Array.isArray(change.edits)) {
                count += change.edits.length;
            }
        }
    }
    return count;
}

/** Show an {ok, message} result as information or error. */
function reportOutcome(host: CommandHost, title: string, result: unknown): void {
    if (isObject(result) && typeof result.ok === 'boolean') {
        const message = typeof result.message === 'string' && result.message !== '' ? result.message : title;
        if (result.ok) {
            host.showInformation(`codeintel: ${message}`);
        } else {
            host.showError(`codeintel: ${title} failed: ${message}`);
        }
        return;
    }
    host.showInformation(`codeintel: ${title} done`);
}

type Handler = (...args: unknown[]) => Promise<void>;

/** The handler of every command in COMMANDS, by id. Handlers never throw: errors become messages. */
export function commandHandlers(host: CommandHost): Record<string, Handler> {
    const guarded = (title: string, body: Handler): Handler => async (...args) => {
        try {
            await body(...args);
        } catch (error) {
            host.showError(errorText(error).startsWith('codeintel') ? errorText(error) : `codeintel: ${title} failed: ${errorText(error)}`);
        }
    };
    const spec = (id: string): CommandSpec => COMMANDS.find((c) => c.id === id)!;

    return {
        'codeintel.indexWorkspace': guarded('Index workspace', async () => {
            const result = await host.executeServerCommand(spec('codeintel.indexWorkspace').serverCommand!, [], 'Indexing workspace');
            host.showInformation(describeIndexResult(result));
        }),
        'codeintel.trainModel': guarded('Train model', async (feature?: unknown) => {
            const chosen = typeof feature === 'string' ? feature : await host.pickFeature(TRAINABLE_FEATURES);
            if (chosen === undefined) {
                return;
            }
            const result = await host.executeServerCommand(spec('codeintel.trainModel').serverCommand!, [chosen], `Training the ${chosen} model`);
            reportOutcome(host, `train ${chosen}`, result);
        }),
        'codeintel.showReport': guarded('Show report', async () => {
            const result = await host.executeServerCommand(spec('codeintel.showReport').serverCommand!, [{ format: 'html' }], 'Building the report');
            if (!isObject(result) || typeof result.path !== 'string' || result.path === '') {
                throw new Error('the server did not return the report\'s path');
            }
            await host.openReport(result.path);
        }),
        'codeintel.installGitMergeDriver': guarded('Install merge driver', async () => {
            const result = await host.executeServerCommand(spec('codeintel.installGitMergeDriver').serverCommand!, [], 'Installing the merge driver');
            reportOutcome(host, 'install merge driver', result);
        }),
        'codeintel.resolveConflictsInFile': guarded('Resolve conflicts', async (uri?: unknown) => {
            // From the palette: the active editor; from a menu or a script: the URI passed in.
            const target = typeof uri === 'string' ? uri : isObject(uri) && typeof uri.scheme === 'string' ? String(uri) : host.activeDocumentUri();
            if (target === undefined) {
                host.showError('codeintel: open the file with conflict markers first');
                return;
            }
            // The server says what it resolved and what it left, and why (window/showMessage):
            // one notification, so nothing more is shown here unless the edit is refused.
            const appliedBefore = host.appliedEditCount();
            const edit = await host.executeServerCommand(spec('codeintel.resolveConflictsInFile').serverCommand!, [target], 'Resolving conflicts');
            if (countTextEdits(edit) === 0) {
                return;
            }
            if (host.appliedEditCount() === appliedBefore && !(await host.applyReturnedEdit(edit))) {
                throw new Error('the editor refused the edit');
            }
        }),
        'codeintel.restartServer': guarded('Restart server', async () => {
            await host.restartServer();
        }),
        'codeintel.showLog': guarded('Show server log', async () => {
            host.showLog();
        }),
    };
}
