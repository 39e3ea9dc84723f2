"""The Colab first cell, run in a fresh interpreter: what it installs (in Colab, the release
named in pyproject.toml; elsewhere nothing) and what it sets up. (A subprocess that imports
TensorFlow: `make unit` leaves this file out.)"""

import pathlib
import subprocess
import sys
import textwrap
import tomllib

import pytest

from helpers import notebook

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Runs the first cell twice in one fresh interpreter, with pip recorded instead of run: outside
# Colab, then as in Colab (a module named google.colab loaded); prints one JSON line for each.
_RUN_FIRST_CELL = textwrap.dedent("""
    import json, os, subprocess, sys, types
    calls, real_run = [], subprocess.run

    def run(args, **kwargs):  # pip is recorded, not run; anything else runs
        if "pip" not in list(args):
            return real_run(args, **kwargs)
        calls.append([list(args), kwargs])
        return subprocess.CompletedProcess(args, 0)

    subprocess.run = run
    from helpers.notebook import FIRST_CELL
    for where in ("local", "colab"):
        if where == "colab":
            sys.modules["google.colab"] = types.ModuleType("google.colab")
        calls.clear()
        os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)
        exec(FIRST_CELL, {})
        import numpy as np
        print(json.dumps({"where": where, "calls": calls, "tf_log_level": os.environ.get("TF_CPP_MIN_LOG_LEVEL"),
                          "tf_loaded": "tensorflow" in sys.modules,
                          "precision": np.get_printoptions()["precision"]}))
""")


@pytest.fixture(scope="module")
def first_cell_runs():
    import json

    done = subprocess.run([sys.executable, "-c", _RUN_FIRST_CELL], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    others = [line for line in done.stdout.splitlines() if not line.startswith("{")]
    assert [r["where"] for r in results] == ["local", "colab"], done.stdout
    return {r["where"]: r for r in results}, others


def test_first_cell_in_colab_installs_the_release_named_in_pyproject(first_cell_runs):
    result = first_cell_runs[0]["colab"]
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert len(result["calls"]) == 1, result["calls"]
    args, kwargs = result["calls"][0]
    assert args[1:5] == ["-m", "pip", "install", "-q"] and kwargs == {"check": True}
    assert args[5] == f"padding-and-masking-helpers @ git+{notebook.REPOSITORY}@v{version}"
    assert result["tf_log_level"] == "3" and result["tf_loaded"] and result["precision"] == 3


def test_first_cell_outside_colab_installs_nothing_and_prints_nothing(first_cell_runs):
    results, printed = first_cell_runs
    assert results["local"]["calls"] == [] and printed == []
    assert results["local"]["tf_log_level"] == "3" and results["local"]["tf_loaded"]
