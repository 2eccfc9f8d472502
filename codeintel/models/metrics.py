"""Text and code similarity metrics the features' evaluations share.

- ``levenshtein`` / ``edit_similarity``: edit distance (characters, or items of any sequences)
  and 1 - distance / longer length.
- ``code_tokens``: the tokens the n-gram metrics count (a word or one punctuation character).
- ``bleu``: corpus BLEU-4 (Papineni et al. 2002): clipped n-gram precisions for n = 1..4,
  their geometric mean, the brevity penalty over the whole corpus; no smoothing.
- ``codebleu``: CodeBLEU (Ren et al. 2020) for Python, corpus level: 0.25 x (BLEU + keyword-
  weighted BLEU + syntax match + dataflow match). The syntax match is the share of the
  reference's tree-sitter subtrees (node types only, as ``Node.__str__`` prints them) that the
  candidate has too. The dataflow match is a simplified version of the paper's: edges
  ``target <- computed from sources`` for assignments, ``for`` loops and parameters, and
  ``use <- comes from the last definition`` for every other variable use, variable names
  normalised by order of first appearance; the share of the reference's edges the candidate has.

Code given to the syntax and dataflow parts is a function *body* (statements at column 0)
or a whole function; either is parsed inside a wrapper ``def`` when needed.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from typing import Optional, Sequence

TOKEN = re.compile(r"\w+|[^\w\s]")
PY_KEYWORDS = frozenset("""False None True and as assert async await break class continue def del elif else except
finally for from global if import in is lambda nonlocal not or pass raise return try while with yield""".split())


def levenshtein(a, b) -> int:
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def edit_similarity(prediction, target) -> float:
    """1 - Levenshtein distance / the longer length, of two strings (characters) or any two sequences."""
    longest = max(len(prediction), len(target))
    return 1.0 if longest == 0 else 1.0 - levenshtein(prediction, target) / longest


def code_tokens(code: str) -> list[str]:
    return TOKEN.findall(code)


def exact_match(prediction: str, target: str) -> float:
    """1.0 when the two have the same tokens (whitespace and layout ignored)."""
    return float(code_tokens(prediction) == code_tokens(target))


# ------------------------------------------------------------------------------- BLEU
def _ngrams(tokens: Sequence[str], n: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _bleu_from(matches: list[float], totals: list[float], cand_len: int, ref_len: int) -> float:
    if cand_len == 0 or any(t == 0 for t in totals) or any(m == 0 for m in matches):
        return 0.0
    log_precision = sum(math.log(m / t) for m, t in zip(matches, totals)) / len(totals)
    brevity = 1.0 if cand_len > ref_len else math.exp(1 - ref_len / cand_len)
    return brevity * math.exp(log_precision)


def _corpus_bleu(predictions: Sequence[str], references: Sequence[str], unigram_weight=None, max_n: int = 4) -> float:
    """Corpus BLEU; ``unigram_weight(token)`` weighs the unigram matches (CodeBLEU's weighted match)."""
    matches, totals = [0.0] * max_n, [0.0] * max_n
    cand_len = ref_len = 0
    for prediction, reference in zip(predictions, references):
        cand, ref = code_tokens(prediction), code_tokens(reference)
        cand_len, ref_len = cand_len + len(cand), ref_len + len(ref)
        for n in range(1, max_n + 1):
            c, r = _ngrams(cand, n), _ngrams(ref, n)
            if n == 1 and unigram_weight is not None:
                matches[0] += sum(unigram_weight(g[0]) * min(k, r[g]) for g, k in c.items())
                totals[0] += sum(unigram_weight(g[0]) * k for g, k in c.items())
            else:
                matches[n - 1] += sum((c & r).values())
                totals[n - 1] += max(0, len(cand) - n + 1)
    return _bleu_from(matches, totals, cand_len, ref_len)


def bleu(predictions: Sequence[str], references: Sequence[str], max_n: int = 4) -> float:
    """Corpus BLEU-4 over ``code_tokens``, in [0, 1]."""
    return _corpus_bleu(predictions, references, None, max_n)


def weighted_bleu(predictions: Sequence[str], references: Sequence[str], keyword_weight: float = 1.0,
                  other_weight: float = 0.2, max_n: int = 4) -> float:
    """CodeBLEU's weighted n-gram match: unigrams weighted (keywords 1, other tokens 0.2)."""
    return _corpus_bleu(predictions, references,
                        lambda token: keyword_weight if token in PY_KEYWORDS else other_weight, max_n)


# ------------------------------------------------------------------------------- syntax and dataflow
_parser = None


def python_tree(code: str, wrap: bool = True):
    """A tree-sitter tree of ``code``; with ``wrap``, code that does not start with a definition
    (a function body at column 0) is parsed inside a wrapper def."""
    global _parser
    if _parser is None:
        from indexer.languages import get_spec
        _parser = get_spec("python").parser()
    stripped = code.lstrip()
    if not wrap or stripped.startswith(("def ", "async def ", "@", "class ")):
        source = code
    else:
        source = "def _f():\n" + "".join("    " + line if line.strip() else line
                                          for line in code.splitlines(keepends=True))
    return _parser.parse(source.encode("utf-8", "surrogatepass"))


def parses(code: str) -> bool:
    """Whether ``code`` (a function or a body) parses without an error or missing node."""
    return not python_tree(code).root_node.has_error


def _subtrees(node, out: Counter) -> None:
    if node.child_count:
        out[str(node)] += 1
        for child in node.children:
            _subtrees(child, out)


def subtree_counts(code: str) -> Counter:
    out: Counter = Counter()
    root = python_tree(code).root_node
    for child in root.children:
        _subtrees(child, out)
    return out


_TARGETS = {"assignment": ("left", "right"), "augmented_assignment": ("left", "right"),
            "for_statement": ("left", "right"), "for_in_clause": ("left", "right")}


def _names(node) -> list:
    if node is None:
        return []
    if node.type == "identifier":
        return [node]
    if node.type in ("attribute",):
        return _names(node.child_by_field_name("object"))
    if node.type in ("keyword_argument",):
        return _names(node.child_by_field_name("value"))
    out = []
    for child in node.named_children:
        out.extend(_names(child))
    return out


def dataflow_edges(code: str) -> Counter:
    """The (simplified) dataflow graph of ``code`` as a multiset of normalised edges."""
    root = python_tree(code).root_node
    order: dict[str, str] = {}

    def norm(name: str) -> str:
        if name not in order:
            order[name] = f"var_{len(order)}"
        return order[name]

    edges: Counter = Counter()
    defined_as_target: set[int] = set()

    def visit(node) -> None:
        if node.type in _TARGETS:
            left_field, right_field = _TARGETS[node.type]
            left = _names(node.child_by_field_name(left_field))
            right = _names(node.child_by_field_name(right_field))
            sources = tuple(sorted({norm(_text(n)) for n in right}))
            for target in left:
                defined_as_target.add(target.id)
                edges[(norm(_text(target)), "computedFrom", sources)] += 1
        elif node.type in ("parameters", "lambda_parameters"):
            for target in _names(node):
                defined_as_target.add(target.id)
                edges[(norm(_text(target)), "parameter", ())] += 1
        elif node.type == "identifier" and node.id not in defined_as_target:
            parent = node.parent
            if parent is not None and parent.type == "attribute" and parent.child_by_field_name("attribute") == node:
                return
            if parent is not None and parent.type in ("function_definition", "class_definition", "keyword_argument") \
                    and parent.child_by_field_name("name" if parent.type != "keyword_argument" else "name") == node:
                return
            edges[(norm(_text(node)), "comesFrom", ())] += 1
        for child in node.children:
            visit(child)

    visit(root)
    return edges


def _text(node) -> str:
    return node.text.decode("utf-8", "replace")


def _match_share(pairs: Sequence[tuple[Counter, Counter]]) -> Optional[float]:
    matched = total = 0
    for cand, ref in pairs:
        matched += sum((cand & ref).values())
        total += sum(ref.values())
    return matched / total if total else None


def syntax_match(predictions: Sequence[str], references: Sequence[str]) -> Optional[float]:
    return _match_share([(subtree_counts(p), subtree_counts(r)) for p, r in zip(predictions, references)])


def dataflow_match(predictions: Sequence[str], references: Sequence[str]) -> Optional[float]:
    return _match_share([(dataflow_edges(p), dataflow_edges(r)) for p, r in zip(predictions, references)])


def codebleu(predictions: Sequence[str], references: Sequence[str]) -> dict:
    """BLEU-4, weighted BLEU, syntax match, dataflow match and CodeBLEU (their mean), in [0, 1]."""
    parts = {"bleu": bleu(predictions, references), "weighted_bleu": weighted_bleu(predictions, references),
             "syntax_match": syntax_match(predictions, references) or 0.0,
             "dataflow_match": dataflow_match(predictions, references)}
    if parts["dataflow_match"] is None:      # no variables in any reference: the paper drops the part
        parts["dataflow_match"] = 0.0
        parts["codebleu"] = (parts["bleu"] + parts["weighted_bleu"] + parts["syntax_match"]) / 3
    else:
        parts["codebleu"] = sum(parts.values()) / 4
    return parts
