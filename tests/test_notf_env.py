"""The environment without TensorFlow (make notf-pass): what it installs, from where, and that CI runs it.

`envs/notf.txt` (with requirements.txt as constraints), then keras-hub with --no-deps: Keras,
JAX and what the chapters need, and neither TensorFlow nor tensorflow-text (keras-hub's
tokenizer dependency, which would bring TensorFlow back). The resolution test asks pip, with
a clean configuration and PyPI as the only index, what it would install (nothing is
installed); it skips when PyPI cannot be reached.
"""

import json
import os
import socket
import subprocess
import sys

import pytest

from conftest import ROOT, missing, tool

run_elsewhere = tool("run_elsewhere")
NO_TENSORFLOW = {"tensorflow", "tensorflow-text", "tensorflow-cpu", "tf-keras", "tensorboard", "torch"}


def test_the_env_is_jax_without_tensorflow():
    spec = run_elsewhere.ENVS["notf"]
    assert spec["backend"] == "jax"
    assert spec["steps"][0] == ["-r", "envs/notf.txt", "-c", "requirements.txt"]
    assert spec["steps"][1][:1] == ["--no-deps"] and "keras-hub" in spec["steps"][1]
    names = {line.split("==")[0].strip().lower() for line in (ROOT / "envs" / "notf.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")}
    assert {"keras", "jax", "jaxlib", "nbclient", "ipykernel"} <= names
    assert not names & NO_TENSORFLOW


def test_make_test_on_ci_runs_the_pass_without_tensorflow_and_the_pytorch_pass():
    dry = subprocess.run(["make", "-n", "test", "CI=true"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "tools/run_elsewhere.py notf --json _build/notf.json" in dry.stdout
    assert "KERAS_BACKEND=torch" in dry.stdout and "KERAS_BACKEND=jax" not in dry.stdout


def test_it_resolves_from_the_public_index_without_tensorflow(tmp_path):
    try:
        socket.create_connection(("pypi.org", 443), timeout=10).close()
    except OSError as error:
        missing("a connection to pypi.org", f"the public index cannot be reached here ({error})")
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1")
    report = tmp_path / "report.json"
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
               "--index-url", "https://pypi.org/simple", "--report", str(report),
               *run_elsewhere.ENVS["notf"]["steps"][0]]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    resolved = {item["metadata"]["name"].lower(): item["metadata"]["version"]
                for item in json.loads(report.read_text())["install"]}
    assert resolved["keras"] == "3.15.1" and resolved["jax"] == "0.10.2"
    assert not set(resolved) & NO_TENSORFLOW, sorted(set(resolved) & NO_TENSORFLOW)


@pytest.mark.parametrize("name", ["notf"])
def test_the_suite_name_runs_the_env(name):
    assert run_elsewhere.SUITES[name] == [name]
