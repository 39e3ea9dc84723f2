"""helpers.notebook: the release names, seeds and printing, error and warning display, show_source
(the Colab first cell itself: tests/test_first_cell.py)."""

import pathlib
import tomllib
import warnings

import numpy as np
import pytest

from helpers import notebook

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_release_names_agree():
    """pyproject's version, helpers.__version__ and the first cell's release are one release."""
    import helpers

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert helpers.__version__ == version, f"helpers.__version__ {helpers.__version__} != pyproject {version}"
    assert notebook.RELEASE == f"v{version}", f"helpers.notebook.RELEASE {notebook.RELEASE} != v{version}"
    assert f"@{notebook.RELEASE}\"" in notebook.FIRST_CELL


def test_prepare_notebook_fixes_seeds_and_precision(capsys):
    notebook.prepare_notebook(seed=3)
    first = np.random.rand(3)
    notebook.prepare_notebook(seed=3)
    assert np.array_equal(first, np.random.rand(3))
    assert np.get_printoptions()["precision"] == 3
    assert capsys.readouterr() == ("", "")


def test_prepare_notebook_rejects_a_non_integer_seed():
    with pytest.raises(TypeError, match="`seed` must be an int"):
        notebook.prepare_notebook(seed="0")


def test_printed_warnings_goes_to_stdout(capsys):
    with notebook.printed_warnings():
        warnings.warn("the mask was dropped")
    out, err = capsys.readouterr()
    assert out == "Warning (UserWarning): the mask was dropped\n" and err == ""


def test_show_error_names_the_layer_and_drops_keras_context(capsys):
    from helpers.layers import TemporalSoftmax

    with pytest.raises(ValueError) as info:
        TemporalSoftmax()(np.ones((2, 3, 1), "float32"))
    notebook.show_error(info.value)
    out = capsys.readouterr().out
    assert out.startswith("ValueError in TemporalSoftmax: TemporalSoftmax: `mask` must be a boolean tensor")
    assert "\x1b[" not in out and "Arguments received" not in out


def test_error_message_of_a_plain_exception_is_its_text():
    assert notebook.error_message(KeyError("x")) == "'x'"
    with pytest.raises(TypeError, match="`error` must be an exception"):
        notebook.error_message("not an exception")


def test_show_source_returns_highlighted_code_and_rejects_other_objects():
    code = notebook.show_source(notebook.show_error)
    assert "def show_error" in code.data
    with pytest.raises(TypeError, match="class or function"):
        notebook.show_source(42)
