/**
 * The extension's settings: the one table of every `codeintel.*` setting the extension
 * contributes (package.json's `contributes.configuration` must match it; a unit test checks),
 * reading the client-only ones, and mapping the server-side ones to the object the language
 * server receives for the workspace/configuration section `codeintel`.
 */

/** The part of vscode.WorkspaceConfiguration this module needs (for `codeintel`). */
export interface ConfigurationReader {
    get<T>(key: string): T | undefined;
}

/** Where a setting is used: by the extension itself or sent to the server. */
export type SettingScope = 'client' | 'server';

export interface SettingSpec {
    /** Key under the `codeintel` section, e.g. `completion.backend`. */
    key: string;
    scope: SettingScope;
    /** The default contributed in package.json. */
    default: unknown;
    /** A value that means "not set here": the server then uses .codeintel/config.toml or its own default. */
    unset?: unknown;
}

export const SETTINGS: readonly SettingSpec[] = [
    { key: 'serverPath', scope: 'client', default: 'codeintel' },
    { key: 'serverArgs', scope: 'client', default: ['lsp'] },
    { key: 'serverEnv', scope: 'client', default: {} },
    { key: 'report.openIn', scope: 'client', default: 'webview' },
    { key: 'trace.server', scope: 'client', default: 'off' },
    { key: 'completion.backend', scope: 'server', default: 'default', unset: 'default' },
    { key: 'completion.modelPath', scope: 'server', default: '', unset: '' },
    { key: 'completion.url', scope: 'server', default: '', unset: '' },
    { key: 'completion.model', scope: 'server', default: '', unset: '' },
    { key: 'merge.threshold', scope: 'server', default: null, unset: null },
    { key: 'index.maxFileSize', scope: 'server', default: '', unset: '' },
    { key: 'diagnostics.conflictMarkers', scope: 'server', default: true },
    { key: 'diagnostics.nearDuplicates', scope: 'server', default: true },
    { key: 'diagnostics.suggestedEdits', scope: 'server', default: true },
    { key: 'clones.threshold', scope: 'server', default: null, unset: null },
    { key: 'references.maxResults', scope: 'server', default: 0 },
];

/** Client-only settings that decide how the server process is started; changing one restarts it. */
export const SERVER_LAUNCH_KEYS = ['serverPath', 'serverArgs', 'serverEnv'] as const;

export interface ClientSettings {
    serverPath: string;
    serverArgs: string[];
    serverEnv: Record<string, string>;
    reportOpenIn: 'webview' | 'browser';
}

function defaultOf(key: string): unknown {
    const spec = SETTINGS.find((s) => s.key === key);
    if (!spec) {
        throw new Error(`unknown codeintel setting ${key}`);
    }
    return spec.default;
}

function isStringRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Read the client-only settings, falling back to the defaults for values of the wrong type. */
export function readClientSettings(config: ConfigurationReader): ClientSettings {
    const path = config.get<unknown>('serverPath');
    const args = config.get<unknown>('serverArgs');
    const env = config.get<unknown>('serverEnv');
    const openIn = config.get<unknown>('report.openIn');
    const serverEnv: Record<string, string> = {};
    if (isStringRecord(env)) {
        for (const [name, value] of Object.entries(env)) {
            if (value !== null && value !== undefined) {
                serverEnv[name] = String(value);
            }
        }
    }
    return {
        serverPath: typeof path === 'string' && path.trim() !== '' ? path.trim() : (defaultOf('serverPath') as string),
        serverArgs: Array.isArray(args) ? args.map((a) => String(a)) : [...(defaultOf('serverArgs') as string[])],
        serverEnv,
        reportOpenIn: openIn === 'browser' ? 'browser' : 'webview',
    };
}

/**
 * The object the server gets for the section `codeintel`: only the server-side settings,
 * nested by their dotted keys (`{completion: {backend: ...}, merge: {threshold: ...}}`).
 * Settings left at their "unset" value are omitted, so `.codeintel/config.toml` still applies.
 */
export function serverConfiguration(config: ConfigurationReader): Record<string, unknown> {
    const result: Record<string, unknown> = {};
    for (const spec of SETTINGS) {
        if (spec.scope !== 'server') {
            continue;
        }
        const value = config.get<unknown>(spec.key);
        if (value === undefined || ('unset' in spec && value === spec.unset)) {
            continue;
        }
        const parts = spec.key.split('.');
        let node = result;
        for (const part of parts.slice(0, -1)) {
            if (!isStringRecord(node[part])) {
                node[part] = {};
            }
            node = node[part] as Record<string, unknown>;
        }
        node[parts[parts.length - 1]] = value;
    }
    return result;
}

/**
 * The answer to one workspace/configuration item, if its section is ours (`codeintel` or
 * `codeintel.x.y`); `undefined` when the section belongs to someone else.
 * An unset sub-section is answered with `{}` for a group and `null` for a single value.
 */
export function configurationForSection(section: string | undefined, config: ConfigurationReader): unknown {
    if (section !== 'codeintel' && !section?.startsWith('codeintel.')) {
        return undefined;
    }
    let node: unknown = serverConfiguration(config);
    const path = section === 'codeintel' ? [] : section.slice('codeintel.'.length).split('.');
    for (const part of path) {
        node = isStringRecord(node) ? node[part] : undefined;
    }
    if (node !== undefined) {
        return node;
    }
    const isGroup = SETTINGS.some((s) => s.scope === 'server' && s.key.startsWith(path.join('.') + '.'));
    return isGroup ? {} : null;
}
