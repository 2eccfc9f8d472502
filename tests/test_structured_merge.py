"""The syntax-aware merge (codeintel.merge.structured): order-free insertions keep both sides,
true conflicts give None, garbage never raises, and a few of Mergiraf's own cases."""
from __future__ import annotations

import random
import string

import pytest

from codeintel.merge.structured import MAX_BYTES, structured_merge
from conftest import SHARED

EXAMPLES = SHARED / "corpora" / "merge" / "mergiraf-examples"


def _names(rng: random.Random, n: int, prefix: str) -> list[str]:
    return [prefix + "".join(rng.choices(string.ascii_lowercase, k=6)) + str(i) for i in range(n)]


# ------------------------------------------------------------------------ order-free insertions
@pytest.mark.parametrize("seed", range(12))
def test_python_imports_and_functions_inserted_on_both_sides_are_all_kept_in_order(seed):
    rng = random.Random(seed)
    base_names = _names(rng, rng.randint(1, 4), "b")
    ours_new, theirs_new = _names(rng, rng.randint(1, 3), "o"), _names(rng, rng.randint(1, 3), "t")

    def module(imports, defs):
        return "".join(f"import {m}\n" for m in imports) + "\n" + "".join(
            f"\ndef {f}():\n    return {i}\n" for i, f in enumerate(defs))

    at = rng.randint(0, len(base_names))           # both insert at the same place
    ours_imports = base_names[:at] + ours_new + base_names[at:]
    theirs_imports = base_names[:at] + theirs_new + base_names[at:]
    base = module(base_names, base_names)
    ours = module(ours_imports, base_names + ours_new)
    theirs = module(theirs_imports, base_names + theirs_new)
    merged = structured_merge(base, ours, theirs, "m.py")
    assert merged is not None
    lines = merged.splitlines()
    imports = [line.split()[1] for line in lines if line.startswith("import ")]
    assert imports == base_names[:at] + ours_new + theirs_new + base_names[at:]
    defs = [line[4:line.index("(")] for line in lines if line.startswith("def ")]
    assert defs == base_names + ours_new + theirs_new


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("path,fmt", [
    ("a.py", "x = {{{items}}}\n"),                       # set literal
    ("a.js", "const x = [{items}];\n"),                  # array literal
    ("a.ts", "enum E {{ {items} }}\n"),                  # enum entries
    ("a.rs", "enum E {{ {items} }}\n"),
    ("a.java", "enum E {{ {items} }}\n"),
])
def test_entries_inserted_on_both_sides_of_a_literal_or_enum_are_all_kept(seed, path, fmt):
    rng = random.Random(seed)
    base_items = [n.upper() for n in _names(rng, rng.randint(1, 3), "b")]
    ours_new = [n.upper() for n in _names(rng, rng.randint(1, 2), "o")]
    theirs_new = [n.upper() for n in _names(rng, rng.randint(1, 2), "t")]
    base = fmt.format(items=", ".join(base_items))
    ours = fmt.format(items=", ".join(base_items + ours_new))
    theirs = fmt.format(items=", ".join(base_items + theirs_new))
    merged = structured_merge(base, ours, theirs, path)
    assert merged == fmt.format(items=", ".join(base_items + ours_new + theirs_new))


def test_changes_to_different_nodes_on_one_line_merge():
    assert structured_merge("x = f(a, b)\n", "x = f(a2, b)\n", "x = f(a, b2)\n", "a.py") == "x = f(a2, b2)\n"
    assert structured_merge("int x = a + b;\n", "long x = a + b;\n", "int x = a * b;\n", "a.c") == \
        "long x = a * b;\n"


def test_java_class_members_and_imports():
    base = "import a.A;\n\nclass C {\n    int x;\n}\n"
    ours = "import a.A;\nimport b.B;\n\nclass C {\n    int x;\n    void f() {}\n}\n"
    theirs = "import a.A;\nimport c.C;\n\nclass C {\n    int x;\n    void g() {}\n}\n"
    assert structured_merge(base, ours, theirs, "C.java") == \
        "import a.A;\nimport b.B;\nimport c.C;\n\nclass C {\n    int x;\n    void f() {}\n    void g() {}\n}\n"


def test_region_with_context_and_indentation():
    before = "class A:\n    def f(self):\n"
    base, ours, theirs = "        x = 1\n        y = 2\n", "        x = 10\n        y = 2\n", "        x = 1\n        y = 20\n"
    assert structured_merge(base, ours, theirs, "a.py", context_before=before, context_after="\n") == \
        "        x = 10\n        y = 20\n"
    assert structured_merge(base, ours, theirs, "a.py") == "        x = 10\n        y = 20\n"


# ------------------------------------------------------------------------ true conflicts
@pytest.mark.parametrize("base,ours,theirs,path", [
    ("x = 1\n", "x = 2\n", "x = 3\n", "a.py"),                                  # same leaf, two values
    ("f(a)\n", "f(a, b)\n", "f(a, c)\n", "a.py"),                               # arguments keep their order
    ("def f():\n    return 1\n", "", "def f():\n    return 2\n", "a.py"),       # delete vs modify
    ("def f():\n    a()\n", "def f():\n    a()\n    b()\n", "def f():\n    a()\n    c()\n", "a.py"),  # statements
    ("class M { void f() { int a = 2; int b = 3; int c = 4; } }",
     "class M { void f() { int a = 2; int b = 3; } }",
     "class M { void f() { int a = 2; int c = 4; } }", "M.java"),              # adjacent deletions
    ("let x = 1;", "let x = 2;", "let x = 3;", "a.rs"),
    ("m = P(key, s, D.class);\n", "m = P(key, \"\", s, D.class);\n", "m = P(key, s, reg(D.class));\n",
     "a.java"),                                                               # arity changed beside a change
])
def test_true_conflicts_give_none(base, ours, theirs, path):
    assert structured_merge(base, ours, theirs, path) is None
    assert structured_merge(base, theirs, ours, path) is None


@pytest.mark.parametrize("seed", range(10))
def test_both_sides_changing_one_value_differently_is_always_a_conflict(seed):
    rng = random.Random(seed)
    names = _names(rng, 5, "v")
    base = "".join(f"{n} = {i}\n" for i, n in enumerate(names))
    k = rng.randrange(len(names))
    ours = base.replace(f"{names[k]} = {k}\n", f"{names[k]} = {100 + k}\n")
    theirs = base.replace(f"{names[k]} = {k}\n", f"{names[k]} = {200 + k}\n")
    assert structured_merge(base, ours, theirs, "m.py") is None


def test_unknown_language_and_no_path_give_none():
    assert structured_merge("a\n", "b\n", "c\n", "notes.txt") is None
    assert structured_merge("a\n", "b\n", "c\n", None) is None


def test_trivial_merges():
    assert structured_merge("a", "a", "b", None) == "b"
    assert structured_merge("a", "b", "a", None) == "b"
    assert structured_merge("a", "b", "b", None) == "b"


# ------------------------------------------------------------------------ never raises
@pytest.mark.parametrize("seed", range(30))
def test_garbage_never_raises(seed):
    rng = random.Random(seed)
    alphabet = string.printable + "{}()[]<>;:\"'\\\x00é中\u2028"
    paths = ["a.py", "a.js", "a.ts", "a.tsx", "a.java", "a.go", "a.rs", "a.c", "a.cpp", None, "x"]

    def garbage():
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300)))

    base = garbage()
    for _ in range(3):
        ours, theirs = garbage(), base[: rng.randint(0, len(base))] + garbage()
        result = structured_merge(base, ours, theirs, rng.choice(paths))
        assert result is None or isinstance(result, str)


def test_non_strings_and_huge_input_give_none():
    assert structured_merge(None, "a", "b", "a.py") is None          # type: ignore[arg-type]
    big = "x = [" + ", ".join(str(i) for i in range(MAX_BYTES // 3)) + "]\n"
    assert structured_merge(big, big + "y = 1\n", big + "z = 1\n", "a.py") is None


def test_deep_nesting_is_bounded():
    deep = "x = " + "[" * 3000 + "]" * 3000 + "\n"
    assert structured_merge(deep, deep + "a = 1\n", deep + "b = 2\n", "a.py") in (None, deep + "a = 1\nb = 2\n")


# ------------------------------------------------------------------------ Mergiraf's own cases
CASES = [
    "python/working/imports",
    "python/working/decorated_methods",
    "java/working/add_imports_and_classes",
    "java/working/simple_independent_changes_on_same_line",
    "rust/working/impl_members",
    "go/working/imports",
    "typescript/working/enums",
    "typescript/working/interfaces",
]


def _case_dir(name: str):
    return EXAMPLES / name


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="shared corpora not present")
@pytest.mark.parametrize("case", CASES)
def test_mergiraf_cases_solved_exactly(case):
    folder = _case_dir(case)
    files = {p.stem: p for p in folder.iterdir()}
    base, left, right, expected = (files[k].read_text() for k in ("Base", "Left", "Right", "Expected"))
    assert structured_merge(base, left, right, files["Left"].name) == expected


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="shared corpora not present")
@pytest.mark.parametrize("case", ["spork/working/conflict_simple_delete_delete",
                                  "spork/working/conflict_single_conflicting_statement",
                                  "python/working/keyword_arguments"])
def test_mergiraf_conflict_cases_are_left(case):
    folder = _case_dir(case)
    files = {p.stem: p for p in folder.iterdir()}
    assert "<<<<<<<" in files["Expected"].read_text()
    base, left, right = (files[k].read_text() for k in ("Base", "Left", "Right"))
    assert structured_merge(base, left, right, files["Left"].name) is None
