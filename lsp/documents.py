"""Open documents: each one's bytes, its incrementally reparsed tree and its facts (the
indexer's single-file API on the unsaved text), and which workspace folder it belongs to.

LSP edits arrive as ranges in client units; they are applied to the document's bytes and
to its tree-sitter tree (``indexer.incremental``), and the facts are re-extracted lazily,
when a request or the debounced refresh needs them.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

from lsprotocol import types as lsp

from codeintel.navigation import Buffer
from indexer.files import git_blob_id

from .folders import Folder
from .positions import UTF16, from_client_col

log = logging.getLogger(__name__)


class OpenDocument:
    def __init__(self, uri: str, path: Optional[Path], folder: Optional[Folder], text: str, version: Optional[int]):
        self.uri, self.path, self.folder, self.version = uri, path, folder, version
        self.rel = folder.relative(path) if folder is not None and path is not None else None
        # outside every workspace folder a buffer is a lone file, known by its name (never by an index)
        self.name = self.rel or (path.name if path is not None else "buffer")
        self.data = text.encode("utf-8", "surrogateescape")
        self.tree = None              # indexer.incremental.BufferTree, when the language is known
        self.buffer = Buffer(self.name, self.data)
        self.record = None            # the FileRecord of the last extraction
        self.degraded: Optional[str] = None   # why the buffer is not parsed (too big, binary…)
        self.stale = True
        self.written_blob: Optional[str] = None
        self.has_diagnostics = False  # whether the client shows diagnostics of ours for it
        self.findings: list = []      # the learned features' hints (lsp.findings), as of the last open/save
        self.findings_run = 0         # how many times they were asked for

    # ---------------------------------------------------------------- edits
    def apply_changes(self, changes, version: Optional[int], encoding=UTF16, max_file_size: int = 1 << 20) -> None:
        self.version = version
        self.stale = True
        if len(self.data) > max_file_size and self.tree is None:
            self.data = b""     # not tracked edit by edit: the next refresh takes the client's text
            return
        for change in changes:
            text = change.text.encode("utf-8", "surrogateescape")
            if getattr(change, "range", None) is None:
                self.data = text
                if self.tree is not None:
                    self.tree.replace(text)
                continue
            start = self.offset(change.range.start, encoding)
            end = max(start, self.offset(change.range.end, encoding))
            if self.tree is not None:
                self.tree.edit(start, end, text)
                self.data = self.tree.data
            else:
                self.data = self.data[:start] + text + self.data[end:]

    def offset(self, position: lsp.Position, encoding=UTF16) -> int:
        """Byte offset of an LSP position (clamped to the line's end and the text's)."""
        start = 0
        for _ in range(position.line):      # a scan to the line: no index of every line's start
            start = self.data.find(b"\n", start) + 1
            if start == 0:
                return len(self.data)
        end = self.data.find(b"\n", start)
        end = len(self.data) if end == -1 else end
        return start + from_client_col(self.data[start:end], position.character, encoding)

    # ---------------------------------------------------------------- facts
    def refresh(self, max_file_size: int, expected_text: Optional[str] = None):
        """Re-extract the facts of the current bytes (incremental reparse); returns the
        FileRecord (skipped, with its reason, when the buffer is not parsed)."""
        from indexer.incremental import BufferTree
        from indexer.pipeline import index_file

        if expected_text is not None:
            expected = expected_text.encode("utf-8", "surrogateescape")
            if expected != self.data:
                if self.data:
                    log.warning("%s: edits out of step with the client's text; reparsing from scratch", self.uri)
                if self.tree is not None:
                    self.tree.replace(expected)
            self.data = expected
        rel = self.name
        tree = None
        if len(self.data) > max_file_size:
            self.tree = None   # a huge buffer: no tree kept, no parse
        else:
            if self.tree is None:
                from indexer.languages import language_for_path
                spec = language_for_path(rel)
                if spec is not None:
                    self.tree = BufferTree(spec, self.data)
            if self.tree is not None:
                tree = self.tree.current()
        try:
            record = index_file(None, rel, max_file_size, data=self.data, tree=tree)
        except Exception as exc:  # noqa: BLE001 - as the indexer does: one odd buffer is skipped, with why
            from codeintel.store import FileRecord
            reason = ("too deeply nested to index" if isinstance(exc, RecursionError)
                      else f"indexer error: {type(exc).__name__}: {exc}"[:200])
            record = FileRecord(rel, "skipped", reason)
        self.degraded = record.reason if record.facts is None else None
        self.record = record
        self.buffer = Buffer(self.name, self.data, record.facts, tree)
        self.stale = False
        return record

    def adopt(self, other: "OpenDocument") -> None:
        """Take the extraction of ``other``, a copy of this document refreshed elsewhere (another
        thread) at the same version."""
        self.data, self.tree, self.record, self.degraded = other.data, other.tree, other.record, other.degraded
        self.buffer, self.stale = other.buffer, False

    def blob(self) -> str:
        return git_blob_id(self.data)
