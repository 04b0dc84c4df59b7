"""The two stacks meet only in the plugin and the run's managers (``run/``): engine/
and gate/ never import each other, and neither imports run/.

Every import in the package (top-level or inside a function, absolute or
relative) is resolved to the module it names and checked against the layer
rules below.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "pytest_cdp_accept"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE

# What each part of the package may import of the package itself.
ALLOWED: dict[str, set[str]] = {
    "engine": {"engine", "errors", "metrics"},
    "gate": {"gate", "errors", "metrics"},
    "errors": set(),
    "metrics": {"errors"},
    "site": set(),
    # The run's managers wire the two stacks, as the plugin does; nothing below imports them.
    "run": {"run", "engine", "gate", "errors", "metrics", "site"},
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) for every import of ``path``."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if node.module is None:  # "from .. import x": each name is a module
                found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, target))
    return found


def part_of(module: str) -> str | None:
    """The layer a module of ours belongs to (engine, gate, or the top-level module)."""
    parts = module.split(".")
    if parts[0] != PACKAGE or len(parts) < 2:
        return None
    return parts[1]


def violations() -> list[str]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        own = part_of(_module_name(path))
        if own not in ALLOWED:
            continue  # plugin, cli, __init__: the wiring may import anything
        for line, target in imported_modules(path):
            layer = part_of(target)
            if layer is not None and layer != own and layer not in ALLOWED[own]:
                found.append(f"{path.relative_to(ROOT.parent)}:{line} imports {target}")
    return found


def test_engine_and_gate_meet_only_in_the_plugin() -> None:
    assert violations() == []


def test_the_check_sees_a_forbidden_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checker itself: a planted engine module importing the gate is found."""
    fake = tmp_path / PACKAGE
    (fake / "engine").mkdir(parents=True)
    (fake / "gate").mkdir()
    (fake / "engine" / "bad.py").write_text(
        "from ..gate.markers import GateSpec\n"
        "def f():\n    from ..gate import report\n    from .. import metrics\n"
    )
    (fake / "gate" / "markers.py").write_text("from ..metrics import kind_of\n")
    monkeypatch.setattr(f"{__name__}.ROOT", fake)
    assert violations() == [
        f"{PACKAGE}/engine/bad.py:1 imports {PACKAGE}.gate.markers",
        f"{PACKAGE}/engine/bad.py:3 imports {PACKAGE}.gate",
    ]
