"""The report: what codeintel knows about a repository, at a glance.

``build_report(root, sections)`` reads the store (and the model registry) into one JSON-able
dict; ``render_text`` draws it on a rich Console (tables, bars, sparklines), ``render_html``
makes one standalone HTML file (inline CSS and SVG charts, everything escaped, nothing
fetched), ``render_sarif`` a SARIF 2.1.0 log for code scanning. The sections live in
``codeintel/report/sections/`` (one module each).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

from .. import __version__
from ..store import Store, store_path
from . import sections as _sections

SECTION_NAMES = _sections.names()


class UnknownSection(ValueError):
    """A section name the report does not have."""


def build_report(root: Path, sections: Optional[list[str]] = None) -> dict:
    """The report of the repository at ``root`` (it must have ``.codeintel/index.db``; a
    missing or unusable index raises ``codeintel.store.StoreError``)."""
    wanted = list(dict.fromkeys(sections)) if sections else list(SECTION_NAMES)
    unknown = [name for name in wanted if name not in SECTION_NAMES]
    if unknown:
        raise UnknownSection(f"unknown section {', '.join(map(repr, unknown))}; "
                             f"choose from {', '.join(SECTION_NAMES)}")
    root = Path(root).resolve()
    with Store.open(store_path(root), create=False) as store:
        ctx = _sections.Context(root, store)
        data = {name: _sections.get(name).collect(ctx) for name in wanted}
        indexed = store.get_meta("last_indexed_at")
    return {"tool": "codeintel", "version": __version__, "root": str(root),
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "last_indexed_at": float(indexed) if indexed else None,
            "sections": data}


def section_blocks(report: dict) -> list[tuple[str, str, list]]:
    """(name, title, blocks) of each section in the report, in order."""
    out = []
    for name, data in report["sections"].items():
        module = _sections.get(name)
        out.append((name, module.TITLE, module.layout(data)))
    return out


def render_text(report: dict, console) -> None:
    from .text import render

    render(report, section_blocks(report), console)


def render_html(report: dict) -> str:
    from .html import render

    return render(report, section_blocks(report))


def render_sarif(report: dict) -> dict:
    from .sarif import render

    return render(report)


__all__ = ["SECTION_NAMES", "UnknownSection", "build_report", "render_html", "render_sarif", "render_text"]
