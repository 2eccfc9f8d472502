"""Tests of codeintel.merge's model-free core: diff3 against git, tokens, patterns, the two-level
plan and its assembly, the marker parser, and the corpus / store readers.

Agreement with real data is measured where it is available: ``git merge-file`` (generated inputs;
skipped without git) and the merge corpus under ../shared (a sample; skipped when absent).
"""
from __future__ import annotations

import gzip
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from codeintel.merge.conflicts import candidate_for_hunk, line_level_result, plan_hunk, plan_merge
from codeintel.merge.corpus import (examples_from_texts, localize_resolutions, read_corpus, read_records,
                                    scenarios_from_store)
from codeintel.merge.diff3 import (LEVELS, STYLE_LEVEL, STYLES, conflict_count, diff3, merge_file,
                                   merged_if_clean, render, split_lines)
from codeintel.merge.markers import detect_marker_size, has_markers, parse_conflicts, safe_marker_size
from codeintel.merge.patterns import (PATTERNS, UNRESOLVABLE, apply_pattern, line_label, matching_patterns,
                                      rem_base)
from codeintel.merge.tokens import generic_tokenize, tokenize
from codeintel.merge.xdiff import diff

from conftest import ROOT, SHARED  # noqa: E402

CORPUS = SHARED / "corpora" / "merge"
GIT = shutil.which("git")
needs_git = pytest.mark.skipif(GIT is None, reason="git not installed")
needs_corpus = pytest.mark.skipif(not any(CORPUS.glob("*.jsonl.gz")) if CORPUS.is_dir() else True,
                                  reason="merge corpus not available")

LINES = ["a\n", "b\n", "c\n", "\n", "x = 1\n", "}\n", "    pass\n", "def f():\n"]
# MERGE_CORE_EXAMPLES=2000 for a longer hunt
FAST = settings(max_examples=int(os.environ.get("MERGE_CORE_EXAMPLES", "120")), deadline=None,
               suppress_health_check=[HealthCheck.too_slow])


@st.composite
def triples(draw, alphabet=tuple(LINES), max_size=10):
    """(base, ours, theirs): two random edits of one random base."""
    base = draw(st.lists(st.sampled_from(alphabet), max_size=max_size))

    def edit():
        seq = list(base)
        for _ in range(draw(st.integers(0, 3))):
            op = draw(st.sampled_from("ids"))
            pos = draw(st.integers(0, len(seq)))
            if op == "i":
                seq.insert(pos, draw(st.sampled_from(alphabet)))
            elif seq:
                pos = min(pos, len(seq) - 1)
                if op == "d":
                    del seq[pos]
                else:
                    seq[pos] = draw(st.sampled_from(alphabet))
        return seq

    return base, edit(), edit()


def git_merge_file(base: str, ours: str, theirs: str, style: str = "merge", folder: str | None = None,
                   marker_size: int = 7) -> tuple[str, int]:
    """Real ``git merge-file -p`` (bytes in and out via surrogateescape)."""
    folder = folder or tempfile.mkdtemp(prefix="mergecore-")
    for name, text in (("o", ours), ("b", base), ("t", theirs)):
        Path(folder, name).write_bytes(text.encode("utf-8", "surrogateescape"))
    args = [GIT, "merge-file", "-p", f"--marker-size={marker_size}"]
    args += {"merge": [], "diff3": ["--diff3"], "zdiff3": ["--zdiff3"]}[style]
    args += ["-L", "ours", "-L", "base", "-L", "theirs", "o", "b", "t"]
    proc = subprocess.run(args, cwd=folder, capture_output=True)
    assert 0 <= proc.returncode < 128, proc.stderr
    return proc.stdout.decode("utf-8", "surrogateescape"), proc.returncode


def check_hunk_ranges(hunks, base, ours, theirs):
    """Hunks tile all three inputs; a conflict's sides are exactly those slices."""
    ends = [0, 0, 0]
    for h in hunks:
        for k, (rng, seq, side) in enumerate(((h.ours_range, ours, h.ours), (h.base_range, base, h.base),
                                              (h.theirs_range, theirs, h.theirs))):
            assert rng[0] == ends[k] and rng[1] >= rng[0]
            ends[k] = rng[1]
            if not h.stable:
                assert list(seq[rng[0]:rng[1]]) == list(side)
    assert ends == [len(ours), len(base), len(theirs)]


# ============================================================================ diff3 properties
@FAST
@given(triples())
def test_a_only_one_side_changed_takes_that_side(t):
    base, ours, _ = t
    for level in LEVELS:
        assert merged_if_clean(diff3(base, base, ours, level)) == ours
        assert merged_if_clean(diff3(base, ours, base, level)) == ours


@FAST
@given(triples())
def test_b_identical_changes_merge_cleanly(t):
    base, ours, _ = t
    for level in LEVELS:
        assert merged_if_clean(diff3(base, ours, ours, level)) == ours


@FAST
@given(triples(alphabet=(1, 2, 3, 4)))
def test_diff3_works_on_any_hashable_items_and_hunks_tile_the_inputs(t):
    base, ours, theirs = t
    for level in LEVELS:
        hunks = diff3(base, ours, theirs, level)
        if not hunks:                     # nothing merged: one side deleted everything
            assert merged_if_clean(diff3(base, ours, theirs, "eager")) == []
        elif level != "zealous":          # split pieces of a zealous conflict approximate the base
            check_hunk_ranges(hunks, base, ours, theirs)
        assert all(h.ours == h.base == h.theirs for h in hunks if h.stable)
        assert not any(a.stable and b.stable for a, b in zip(hunks, hunks[1:]))


@FAST
@given(st.lists(st.sampled_from("abcd"), max_size=12), st.lists(st.sampled_from("abcd"), max_size=12))
def test_two_way_diff_script_turns_a_into_b(a, b):
    out, i = [], 0
    for c in diff(a, b):
        out.extend(a[i:c.i1])
        out.extend(b[c.i2:c.i2 + c.chg2])
        i = c.i1 + c.chg1
    out.extend(a[i:])
    assert out == b


@FAST
@given(triples())
def test_c_rendered_markers_parse_back_to_the_same_sides(t):
    base, ours, theirs = t
    for style in STYLES:
        hunks = diff3(base, ours, theirs, STYLE_LEVEL[style])
        text = render(hunks, style)
        segments = parse_conflicts(text)
        assert "".join(s.text for s in segments) == text
        conflicts = [s for s in segments if s.conflict]
        expected = [h for h in hunks if not h.stable]
        assert len(conflicts) == len(expected)
        for seg, h in zip(conflicts, expected):
            assert seg.ours == h.ours and seg.theirs == h.theirs
            assert seg.base == (None if style == "merge" else h.base)
            assert seg.labels == ("ours", None if style == "merge" else "base", "theirs")
        assert has_markers(text) == bool(expected)


def test_split_lines_is_git_lines():
    assert split_lines("") == []
    assert split_lines("a\r\nb\rc\nd") == ["a\r\n", "b\rc\n", "d"]
    assert split_lines("\n\n") == ["\n", "\n"]
    assert split_lines("x\u2028y\n") == ["x\u2028y\n"]       # only \n ends a line, as in git


# ============================================================================ agreement with git
def _random_case(rng: random.Random) -> tuple[str, str, str]:
    alphabet = ["a\n", "b\n", "c\n", "\n", "}\n", "x = 1\n", "    return y\n", "d\n"]
    if rng.random() < 0.15:
        alphabet = [x.replace("\n", "\r\n") for x in alphabet]
    base = [rng.choice(alphabet) for _ in range(rng.randint(0, 14))]
    if rng.random() < 0.1:
        base = []                                             # add/add

    def edit(seq):
        seq = list(seq) if base or rng.random() < 0.5 else [rng.choice(alphabet) for _ in range(rng.randint(0, 6))]
        for _ in range(rng.randint(0, 4)):
            p = rng.randint(0, len(seq))
            r = rng.random()
            if r < 0.4 and seq:
                seq.pop(min(p, len(seq) - 1))
            elif r < 0.8:
                seq.insert(p, rng.choice(alphabet))
            elif seq:
                seq[min(p, len(seq) - 1)] = rng.choice(alphabet)
        if seq and rng.random() < 0.15:
            seq[-1] = seq[-1].rstrip("\r\n")                  # no newline at the end
        return seq

    ours, theirs = edit(base), edit(base)
    if base and rng.random() < 0.1:
        base[-1] = base[-1].rstrip("\r\n")
    return "".join(base), "".join(ours), "".join(theirs)


@needs_git
def test_g_agreement_with_git_merge_file(tmp_path):
    rng = random.Random(20240229)
    cases = [_random_case(rng) for _ in range(200)]
    stats = {}
    for style in ("merge", "diff3", "zdiff3"):
        same_decision = same_count = same_text = conflicted = 0
        for base, ours, theirs in cases:
            git_text, git_n = git_merge_file(base, ours, theirs, style, str(tmp_path))
            mine = line_level_result(base, ours, theirs, style)
            same_decision += (git_n == 0) == (mine.conflicts == 0)
            same_count += git_n == mine.conflicts
            same_text += git_text == mine.text
            conflicted += git_n > 0
            if git_n == 0:
                assert mine.text == git_text, (style, base, ours, theirs)
        n = len(cases)
        stats[style] = dict(cases=n, conflicted=conflicted, decision=same_decision / n,
                            conflict_count=same_count / n, identical_text=same_text / n)
        assert same_decision == n, stats
        assert same_count / n >= 0.95, stats
        assert same_text / n >= 0.95, stats
    print("\nagreement with git merge-file:", json.dumps(stats))


# ============================================================================ examples against git
@needs_git
@pytest.mark.parametrize("style", STYLES)
def test_crlf_file_markers_use_crlf(style, tmp_path):
    base = "one\r\ntwo\r\nthree\r\n"
    ours = "one\r\nTWO\r\nthree\r\n"
    theirs = "one\r\n2\r\nthree\r\n"
    mine = merge_file(base, ours, theirs, style)
    assert (mine.text, mine.conflicts) == git_merge_file(base, ours, theirs, style, str(tmp_path))
    assert "<<<<<<< ours\r\n" in mine.text and "=======\r\n" in mine.text and ">>>>>>> theirs\r\n" in mine.text
    plan = plan_merge(base, ours, theirs)
    assert plan.assemble({}, style=style, use_token_merge=False).text == mine.text


@needs_git
@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("case", [
    ("a\nb", "a\nB", "a\nbb"),                    # all three without a final newline
    ("a\nb\n", "a\nB", "a\nC\n"),                 # one side loses it
    ("a\r\nb", "a\r\nB", "a\r\nC"),               # CRLF file, no final newline
    ("a\nb\nc\n", "a\nb\nc", "a\nb\nc\nd\n"),     # both sides change the last line
    ("", "x\ny\n", "x\nz\n"),                     # add/add: empty base
    ("", "same\n", "same\n"),                     # add/add, identical
    ("a\n", "", "b\n"),                           # delete against modify
])
def test_edge_cases_match_git(style, case, tmp_path):
    base, ours, theirs = case
    mine = merge_file(base, ours, theirs, style)
    assert (mine.text, mine.conflicts) == git_merge_file(base, ours, theirs, style, str(tmp_path))


@needs_git
def test_non_utf8_bytes_round_trip_through_surrogateescape(tmp_path):
    """Callers decode with surrogateescape (documented); the bytes come back unchanged."""
    raw = [b"caf\xe9\nmid\nline\n", b"caf\xe9\nmid\nLINE\n", b"caf\xe9!\nmid\nline\n"]
    base, ours, theirs = (x.decode("utf-8", "surrogateescape") for x in raw)
    mine = merge_file(base, ours, theirs, "diff3")
    assert mine.conflicts == 0
    assert mine.text.encode("utf-8", "surrogateescape") == b"caf\xe9!\nmid\nLINE\n"
    assert (mine.text, mine.conflicts) == git_merge_file(base, ours, theirs, "diff3", str(tmp_path))
    assert "".join(tokenize(base, "x.py")) == base             # unencodable: generic lexer
    plan = plan_merge(base, "caf\udce9\nX\nline\n", theirs, "x.py")
    assert plan.assemble({}).text.encode("utf-8", "surrogateescape") == b"caf\xe9!\nX\nline\n"
    kept = plan.assemble({}, use_token_merge=False).text.encode("utf-8", "surrogateescape")
    assert kept.startswith(b"<<<<<<< ours\ncaf\xe9\nX\n=======\ncaf\xe9!\nmid\n>>>>>>> theirs\n")


@needs_git
def test_merge_style_refines_and_joins_conflicts_like_git(tmp_path):
    base = "".join(f"l{i}\n" for i in range(12))
    ours = base.replace("l2\n", "O2\n").replace("l5\n", "O5\n").replace("l10\n", "O10\n")
    theirs = base.replace("l2\n", "T2\n").replace("l5\n", "T5\n").replace("l10\n", "T10\n")
    # ours and theirs also change l3..l4 identically: one conflict region, refined by git
    ours = ours.replace("l3\n", "same\n")
    theirs = theirs.replace("l3\n", "same\n")
    for style in STYLES:
        mine = merge_file(base, ours, theirs, style)
        assert (mine.text, mine.conflicts) == git_merge_file(base, ours, theirs, style, str(tmp_path))


# ============================================================================ markers
def test_marker_like_lines_outside_conflicts_are_text():
    rst = "Title\n=======\n\nbody <<<<<<<\n<<<<<<<<<<<<<<<<\n>>>>>>> not a conflict\n"
    assert parse_conflicts(rst) == parse_conflicts(rst, 7)
    assert [s.conflict for s in parse_conflicts(rst)] == [False]
    assert not has_markers(rst)
    unterminated = "x\n<<<<<<< ours\na\n=======\nb\n"
    assert not has_markers(unterminated) and parse_conflicts(unterminated)[0].text == unterminated


def test_parser_handles_sizes_nesting_crlf_and_labels():
    text = ("head\n<<<<<<<<< ours\nx\n<<<<<<< inner\ny\n=======\nz\n>>>>>>> inner\n"
            "||||||||| base label\nb\n=========\nw\n>>>>>>>>> theirs\r\ntail\n")
    assert detect_marker_size(text) == 9
    segs = parse_conflicts(text)
    assert "".join(s.text for s in segs) == text
    (c,) = [s for s in segs if s.conflict]
    assert c.marker_size == 9 and c.style == "diff3"
    assert c.ours == ["x\n", "<<<<<<< inner\n", "y\n", "=======\n", "z\n", ">>>>>>> inner\n"]
    assert c.base == ["b\n"] and c.theirs == ["w\n"] and c.labels == ("ours", "base label", "theirs")
    crlf = "<<<<<<< HEAD\r\na\r\n=======\r\nb\r\n>>>>>>> feature/x\r\n"
    (c,) = parse_conflicts(crlf)
    assert c.ours == ["a\r\n"] and c.theirs == ["b\r\n"] and c.labels == ("HEAD", None, "feature/x")
    bare = "<<<<<<<\na\n=======\nb\n>>>>>>>"
    (c,) = parse_conflicts(bare)
    assert c.labels == (None, None, None) and c.text == bare


def test_sides_with_separator_lines_survive_with_a_safe_marker_size():
    base = "Title\n-----\n"
    ours = "Title\n=======\n"
    theirs = "Heading\n=======\n<<<<<<< x\n"
    size = safe_marker_size([base, ours, theirs])
    assert size == 8
    mine = merge_file(base, ours, theirs, "diff3", marker_size=size)
    (c,) = [s for s in parse_conflicts(mine.text) if s.conflict]
    assert not c.ambiguous and c.marker_size == 8
    assert (c.ours, c.base, c.theirs) == (split_lines(ours), split_lines(base), split_lines(theirs))
    # with the default size git's layout still tells ours' "=======" from the separator (diff3
    # style), and the parse says it had to choose; in the merge style it cannot know
    theirs = "Heading\n=======\n"
    (c,) = [s for s in parse_conflicts(merge_file(base, ours, theirs, "diff3").text) if s.conflict]
    assert c.ambiguous and (c.ours, c.base, c.theirs) == (split_lines(ours), split_lines(base), split_lines(theirs))
    text = "<<<<<<< ours\nTitle\n=======\n=======\nHeading\n=======\n>>>>>>> theirs\n"
    (c,) = parse_conflicts(text)
    assert c.ambiguous and c.ours == ["Title\n"]


# ============================================================================ tokens
PATHS = [None, "a.py", "a.js", "a.ts", "a.tsx", "a.go", "a.rs", "a.c", "a.cpp", "A.java", "a.unknown"]
CODEISH = st.text(alphabet=st.sampled_from(list("abcxyz_019 \t\n\r(){}[];:,.'\"\\#/*+-=<>!&|é€\u2028")), max_size=80)


@FAST
@given(st.one_of(st.text(max_size=80), CODEISH), st.sampled_from(PATHS))
def test_d_tokenize_round_trip(text, path):
    tokens = tokenize(text, path)
    assert "".join(tokens) == text
    assert all(tokens) and tokens == tokenize(text, path)
    assert "".join(generic_tokenize(text)) == text


def test_tokenize_examples_and_fallbacks():
    assert generic_tokenize("a==b\r\n  x_1") == ["a", "=", "=", "b", "\r", "\n", "  ", "x_1"]
    py = tokenize("if a == b:\n    return 1.5e3  # note it\n", "m.py")
    assert "==" in py and "1.5e3" in py and "note" in py
    assert tokenize("x\udce9 = 1\n", "m.py") == generic_tokenize("x\udce9 = 1\n")   # lone surrogate
    assert tokenize("", "m.py") == []
    assert "".join(tokenize("def (((\n  ''' unterminated", "m.py")) == "def (((\n  ''' unterminated"


# ============================================================================ patterns
def test_patterns_apply_as_defined():
    a, o, b = ["x", "k", "y"], ["k"], ["k", "z"]
    assert apply_pattern("A", a, o, b) == a and apply_pattern("B", a, o, b) == b
    assert apply_pattern("O", a, o, b) == o
    assert apply_pattern("AB", a, o, b) == a + b and apply_pattern("BA", a, o, b) == b + a
    assert rem_base(a, o) == ["x", "y"] and rem_base(b, o) == ["z"] and rem_base(a, []) == a
    assert apply_pattern("REM-BASE-AB", a, o, b) == ["x", "y", "z"]
    assert apply_pattern("REM-BASE-BA", a, o, b) == ["z", "x", "y"]
    with pytest.raises(ValueError):
        apply_pattern("C", a, o, b)
    assert matching_patterns("x\n  k y", a, o, b) == ["A"]          # whitespace is ignored
    assert matching_patterns("q", a, o, b) == [] and UNRESOLVABLE == "OTHER" and len(PATTERNS) == 9
    lines_a, lines_o, lines_b = ["import os\n", "import re\n"], ["import re\n"], ["import re\n", "import sys\n"]
    assert matching_patterns("import os\nimport re\nimport sys\n", lines_a, lines_o, lines_b) == []
    assert line_label("import os\nimport re\nimport sys\n", lines_a, lines_o, lines_b) == "INTERLEAVE"
    assert line_label("import os\nimport sys\n", lines_a, lines_o, lines_b) == "REM-BASE-AB"
    assert line_label("import json\n", lines_a, lines_o, lines_b) == "NEWCODE"
    assert line_label("  \n", lines_a, lines_o, lines_b) == "EMPTY"


# ============================================================================ plan and assembly
def _texts(t):
    return tuple("".join(x) for x in t)


@FAST
@given(triples(), st.sampled_from(STYLES))
def test_e_unresolved_assemble_keeps_every_line_of_both_sides(t, style):
    base, ours, theirs = _texts(t)
    plan = plan_merge(base, ours, theirs, "m.py")
    result = plan.assemble({}, style=style, use_token_merge=False)
    hunks = [plan.hunks[i] for i in plan.conflict_hunks]
    assert result.unresolved_hunks == len(hunks)
    conflicts = [s for s in parse_conflicts(result.text) if s.conflict]
    assert len(conflicts) == len(hunks)
    for seg, h in zip(conflicts, hunks):
        assert seg.ours == h.ours and seg.theirs == h.theirs
    if not hunks:
        assert result.text == merge_file(base, ours, theirs).text
    # planned on git's hunks for the style, an untouched plan is git's output byte for byte
    gitlike = plan_merge(base, ours, theirs, "m.py", line_level=STYLE_LEVEL[style])
    assert gitlike.assemble({}, style=style, use_token_merge=False).text == merge_file(base, ours, theirs, style).text


@FAST
@given(triples(), st.data())
def test_f_fully_resolved_assemble_has_no_markers(t, data):
    base, ours, theirs = _texts(t)
    plan = plan_merge(base, ours, theirs, "m.py")
    choices = {inst.index: data.draw(st.sampled_from(PATTERNS)) for inst in plan.instances}
    result = plan.assemble(choices)
    assert result.unresolved_hunks == 0
    assert not has_markers(result.text) and "<<<<<<<" not in result.text


@FAST
@given(triples())
def test_instances_map_back_to_their_hunks(t):
    base, ours, theirs = _texts(t)
    plan = plan_merge(base, ours, theirs)
    assert [i.index for i in plan.instances] == list(range(len(plan.instances)))
    assert sorted(plan.hunk_plans) == plan.conflict_hunks
    for h, hp in plan.hunk_plans.items():
        insts = [plan.instances[k] for k in hp.instances]
        assert all(i.hunk == h for i in insts) and [i.slot for i in insts] == list(range(len(insts)))
        assert len(insts) == len(hp.conflicts)
        assert (h in plan.token_clean) == (not insts)


def test_token_merge_candidates_and_choices():
    base = "def f(x):\n    return x + 1\n"
    ours = "def f(x, y):\n    return x * 1\n"
    theirs = "def f(x):\n    return x + 2\n"
    plan = plan_merge(base, ours, theirs, "m.py")
    assert plan.conflict_hunks == [0] and plan.token_clean == [0] and not plan.instances
    assert plan.assemble({}).text == "def f(x, y):\n    return x * 2\n"
    assert plan.assemble({}, use_token_merge=False).unresolved_hunks == 1
    assert candidate_for_hunk(split_lines(ours), split_lines(base), split_lines(theirs), "m.py") == \
        "def f(x, y):\n    return x * 2\n"

    ours = "def f(x):\n    return x + 3\n"
    plan = plan_merge(base, ours, theirs, "m.py")
    (inst,) = plan.instances
    assert (inst.ours, inst.base, inst.theirs) == (["3"], ["1"], ["2"]) and plan.conflict_hunks == [inst.hunk]
    assert inst.before[-4:] == ["x", " ", "+", " "] and inst.after == ["\n"] and inst.path == "m.py"
    assert plan.assemble({0: "B"}).text == theirs
    assert plan.assemble({0: "AB"}).text == "def f(x):\n    return x + 32\n"
    assert plan.assemble({0: None}).unresolved_hunks == 1
    assert plan.assemble({0: UNRESOLVABLE}).unresolved_hunks == 1
    with pytest.raises(ValueError):
        plan.assemble({0: "bogus"})
    hp = plan.hunk_plans[inst.hunk]
    assert hp.token_label("    return x + 2\n") == "B"
    assert hp.token_label("    return x+3 2\n") == "AB"                # whitespace-insensitive
    assert hp.token_label("    return x + 9\n") == "OTHER"


def test_partially_resolved_hunk_stays_a_conflict():
    base = "a = f(1, 2)\n"
    ours = "a = g(1, 3)\n"
    theirs = "a = h(1, 4)\n"
    plan = plan_merge(base, ours, theirs, "m.py")
    assert len(plan.instances) == 2
    assert plan.assemble({0: "A"}).unresolved_hunks == 1
    assert plan.assemble({0: "A", 1: "B"}).text == "a = g(1, 4)\n"


def test_context_comes_from_surrounding_lines_and_is_capped():
    body = "".join(f"line{i}\n" for i in range(30))
    base, ours, theirs = body + "v = 1\n" + body, body + "v = 2\n" + body, body + "v = 3\n" + body
    plan = plan_merge(base, ours, theirs, context_lines=2, context_tokens=5)
    (inst,) = plan.instances
    assert inst.before == ["\n", "line29", "\n", "v", " ", "=", " "][-5:]
    assert len(inst.after) == 5 and inst.after[:2] == ["\n", "line0"]


# ============================================================================ corpus and store
def test_localize_resolutions_with_bookends():
    base = "a\nb\nc\nd\ne\nf\n"
    ours = "a\nB1\nc\nd\ne\nF1\n"
    theirs = "a\nB2\nc\nd\ne\nF2\n"
    hunks = diff3(split_lines(base), split_lines(ours), split_lines(theirs), "eager")
    assert conflict_count(hunks) == 2
    assert localize_resolutions(hunks, "a\nB1\nB2\nc\nd\ne\nF2\n") == ["B1\nB2\n", "F2\n"]
    assert localize_resolutions(hunks, "a\nB1\nc\nd\nd\ne\nF2\n") == ["B1\n", "F2\n"]
    # the context before the first hunk reaches the file's start, so it is anchored there
    assert localize_resolutions(hunks, "a\nX\na\nc\nd\ne\nF2\n") == ["X\na\n", "F2\n"]
    assert localize_resolutions(hunks, "a\nB1\nZ\n") == [None, None]
    assert localize_resolutions(hunks, "a\nB\nc\nX\nc\nd\ne\nF2\n") == ["B\nc\nX\n", "F2\n"]
    start = diff3(["a\n", "z\n"], ["b\n", "z\n"], ["c\n", "z\n"], "eager")
    assert localize_resolutions(start, "new\nz\n") == ["new\n"]


def test_examples_from_texts_and_own_jsonl(tmp_path):
    base = "def f():\n    return 1\n\nx = 0\n"
    ours = "def f():\n    return 2\n\nx = 0\n"
    theirs = "def f():\n    return 3\n\nx = 0\n"
    (ex,) = examples_from_texts(base, ours, theirs, "def f():\n    return 3\n\nx = 0\n", path="m.py")
    assert ex.label == "B" and ex.matches == ["B", "REM-BASE-B"] and ex.token_label == "B"
    assert ex.token_conflicts == 1 and ex.index == 0 and ex.path == "m.py"
    assert ex.context_after == "\nx = 0\n" and ex.context_before == "def f():\n"
    records = [{"base": base, "ours": ours, "theirs": theirs, "resolved": ours, "path": "m.py", "repo": "me/x"},
               {"base": None, "ours": "a\n", "theirs": "b\n", "resolved": "a\nb\n"}]
    plain = tmp_path / "own.jsonl"
    plain.write_text("".join(json.dumps(r) + "\n" for r in records))
    with gzip.open(tmp_path / "own2.jsonl.gz", "wt") as fh:
        fh.write(json.dumps(records[0]) + "\n")
    exs = list(read_corpus(tmp_path))
    assert [e.label for e in exs] == ["A", "AB", "A"]
    assert exs[1].change_kind == "add/add" and exs[0].repo == "me/x" and exs[0].source == "jsonl"
    assert len(list(read_corpus(plain, limit=1))) == 1


def test_scenarios_from_a_mined_store(tmp_path):
    from codeintel.store import Store
    from indexer.history import mine_history

    repo = tmp_path / "repo"
    env = {**os.environ, "GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@x", "GIT_COMMITTER_NAME": "A",
           "GIT_COMMITTER_EMAIL": "a@x", "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path)}

    def git(*args):
        return subprocess.run(["git", "-C", str(repo), *args], env=env, capture_output=True, text=True).stdout

    repo.mkdir()
    git("init", "-q", "-b", "main")
    base = "".join(f"def f{i}():\n    return {i}\n\n\n" for i in range(6))
    (repo / "calc.py").write_text(base)
    git("add", "-A"); git("commit", "-q", "-m", "base")
    git("checkout", "-q", "-b", "feature")
    (repo / "calc.py").write_text(base.replace("return 3\n", "return 30\n"))
    git("commit", "-q", "-am", "theirs")
    git("checkout", "-q", "main")
    (repo / "calc.py").write_text(base.replace("return 3\n", "return 300\n"))
    git("commit", "-q", "-am", "ours")
    git("merge", "-q", "feature")
    (repo / "calc.py").write_text(base.replace("return 3\n", "return 30\n"))
    git("commit", "-q", "-am", "merge")
    store = Store.open(tmp_path / "store" / "index.db")
    try:
        mine_history(repo, store)
        (ex,) = list(scenarios_from_store(store))
    finally:
        store.close()
    assert ex.source == "store" and ex.path == "calc.py" and ex.resolution == "    return 30\n"
    assert ex.label == "B" and ex.token_label == "B" and ex.ours == "    return 300\n"


def _corpus_sample(per_file: int = 12):
    for f in sorted(CORPUS.glob("*.jsonl.gz")):
        with gzip.open(f, "rt", encoding="utf-8") as fh:
            for k, line in enumerate(fh):
                if k >= per_file:
                    break
                yield json.loads(line)


@needs_corpus
def test_corpus_sample_agrees_with_labels_git_output_and_resolutions():
    files = regions = same_matches = labelled = same_label = same_res = same_tok = same_tokn = 0
    for r in _corpus_sample():
        files += 1
        merged = merge_file(r["base"], r["ours"], r["theirs"], "diff3")
        assert merged.text == r["merged_with_markers"], r["path"]
        hunks = [h for h in merged.hunks if not h.stable]
        assert len(hunks) == len(r["regions"])
        resolutions = localize_resolutions(merged.hunks, r["resolved"])
        for h, g, res in zip(hunks, r["regions"], resolutions):
            regions += 1
            o, b, t = split_lines(g["ours"]), split_lines(g["base"]), split_lines(g["theirs"])
            assert render([h], "diff3") == render([type(h)(False, o, b, t)], "diff3")  # same sides
            same_res += res == g["resolution"]
            hp, _ = plan_hunk(o, b, t, tokenizer=generic_tokenize, context_tokens=0)
            same_tokn += len(hp.conflicts) == g["token_conflicts"]
            if g["resolution"] is None:
                continue
            labelled += 1
            same_matches += matching_patterns(g["resolution"], o, b, t) == g["matches"]
            same_label += line_label(g["resolution"], o, b, t) == g["label"]
            same_tok += hp.token_label(g["resolution"]) == g["token_label"]
    rates = dict(files=files, regions=regions, labelled=labelled, matches=same_matches / labelled,
                 label=same_label / labelled, resolution=same_res / regions, token_conflicts=same_tokn / regions,
                 token_label=same_tok / labelled)
    print("\ncorpus sample agreement:", json.dumps(rates))
    assert rates["matches"] >= 0.98 and rates["label"] >= 0.98
    assert rates["resolution"] >= 0.98 and rates["token_conflicts"] >= 0.98 and rates["token_label"] >= 0.98


@needs_corpus
def test_read_corpus_examples():
    path = sorted(CORPUS.glob("*.jsonl.gz"))[0]
    exs = list(read_corpus(path, limit=20))
    assert len(exs) == 20 and all(e.resolution is not None and e.label for e in exs)
    assert all(e.repo and e.path and e.language and e.source == "corpus" for e in exs)
    first = next(read_records(path))
    assert {"base", "ours", "theirs", "resolved", "regions"} <= set(first)
    hp, insts = exs[0].plan()
    assert len(insts) == len(hp.conflicts) and all(i.hunk == exs[0].index for i in insts)


def test_no_torch_in_the_core_modules():
    code = ("import sys; import codeintel.merge, codeintel.merge.corpus, codeintel.merge.conflicts, "
            "codeintel.merge.markers; assert 'torch' not in sys.modules, 'torch imported'")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
