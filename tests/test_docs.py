"""The project's documents stay true to the code: docs/architecture.md names every module
and no module it does not have, the README is a newcomer's page that links the docs,
and everything the project cites is in this repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
MAX_README_LINES = 250


def project_modules() -> set[str]:
    """'poe_desktop/view/camera.py'-style paths of every module but packages' own files."""
    return {p.relative_to(ROOT).as_posix()
            for package in ("poe_engine", "poe_desktop")
            for p in (ROOT / package).rglob("*.py")
            if p.name not in ("__init__.py", "__main__.py")}


def test_the_architecture_names_every_module():
    text = ARCHITECTURE.read_text()
    missing = sorted(m for m in project_modules() if f"`{Path(m).name}`" not in text)
    assert missing == []


def test_the_architecture_names_no_module_that_is_not_there():
    names = set(re.findall(r"`(\w+\.py)`", ARCHITECTURE.read_text()))
    there = {Path(m).name for m in project_modules()} | {"__init__.py", "__main__.py"}
    assert sorted(names - there) == []


def test_the_architecture_names_every_layer_of_the_app():
    text = ARCHITECTURE.read_text()
    layers = sorted(p.name for p in (ROOT / "poe_desktop").iterdir()
                    if p.is_dir() and (p / "__init__.py").exists())
    assert layers == ["model", "panels", "record", "run", "view", "window"]
    assert [layer for layer in layers if f"poe_desktop/{layer}" not in text] == []


def test_the_readme_is_short_and_links_the_docs():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= MAX_README_LINES
    linked = set(re.findall(r"\]\((docs/[\w./-]+)\)", readme))
    assert "docs/architecture.md" in linked
    assert sorted(link for link in linked if not (ROOT / link).exists()) == []
    pages = {f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")}
    assert sorted(pages - linked) == []  # every page is reachable from the README


def test_the_readme_has_the_newcomers_sections_in_order():
    headings = re.findall(r"^## (.+)$", (ROOT / "README.md").read_text(), re.M)
    wanted = ["Quick start", "The app", "Recordings and exports", "Command line",
              "Architecture", "Tests and benchmarks"]
    assert [h for h in headings if h in wanted] == wanted


def test_the_docs_link_only_to_what_is_there():
    broken = []
    for page in (ROOT / "docs").glob("*.md"):
        for link in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            if not (page.parent / link).exists():
                broken.append(f"{page.name}: {link}")
    assert broken == []


def test_nothing_cites_a_document_outside_the_repository():
    cited = []
    paths = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"),
             *(ROOT / "poe_engine").rglob("*.py"), *(ROOT / "poe_desktop").rglob("*.py")]
    for path in paths:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if "DESIGN" in line or "design notes" in line:
                cited.append(f"{path.relative_to(ROOT)}:{number}")
    assert cited == []
