"""The user docs keep up with the code: every setting is in the options table,
every page is in the site's navigation, every README link leads somewhere."""

from __future__ import annotations

import re
from pathlib import Path

from pytest_cdp_accept.run.settings import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| ") and "`" in line]


def test_every_setting_is_in_the_options_table() -> None:
    rows = _table_rows((DOCS / "options.md").read_text())
    missing = []
    for setting in SETTINGS:
        names = (setting.flag, setting.name if setting.ini else None)
        wanted = [f"`{name}`" for name in names if name]
        if not any(all(w in row for w in wanted) for row in rows):
            missing.append(setting.flag or setting.name)
    assert not missing, f"docs/options.md has no row for {missing}"


def test_every_docs_page_is_in_the_site_navigation() -> None:
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = sorted(p.name for p in DOCS.glob("*.md"))
    assert pages, "no docs pages found"
    assert [p for p in pages if p not in nav] == []


def test_readme_is_short_and_its_links_resolve() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    targets = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", readme)
    assert targets, "the README links to no docs page"
    assert [t for t in targets if not (ROOT / t).exists()] == []
