/**
 * What the status bar item shows for each state of the language server: text (with a codicon),
 * tooltip, whether it is drawn as an error, and the command a click runs.
 */

export type ServerState =
    | { kind: 'starting' }
    | { kind: 'running'; busy?: string }
    | { kind: 'stopped' }
    | { kind: 'missing'; message: string }
    | { kind: 'failed'; message: string };

export interface StatusView {
    text: string;
    tooltip: string;
    isError: boolean;
    /** Command id run on click. */
    command: string;
}

export function statusView(state: ServerState): StatusView {
    switch (state.kind) {
        case 'starting':
            return {
                text: '$(sync~spin) codeintel',
                tooltip: 'codeintel: the language server is starting',
                isError: false,
                command: 'codeintel.showLog',
            };
        case 'running':
            return state.busy
                ? {
                      text: `$(sync~spin) codeintel: ${state.busy}`,
                      tooltip: `codeintel: ${state.busy}`,
                      isError: false,
                      command: 'codeintel.showLog',
                  }
                : {
                      text: '$(check) codeintel',
                      tooltip: 'codeintel: the language server is running (click for its log)',
                      isError: false,
                      command: 'codeintel.showLog',
                  };
        case 'stopped':
            return {
                text: '$(debug-stop) codeintel',
                tooltip: 'codeintel: the language server is stopped (click to restart it)',
                isError: false,
                command: 'codeintel.restartServer',
            };
        case 'missing':
            return {
                text: '$(error) codeintel: server not found',
                tooltip: `${state.message}\nClick to restart after fixing it.`,
                isError: true,
                command: 'codeintel.restartServer',
            };
        case 'failed':
            return {
                text: '$(error) codeintel',
                tooltip: `codeintel: the language server failed: ${state.message}\nClick to restart it.`,
                isError: true,
                command: 'codeintel.restartServer',
            };
    }
}
