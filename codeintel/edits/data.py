"""Function before/after pairs for the edits feature: read from corpus files (the JSONL of
``shared/corpora/edits``, gzip or not) or from a repository's store, and split by time.

Each pair is a dict with ``repo``, ``commit``, ``time`` (unix seconds), ``date``
(YYYY-MM-DD), ``path``, ``qualname``, ``language``, ``before`` and ``after``. The time split
uses one global cut date and keeps every pair of a commit on the same side.
"""
from __future__ import annotations

import gzip
import json
import time
from pathlib import Path
from typing import Iterable, Optional

from indexer.languages import language_for_path


class DataError(ValueError):
    """A corpus file that cannot be read (its message is one line for the user)."""


def _open(path: Path):
    with open(path, "rb") as probe:
        gz = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt", encoding="utf-8") if gz else open(path, encoding="utf-8")


def _date(seconds: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(int(seconds)))


def read_corpus(paths: Iterable[str | Path], skipped: Optional[list[str]] = None) -> list[dict]:
    """The modified-function pairs of the corpus files (added/deleted functions skipped); a line
    that is not JSON is a DataError, or, given a ``skipped`` list, noted there and skipped."""
    out = []
    for path in map(Path, paths):
        if not path.is_file():
            raise DataError(f"{path}: no such file")
        try:
            with _open(path) as fh:
                for n, line in enumerate(fh, 1):
                    if not line.strip():
                        continue
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError:
                        if skipped is None:
                            raise DataError(f"{path}:{n}: not a JSON object") from None
                        skipped.append(f"{path.name}:{n}: not JSON")
                        continue
                    if not isinstance(row, dict) or not row.get("before") or not row.get("after"):
                        continue
                    when = int(row.get("commit_time") or 0)
                    file_path = row.get("path_after") or row.get("path_before") or ""
                    spec = language_for_path(file_path)
                    out.append({"repo": row.get("repo") or path.name.split(".")[0], "commit": row.get("commit", ""),
                                "time": when, "date": row.get("date") or _date(when), "path": file_path,
                                "qualname": row.get("qualname", ""),
                                "language": spec.name if spec else "python",
                                "before": row["before"], "after": row["after"]})
        except (OSError, EOFError, UnicodeDecodeError, gzip.BadGzipFile) as exc:
            raise DataError(f"{path}: cannot read ({exc})") from None
    return out


def store_pairs(store, repo: str = "") -> list[dict]:
    """The modified-function pairs the indexer mined from the repository's history."""
    out = []
    for row in store.function_changes():
        if row["change"] != "modified" or not row["before"] or not row["after"]:
            continue
        when = int(row["committed_at"] or 0)
        out.append({"repo": repo, "commit": row["commit"], "time": when, "date": _date(when), "path": row["path"],
                    "qualname": row["qualname"], "language": row["language"], "before": row["before"],
                    "after": row["after"]})
    return out


def default_cut(pairs: list[dict], test_share: float = 0.2) -> str:
    """The commit date that leaves about ``test_share`` of the commits after it."""
    dates = sorted({(p["date"], p["commit"]) for p in pairs})
    if not dates:
        raise DataError("no function changes in the data")
    return dates[min(len(dates) - 1, int(len(dates) * (1 - test_share)))][0]


def time_split(pairs: list[dict], cut: str, holdout_repos: Optional[set] = None) -> tuple[list, list]:
    """(train, test): train = pairs of commits dated before ``cut`` (YYYY-MM-DD) outside the
    held-out repositories; test = pairs on or after ``cut`` (only the held-out repositories
    when there are). A commit's date decides for all its pairs."""
    commit_date = {}
    for p in pairs:
        commit_date.setdefault((p["repo"], p["commit"]), p["date"])
    train, test = [], []
    for p in pairs:
        late = commit_date[(p["repo"], p["commit"])] >= cut
        if holdout_repos:
            if p["repo"] in holdout_repos:
                if late:
                    test.append(p)
            elif not late:
                train.append(p)
        else:
            (test if late else train).append(p)
    return train, test
