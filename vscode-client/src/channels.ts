/**
 * What goes into the "codeintel" output channel besides the client's own lines: the server's
 * stderr at the level the server logged it (vscode-languageclient would show every stderr line
 * as [error]), and the protocol trace that `codeintel.trace.server` asks for (with a log-type
 * channel vscode-languageclient traces only at the channel's Trace level, so the documented
 * setting alone did nothing).
 */
import * as readline from 'node:readline';
import type { Readable } from 'node:stream';
import * as vscode from 'vscode';

type Level = 'error' | 'warn' | 'info' | 'debug';

/** The server's log lines start `codeintel-lsp LEVEL logger: …` (lsp/logs.py FORMAT). */
const SERVER_LINE = /^codeintel-lsp (CRITICAL|ERROR|WARNING|INFO|DEBUG) /;
const LEVELS: Record<string, Level> = { CRITICAL: 'error', ERROR: 'error', WARNING: 'warn', INFO: 'info', DEBUG: 'debug' };

/**
 * The level of each stderr line: a line of the server's log format at its own level, and the
 * lines after it (a multi-line message) at the same level; a traceback, or anything before the
 * first log line (Python's own messages, a crash), as an error.
 */
export function stderrLeveller(): (line: string) => Level {
    let current: Level = 'error';
    return (line: string) => {
        const match = SERVER_LINE.exec(line);
        if (match) {
            current = LEVELS[match[1]];
        } else if (line.startsWith('Traceback ')) {
            current = 'error';
        }
        return current;
    };
}

function lines(input: Readable, each: (line: string) => void): void {
    readline.createInterface({ input, crlfDelay: Infinity, terminal: false, historySize: 0 }).on('line', each);
}

/** vscode-languageclient's `stdioOptions`: stdout as info, stderr at the server's levels. */
export function serverStdio(): {
    stdout: (input: Readable, channel: vscode.LogOutputChannel) => void;
    stderr: (input: Readable, channel: vscode.LogOutputChannel) => void;
} {
    return {
        stdout: (input, channel) => lines(input, (line) => channel.info(line)),
        stderr: (input, channel) => {
            const level = stderrLeveller();
            lines(input, (line) => channel[level(line)](line));
        },
    };
}

/** The level `codeintel.trace.server` asks for: Trace unless it is off (then the channel's own). */
function traceLevel(target: vscode.LogOutputChannel): vscode.LogLevel {
    const setting = vscode.workspace.getConfiguration('codeintel').get<string>('trace.server', 'off');
    return setting && setting !== 'off' ? vscode.LogLevel.Trace : target.logLevel;
}

/**
 * The channel vscode-languageclient traces to. Its level follows `codeintel.trace.server` (Trace
 * unless the setting is off; the client traces only at Trace, and then treats "off" as
 * "messages"), and it says so when the setting changes; its lines go to ``target`` as info
 * (shown at the channel's default level).
 */
export function traceChannel(target: vscode.LogOutputChannel): vscode.LogOutputChannel {
    const changed = new vscode.EventEmitter<vscode.LogLevel>();
    let level = traceLevel(target);
    const listener = vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration('codeintel.trace.server') && traceLevel(target) !== level) {
            level = traceLevel(target);
            changed.fire(level);
        }
    });
    const write = (message: string) => target.info(message);
    return {
        name: target.name,
        get logLevel() {
            return level;
        },
        onDidChangeLogLevel: changed.event,
        trace: write,
        debug: write,
        info: write,
        warn: (message: string) => target.warn(message),
        error: (message: string | Error) => target.error(message),
        append: (value: string) => target.append(value),
        appendLine: (value: string) => target.appendLine(value),
        replace: (value: string) => target.replace(value),
        clear: () => undefined,
        show: (...args: unknown[]) => (target.show as (...a: unknown[]) => void)(...args),
        hide: () => target.hide(),
        dispose: () => {
            listener.dispose();
            changed.dispose();
        },
    } as vscode.LogOutputChannel;
}
