"""Functions a reader can hold: none in the package runs over 60 lines.

A function's length is counted from its ``def`` line to its last line,
docstring and comments included (decorators not). Nested functions count
inside their parent too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "pytest_cdp_accept"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE
MAX_LINES = 60

# "path::function": why it may be longer. Empty: every function fits.
ALLOWED: dict[str, str] = {}


def long_functions(limit: int = MAX_LINES) -> list[str]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            assert node.end_lineno is not None
            lines = node.end_lineno - node.lineno + 1
            name = f"{path.relative_to(ROOT.parent).as_posix()}::{node.name}"
            if lines > limit and name not in ALLOWED:
                found.append(f"{name} ({lines} lines)")
    return sorted(found)


def test_no_function_is_over_60_lines() -> None:
    assert long_functions() == []


def test_the_check_sees_a_long_function(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / PACKAGE
    fake.mkdir()
    body = "".join(f"    x{i} = {i}\n" for i in range(60))
    (fake / "mod.py").write_text(f"def short():\n    pass\n\nasync def long():\n{body}")
    monkeypatch.setattr(f"{__name__}.ROOT", fake)
    assert long_functions() == [f"{PACKAGE}/mod.py::long (61 lines)"]
