"""``scripts/setup`` says what it is doing, one line a step, and shows pip's output only
when pip fails. Run against a stand-in ``python3`` on PATH (creating a real environment
and building the extension takes minutes), copied with the script into a scratch tree."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

SETUP = Path(__file__).resolve().parent.parent / "scripts" / "setup"

#: Stands in for python3 and the environment's python: `-m venv DIR` makes DIR/bin/python
#: (itself), `-m pip ...` prints pip-like noise and fails when PIP_FAILS is set.
FAKE_PYTHON = """#!/usr/bin/env bash
if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python"; exit 0; fi
if [ "$1" = "--version" ]; then echo "Python 3.11.0"; exit 0; fi
echo "Collecting noise"; echo "Building wheel for zmtrio (pyproject.toml) ... done"
if [ -n "${PIP_FAILS:-}" ] && [ "$*" != "${*%-e*}" ]; then
    echo "error: could not build zmtrio" >&2; exit 1
fi
"""


def _tree(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    (tmp_path / "scripts").mkdir()
    shutil.copy(SETUP, tmp_path / "scripts" / "setup")
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    python = bin_dir / "python3"
    python.write_text(FAKE_PYTHON)
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    cargo = shutil.which("cargo") or "/bin/true"
    (bin_dir / "cargo").symlink_to(cargo)
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    return tmp_path / "scripts" / "setup", env


def test_setup_prints_its_steps_not_pips_output(tmp_path: Path) -> None:
    script, env = _tree(tmp_path)
    result = subprocess.run(
        [str(script), "test", "dev"], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines == [
        "setup: virtual environment .venv (Python 3.11.0)",
        "setup: pip up to date",
        "setup: building the Rust engine and installing zmtrio with [test,dev] (about 30 s)",
        "setup: ready: .venv/bin/python, .venv/bin/zmtrio",
    ]
    assert result.stderr == ""


def test_setup_shows_pips_output_when_pip_fails(tmp_path: Path) -> None:
    script, env = _tree(tmp_path)
    result = subprocess.run(
        [str(script)], capture_output=True, text=True, env={**env, "PIP_FAILS": "1"}, timeout=60
    )
    assert result.returncode == 1
    assert "error: could not build zmtrio" in result.stderr
    assert "Building wheel for zmtrio" in result.stderr  # the whole log, for the cause
    assert result.stderr.rstrip().endswith("setup: installing zmtrio failed (pip's output above)")
    assert "ready" not in result.stdout


def test_setup_without_cargo_says_why(tmp_path: Path) -> None:
    script, env = _tree(tmp_path)
    (tmp_path / "fake-bin" / "cargo").unlink()
    result = subprocess.run([str(script)], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 1
    assert "needs a Rust toolchain (cargo)" in result.stderr
