"""Longest-common-subsequence labelling: which items of a source sequence a target keeps.

``lcs_keep(source, target)`` marks the items of ``source`` that belong to one longest common
subsequence with ``target`` (SkCoder's recipe for labelling an exemplar's tokens keep/drop
against the code that should be written). Ties are broken towards the earliest match in the
source, so the labelling is deterministic.
"""
from __future__ import annotations

from typing import Sequence


def lcs_keep(source: Sequence, target: Sequence) -> list[bool]:
    n, m = len(source), len(target)
    if not n or not m:
        return [False] * n
    # suffix table: best[i][j] = LCS length of source[i:] and target[j:]
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, below = best[i], best[i + 1]
        s = source[i]
        for j in range(m - 1, -1, -1):
            if s == target[j]:
                row[j] = below[j + 1] + 1
            else:
                row[j] = below[j] if below[j] >= row[j + 1] else row[j + 1]
    keep = [False] * n
    i = j = 0
    while i < n and j < m:
        if source[i] == target[j] and best[i][j] == best[i + 1][j + 1] + 1:
            keep[i] = True
            i += 1
            j += 1
        elif best[i + 1][j] >= best[i][j + 1]:
            i += 1
        else:
            j += 1
    return keep
