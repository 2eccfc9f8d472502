/**
 * How the language server process is found and started: expanding `codeintel.serverPath`
 * (`${workspaceFolder}`, `~`), looking it up on PATH the way a shell would, and building the
 * command, arguments and environment handed to vscode-languageclient. Pure: the file system
 * check is injected, so the tests run without a server installed.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import type { ClientSettings } from './settings';

export interface LaunchContext {
    /** The first workspace folder, if any: the server's working directory and `${workspaceFolder}`. */
    workspaceFolder?: string;
    /** The environment the server inherits (normally process.env). */
    env: NodeJS.ProcessEnv;
    platform: NodeJS.Platform;
    /** True when `file` exists and can be executed. */
    isExecutable: (file: string) => boolean;
}

/** What vscode-languageclient's `Executable` server option needs (stdio transport). */
export interface ServerLaunch {
    command: string;
    args: string[];
    options: { cwd?: string; env: Record<string, string>; shell?: boolean };
}

/** The server binary could not be found; `message` is what the user is shown. */
export class ServerNotFoundError extends Error {
    constructor(readonly serverPath: string, readonly searched: string) {
        super(
            `codeintel: the language server "${serverPath}" was not found (${searched}). ` +
                'Install codeintel (`pip install codeintel`, then check that `codeintel lsp --help` runs) ' +
                'or set "codeintel.serverPath" to the codeintel executable, ' +
                'e.g. ${workspaceFolder}/.venv/bin/codeintel.',
        );
        this.name = 'ServerNotFoundError';
    }
}

export function defaultIsExecutable(file: string): boolean {
    try {
        if (!fs.statSync(file).isFile()) {
            return false;
        }
        if (process.platform !== 'win32') {
            fs.accessSync(file, fs.constants.X_OK);
        }
        return true;
    } catch {
        return false;
    }
}

/** Replace `${workspaceFolder}`, `${env:NAME}` and a leading `~` in a configured path or argument. */
export function expandVariables(value: string, ctx: Pick<LaunchContext, 'workspaceFolder' | 'env'>): string {
    let result = value.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => ctx.env[name] ?? '');
    if (ctx.workspaceFolder !== undefined) {
        result = result.split('${workspaceFolder}').join(ctx.workspaceFolder);
    }
    if (result === '~' || result.startsWith('~/')) {
        result = path.join(os.homedir(), result.slice(1));
    }
    return result;
}

function pathModule(platform: NodeJS.Platform): typeof path.posix {
    return platform === 'win32' ? path.win32 : path.posix;
}

/**
 * The absolute path of the server executable, or a ServerNotFoundError.
 * A bare name (`codeintel`) is looked up on PATH (with PATHEXT on Windows); a path with a
 * separator is taken relative to the workspace folder.
 */
export function resolveServerCommand(serverPath: string, ctx: LaunchContext): string {
    const p = pathModule(ctx.platform);
    const expanded = expandVariables(serverPath, ctx);
    if (expanded.includes('${workspaceFolder}')) {
        throw new ServerNotFoundError(serverPath, 'no workspace folder is open to resolve ${workspaceFolder}');
    }
    const extensions =
        ctx.platform === 'win32'
            ? ['', ...(ctx.env.PATHEXT ?? '.COM;.EXE;.BAT;.CMD').split(';').filter((e) => e !== '')]
            : [''];
    const hasSeparator = expanded.includes('/') || (ctx.platform === 'win32' && expanded.includes('\\'));
    if (hasSeparator || p.isAbsolute(expanded)) {
        const base = p.isAbsolute(expanded) ? expanded : p.resolve(ctx.workspaceFolder ?? process.cwd(), expanded);
        for (const ext of extensions) {
            if (ctx.isExecutable(base + ext)) {
                return base + ext;
            }
        }
        throw new ServerNotFoundError(serverPath, `${base} does not exist or is not executable`);
    }
    const pathVar = ctx.env.PATH ?? ctx.env.Path ?? '';
    const dirs = pathVar.split(ctx.platform === 'win32' ? ';' : ':').filter((d) => d !== '');
    for (const dir of dirs) {
        for (const ext of extensions) {
            const candidate = p.join(dir, expanded + ext);
            if (ctx.isExecutable(candidate)) {
                return candidate;
            }
        }
    }
    throw new ServerNotFoundError(serverPath, 'not on PATH');
}

/** The server process to start for these settings: resolved command, expanded args, merged env. */
export function buildServerLaunch(settings: ClientSettings, ctx: LaunchContext): ServerLaunch {
    const command = resolveServerCommand(settings.serverPath, ctx);
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(ctx.env)) {
        if (value !== undefined) {
            env[name] = value;
        }
    }
    for (const [name, value] of Object.entries(settings.serverEnv)) {
        env[name] = expandVariables(value, ctx);
    }
    const options: ServerLaunch['options'] = { env };
    if (ctx.workspaceFolder !== undefined) {
        options.cwd = ctx.workspaceFolder;
    }
    if (ctx.platform === 'win32' && /\.(cmd|bat)$/i.test(command)) {
        options.shell = true; // Node refuses to spawn a batch file without a shell
    }
    return { command, args: settings.serverArgs.map((a) => expandVariables(a, ctx)), options };
}
