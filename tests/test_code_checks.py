"""The code keeps to the checks its reviewers rely on: ruff (style, imports,
likely bugs) and mypy (types) over src/civicpost, configured in pyproject.toml."""

import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / tool), *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing_in_the_source():
    checked = run("ruff", "check", "--no-cache", "src")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_mypy_finds_no_type_error_in_the_source():
    checked = run("mypy")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Success: no issues found" in checked.stdout
