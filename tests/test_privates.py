"""No module of the package reads or writes another module's private names.

A name with one leading underscore (``_page``, ``_runner``, ``_owner_alive``) is
private to the module that defines it: as ``self._x`` in a class of that
module, as a method or class attribute there, or at its top level. Any other
module that spells ``something._x`` (or ``getattr(something, "_x")``, or
``from .module import _x``) reaches past the public API of the object or module
it holds, and the check below lists it.

The check reads names, not types: a module may use ``other._x`` when it defines
``_x`` itself (a class of the module reading a private of another instance of
that class, say). That is what "private to the module" means here; it cannot
tell two modules' unrelated ``_x`` apart, and it does not need to for the
reaches it exists to stop.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "pytest_cdp_accept"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE

# (module, attribute): reaches with no public alternative, each with the reason.
ALLOWED: dict[tuple[str, str], str] = {
    # pytest has no public list of a test function's own arguments, nor of which fixture
    # asks for which; its own pytest_pyfunc_call (and pytest-asyncio) read this attribute.
    ("pytest_cdp_accept/plugin.py", "_fixtureinfo"): "pytest internal, no public spelling",
    # PageActions is a part of browser.Page kept in a file of its own (a mixin): it waits
    # for navigations with the page's own helpers.
    ("pytest_cdp_accept/engine/actions.py", "_NavigationWatch"): "Page's own helper",
    ("pytest_cdp_accept/engine/actions.py", "_LazyTiming"): "Page's own helper",
}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def defined_names(tree: ast.AST) -> set[str]:
    """The private names a module defines: ``self._x =``, ``def _x``, ``_x =`` anywhere."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                names.add(node.attr)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {name for name in names if _private(name)}


def foreign_reaches(path: Path) -> list[tuple[int, str]]:
    """(line, attribute) for every ``x._attr`` whose ``_attr`` this module does not define."""
    tree = ast.parse(path.read_text(), str(path))
    own = defined_names(tree)
    found = []
    for node in ast.walk(tree):
        attr = _reached(node)
        if attr is not None and _private(attr) and attr not in own:
            found.append((node.lineno, attr))
        if isinstance(node, ast.ImportFrom) and (node.level or _ours(node.module)):
            found += [(node.lineno, a.name) for a in node.names if _private(a.name)]
    return sorted(found)


def _ours(module: str | None) -> bool:
    return module is not None and module.split(".")[0] == PACKAGE


def _reached(node: ast.AST) -> str | None:
    """The attribute ``node`` reaches on an object other than ``self``/``cls``:
    ``x.attr``, or ``getattr(x, "attr")`` / ``setattr`` / ``hasattr`` spelled out."""
    if isinstance(node, ast.Attribute):
        if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
            return None
        return node.attr
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("getattr", "setattr", "hasattr")
        and len(node.args) >= 2
        and isinstance(node.args[1], ast.Constant)
        and isinstance(node.args[1].value, str)
    ):
        return node.args[1].value
    return None


def violations() -> list[str]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        where = path.relative_to(ROOT.parent).as_posix()
        for line, attr in foreign_reaches(path):
            if (where, attr) not in ALLOWED:
                found.append(f"{where}:{line} reaches .{attr}")
    return found


def test_no_module_reaches_into_another_modules_privates() -> None:
    assert violations() == []


def test_the_check_sees_a_reach_and_allows_a_modules_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checker itself: planted modules with one reach each way."""
    fake = tmp_path / PACKAGE
    (fake / "engine").mkdir(parents=True)
    (fake / "engine" / "sync.py").write_text(
        "class Page:\n"
        "    def __init__(self, core):\n"
        "        self._core = core\n"
        "    def _end(self):\n"
        "        pass\n"
        "def release(page):\n"
        "    page._end()\n"  # its own module's private: fine
        "    return page._core\n"
    )
    (fake / "engine" / "stability.py").write_text(
        "import os\n"
        "def recover(page):\n"
        "    page._core.goto('about:blank')\n"  # another module's private
        "    page._core = None\n"  # written, too
        "    os._exit(0)\n"  # a library's private
        "    getattr(page, '_core')\n"  # spelled as a string, still a reach
        "    from .sync import _end\n"  # another module's private name, imported
        "    return page.__class__\n"  # dunders are public
    )
    monkeypatch.setattr(f"{__name__}.ROOT", fake)
    assert violations() == [
        f"{PACKAGE}/engine/stability.py:3 reaches ._core",
        f"{PACKAGE}/engine/stability.py:4 reaches ._core",
        f"{PACKAGE}/engine/stability.py:5 reaches ._exit",
        f"{PACKAGE}/engine/stability.py:6 reaches ._core",
        f"{PACKAGE}/engine/stability.py:7 reaches ._end",
    ]
