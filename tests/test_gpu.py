"""helpers.gpu: the per-row cuDNN mask checks agree with Keras's own, and reject bad input."""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from helpers.gpu import (
    cudnn_mask_ok,
    cudnn_mask_problems,
    fully_masked_rows,
    gpu_available,
    right_padded_rows,
)
from helpers.keras_internals import tensorflow_rnn

# Keras's private checks, which decide whether a masked batch may go to cuDNN.
keras_tf_rnn = tensorflow_rnn()

POST = np.array([[True, True, False, False], [True, True, True, False]])
PRE = np.array([[False, False, True, True], [True, True, True, False]])
HOLE = np.array([[True, False, True, False]])
EMPTY = np.array([[True, True, False, False], [False, False, False, False]])


@pytest.mark.parametrize("devices, expected", [([], False), (["/physical_device:GPU:0"], True)])
def test_gpu_available_follows_what_tensorflow_lists(monkeypatch, devices, expected):
    """With TensorFlow made to list no GPU, then one, the answer follows (and is a bool)."""
    asked = []

    def fake_list(device_type=None):
        asked.append(device_type)
        return list(devices)

    monkeypatch.setattr(tf.config, "list_physical_devices", fake_list)
    assert gpu_available() is expected
    assert asked == ["GPU"]


def test_right_padded_rows():
    assert right_padded_rows(POST).tolist() == [True, True]
    assert right_padded_rows(PRE).tolist() == [False, True]
    assert right_padded_rows(HOLE).tolist() == [False]
    assert right_padded_rows(EMPTY).tolist() == [True, True]  # an empty row is a prefix of length 0
    assert right_padded_rows(tf.constant(POST)).dtype == bool


def test_fully_masked_rows():
    assert fully_masked_rows(EMPTY).tolist() == [False, True]
    assert fully_masked_rows(POST).tolist() == [False, False]


def test_cudnn_mask_ok_and_problems():
    assert cudnn_mask_ok(POST) is True
    assert cudnn_mask_ok(PRE) is False
    assert cudnn_mask_ok(EMPTY) is False
    assert cudnn_mask_problems(POST) == []
    assert cudnn_mask_problems(PRE) == ["row 0 is not right-padded: a masked step comes before a kept one"]
    assert cudnn_mask_problems(EMPTY) == ["row 1 is masked everywhere"]


def test_agrees_with_keras_on_every_mask_of_two_rows_of_three_steps():
    rows = [np.array(bits, dtype=bool) for bits in itertools.product([False, True], repeat=3)]
    for a, b in itertools.product(rows, repeat=2):
        mask = np.stack([a, b])
        keras_padded = bool(keras_tf_rnn._is_sequence_right_padded(tf.constant(mask)))
        keras_empty = bool(keras_tf_rnn._has_fully_masked_sequence(tf.constant(mask)))
        assert right_padded_rows(mask).all() == keras_padded, mask
        assert fully_masked_rows(mask).any() == keras_empty, mask
        assert cudnn_mask_ok(mask) == (keras_padded and not keras_empty), mask


@pytest.mark.parametrize(
    "bad, error, words",
    [
        (None, TypeError, "mask is None"),
        (np.array([1, 0, 1]), ValueError, "rank 2"),
        (np.ones((2, 3, 1), dtype=bool), ValueError, "rank 2"),
        (np.array([[1, 0], [1, 1]]), TypeError, "boolean"),
        ([["a", "b"]], TypeError, "boolean"),
    ],
)
def test_bad_input_is_refused_clearly(bad, error, words):
    for fn in (right_padded_rows, fully_masked_rows, cudnn_mask_ok, cudnn_mask_problems):
        with pytest.raises(error, match=words):
            fn(bad)


def test_keras_tensorflow_mask_checks_and_assertion():
    from helpers.gpu import keras_tensorflow_mask_assertion, keras_tensorflow_mask_checks

    assert keras_tensorflow_mask_checks(POST) == (True, False)
    assert keras_tensorflow_mask_checks(PRE) == (False, False)
    assert keras_tensorflow_mask_checks(EMPTY) == (True, True)
    assert_valid_mask = keras_tensorflow_mask_assertion()
    assert_valid_mask(tf.constant(POST))
    with pytest.raises(tf.errors.InvalidArgumentError, match="right-padded"):
        assert_valid_mask(tf.constant(PRE))


def test_keras_rnn_source_lines():
    from helpers.gpu import keras_rnn_source_lines

    for backend in ("torch", "jax"):
        (found,) = keras_rnn_source_lines(backend, "Masking is not supported", after=3)
        assert [text.strip() for _, text in found[-2:]] == ["if mask is not None:", "raise NotImplementedError"]
    assert keras_rnn_source_lines("jax", "no such phrase anywhere") == []
    with pytest.raises(ValueError, match="`backend` must be"):
        keras_rnn_source_lines("numpy", "x")
