"""The environment without TensorFlow (make notf-pass): what it installs, from where, and that CI runs it.

`envs/notf.txt` (with requirements.txt as constraints), then keras-hub with --no-deps: Keras,
JAX and what the chapters need, and neither TensorFlow nor tensorflow-text (keras-hub's
tokenizer dependency, which would bring TensorFlow back). The resolution test asks pip, with
a clean configuration and PyPI as the only index, what it would install (nothing is
installed); it skips when PyPI cannot be reached.
"""

import subprocess

import pytest

from conftest import ROOT, tool

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


def test_it_resolves_from_the_public_index_without_tensorflow(public_pip):
    resolved = public_pip(*run_elsewhere.ENVS["notf"]["steps"][0])
    assert resolved["keras"] == "3.15.1" and resolved["jax"] == "0.10.2"
    assert not set(resolved) & NO_TENSORFLOW, sorted(set(resolved) & NO_TENSORFLOW)


@pytest.mark.parametrize("name", ["notf"])
def test_the_suite_name_runs_the_env(name):
    assert run_elsewhere.SUITES[name] == [name]
