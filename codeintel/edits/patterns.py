"""Abstract edits: one function's change generalised so that it applies elsewhere.

``learn_edit(before, after)`` diffs the two token sequences and turns each changed hunk into a
``Rule``: the tokens it removes with a little context either side (the "before" pattern) and
what stands there afterwards. Variables and literals of the context become holes (``?1``...)
that match any token of the same type, consistently; what the edit removes, method and type
names and idioms stay concrete, so ``foo(a)`` -> ``foo(a, timeout=10)`` matches every
``foo(x)`` but not ``bar(x)``. An edit whose hunks all replace one identifier by another
(a renamed parameter or variable) becomes one ``rename`` rule over the whole function.

``apply_edit(edit, tokens)`` finds the patterns in another function's tokens and returns the
new token texts and how much of the edit applied (the confidence).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Optional, Sequence

from .abstraction import DEFAULT_IDIOMS, NL, Token

HOLE_KINDS = ("VAR", "STRING", "NUMBER")
MAX_LEFT = 6          # context tokens at most, left of a hunk
RIGHT = 1             # context tokens right of a hunk


@dataclass(frozen=True)
class Slot:
    text: str                 # concrete text, or a hole name "?n"
    kind: str                 # the token type a hole accepts

    @property
    def hole(self) -> bool:
        return self.text.startswith("?") and self.kind in HOLE_KINDS


@dataclass
class Rule:
    left: list[Slot]          # context before the change (layout-free)
    removed: list[Slot]       # what the edit takes out
    inserted: list[Slot]      # what it puts in (holes refer to the context's)
    right: list[Slot]         # context after the change (layout-free)
    after_newline: bool = False   # the change starts a line (insert after the target's line break)
    rename: Optional[tuple[str, str]] = None   # identifier renamed everywhere (old, new)

    @property
    def pattern(self) -> list[Slot]:
        return self.left + self.removed + self.right

    @property
    def specificity(self) -> int:
        """Concrete non-layout tokens of the pattern: more means fewer accidental matches."""
        return sum(1 for s in self.pattern if not s.hole and s.text != NL)


@dataclass
class Edit:
    rules: list[Rule] = field(default_factory=list)
    source: str = ""          # where the edit was made (path:qualname), for display

    @property
    def empty(self) -> bool:
        return not self.rules


def _context_ok(slots: Sequence[Slot], idioms) -> bool:
    """Enough to anchor on: a concrete name or literal that is not an idiom, or two idioms."""
    named = [s.text for s in slots if not s.hole and s.text != NL and s.kind != "CODE"]
    return any(t not in idioms for t in named) or len(named) >= 2


def _holes_for(tokens: Sequence[Token], idioms, holes: dict) -> list[Slot]:
    out = []
    for t in tokens:
        if t.kind in HOLE_KINDS and t.text not in idioms:
            out.append(Slot(holes.setdefault(t.text, f"?{len(holes) + 1}"), t.kind))
        else:
            out.append(Slot(t.text, t.kind))
    return out


def _rename_rule(before: Sequence[Token], after: Sequence[Token], opcodes) -> Optional[Rule]:
    pairs = set()
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            continue
        if tag != "replace" or i2 - i1 != 1 or j2 - j1 != 1:
            return None
        old, new = before[i1], after[j1]
        if old.kind != "VAR" or new.kind != "VAR":
            return None
        pairs.add((old.text, new.text))
    if len(pairs) != 1:
        return None
    old, new = pairs.pop()
    if any(t.text == old for t in after):
        return None           # some uses kept the old name: not a rename
    return Rule([], [Slot(old, "VAR")], [Slot(new, "VAR")], [], rename=(old, new))


def learn_edit(before: Sequence[Token], after: Sequence[Token], idioms=None, source: str = "") -> Edit:
    """The abstract edit that turns ``before`` into ``after`` (tokens of one function)."""
    idioms = DEFAULT_IDIOMS if idioms is None else idioms
    a, b = [t.text for t in before], [t.text for t in after]
    opcodes = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    rename = _rename_rule(before, after, opcodes)
    if rename is not None:
        return Edit([rename], source)
    rules = []
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            continue
        right = [t for t in before[i2:] if t.kind != "LAYOUT"][:RIGHT]
        left: list[Token] = []
        k = i1
        while k > 0 and len(left) < MAX_LEFT:
            k -= 1
            if before[k].kind == "LAYOUT":
                continue
            left.insert(0, before[k])
            holes: dict[str, str] = {}
            slots = _holes_for(left, idioms, holes) + [Slot(t.text, t.kind) for t in before[i1:i2]] \
                + _holes_for(right, idioms, holes)
            if _context_ok(slots, idioms):
                break
        holes = {}
        left_slots = _holes_for(left, idioms, holes)
        right_slots = _holes_for(right, idioms, holes)
        removed = [Slot(t.text, t.kind) for t in before[i1:i2]]
        if not _context_ok(left_slots + removed + right_slots, idioms):
            continue          # nothing concrete to anchor the hunk on: it would match anywhere
        inserted = [Slot(holes[t.text], t.kind) if t.kind in HOLE_KINDS and t.text in holes else Slot(t.text, t.kind)
                    for t in after[j1:j2]]
        starts_line = i1 > 0 and before[i1 - 1].kind == "LAYOUT"
        rules.append(Rule(left_slots, removed, inserted, right_slots, after_newline=starts_line))
    return Edit(rules, source)


def _hole_span(texts: Sequence[str], kinds: Sequence[str], pos: int, kind: str) -> int:
    """How many tokens a hole of ``kind`` takes at ``pos``: a literal, or a dotted name
    (``job.url``) for a variable; 0 when none fits."""
    if pos >= len(texts) or kinds[pos] != kind:
        return 0
    end = pos + 1
    if kind == "VAR":
        while end + 1 < len(texts) and texts[end] == "." and kinds[end + 1] == "VAR":
            end += 2
    return end - pos


def _match(rule: Rule, texts: Sequence[str], kinds: Sequence[str], pos: int):
    """(binding, start, end of the removed tokens, end of the match) of ``rule`` at ``pos``;
    line breaks of the target are skipped between pattern tokens."""
    binding: dict[str, tuple[str, ...]] = {}
    k = pos
    first = True
    marks = {}
    parts = (("left", rule.left), ("removed", rule.removed), ("right", rule.right))
    for name, slots in parts:
        if name == "removed":
            if rule.after_newline or not rule.left:
                while k < len(texts) and texts[k] == NL and not first:
                    k += 1
            marks["start"] = k
        if name == "right":
            marks["end"] = k
        for slot in slots:
            if not first and slot.text != NL:
                while k < len(texts) and texts[k] == NL:
                    k += 1
            first = False
            if k >= len(texts):
                return None
            if slot.hole:
                n = _hole_span(texts, kinds, k, slot.kind)
                value = tuple(texts[k:k + n])
                if not n or binding.setdefault(slot.text, value) != value:
                    return None
                k += n
            elif texts[k] == slot.text:
                k += 1
            else:
                return None
    return binding, marks["start"], marks["end"], k


def apply_edit(edit: Edit, tokens: Sequence[Token]) -> Optional[tuple[list[str], float, int]]:
    """(new token texts, confidence, places changed) of ``edit`` applied to ``tokens``; None
    when no rule of the edit matches. Confidence grows with the share of the edit's rules
    that matched and with how specific they are."""
    texts = [t.text for t in tokens]
    kinds = [t.kind for t in tokens]
    matched_rules, places = 0, 0
    for rule in edit.rules:
        if rule.rename is not None:
            old, new = rule.rename
            hits = [k for k, t in enumerate(tokens) if t.kind == "VAR" and t.text == old
                    and not (k and texts[k - 1] == ".")]
            if hits and not any(t.text == new for t in tokens):
                for k in hits:
                    texts[k] = new
                matched_rules += 1
                places += len(hits)
            continue
        out_texts, out_kinds, pos, hit = [], [], 0, False
        while pos < len(texts):
            found = _match(rule, texts, kinds, pos) if texts[pos] != NL else None
            if found is None:
                out_texts.append(texts[pos])
                out_kinds.append(kinds[pos])
                pos += 1
                continue
            binding, start, end, stop = found
            out_texts += texts[pos:start]
            out_kinds += kinds[pos:start]
            for slot in rule.inserted:
                value = binding[slot.text] if slot.hole else (slot.text,)
                out_texts += value
                out_kinds += [slot.kind] * len(value)
            out_texts += texts[end:stop]
            out_kinds += kinds[end:stop]
            pos = stop
            hit = True
            places += 1
        if hit:
            matched_rules += 1
            texts, kinds = out_texts, out_kinds
    if not matched_rules:
        return None
    share = matched_rules / len(edit.rules)
    specificity = min(edit.rules, key=lambda r: r.specificity).specificity
    confidence = share * (1 - 0.5 ** (1 + specificity)) * (0.8 if edit.rules[0].rename else 1.0)
    return texts, round(confidence, 3), places
