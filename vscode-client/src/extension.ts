/**
 * Entry point of the codeintel VS Code extension: activate() builds the Controller with the
 * real vscode-languageclient LanguageClient talking to `codeintel lsp` over its stdin/stdout,
 * deactivate() stops it.
 */
import type * as vscode from 'vscode';
import { LanguageClient } from 'vscode-languageclient/node';
import { Controller, type ClientFactory } from './controller';

let controller: Controller | undefined;

export const createLanguageClient: ClientFactory = (launch, options) =>
    new LanguageClient(
        'codeintel',
        'codeintel',
        // No `transport`: TransportKind.stdio would append `--stdio` to the arguments, which
        // `codeintel lsp` does not take; without it the client still speaks over stdin/stdout.
        { command: launch.command, args: launch.args, options: launch.options },
        options,
    );

export function activate(context: vscode.ExtensionContext): Controller {
    controller = new Controller(createLanguageClient);
    context.subscriptions.push({ dispose: () => void controller?.dispose() });
    void controller.activate();
    return controller;
}

export async function deactivate(): Promise<void> {
    const current = controller;
    controller = undefined;
    await current?.dispose();
}
