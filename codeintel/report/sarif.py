"""The report as a SARIF 2.1.0 log (GitHub code scanning, any SARIF viewer).

The tool driver lists a rule for every kind of result codeintel reports: what exists now
(conflict markers left in a file, files that parse only in part) and what the clone and
learned-edit features will add (near-duplicate code, a suggested edit). Results come from the
sections of the report that define ``sarif_results``; their paths are relative to the
repository root (``%SRCROOT%``), lines 1-based, and each carries a stable fingerprint so that
code scanning can follow it from run to run.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from . import sections as _sections

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
RULES = [
    {"id": "codeintel/conflict-markers", "name": "ConflictMarkersLeft", "level": "error",
     "short": "Conflict markers left in a file",
     "full": "The file still contains git conflict markers (<<<<<<<, =======, >>>>>>>): a merge was committed or "
             "saved without resolving this conflict.",
     "help": "Resolve the conflict (keep the right side or combine both), remove the markers and commit. "
             "`codeintel resolve FILE --explain` proposes a resolution when the merge model is sure of it.",
     "tags": ["merge", "correctness"]},
    {"id": "codeintel/partial-parse", "name": "PartialParse", "level": "note",
     "short": "File indexed only in part",
     "full": "The parser found syntax errors (or invalid UTF-8) in this file; it was indexed as far as it parses.",
     "help": "Fix the syntax error or the encoding. Until then search, references and completion may miss the "
             "definitions after it.",
     "tags": ["index"]},
    {"id": "codeintel/clone", "name": "NearDuplicateCode", "level": "warning",
     "short": "Near-duplicate code",
     "full": "This code is a near-duplicate of code elsewhere in the repository (or in another submission).",
     "help": "Consider sharing one implementation; for submissions, review the pair for plagiarism.",
     "tags": ["maintainability", "clones"]},
    {"id": "codeintel/suggested-edit", "name": "SuggestedEdit", "level": "note",
     "short": "Edit suggested from the repository's history",
     "full": "A change made elsewhere in the history applies here too (a learned edit propagation).",
     "help": "Review the suggested edit and apply it if it fits.",
     "tags": ["maintainability", "edits"]},
]
_INDEX = {rule["id"]: k for k, rule in enumerate(RULES)}


def _rule(rule: dict) -> dict:
    return {"id": rule["id"], "name": rule["name"],
            "shortDescription": {"text": rule["short"]}, "fullDescription": {"text": rule["full"]},
            "help": {"text": rule["help"]}, "defaultConfiguration": {"level": rule["level"]},
            "properties": {"tags": rule["tags"]}}


def _result(item: dict) -> dict:
    rule = RULES[_INDEX[item["rule"]]]
    region = {"startLine": int(item["line"])}
    if item.get("end_line") and int(item["end_line"]) >= region["startLine"]:
        region["endLine"] = int(item["end_line"])
    digest = hashlib.sha256(f"{item['rule']}\0{item.get('fingerprint') or item['path']}".encode()).hexdigest()
    return {"ruleId": rule["id"], "ruleIndex": _INDEX[rule["id"]], "level": item.get("level", rule["level"]),
            "message": {"text": item["message"]},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": item["path"], "uriBaseId": "%SRCROOT%"},
                                                "region": region}}],
            "partialFingerprints": {"codeintel/v1": digest[:32]}}


def render(report: dict) -> dict:
    results = []
    for name, data in report["sections"].items():
        hook = getattr(_sections.get(name), "sarif_results", None)
        if hook is not None:
            results.extend(_result(item) for item in hook(data))
    root_uri = Path(report["root"]).resolve().as_uri().rstrip("/") + "/"
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "codeintel", "version": report["version"],
                                "semanticVersion": report["version"], "rules": [_rule(r) for r in RULES]}},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": root_uri}},
            "invocations": [{"executionSuccessful": True, "endTimeUtc": report["generated_at"]}],
            "results": results,
        }],
    }
