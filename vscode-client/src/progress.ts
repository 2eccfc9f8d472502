/**
 * Turns the server's work-done progress ($/progress begin/report/end, with absolute
 * percentages) into the relative increments of a vscode.window.withProgress notification.
 */

export interface WorkDoneValue {
    kind: 'begin' | 'report' | 'end';
    title?: string;
    message?: string;
    percentage?: number;
}

export interface ProgressSink {
    report(value: { message?: string; increment?: number }): void;
}

/** A handler for one work-done token that forwards to `sink`. */
export function workDoneForwarder(sink: ProgressSink): (value: WorkDoneValue) => void {
    let last = 0;
    return (value) => {
        if (value.kind === 'end') {
            return;
        }
        const report: { message?: string; increment?: number } = {};
        const message = value.message ?? (value.kind === 'begin' ? value.title : undefined);
        if (message !== undefined) {
            report.message = message;
        }
        if (typeof value.percentage === 'number') {
            const pct = Math.max(0, Math.min(100, value.percentage));
            if (pct > last) {
                report.increment = pct - last;
                last = pct;
            }
        }
        if (report.message !== undefined || report.increment !== undefined) {
            sink.report(report);
        }
    };
}
