"""A small Python repository for the completion tests: imports, a class hierarchy across files,
siblings, a similar-named test file and a file importing another."""
from __future__ import annotations

from pathlib import Path

FILES = {
    "pkg/__init__.py": "",
    "pkg/shapes.py": '''\
"""Shapes."""

UNIT = "cm"


class Shape:
    def __init__(self, name):
        self.name = name
        self.sides = 0

    def describe(self):
        return f"{self.name} with {self.sides} sides in {UNIT}"


def area_of_square(side_length):
    return side_length * side_length
''',
    "pkg/square.py": '''\
from pkg.shapes import Shape, area_of_square


class Square(Shape):
    def __init__(self, side):
        super().__init__("square")
        self.side = side

    def area(self):
        return area_of_square(self.side)
''',
    "pkg/colors.py": '''\
PALETTE = {"red": (255, 0, 0), "green": (0, 255, 0)}


def color_name(rgb):
    for name, value in PALETTE.items():
        if value == rgb:
            return name
    return "unknown"
''',
    "tests/test_square.py": '''\
from pkg.square import Square


def test_area():
    sq = Square(3)
    assert sq.area() == 9
''',
    "tools/report_shapes.py": '''\
from pkg import shapes


def report(items):
    return [shapes.Shape(item).describe() for item in items]
''',
}


def write_repo(root: Path) -> Path:
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
