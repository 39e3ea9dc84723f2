"""helpers.validation (one set of argument checks), helpers.masks (one mask reader) and helpers.keras_internals."""

import keras
import numpy as np
import pytest

from helpers import keras_internals
from helpers.masks import has_keras_mask, keras_mask, keras_mask_tensor
from helpers.validation import check_mask, integer, non_negative_int, positive_int, to_array


@pytest.mark.parametrize("value", [3, np.int64(3), np.int32(3), np.uint8(3)])
def test_positive_int_accepts_python_and_numpy_integers(value):
    assert positive_int(value, "units") == 3 and type(positive_int(value, "units")) is int


@pytest.mark.parametrize("value", [True, np.bool_(True), 2.0, np.float32(2), "2", None])
def test_positive_int_refuses_other_types_with_a_type_error(value):
    with pytest.raises(TypeError, match=r"Embed: units must be a positive int \(>= 1\)\. Received: units=.* \(of type "):
        positive_int(value, "units", owner="Embed")


@pytest.mark.parametrize("value", [0, -1, np.int64(-5)])
def test_positive_int_refuses_values_below_one_with_a_value_error(value):
    with pytest.raises(ValueError, match=r"units must be a positive int"):
        positive_int(value, "units")


def test_non_negative_int_and_integer():
    assert non_negative_int(0, "seed") == 0
    with pytest.raises(ValueError, match=r"seed must be an int >= 0\. Received: seed=-1 \(of type int\)"):
        non_negative_int(-1, "seed")
    assert integer(np.int16(-3), "value") == -3
    with pytest.raises(TypeError, match="value must be an int"):
        integer(0.5, "value")


def test_to_array_converts_tensors_and_lists_and_refuses_ragged_batches():
    np.testing.assert_array_equal(to_array(keras.ops.ones((2, 2)), "x"), np.ones((2, 2)))
    assert to_array([[1, 2], [3, 4]], "ids").shape == (2, 2)
    with pytest.raises(ValueError, match=r"trace_masks: ids is ragged .*pad_sequences\. Received: ids=\[\[1, 2\], \[3\]\]"):
        to_array([[1, 2], [3]], "ids", owner="trace_masks")
    with pytest.raises(ValueError, match="ragged or not numeric"):
        to_array([{"a": 1}], "ids")
    with pytest.raises(TypeError, match="ids is None"):
        to_array(None, "ids")


def test_check_mask():
    np.testing.assert_array_equal(check_mask([[1, 0]], (1, 2), accept_01=True), [[True, False]])
    assert check_mask(np.ones((2, 3), bool), (None, 3)).dtype == bool
    with pytest.raises(TypeError, match="must be boolean"):
        check_mask([[1, 0]], (1, 2))
    with pytest.raises(ValueError, match=r"mask has shape \(1, 2\), expected \(2, 2\)"):
        check_mask([[True, False]], (2, 2))


class _NoAttributes:
    """A tensor-like object that refuses new attributes, as some backends' arrays do."""

    __slots__ = ("__weakref__",)


def test_keras_mask_reads_the_attribute_and_the_side_table():
    x = keras.layers.Embedding(10, 4, mask_zero=True)(np.array([[5, 2, 0]]))
    np.testing.assert_array_equal(keras_mask(x), [[True, True, False]])
    assert has_keras_mask(x) and not has_keras_mask(x * 2) and keras_mask(np.ones(3)) is None
    # Where the attribute cannot be set, Keras keeps the mask in a side table keyed by id():
    # getattr misses it, the one reader finds it.
    bare = _NoAttributes()
    keras_internals.set_keras_mask(bare, keras.ops.convert_to_tensor([[True, False]]))
    assert getattr(bare, "_keras_mask", None) is None
    np.testing.assert_array_equal(keras_mask(bare), [[True, False]])
    keras_internals.set_keras_mask(bare, None)
    assert keras_mask_tensor(bare) is None


def test_a_missing_internal_is_named_with_the_keras_version(monkeypatch):
    monkeypatch.setattr(keras_internals.importlib, "import_module",
                        lambda name: (_ for _ in ()).throw(ImportError(f"No module named {name!r}")))
    with pytest.raises(keras_internals.KerasInternalError,
                       match=rf"keras\.src\.models\.functional, which Keras {keras.__version__} does not have"):
        keras_internals.functional_class()
    with pytest.raises(keras_internals.KerasInternalError, match="Functional._run_through_graph"):
        keras_internals.run_through_graph(object(), [], None)
