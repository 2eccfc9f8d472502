"""Two-way diff of any two sequences of hashable items, computed the way git's xdiff does.

This module owns the edit script that the three-way merge (``diff3.py``) is built on. It follows
the algorithm of git's ``xdiff`` library with default options (``git merge-file`` uses no
indent heuristic and the Myers algorithm), step by step, so that a merge agrees with
``git merge-file`` not only on the length of the diff but on which of several equally short
alignments is chosen:

1. items are compared exactly (for lines: including the line ending);
2. the common prefix and suffix are set aside (``xdl_trim_ends``);
3. items with no match in the other sequence are marked changed up front, and items with very
   many matches are too when they sit among unmatched ones (``xdl_cleanup_records``);
4. Myers' O(ND) divide-and-conquer over what remains, including xdiff's cost cut-offs on large
   inputs (``xdl_recs_cmp`` / ``xdl_split``: results then are not minimal, exactly as in git);
5. change groups are slid down as far as they go, or back up to line up with a change in the
   other sequence (``xdl_change_compact``);
6. the groups become ``Change(i1, chg1, i2, chg2)`` records (``xdl_build_script``).

This is a re-implementation in Python for sequences of any hashable items (lines, tokens), not
a binding; it is checked against ``git merge-file`` in ``tests/test_merge_core.py``.
"""
from __future__ import annotations

from typing import Hashable, NamedTuple, Sequence

_SNAKE_CNT = 20          # XDL_SNAKE_CNT
_HEUR_MIN_COST = 256     # XDL_HEUR_MIN_COST
_MAX_COST_MIN = 256      # XDL_MAX_COST_MIN
_K_HEUR = 4              # XDL_K_HEUR
_MAX_EQLIMIT = 1024      # XDL_MAX_EQLIMIT
_KPDIS_RUN = 4           # XDL_KPDIS_RUN
_SIMSCAN_WINDOW = 100    # XDL_SIMSCAN_WINDOW
_LINE_MAX = 1 << 62


class Change(NamedTuple):
    """``a[i1:i1+chg1]`` is replaced by ``b[i2:i2+chg2]``."""
    i1: int
    chg1: int
    i2: int
    chg2: int


def bogosqrt(n: int) -> int:
    """xdiff's cheap integer square root (a power of two)."""
    i = 1
    while n > 0:
        n >>= 2
        i <<= 1
    return i


def classify(a: Sequence[Hashable], b: Sequence[Hashable]) -> tuple[list[int], list[int]]:
    """Equal items get equal small integers (xdiff's equivalence classes)."""
    ids: dict = {}
    ha = [ids.setdefault(x, len(ids)) for x in a]
    hb = [ids.setdefault(x, len(ids)) for x in b]
    return ha, hb


def diff(a: Sequence[Hashable], b: Sequence[Hashable]) -> list[Change]:
    """The edit script turning ``a`` into ``b``, as git's xdiff computes it."""
    ha, hb = classify(a, b)
    return diff_classes(ha, hb)


def diff_classes(ha: list[int], hb: list[int]) -> list[Change]:
    n1, n2 = len(ha), len(hb)
    # changed flags with a sentinel False at both ends: record i lives at index i + 1
    rchg1 = [False] * (n1 + 2)
    rchg2 = [False] * (n2 + 2)
    if n1 and n2:
        _prepare_and_compare(ha, hb, rchg1, rchg2)
    else:
        for i in range(n1):
            rchg1[i + 1] = True
        for i in range(n2):
            rchg2[i + 1] = True
    _change_compact(ha, rchg1, rchg2)
    _change_compact(hb, rchg2, rchg1)
    return _build_script(rchg1, rchg2, n1, n2)


# --------------------------------------------------------------------------- preparation
def _prepare_and_compare(ha, hb, rchg1, rchg2) -> None:
    n1, n2 = len(ha), len(hb)
    lim = min(n1, n2)
    start = 0
    while start < lim and ha[start] == hb[start]:
        start += 1
    tail = 0
    rest = lim - start
    while tail < rest and ha[n1 - 1 - tail] == hb[n2 - 1 - tail]:
        tail += 1
    dend1, dend2 = n1 - tail - 1, n2 - tail - 1

    count1: dict[int, int] = {}
    for h in ha:
        count1[h] = count1.get(h, 0) + 1
    count2: dict[int, int] = {}
    for h in hb:
        count2[h] = count2.get(h, 0) + 1

    idx1 = _cleanup(ha, start, dend1, count2, min(bogosqrt(n1), _MAX_EQLIMIT), rchg1)
    idx2 = _cleanup(hb, start, dend2, count1, min(bogosqrt(n2), _MAX_EQLIMIT), rchg2)
    if not idx1 and not idx2:
        return
    red1 = [ha[i] for i in idx1]
    red2 = [hb[i] for i in idx2]
    _recs_cmp(red1, red2, idx1, idx2, rchg1, rchg2)


def _cleanup(h, dstart, dend, other_count, mlim, rchg) -> list[int]:
    """Indexes of the records that take part in the Myers search; the others are marked changed
    (no match at all in the other sequence, or many matches amid unmatched records)."""
    dis = {}
    for i in range(dstart, dend + 1):
        nm = min(other_count.get(h[i], 0), mlim)
        dis[i] = 0 if nm == 0 else (2 if nm >= mlim else 1)
    keep = []
    for i in range(dstart, dend + 1):
        d = dis[i]
        if d == 1 or (d == 2 and not _clean_mmatch(dis, i, dstart, dend)):
            keep.append(i)
        else:
            rchg[i + 1] = True
    return keep


def _clean_mmatch(dis, i, s, e) -> bool:
    if i - s > _SIMSCAN_WINDOW:
        s = i - _SIMSCAN_WINDOW
    if e - i > _SIMSCAN_WINDOW:
        e = i + _SIMSCAN_WINDOW
    rdis0, rpdis0 = 0, 1
    r = 1
    while i - r >= s:
        d = dis[i - r]
        if d == 0:
            rdis0 += 1
        elif d == 2:
            rpdis0 += 1
        else:
            break
        r += 1
    if rdis0 == 0:
        return False
    rdis1, rpdis1 = 0, 1
    r = 1
    while i + r <= e:
        d = dis[i + r]
        if d == 0:
            rdis1 += 1
        elif d == 2:
            rpdis1 += 1
        else:
            break
        r += 1
    if rdis1 == 0:
        return False
    rdis1 += rdis0
    rpdis1 += rpdis0
    return rpdis1 * _KPDIS_RUN < rpdis1 + rdis1


# --------------------------------------------------------------------------- Myers
def _recs_cmp(h1, h2, idx1, idx2, rchg1, rchg2) -> None:
    n1, n2 = len(h1), len(h2)
    ndiags = n1 + n2 + 3
    koff = n2 + 1
    kvdf = [0] * (ndiags + 1)
    kvdb = [0] * (ndiags + 1)
    mxcost = max(bogosqrt(ndiags), _MAX_COST_MIN)
    stack = [(0, n1, 0, n2, False)]
    while stack:
        off1, lim1, off2, lim2, need_min = stack.pop()
        while off1 < lim1 and off2 < lim2 and h1[off1] == h2[off2]:
            off1 += 1
            off2 += 1
        while off1 < lim1 and off2 < lim2 and h1[lim1 - 1] == h2[lim2 - 1]:
            lim1 -= 1
            lim2 -= 1
        if off1 == lim1:
            for i in range(off2, lim2):
                rchg2[idx2[i] + 1] = True
        elif off2 == lim2:
            for i in range(off1, lim1):
                rchg1[idx1[i] + 1] = True
        else:
            s1, s2, min_lo, min_hi = _split(h1, off1, lim1, h2, off2, lim2, kvdf, kvdb, koff,
                                            need_min, mxcost)
            stack.append((s1, lim1, s2, lim2, min_hi))
            stack.append((off1, s1, off2, s2, min_lo))


def _split(h1, off1, lim1, h2, off2, lim2, kvdf, kvdb, koff, need_min, mxcost):
    """xdl_split: the middle snake of the box, or a heuristic cut when the search gets
    expensive. Returns (i1, i2, min_lo, min_hi)."""
    dmin, dmax = off1 - lim2, lim1 - off2
    fmid, bmid = off1 - off2, lim1 - lim2
    odd = (fmid - bmid) & 1
    fmin = fmax = fmid
    bmin = bmax = bmid
    kvdf[fmid + koff] = off1
    kvdb[bmid + koff] = lim1
    ec = 0
    while True:
        ec += 1
        got_snake = False
        if fmin > dmin:
            fmin -= 1
            kvdf[fmin - 1 + koff] = -1
        else:
            fmin += 1
        if fmax < dmax:
            fmax += 1
            kvdf[fmax + 1 + koff] = -1
        else:
            fmax -= 1
        for d in range(fmax, fmin - 1, -2):
            lo, hi = kvdf[d - 1 + koff], kvdf[d + 1 + koff]
            i1 = lo + 1 if lo >= hi else hi
            prev1 = i1
            i2 = i1 - d
            while i1 < lim1 and i2 < lim2 and h1[i1] == h2[i2]:
                i1 += 1
                i2 += 1
            if i1 - prev1 > _SNAKE_CNT:
                got_snake = True
            kvdf[d + koff] = i1
            if odd and bmin <= d <= bmax and kvdb[d + koff] <= i1:
                return i1, i2, True, True

        if bmin > dmin:
            bmin -= 1
            kvdb[bmin - 1 + koff] = _LINE_MAX
        else:
            bmin += 1
        if bmax < dmax:
            bmax += 1
            kvdb[bmax + 1 + koff] = _LINE_MAX
        else:
            bmax -= 1
        for d in range(bmax, bmin - 1, -2):
            lo, hi = kvdb[d - 1 + koff], kvdb[d + 1 + koff]
            i1 = lo if lo < hi else hi - 1
            prev1 = i1
            i2 = i1 - d
            while i1 > off1 and i2 > off2 and h1[i1 - 1] == h2[i2 - 1]:
                i1 -= 1
                i2 -= 1
            if prev1 - i1 > _SNAKE_CNT:
                got_snake = True
            kvdb[d + koff] = i1
            if not odd and fmin <= d <= fmax and i1 <= kvdf[d + koff]:
                return i1, i2, True, True

        if need_min:
            continue

        if got_snake and ec > _HEUR_MIN_COST:
            best = 0
            found = None
            for d in range(fmax, fmin - 1, -2):
                dd = d - fmid if d > fmid else fmid - d
                i1 = kvdf[d + koff]
                i2 = i1 - d
                v = (i1 - off1) + (i2 - off2) - dd
                if (v > _K_HEUR * ec and v > best and off1 + _SNAKE_CNT <= i1 < lim1
                        and off2 + _SNAKE_CNT <= i2 < lim2):
                    k = 1
                    while h1[i1 - k] == h2[i2 - k]:
                        if k == _SNAKE_CNT:
                            best, found = v, (i1, i2)
                            break
                        k += 1
            if best > 0:
                return found[0], found[1], True, False
            best = 0
            for d in range(bmax, bmin - 1, -2):
                dd = d - bmid if d > bmid else bmid - d
                i1 = kvdb[d + koff]
                i2 = i1 - d
                v = (lim1 - i1) + (lim2 - i2) - dd
                if (v > _K_HEUR * ec and v > best and off1 < i1 <= lim1 - _SNAKE_CNT
                        and off2 < i2 <= lim2 - _SNAKE_CNT):
                    k = 0
                    while h1[i1 + k] == h2[i2 + k]:
                        if k == _SNAKE_CNT - 1:
                            best, found = v, (i1, i2)
                            break
                        k += 1
            if best > 0:
                return found[0], found[1], False, True

        if ec >= mxcost:
            fbest = fbest1 = -1
            for d in range(fmax, fmin - 1, -2):
                i1 = min(kvdf[d + koff], lim1)
                i2 = i1 - d
                if lim2 < i2:
                    i1, i2 = lim2 + d, lim2
                if fbest < i1 + i2:
                    fbest, fbest1 = i1 + i2, i1
            bbest = bbest1 = _LINE_MAX
            for d in range(bmax, bmin - 1, -2):
                i1 = max(off1, kvdb[d + koff])
                i2 = i1 - d
                if i2 < off2:
                    i1, i2 = off2 + d, off2
                if i1 + i2 < bbest:
                    bbest, bbest1 = i1 + i2, i1
            if (lim1 + lim2) - bbest < fbest - (off1 + off2):
                return fbest1, fbest - fbest1, True, False
            return bbest1, bbest - bbest1, False, True


# --------------------------------------------------------------------------- compaction
class _Group:
    __slots__ = ("start", "end")

    def __init__(self, rchg):
        self.start = self.end = 0
        while rchg[self.end + 1]:
            self.end += 1


def _group_next(rchg, n, g) -> bool:
    if g.end == n:
        return False
    g.start = g.end + 1
    g.end = g.start
    while rchg[g.end + 1]:
        g.end += 1
    return True


def _group_previous(rchg, g) -> bool:
    if g.start == 0:
        return False
    g.end = g.start - 1
    g.start = g.end
    while rchg[g.start]:            # record start - 1
        g.start -= 1
    return True


def _slide_down(h, rchg, n, g) -> bool:
    if g.end < n and h[g.start] == h[g.end]:
        rchg[g.start + 1] = False
        g.start += 1
        rchg[g.end + 1] = True
        g.end += 1
        while rchg[g.end + 1]:
            g.end += 1
        return True
    return False


def _slide_up(h, rchg, g) -> bool:
    if g.start > 0 and h[g.start - 1] == h[g.end - 1]:
        g.start -= 1
        rchg[g.start + 1] = True
        g.end -= 1
        rchg[g.end + 1] = False
        while rchg[g.start]:        # record start - 1
            g.start -= 1
        return True
    return False


def _change_compact(h, rchg, rchgo) -> None:
    """xdl_change_compact without the indent heuristic (``git merge-file`` does not use it)."""
    n, no = len(rchg) - 2, len(rchgo) - 2
    g, go = _Group(rchg), _Group(rchgo)
    while True:
        if g.end != g.start:
            while True:
                groupsize = g.end - g.start
                end_matching_other = -1
                while _slide_up(h, rchg, g):
                    _group_previous(rchgo, go)
                earliest_end = g.end
                if go.end > go.start:
                    end_matching_other = g.end
                while _slide_down(h, rchg, n, g):
                    _group_next(rchgo, no, go)
                    if go.end > go.start:
                        end_matching_other = g.end
                if groupsize == g.end - g.start:
                    break
            if g.end != earliest_end and end_matching_other != -1:
                while go.end == go.start:
                    _slide_up(h, rchg, g)
                    _group_previous(rchgo, go)
        if not _group_next(rchg, n, g):
            break
        _group_next(rchgo, no, go)


def _build_script(rchg1, rchg2, n1, n2) -> list[Change]:
    out = []
    i1, i2 = n1, n2
    while i1 >= 0 or i2 >= 0:
        if rchg1[i1] or rchg2[i2]:           # records i1 - 1, i2 - 1
            l1, l2 = i1, i2
            while rchg1[i1]:
                i1 -= 1
            while rchg2[i2]:
                i2 -= 1
            out.append(Change(i1, l1 - i1, i2, l2 - i2))
        i1 -= 1
        i2 -= 1
    out.reverse()
    return out
