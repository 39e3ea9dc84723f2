"""Set-up for the docstring examples of helpers/ (``pytest --doctest-modules helpers``).

Each example runs as a chapter cell would: after ``prepare_notebook(seed=0)`` (TensorFlow
quiet, seeds fixed, NumPy printing three decimals), with ``np`` and ``keras`` imported, as
Keras's own docstrings assume. NumPy's print options are restored after each example, so
the other tests see NumPy's defaults. The tests' own set-up is in tests/conftest.py.
"""

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _import_tensorflow_quietly():
    """Import TensorFlow with file descriptor 2 sent to /dev/null: its C++ start-up lines (CUDA
    notices) are written before its log level is read, and would otherwise reach the terminal
    when pytest collects helpers' modules (which import Keras)."""
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def pytest_configure(config):
    """Import TensorFlow quietly before collection; not in pytest-xdist's controller, which
    collects and runs nothing (its workers do; skipping it saves `make unit` 4 s)."""
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        return
    _import_tensorflow_quietly()


@pytest.fixture(autouse=True)
def _doctest_like_a_chapter(request):
    from _pytest.doctest import DoctestItem

    if not isinstance(request.node, DoctestItem):
        yield
        return
    import numpy as np

    from helpers.notebook import prepare_notebook

    options = np.get_printoptions()
    prepare_notebook(seed=0)
    import keras

    request.node.dtest.globs.setdefault("np", np)
    request.node.dtest.globs.setdefault("keras", keras)
    try:
        yield
    finally:
        np.set_printoptions(**options)
