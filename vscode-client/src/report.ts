/**
 * Opening the HTML report the server wrote (`codeintel.report` with format html returns its
 * path): in a webview panel inside VS Code (scripts disabled: the report shows repository
 * content) or in the system browser, as `codeintel.report.openIn` says.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The slice of the vscode API the report opener uses. */
export interface ReportUi {
    createWebviewPanel(html: string, title: string, localRoot: string): { reveal(): void; setHtml(html: string): void; onDidDispose(listener: () => void): void };
    openExternal(file: string): Promise<boolean>;
}

export class ReportOpener {
    private panel: ReturnType<ReportUi['createWebviewPanel']> | undefined;

    constructor(private readonly ui: ReportUi, private readonly readFile: (file: string) => string = (f) => fs.readFileSync(f, 'utf8')) {}

    async open(file: string, openIn: 'webview' | 'browser'): Promise<void> {
        if (!fs.existsSync(file)) {
            throw new Error(`codeintel: the report ${file} does not exist`);
        }
        if (openIn === 'browser') {
            if (!(await this.ui.openExternal(file))) {
                throw new Error(`codeintel: could not open ${file} in the browser`);
            }
            return;
        }
        const html = this.readFile(file);
        if (this.panel) {
            this.panel.setHtml(html);
            this.panel.reveal();
            return;
        }
        const panel = this.ui.createWebviewPanel(html, 'codeintel report', path.dirname(file));
        panel.onDidDispose(() => {
            if (this.panel === panel) {
                this.panel = undefined;
            }
        });
        this.panel = panel;
    }
}
