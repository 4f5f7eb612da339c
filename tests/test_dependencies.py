"""The README's first command installs the bot alone (`pip install -e .`, no test extras):
every library the bot's packages import must be one of its own dependencies, not one that
happens to arrive with the test tools (typer 0.29 stopped requiring click, which only
import-linter still brought along, and `coachbot run` failed on a fresh machine)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterator
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "services", "scheduler", "storage", "conversations")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {_canonical(re.split(r"[\s<>=!~;\[]", spec, maxsplit=1)[0])
            for spec in project["dependencies"]}


def _imports() -> Iterator[tuple[str, str]]:
    """(top-level module, file) for every absolute import in the bot's packages."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    yield name.partition(".")[0], str(path.relative_to(ROOT))


def test_every_library_the_bot_imports_is_installed_with_the_bot():
    declared = _declared()
    owners = packages_distributions()
    missing: dict[str, str] = {}
    for module, where in _imports():
        if module in sys.stdlib_module_names or module in PACKAGES or module == "__future__":
            continue
        if not {_canonical(d) for d in owners.get(module, ())} & declared:
            missing.setdefault(module, where)
    assert missing == {}, f"imported but not in [project].dependencies: {missing}"
