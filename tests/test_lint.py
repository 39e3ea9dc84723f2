"""The repository's Python files pass ruff (rules and exclusions in pyproject.toml's [tool.ruff])."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
RUFF = pathlib.Path(sys.executable).with_name("ruff")


def _ruff(*args, cwd=ROOT):
    return subprocess.run([str(RUFF), "check", "--no-cache", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def test_ruff_is_clean():
    done = _ruff(".")
    assert done.returncode == 0, f"ruff found problems (run `make lint`):\n{done.stdout[-6000:]}{done.stderr[-2000:]}"


def test_ruff_catches_an_unused_import_and_a_long_line(tmp_path):
    """The check can fail: with the repository's configuration, a bad file is reported."""
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    (tmp_path / "bad.py").write_text("import os\n\nx = '" + "a" * 130 + "'\n")
    done = _ruff(".", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "F401" in done.stdout and "E501" in done.stdout, done.stdout
