"""helpers.notebook on other Keras backends: which backend, TensorFlow-only cells, and
a prepare_notebook that imports TensorFlow only on the TensorFlow backend."""

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT
from helpers import notebook


def test_tensorflow_only_is_silent_and_true_on_tensorflow(capsys, monkeypatch):
    monkeypatch.setattr(notebook, "keras_backend_name", lambda: "tensorflow")
    assert notebook.tensorflow_only("tf.data pipelines") is True
    assert capsys.readouterr() == ("", "")


def test_tensorflow_only_prints_one_line_and_false_elsewhere(capsys, monkeypatch):
    monkeypatch.setattr(notebook, "keras_backend_name", lambda: "jax")
    assert notebook.tensorflow_only("tf.data pipelines") is False
    assert capsys.readouterr() == ("(TensorFlow only: tf.data pipelines; skipped on the jax backend)\n", "")


def test_tensorflow_only_rejects_a_missing_description():
    with pytest.raises(TypeError, match="`what` must be a str"):
        notebook.tensorflow_only(None)
    with pytest.raises(ValueError, match="not be empty"):
        notebook.tensorflow_only("  ")


def test_backend_name_follows_the_environment_then_keras_json(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "keras", None)  # as if keras were not imported yet
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    assert notebook.keras_backend_name() == "torch"
    monkeypatch.delenv("KERAS_BACKEND")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert notebook.keras_backend_name() == "tensorflow"
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "jax"}))
    assert notebook.keras_backend_name() == "jax"


def test_prepare_notebook_is_silent_on_another_backend():
    """In a fresh Python on the jax backend (needs jax; skipped without it): nothing on
    stdout or stderr, not even TensorFlow's start-up lines when Keras seeds it."""
    pytest.importorskip("jax")
    code = "from helpers.notebook import prepare_notebook\nprepare_notebook(0)\nprint('ok')"
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert (result.returncode, result.stdout, result.stderr) == (0, "ok\n", "")
