"""Line indexes for references in-process: positions from a file's LineIndex (byte offsets to
lines and columns in each client encoding, CRLF and non-ASCII lines included) agree with a
naive computation; the cache by blob id keeps within its budget, least recently used out; the
warm-up fills it from a real index; and the Places of ``navigation.references`` match the
JSON the server writes."""
from __future__ import annotations

import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from codeintel import navigation
from codeintel.navigation import Buffer, FileHits, LineIndex, LineIndexCache, warm_line_indexes
from codeintel.store import Store, store_path
from conftest import cli, commit_all, init_repo
from lsp.positions import UTF8, UTF16, UTF32, hit_locations, to_range

PIECES = ["name", "x", " ", "é", "😀", "€", "\n", "\r\n", "(", "\t", "ü name"]


def _naive(text: str, index: int, encoding) -> tuple[int, int]:
    """(0-based line, column in client units) of character ``index``, the slow, obvious way."""
    before = text[:index]
    line = before.count("\n")
    head = before[before.rfind("\n") + 1:]
    if encoding == UTF8:
        return line, len(head.encode())
    if encoding == UTF32:
        return line, len(head)
    return line, len(head.encode("utf-16-le")) // 2


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=60), st.sampled_from([UTF8, UTF16, UTF32]))
def test_hit_locations_agree_with_a_naive_count(pieces, encoding):
    text = "".join(pieces)
    data = text.encode()
    matches = list(re.finditer(r"\bname\b", text))
    offsets = [len(text[:m.start()].encode()) for m in matches]
    hits = FileHits("f.py", offsets, 4, LineIndex(data))
    got = [json.loads(loc) for loc in hit_locations("file:///f.py", hits, encoding)]
    expected = []
    for m in matches:
        line, col = _naive(text, m.start(), encoding)
        expected.append({"uri": "file:///f.py", "range": {"start": {"line": line, "character": col},
                                                           "end": {"line": line, "character": col + 4}}})
    assert got == expected
    # the Places (other front ends) say the same once converted
    ranges = [to_range(p, encoding) for p in hits.places()]
    assert [(r.start.line, r.start.character, r.end.character) for r in ranges] == \
        [(e["range"]["start"]["line"], e["range"]["start"]["character"], e["range"]["end"]["character"])
         for e in expected]


def test_line_index_keeps_only_the_non_ascii_lines():
    index = LineIndex("a = 1\r\nb = 'é'\n\nc\n".encode())
    assert list(index.starts) == [0, 7, 16, 17, 19]      # the (empty) line after the last newline too
    assert index.wide == {2: "b = 'é'".encode()}
    assert index.text(1) is None and index.text(2) == "b = 'é'".encode()
    assert index.offset(2, 4) == 11 and index.offset(9, 0) == index.size
    assert LineIndex(b"").starts.tolist() == [0]


def test_cache_by_blob_keeps_to_its_line_budget_least_recently_used_out():
    cache = LineIndexCache(max_lines=10)
    first = cache.put("a", b"1\n" * 4)         # 5 lines (the empty last one counts)
    cache.put("b", b"2\n" * 4)
    assert cache.get("a") is first              # "a" is now the most recently used
    cache.put("c", b"3\n" * 4)                  # 15 lines: the least recently used ("b") goes
    assert cache.get("b") is None and cache.get("a") is first and cache.get("c") is not None
    assert cache.lines == 10 and cache.full
    assert cache.get(None) is None and cache.put(None, b"x").starts.tolist() == [0]
    assert len(cache) == 2


def test_warm_up_builds_each_indexed_file_once_and_references_use_it(tmp_path):
    repo = init_repo(tmp_path / "repo")
    for i in range(5):
        (repo / f"m{i}.py").write_text(f"# é {i}\ndef f{i}():\n    return helper({i})\n", "utf-8")
    (repo / "helper.py").write_text("def helper(x):\n    return x\n")
    commit_all(repo, "five")
    cli("index", repo, "--quiet", check=0)
    cache = LineIndexCache()
    with Store.open(store_path(repo), create=False) as store:
        assert warm_line_indexes(store, cache, stop=lambda: True) == 0      # told to stop at once
        assert warm_line_indexes(store, cache, batch=2) == 6
        assert warm_line_indexes(store, cache) == 0                         # nothing left to build
        reads = []
        original = store.contents_by_id
        store.contents_by_id = lambda ids: reads.append(list(ids)) or original(ids)
        buffer = Buffer("scratch.py", b"helper\n")     # not parsed: it says nothing of itself
        places = navigation.references(store, buffer, 1, 0, include_declaration=True, cache=cache)
        assert not [ids for ids in reads if ids]          # every line index came from the cache
        assert sorted((p.path, p.line, p.col) for p in places) == \
            [("helper.py", 1, 4)] + [(f"m{i}.py", 3, 11) for i in range(5)]
        # a cold cache reads the files' contents, several per query
        cold = LineIndexCache()
        assert len(navigation.references(store, buffer, 1, 0, cache=cold)) == 6
        assert len(cold) == 6 and any(len(ids) == 5 for ids in reads)
