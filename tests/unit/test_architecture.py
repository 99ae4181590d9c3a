"""The layout's rules, checked on every run: who may import whom, and honest module names."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["app", "web", "streams", "adapters", "inbox", "connectors"]


def test_import_rules_in_pyproject_hold() -> None:
    """`inbox` imports neither `web` nor `streams`, `connectors` nothing of ours, `web` and
    `streams` not each other (the contracts are in pyproject.toml, `[tool.importlinter]`)."""
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "broken" in done.stdout and "0 broken" in done.stdout


def test_no_module_is_named_like_a_standard_library_module() -> None:
    shadowing = [
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if path.stem in sys.stdlib_module_names
    ]
    assert shadowing == []


def test_no_feature_folder_is_a_grab_bag() -> None:
    """A folder of more than about fifteen modules has stopped saying what it holds."""
    crowded = {
        str(folder.relative_to(ROOT)): n
        for package in PACKAGES
        for folder in [ROOT / package, *(p for p in (ROOT / package).rglob("*") if p.is_dir())]
        if (n := len([f for f in folder.glob("*.py") if f.name != "__init__.py"])) > 18
    }
    assert crowded == {}


def test_no_module_imports_itself_through_others() -> None:
    """No import cycles between modules (grimp comes with import-linter)."""
    import grimp

    graph = grimp.build_graph(*PACKAGES)
    imports = {m: graph.find_modules_directly_imported_by(m) & graph.modules for m in graph.modules}
    cyclic = sorted(
        m
        for m in graph.modules
        for imported in imports[m]
        if graph.find_shortest_chain(importer=imported, imported=m) is not None
    )
    assert cyclic == []


def test_files_named_in_code_and_docs_exist() -> None:
    """A docstring, comment or doc that names a file of ours names one that is there."""
    named = re.compile(
        r"\b((?:app|adapters|inbox|web|streams|connectors|tests|bench|docs)/[\w/.-]+\.(?:py|md))\b"
    )
    sources = [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")]
    sources += [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "bench").glob("*")]
    missing = sorted(
        f"{source.relative_to(ROOT)}: {path}"
        for source in sources
        if source.suffix in {".py", ".md"}
        for path in named.findall(source.read_text())
        if not (ROOT / path).exists()
    )
    assert missing == []
