"""The store's tables, one schema version number, and the migrations between versions.

A migration is either an SQL script or a function that takes a ``sqlite_utils.Database`` on the
store's connection (sqlite-utils' ``create_view``, ``create_index``, and ``table.transform()``
for a migration that changes a table: sqlite-utils 4 works inside the open transaction, through
a savepoint). Every migration runs inside the one transaction that also records the new version.
The full-text index stays hand-written: sqlite-utils' ``enable_fts`` indexes a table's own columns,
while ours reads the computed text of the ``chunk_terms`` view (external content, schema 6).

Positions: lines are 1-based, columns 0-based UTF-8 byte offsets within the line, byte spans
are offsets into the file's bytes (files.content). Only this package names tables.
"""
from __future__ import annotations

SCHEMA_VERSION = 7
# the columns of merge_decisions that the merge driver writes and the report reads, in order
MERGE_DECISION_COLUMNS = ("at", "path", "hunk", "resolved", "patterns", "confidence", "reason", "model", "threshold",
                          "via", "region", "base_blob", "ours_blob", "theirs_blob", "resolution")

_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);

CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,          -- relative to the repository root, '/' separated
    language TEXT,                      -- NULL when skipped or not a supported language
    size INTEGER,
    mtime_ns INTEGER,
    blob TEXT,                          -- git blob id of the content (sha1 of 'blob N\\0' + bytes)
    status TEXT NOT NULL,               -- ok | partial (parse errors / bad UTF-8) | skipped
    reason TEXT,                        -- one line: why skipped or partial
    error_count INTEGER NOT NULL DEFAULT 0,
    first_error_line INTEGER,
    line_count INTEGER,
    content BLOB,                       -- the indexed bytes (NULL when skipped)
    indexed_at REAL
);
CREATE INDEX files_status ON files(status);

CREATE TABLE symbols (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    qualname TEXT NOT NULL,
    kind TEXT NOT NULL,
    parent_id INTEGER,                  -- symbols.id of the enclosing definition
    start_byte INTEGER, end_byte INTEGER,
    start_line INTEGER, start_col INTEGER, end_line INTEGER, end_col INTEGER,
    name_line INTEGER, name_col INTEGER,
    signature TEXT,
    doc TEXT
);
CREATE INDEX symbols_file ON symbols(file_id);
CREATE INDEX symbols_name ON symbols(name);
CREATE INDEX symbols_qualname ON symbols(qualname);

CREATE TABLE imports (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    module TEXT NOT NULL,
    name TEXT,
    alias TEXT,
    line INTEGER
);
CREATE INDEX imports_file ON imports(file_id);
CREATE INDEX imports_module ON imports(module);

-- one row per (file, identifier): positions as packed little-endian uint32 byte offsets
CREATE TABLE refs (
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    count INTEGER NOT NULL,
    positions BLOB NOT NULL
);
CREATE INDEX refs_name ON refs(name);
CREATE INDEX refs_file ON refs(file_id);

CREATE TABLE chunks (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    symbol_id INTEGER,
    kind TEXT NOT NULL,
    name TEXT,
    start_line INTEGER, end_line INTEGER,
    start_byte INTEGER, end_byte INTEGER
);
CREATE INDEX chunks_file ON chunks(file_id);
CREATE VIRTUAL TABLE chunks_fts USING fts5(name, body);

CREATE TABLE commits (
    sha TEXT PRIMARY KEY,
    parents TEXT NOT NULL,              -- space separated
    author_name TEXT, author_email TEXT,
    authored_at INTEGER, committed_at INTEGER,   -- unix seconds
    message TEXT,
    is_merge INTEGER NOT NULL,
    files_changed INTEGER,
    insertions INTEGER,
    deletions INTEGER,
    note TEXT                           -- why a commit's changes were not mined (shallow boundary...)
);
CREATE INDEX commits_time ON commits(committed_at);

CREATE TABLE commit_files (
    commit_sha TEXT NOT NULL REFERENCES commits(sha) ON DELETE CASCADE,
    path TEXT NOT NULL,
    old_path TEXT,
    change TEXT NOT NULL                -- A M D R (added, modified, deleted, renamed)
);
CREATE INDEX commit_files_path ON commit_files(path);

CREATE TABLE function_changes (
    id INTEGER PRIMARY KEY,
    commit_sha TEXT NOT NULL REFERENCES commits(sha) ON DELETE CASCADE,
    path TEXT NOT NULL,
    language TEXT NOT NULL,
    qualname TEXT NOT NULL,
    kind TEXT NOT NULL,
    change TEXT NOT NULL,               -- modified | added | deleted
    before TEXT,
    after TEXT
);
CREATE INDEX function_changes_commit ON function_changes(commit_sha);

CREATE TABLE merge_scenarios (
    id INTEGER PRIMARY KEY,
    merge_sha TEXT NOT NULL REFERENCES commits(sha) ON DELETE CASCADE,
    path TEXT NOT NULL,
    language TEXT,
    base_sha TEXT, ours_sha TEXT NOT NULL, theirs_sha TEXT NOT NULL,
    base TEXT, ours TEXT, theirs TEXT, result TEXT,   -- NULL where the file is absent on that side
    conflicts INTEGER NOT NULL,         -- conflict regions that git's diff3 (merge-file) leaves
    binary INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX merge_scenarios_merge ON merge_scenarios(merge_sha);
"""

_V2 = """
-- each decision the merge driver (or `codeintel resolve`) made on a conflict hunk
CREATE TABLE merge_decisions (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,                   -- unix time
    path TEXT NOT NULL,
    hunk INTEGER NOT NULL,
    resolved INTEGER NOT NULL,
    patterns TEXT,                      -- the pattern of each token conflict, comma separated
    confidence REAL,
    reason TEXT,
    model TEXT,                         -- which model decided (path), NULL without one
    threshold REAL,
    via TEXT NOT NULL                   -- merge-driver | resolve
);
CREATE INDEX merge_decisions_path ON merge_decisions(path);
"""

_V3 = """
-- what a decision was made on and what it wrote, so that the report can find the merge commit
-- that later recorded the same three versions (merge_scenarios) and compare what was committed
ALTER TABLE merge_decisions ADD COLUMN region INTEGER;       -- the hunk's position among the file's conflicts
ALTER TABLE merge_decisions ADD COLUMN base_blob TEXT;       -- git blob ids of the three versions merged
ALTER TABLE merge_decisions ADD COLUMN ours_blob TEXT;
ALTER TABLE merge_decisions ADD COLUMN theirs_blob TEXT;
ALTER TABLE merge_decisions ADD COLUMN resolution TEXT;      -- the text written for the hunk (NULL when left)
"""

_V4 = """
-- an archive of past submissions for `codeintel plagiarism --against` (new ones are compared with
-- these); fingerprints are the winnowed k-gram hashes (signed 64-bit) with the k and window in meta
CREATE TABLE IF NOT EXISTS clone_submissions (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    added_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS clone_documents (
    id INTEGER PRIMARY KEY,
    submission_id INTEGER NOT NULL REFERENCES clone_submissions(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    language TEXT,
    content BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS clone_documents_submission ON clone_documents(submission_id);
CREATE TABLE IF NOT EXISTS clone_fingerprints (
    document_id INTEGER NOT NULL REFERENCES clone_documents(id) ON DELETE CASCADE,
    hash INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS clone_fingerprints_hash ON clone_fingerprints(hash);
"""

_V5 = """
-- learned clone embeddings (float16 little-endian vectors, L2-normalised when written), one model at a
-- time: rows of another model id, or of a blob no indexed file has any more, are dropped when filled.
-- A function's row has its byte span in the file; the whole file's row has start_byte 0, end_byte -1.
CREATE TABLE IF NOT EXISTS clone_embeddings (
    model TEXT NOT NULL,                -- CloneEncoder.model_id
    blob TEXT NOT NULL,                 -- git blob id of the file's content
    start_byte INTEGER NOT NULL,
    end_byte INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, blob, start_byte, end_byte)
) WITHOUT ROWID;
-- one vector per kept submission of a plagiarism archive (see clones.plagiarism for how it is made)
CREATE TABLE IF NOT EXISTS clone_submission_embeddings (
    model TEXT NOT NULL,
    submission_id INTEGER NOT NULL REFERENCES clone_submissions(id) ON DELETE CASCADE,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, submission_id)
);
CREATE INDEX IF NOT EXISTS clone_submission_embeddings_submission ON clone_submission_embeddings(submission_id);
"""

_V6 = """
-- the full-text index keeps no copy of the text it indexes (it was a third of the store): it
-- reads a chunk's text through chunk_terms, a span of files.content or the chunk's own text
-- (a class without its methods' bodies), followed by the camelCase pieces of its identifiers
-- (parse HTTP File for parseHTTPFile; see store.SearchTerms). The text of a chunk never
-- changes while it exists (a re-indexed file gets new rows), so a deletion reads the words
-- that were indexed. Chunks indexed before this version get their text again (without
-- pieces, and classes without their own text until their file is indexed again).
ALTER TABLE chunks ADD COLUMN name_pieces TEXT;     -- camelCase pieces of the name, NULL if none
ALTER TABLE chunks ADD COLUMN own_text TEXT;        -- the indexed text when not the content's span
ALTER TABLE chunks ADD COLUMN body_pieces TEXT;     -- camelCase pieces of the text, NULL if none
DROP TABLE chunks_fts;
CREATE VIEW chunk_terms AS
    SELECT c.id AS id,
           c.name || coalesce(char(10) || c.name_pieces, '') AS name,
           coalesce(c.own_text, CAST(substr(f.content, c.start_byte + 1, c.end_byte - c.start_byte) AS TEXT))
               || coalesce(char(10) || c.body_pieces, '') AS body
    FROM chunks c JOIN files f ON f.id = c.file_id;
CREATE VIRTUAL TABLE chunks_fts USING fts5(name, body, content='chunk_terms', content_rowid='id');
INSERT INTO chunks_fts(chunks_fts) VALUES ('rebuild');
"""

# readable views, for browsing the store with `sqlite-utils` or Datasette (README, "Looking into the
# index"); nothing in codeintel reads them. Positions as in the tables: lines 1-based, columns
# 0-based UTF-8 byte offsets within the line.
VIEWS = {
    # every definition with its file's path, and the qualified name of the definition it is in
    "symbols_view": """
        SELECT s.id, f.path, s.name, s.qualname, s.kind, s.name_line AS line, s.name_col AS col,
               s.start_line, s.end_line, s.signature, s.doc, p.qualname AS parent, f.language
        FROM symbols s JOIN files f ON f.id = s.file_id LEFT JOIN symbols p ON p.id = s.parent_id""",
    # one row per occurrence of an identifier, with the text of its line: refs keeps each
    # (file, identifier) once with its byte offsets packed as little-endian uint32, unpacked here
    # (json_each over a list of `count` zeros numbers them; line_text: up to 1,000 bytes of the
    # line either side of the occurrence). Plain nested selects, so that a filter on name or path
    # reaches the tables' indexes and the first rows come without unpacking the rest.
    "references_view": """
        SELECT path, name,
               1 + length(before) - length(replace(before, char(10), '')) AS line,
               length(CAST(head AS BLOB)) AS col,
               rtrim(head || CASE instr(after, char(10)) WHEN 0 THEN after
                                  ELSE substr(after, 1, instr(after, char(10)) - 1) END, char(13)) AS line_text,
               offset AS byte
        FROM (
            SELECT path, name, offset, before, after,
                   substr(near, length(rtrim(near, replace(near, char(10), ''))) + 1) AS head
            FROM (
                SELECT f.path, l.name, l.offset,
                       CAST(substr(f.content, 1, l.offset) AS TEXT) AS before,
                       CAST(substr(f.content, max(l.offset - 1000, 0) + 1, l.offset - max(l.offset - 1000, 0)) AS TEXT) AS near,
                       CAST(substr(f.content, l.offset + 1, 1000) AS TEXT) AS after
                FROM (
                    SELECT file_id, name,
                           (instr('0123456789ABCDEF', substr(h, 1, 1)) - 1) * 16 + instr('0123456789ABCDEF', substr(h, 2, 1)) - 1
                           + ((instr('0123456789ABCDEF', substr(h, 3, 1)) - 1) * 16
                              + instr('0123456789ABCDEF', substr(h, 4, 1)) - 1) * 256
                           + ((instr('0123456789ABCDEF', substr(h, 5, 1)) - 1) * 16
                              + instr('0123456789ABCDEF', substr(h, 6, 1)) - 1) * 65536
                           + ((instr('0123456789ABCDEF', substr(h, 7, 1)) - 1) * 16
                              + instr('0123456789ABCDEF', substr(h, 8, 1)) - 1) * 16777216 AS offset
                    FROM (
                        SELECT r.file_id, r.name, hex(substr(r.positions, 4 * j.key + 1, 4)) AS h
                        FROM refs r, json_each('[' || rtrim(replace(hex(zeroblob(r.count)), '00', '0,'), ',') || ']') j)
                ) l JOIN files f ON f.id = l.file_id))""",
    # every decision of the merge driver or `codeintel resolve`, oldest first, each with the
    # merge of a file it belongs to (one run records all of a file's hunks at once: the same path,
    # via and time; merge = the id of its first decision) and how that merge went overall
    "merge_decisions_view": """
        SELECT min(id) OVER merge AS merge, id, datetime(at, 'unixepoch') AS at_utc, via, path, hunk, region,
               CASE WHEN resolved THEN 'resolved' ELSE 'left' END AS decision,
               confidence, threshold, patterns, reason, model, resolution,
               count(*) OVER merge AS hunks_in_merge,
               sum(resolved) OVER merge AS resolved_in_merge,
               base_blob, ours_blob, theirs_blob
        FROM merge_decisions
        WINDOW merge AS (PARTITION BY path, via, at)
        ORDER BY at, id""",
}


def _v7(db) -> None:
    """Readable views (VIEWS)."""
    for name, sql in VIEWS.items():
        db.create_view(name, sql.strip(), replace=True)


# version -> what brings a store from version-1 to version: an SQL script, or a function of a
# sqlite_utils.Database (see the module's docstring)
MIGRATIONS: dict[int, object] = {1: _V1, 2: _V2, 3: _V3, 4: _V4, 5: _V5, 6: _V6, 7: _v7}
