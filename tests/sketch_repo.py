"""A small git repository of documented Python functions in two packages, for the sketch tests."""
from __future__ import annotations

from pathlib import Path

from conftest import cli, commit_all, init_repo

FILES = {
    "text/lines.py": '''"""Reading text files."""


def read_lines(path):
    """Return the lines of the file at path, without their newlines."""
    with open(path, encoding="utf-8") as handle:
        return [line.rstrip("\\n") for line in handle]


def count_words(path):
    """Count the words in the file at path."""
    total = 0
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            total += len(line.split())
    return total
''',
    "text/clean.py": '''"""Cleaning strings."""


def strip_blank_lines(lines):
    """Return the lines that are not blank."""
    return [line for line in lines if line.strip()]


def normalise_spaces(text):
    """Collapse runs of spaces in text into one space."""
    return " ".join(text.split())
''',
    "maths/stats.py": '''"""Small statistics."""


def mean(values):
    """Return the arithmetic mean of values."""
    values = list(values)
    if not values:
        raise ValueError("mean of no values")
    return sum(values) / len(values)


def largest(values):
    """Return the largest of the values."""
    best = None
    for value in values:
        if best is None or value > best:
            best = value
    return best
''',
    "maths/geometry.py": '''"""Shapes."""


def circle_area(radius):
    """Return the area of a circle of the given radius."""
    return 3.14159 * radius ** 2


def square_area(side):
    """Return the area of a square with the given side."""
    return side * side
''',
    "app/main.py": '''"""The application."""
from text.lines import read_lines


def load_lines(path):
    """Return the lines of the file at path, without blank ones."""
    ...


# count the lines of the file at path
''',
}


def make_sketch_repo(tmp_path: Path, index: bool = True) -> Path:
    repo = init_repo(tmp_path / "repo")
    for rel, text in FILES.items():
        target = repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, "utf-8")
    commit_all(repo, "functions")
    if index:
        cli("index", repo, "--quiet", check=0)
    return repo
