"""Training examples for the merge classifier: from corpus files, or from the user's own merges.

This module owns the ``MergeExample`` record (one conflict region with its resolution) and the two
ways to get them:

* ``read_corpus(paths)``: JSONL files (``.jsonl`` or ``.jsonl.gz``; directories are searched for
  both) in the merge corpus format, one JSON object per conflicted file of one merge;
* ``scenarios_from_store(store)``: the past merges the indexer mined into the store
  (``Store.merge_scenarios()``), re-merged here and their resolutions localized.

JSONL format (what ``codeintel train merge`` accepts; the shipped corpus has every field)::

    {"repo": "owner/name", "merge_sha": "...", "path": "pkg/mod.py", "language": "Python",
     "change_kind": "modify/modify" | "add/add",
     "base": "<file text at the merge base>", "ours": "<first parent>", "theirs": "<second parent>",
     "resolved": "<the file as committed in the merge>",
     "regions": [                                   # optional: computed when absent
        {"index": 0, "ours": "...", "base": "...", "theirs": "...",   # full lines of the hunk
         "context_before": "...", "context_after": "...",             # <= 10 merged lines around
         "resolution": "..." | null,                 # what replaced the hunk in "resolved"
         "label": "A" | ... | "NEWCODE" | "INTERLEAVE" | "EMPTY" | null,
         "matches": ["A", ...], "token_conflicts": 0, "token_label": "CLEAN" | "B,AB" | ...}]}

Only ``base``, ``ours``, ``theirs`` and ``resolved`` are required (``base`` may be empty or null for
an add/add); without ``regions`` the hunks are those of ``git merge-file --diff3`` (``diff3`` at the
``eager`` level), resolutions are localized with bookends and labels computed here, exactly as the
corpus was built. Texts are ``str`` (UTF-8 in the file): decoding non-UTF-8 sources is the caller's
business.

Localization (DeepMerge-style bookends, as the corpus README describes): for each conflict hunk in
file order, the shortest suffix of the merged lines before the hunk that occurs exactly once in the
committed file after the previous hunk's resolution, and the shortest prefix of the merged lines
after the hunk that occurs exactly once after that; the lines between are the resolution. Lines
compare with trailing whitespace stripped; a hunk at the start or end of the file is bookended by
the file's start or end. A bookend that is never unique leaves ``resolution`` None.
"""
from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Optional, Sequence, Union

from .conflicts import CONTEXT_LINES, HunkPlan, Tokenizer, plan_hunk
from .diff3 import Hunk, diff3, split_lines
from .patterns import line_label, matching_patterns


@dataclass
class MergeExample:
    """One conflict region (a line hunk of ``git merge-file --diff3``) and what the developer did."""
    ours: str
    base: str
    theirs: str
    resolution: Optional[str]
    context_before: str = ""
    context_after: str = ""
    label: Optional[str] = None
    matches: list[str] = field(default_factory=list)
    token_label: Optional[str] = None
    token_conflicts: Optional[int] = None
    repo: Optional[str] = None
    path: Optional[str] = None
    language: Optional[str] = None
    merge_sha: Optional[str] = None
    index: int = 0                      # the region's position among the file's conflicts
    change_kind: Optional[str] = None
    source: str = "corpus"              # corpus | store | jsonl (computed here)

    def sides(self) -> tuple[list[str], list[str], list[str]]:
        """(ours, base, theirs) as lists of lines."""
        return split_lines(self.ours), split_lines(self.base), split_lines(self.theirs)

    def hunk_plan(self, tokenizer: Optional[Tokenizer] = None, token_level: str = "eager",
                  context_tokens: int = 256) -> HunkPlan:
        """The token-level merge of this region (its instances are in ``hunk_plan().instances``
        order; call ``plan_hunk`` directly to get the ConflictInstance objects)."""
        return self.plan(tokenizer, token_level, context_tokens)[0]

    def plan(self, tokenizer: Optional[Tokenizer] = None, token_level: str = "eager",
             context_tokens: int = 256):
        """(HunkPlan, [ConflictInstance]) of this region, with its context lines as context."""
        o, b, t = self.sides()
        return plan_hunk(o, b, t, self.path, split_lines(self.context_before),
                         split_lines(self.context_after), hunk=self.index, tokenizer=tokenizer,
                         token_level=token_level, context_tokens=context_tokens)


# --------------------------------------------------------------------------- localization
def _key(line: str) -> str:
    return line.rstrip()


def _find(keys: list[str], needle: list[str], start: int) -> tuple[int, Optional[int]]:
    """(number of occurrences of ``needle`` in ``keys[start:]``, capped at 2; the first one)."""
    n = len(needle)
    first, found, count = needle[0], None, 0
    for p in range(start, len(keys) - n + 1):
        if keys[p] == first and keys[p:p + n] == needle:
            count += 1
            if count == 2:
                break
            found = p
    return count, found


def _bookend(keys: list[str], context: list[str], pos: int, before: bool, at_edge: bool) -> Optional[int]:
    """Where the resolution starts (``before``: just after the shortest unique suffix of
    ``context``) or ends (just before the shortest unique prefix), searching from ``pos``.
    ``at_edge``: the context reaches the start (end) of the file, so all of it is also anchored
    there."""
    for n in range(1, len(context) + 1):
        needle = context[-n:] if before else context[:n]
        count, at = _find(keys, needle, pos)
        if count == 1:
            return at + n if before else at
        if count == 0:
            break                # a longer needle cannot occur either
    if at_edge:
        n = len(context)
        if before and pos == 0 and keys[:n] == context:
            return n
        if not before and len(keys) - n >= pos and keys[len(keys) - n:] == context:
            return len(keys) - n
    return None


def localize_resolutions(hunks: Sequence[Hunk], resolved: str) -> list[Optional[str]]:
    """The resolution of each conflict hunk of ``hunks`` (line-level diff3) in the committed file
    ``resolved``, or None where the bookends are missing or never unique."""
    lines = split_lines(resolved)
    keys = [_key(x) for x in lines]
    out: list[Optional[str]] = []
    pos = 0
    for i, h in enumerate(hunks):
        if h.stable:
            continue
        before = [_key(x) for x in hunks[i - 1].merged] if i > 0 and hunks[i - 1].stable else []
        after = [_key(x) for x in hunks[i + 1].merged] if i + 1 < len(hunks) and hunks[i + 1].stable else []
        start = _bookend(keys, before, pos, True, i == 1) if before else (0 if i == 0 else None)
        if start is None:
            out.append(None)
            continue
        if after:
            end = _bookend(keys, after, start, False, i + 2 == len(hunks))
        else:
            end = len(lines) if i == len(hunks) - 1 else None
        if end is None:
            out.append(None)
            pos = start
            continue
        out.append("".join(lines[start:end]))
        pos = end
    return out


# --------------------------------------------------------------------------- examples
def _context(hunks: Sequence[Hunk], i: int, step: int, limit: int) -> str:
    j = i + step
    if 0 <= j < len(hunks) and hunks[j].stable:
        lines = hunks[j].merged
        return "".join(lines[-limit:] if step < 0 else lines[:limit])
    return ""


def examples_from_texts(base: Optional[str], ours: str, theirs: str, resolved: Optional[str], *,
                        path: Optional[str] = None, repo: Optional[str] = None,
                        language: Optional[str] = None, merge_sha: Optional[str] = None,
                        change_kind: Optional[str] = None, source: str = "jsonl",
                        tokenizer: Optional[Tokenizer] = None, token_labels: bool = True,
                        context_lines: int = CONTEXT_LINES) -> list[MergeExample]:
    """Every conflict region of merging ``ours`` and ``theirs`` (``git merge-file --diff3`` hunks)
    with its localized resolution and labels."""
    base = base or ""
    hunks = diff3(split_lines(base), split_lines(ours), split_lines(theirs), "eager")
    resolutions = localize_resolutions(hunks, resolved) if resolved is not None else None
    out = []
    k = 0
    for i, h in enumerate(hunks):
        if h.stable:
            continue
        res = resolutions[k] if resolutions is not None else None
        ex = MergeExample("".join(h.ours), "".join(h.base), "".join(h.theirs), res,
                          _context(hunks, i, -1, context_lines), _context(hunks, i, +1, context_lines),
                          repo=repo, path=path, language=language, merge_sha=merge_sha, index=k,
                          change_kind=change_kind or ("add/add" if not base else "modify/modify"),
                          source=source)
        if res is not None:
            ex.matches = matching_patterns(res, h.ours, h.base, h.theirs)
            ex.label = line_label(res, h.ours, h.base, h.theirs)
            if token_labels:
                hp = ex.hunk_plan(tokenizer, context_tokens=0)
                ex.token_conflicts = len(hp.conflicts)
                ex.token_label = hp.token_label(res)
        out.append(ex)
        k += 1
    return out


def examples_from_record(record: dict, *, require_resolution: bool = True,
                         tokenizer: Optional[Tokenizer] = None) -> list[MergeExample]:
    """The examples of one JSONL record (regions as given, or computed when absent)."""
    meta = dict(repo=record.get("repo"), path=record.get("path"), language=record.get("language"),
                merge_sha=record.get("merge_sha"), change_kind=record.get("change_kind"))
    regions = record.get("regions")
    if regions is None:
        exs = examples_from_texts(record.get("base"), record["ours"], record["theirs"],
                                  record.get("resolved"), tokenizer=tokenizer, **meta)
    else:
        exs = [MergeExample(g["ours"], g["base"], g["theirs"], g.get("resolution"),
                            g.get("context_before", ""), g.get("context_after", ""), g.get("label"),
                            list(g.get("matches") or []), g.get("token_label"), g.get("token_conflicts"),
                            index=g.get("index", k), source="corpus", **meta)
               for k, g in enumerate(regions)]
    return [e for e in exs if e.resolution is not None or not require_resolution]


def corpus_files(paths: Union[str, os.PathLike, Iterable[Union[str, os.PathLike]]]) -> list[Path]:
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(x for x in p.iterdir() if x.name.endswith((".jsonl", ".jsonl.gz"))))
        else:
            out.append(p)
    return out


def read_records(paths, skipped: Optional[list[str]] = None) -> Iterator[dict]:
    """The raw JSON objects of JSONL(.gz) files or directories of them, in order; a line that is
    not a JSON object is a ValueError naming it, or, given a ``skipped`` list, noted there and
    skipped."""
    for f in corpus_files(paths):
        opener = gzip.open if f.name.endswith(".gz") else open
        with opener(f, "rt", encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    record = None
                if isinstance(record, dict):
                    yield record
                elif skipped is None:
                    raise ValueError(f"{f}:{number}: not a JSON object")
                else:
                    skipped.append(f"{f.name}:{number}: not a JSON object")


def read_corpus(paths, *, languages: Optional[Sequence[str]] = None, require_resolution: bool = True,
                limit: Optional[int] = None, tokenizer: Optional[Tokenizer] = None,
                skipped: Optional[list[str]] = None) -> Iterator[MergeExample]:
    """Per-region examples of corpus files (``languages``: keep only these ``language`` values;
    ``skipped``: where records that cannot be used are noted instead of stopping the run)."""
    wanted = set(languages) if languages else None
    n = 0
    for record in read_records(paths, skipped):
        if wanted is not None and record.get("language") not in wanted:
            continue
        try:
            examples = list(examples_from_record(record, require_resolution=require_resolution, tokenizer=tokenizer))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            why = f"{record.get('repo', '?')} {record.get('merge_sha', '?')} {record.get('path', '?')}: " \
                  f"not a usable merge record ({type(exc).__name__}: {exc})"
            if skipped is None:
                raise ValueError(why) from None
            skipped.append(why)
            continue
        for ex in examples:
            yield ex
            n += 1
            if limit is not None and n >= limit:
                return


def scenarios_from_store(store, *, require_resolution: bool = True, tokenizer: Optional[Tokenizer] = None,
                         token_labels: bool = True) -> Iterator[MergeExample]:
    """Examples from the past merges in the store: every file changed on both sides of a merge
    whose line-level merge conflicts, with each hunk's resolution localized in the committed
    result. Skipped: binary files, files absent on a side or deleted by the merge."""
    for sc in store.merge_scenarios(conflicts_only=True):
        if sc.get("ours") is None or sc.get("theirs") is None or sc.get("result") is None:
            continue
        for ex in examples_from_texts(sc.get("base"), sc["ours"], sc["theirs"], sc["result"],
                                      path=sc.get("path"), language=sc.get("language"),
                                      merge_sha=sc.get("merge"), source="store", tokenizer=tokenizer,
                                      token_labels=token_labels):
            if ex.resolution is not None or not require_resolution:
                yield ex
