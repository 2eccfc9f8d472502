/**
 * The languages the codeintel indexer understands: the extension's document selector and its
 * `onLanguage:` activation events (package.json must list the same; a unit test checks).
 */

export const INDEXED_LANGUAGES = [
    'python',
    'javascript',
    'javascriptreact',
    'typescript',
    'typescriptreact',
    'java',
    'go',
    'rust',
    'c',
    'cpp',
] as const;

export function documentSelector(): { scheme: string; language: string }[] {
    return INDEXED_LANGUAGES.map((language) => ({ scheme: 'file', language }));
}

/** Files whose changes on disk the server hears about (didChangeWatchedFiles) to keep the index fresh. */
export const WATCHED_SOURCES_GLOB = '**/*.{py,pyi,js,mjs,cjs,jsx,ts,tsx,java,go,rs,c,h,cc,cpp,cxx,c++,hh,hpp,hxx,h++,ipp}';
