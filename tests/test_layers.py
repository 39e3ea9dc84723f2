"""Tests of helpers.layers (and the deliberately wrong helpers.tutorial_versions)."""

import warnings

import keras
import numpy as np
import pytest

from helpers.layers import CustomEmbedding, EmbeddingLSTM, MyActivation, TemporalSoftmax, TemporalSplit
from helpers.masks import keras_mask_tensor
from helpers.tutorial_versions import (
    ActivationWithoutOptIn,
    GuideTemporalSoftmax,
    NaiveTemporalSoftmax,
    RTemporalSoftmax,
)

RAW = [[711, 632, 71], [73, 8, 3215, 55, 927], [83, 91, 1, 645, 1253, 927]]
PADDED = keras.utils.pad_sequences(RAW, padding="post")  # (3, 6)


def mask_of(tensor):
    """The mask Keras attached to ``tensor`` (NumPy), the symbolic mask itself, or None."""
    mask = keras_mask_tensor(tensor)
    if mask is None or isinstance(mask, keras.KerasTensor):
        return mask
    return keras.ops.convert_to_numpy(mask)


def padded_ids(batch, time, vocab, seed=0):
    """Random ids 1..vocab-1 with random lengths (some rows full, one empty), zeros after."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, time + 1, size=batch)
    lengths[0], lengths[1] = time, 0
    ids = rng.integers(1, vocab, size=(batch, time))
    ids[np.arange(time)[None, :] >= lengths[:, None]] = 0
    return ids


# ----- TemporalSplit (C1) ----------------------------------------------------------------


def test_temporal_split_splits_the_tutorial_mask():
    x = keras.layers.Embedding(5000, 4, mask_zero=True)(PADDED)
    first, second = TemporalSplit()(x)
    assert first.shape == second.shape == (3, 3, 4)
    assert mask_of(first).all()
    expected = np.array([[False, False, False], [True, True, False], [True, True, True]])
    np.testing.assert_array_equal(mask_of(second), expected)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(second), keras.ops.convert_to_numpy(x)[:, 3:])


def test_temporal_split_without_mask_gives_no_masks():
    first, second = TemporalSplit()(np.ones((2, 4, 3), "float32"))
    assert mask_of(first) is None and mask_of(second) is None
    assert TemporalSplit().compute_mask(np.ones((2, 4, 3)), None) is None


def test_temporal_split_in_functional_model_passes_split_masks():
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(5000, 4, mask_zero=True)(inputs)
    halves = TemporalSplit()(x)
    assert len(halves) == 2 and mask_of(halves[1]) is not None
    model = keras.Model(inputs, halves)
    _, second = model(PADDED)
    np.testing.assert_array_equal(mask_of(second), PADDED[:, 3:] != 0)


def test_temporal_split_odd_length_fails_at_build_time():
    inputs = keras.Input((5,), dtype="int32")
    x = keras.layers.Embedding(10, 4)(inputs)
    with pytest.raises(ValueError, match=r"even number of time steps.*\(odd length 5\) at build time"):
        TemporalSplit()(x)


def test_temporal_split_odd_length_fails_at_call_time():
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(5000, 4, mask_zero=True)(inputs)
    model = keras.Model(inputs, TemporalSplit()(x))
    with pytest.raises(ValueError, match=r"even number of time steps.*\(odd length 5\) at call time"):
        model(PADDED[:, :5])


def test_temporal_split_rejects_rank_one():
    with pytest.raises(ValueError, match=r"\(batch, time, \.\.\.\)"):
        TemporalSplit()(np.ones((4,), "float32"))


def test_temporal_split_output_shape():
    assert TemporalSplit().compute_output_shape((None, 6, 4)) == [(None, 3, 4), (None, 3, 4)]
    assert TemporalSplit().compute_output_shape((None, None, 4)) == [(None, None, 4), (None, None, 4)]


# ----- CustomEmbedding (C2) ---------------------------------------------------------------


def test_custom_embedding_mask_on_random_ids():
    ids = np.random.default_rng(0).integers(0, 10, size=(3, 10))
    assert (ids == 0).any()
    layer = CustomEmbedding(10, 32, mask_zero=True)
    out = layer(ids)
    assert out.shape == (3, 10, 32)
    mask = keras.ops.convert_to_numpy(layer.compute_mask(ids))
    assert mask.shape == (3, 10) and mask.dtype == bool
    np.testing.assert_array_equal(mask, ids != 0)
    np.testing.assert_array_equal(mask_of(out), ids != 0)


def test_custom_embedding_looks_up_its_own_table():
    layer = CustomEmbedding(10, 4, mask_zero=True)
    ids = np.array([[3, 0, 7]])
    out = keras.ops.convert_to_numpy(layer(ids))
    table = keras.ops.convert_to_numpy(layer.embeddings)
    assert table.shape == (10, 4) and len(layer.trainable_weights) == 1
    np.testing.assert_allclose(out[0], table[[3, 0, 7]])  # id 0 still gets row 0: the mask does not zero it


def test_custom_embedding_without_mask_zero_makes_no_mask():
    layer = CustomEmbedding(10, 4)
    out = layer(np.array([[3, 0, 7]]))
    assert layer.compute_mask(np.array([[3, 0, 7]])) is None
    assert mask_of(out) is None
    assert layer.supports_masking is False


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(input_dim=0, output_dim=4), ValueError, "input_dim must be a positive int"),
        (dict(input_dim=10, output_dim=2.5), TypeError, "output_dim must be a positive int"),
        (dict(input_dim=10, output_dim=4, mask_zero="yes"), TypeError, "`mask_zero` must be True or False. Received: mask_zero='yes'"),
    ],
)
def test_custom_embedding_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        CustomEmbedding(**kwargs)


def test_custom_embedding_rejects_float_ids_and_wrong_rank():
    with pytest.raises(TypeError, match="integer ids"):
        CustomEmbedding(10, 4)(np.array([[1.0, 2.0]], "float32"))
    with pytest.raises(ValueError, match=r"\(batch, time\)"):
        CustomEmbedding(10, 4)(np.array([[[1, 2]]]))


# ----- MyActivation (C3) and the missing opt-in (C4) -------------------------------------


def test_my_activation_keeps_the_mask_in_a_model():
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(10, 4, mask_zero=True)(inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # opting in means no "destroy the mask" warning
        y = MyActivation()(x)
    assert mask_of(y) is not None
    model = keras.Model(inputs, y)
    ids = np.array([[5, 2, 0], [1, 0, 0]])
    out = model(ids)
    np.testing.assert_array_equal(mask_of(out), ids != 0)
    assert (keras.ops.convert_to_numpy(out) >= 0).all()


def test_my_activation_is_relu():
    x = np.array([[-1.0, 0.0, 2.5]], "float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(MyActivation()(x)), [[0.0, 0.0, 2.5]])


def test_lstm_after_my_activation_skips_padding():
    """The mask reaches the LSTM: trailing padding does not change its output."""
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(10, 4, mask_zero=True)(inputs)
    model = keras.Model(inputs, keras.layers.LSTM(3)(MyActivation()(x)))
    short = keras.ops.convert_to_numpy(model(np.array([[5, 2]])))
    padded = keras.ops.convert_to_numpy(model(np.array([[5, 2, 0, 0]])))
    np.testing.assert_allclose(short, padded, atol=1e-6)


def test_layer_without_opt_in_warns_and_drops_the_mask():
    x = keras.layers.Embedding(10, 4, mask_zero=True)(np.array([[5, 2, 0]]))
    with pytest.warns(UserWarning, match="does not support masking and will therefore destroy the mask"):
        y = ActivationWithoutOptIn(name="no_opt_in")(x)
    assert mask_of(y) is None


# ----- TemporalSoftmax (C5, C6) ----------------------------------------------------------


def softmax_model():
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(10, 32, mask_zero=True)(inputs)
    x = keras.layers.Dense(1)(x)
    return keras.Model(inputs, TemporalSoftmax(name="softmax")(x))


def test_acceptance_temporal_softmax_model():
    ids = padded_ids(32, 100, 10)
    out = keras.ops.convert_to_numpy(softmax_model()(ids))
    assert out.shape == (32, 100, 1)
    keep = ids != 0
    sums = out[..., 0].sum(axis=1, where=keep)
    np.testing.assert_allclose(sums[keep.any(axis=1)], 1.0, atol=1e-5)
    assert (out[..., 0][~keep] == 0).all()
    assert np.isfinite(out).all() and (out >= 0).all()
    assert (out[1] == 0).all()  # row 1 is padding only: zeros, not NaN


def test_temporal_softmax_matches_numpy_softmax_per_feature():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 6, 3)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1], [1, 0, 0, 0, 0, 0], [0, 1, 0, 1, 0, 1]], bool)
    out = keras.ops.convert_to_numpy(TemporalSoftmax()(x, mask=mask))
    for row in range(4):
        kept = x[row][mask[row]]
        expected = np.exp(kept) / np.exp(kept).sum(axis=0)
        np.testing.assert_allclose(out[row][mask[row]], expected, rtol=1e-5)
        assert (out[row][~mask[row]] == 0).all()


def test_temporal_softmax_is_numerically_stable():
    x = np.array([[[1000.0], [999.0], [5000.0]]], "float32")  # the masked 5000 must not matter
    out = keras.ops.convert_to_numpy(TemporalSoftmax()(x, mask=np.array([[True, True, False]])))
    np.testing.assert_allclose(out[0, :, 0], [1 / (1 + np.exp(-1)), np.exp(-1) / (1 + np.exp(-1)), 0.0], rtol=1e-5)


def test_temporal_softmax_fully_masked_row_gives_zeros_and_finite_gradients():
    import tensorflow as tf

    x = tf.constant(np.random.default_rng(2).normal(size=(2, 4, 1)).astype("float32"))
    mask = np.array([[True, True, False, False], [False, False, False, False]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = TemporalSoftmax()(x, mask=mask)
        loss = tf.reduce_sum(out * tf.range(4, dtype="float32")[None, :, None])
    grad = tape.gradient(loss, x).numpy()
    out = out.numpy()
    assert (out[1] == 0).all()
    assert np.isfinite(grad).all()
    np.testing.assert_allclose(out[0, :2, 0].sum(), 1.0, atol=1e-6)


def test_temporal_softmax_consumes_the_mask():
    x = keras.layers.Embedding(10, 4, mask_zero=True)(np.array([[5, 2, 0]]))
    x = keras.layers.Dense(1)(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = TemporalSoftmax()(x)
    assert mask_of(y) is None
    assert TemporalSoftmax().compute_mask(x, np.array([[True, True, False]])) is None


def test_temporal_softmax_without_mask_raises_eagerly():
    with pytest.raises(ValueError, match=r"`mask` must be a boolean tensor \(batch, time\): the layer needs a mask.*Received: mask=None"):
        TemporalSoftmax()(np.ones((2, 3, 1), "float32"))


def test_temporal_softmax_without_mask_raises_when_building_a_model():
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(10, 4)(inputs)  # no mask_zero: no mask
    with pytest.raises(ValueError, match=r"`mask` must be a boolean tensor \(batch, time\): the layer needs a mask.*Received: mask=None"):
        TemporalSoftmax()(keras.layers.Dense(1)(x))


@pytest.mark.parametrize("mask_shape", [(2, 4), (3, 3), (2, 3, 1)])
def test_temporal_softmax_rejects_a_mask_of_the_wrong_shape(mask_shape):
    with pytest.raises(ValueError, match=r"`mask` must have the inputs' \(batch, time\) = .*Received: mask with shape"):
        TemporalSoftmax()(np.ones((2, 3, 1), "float32"), mask=np.ones(mask_shape, bool))


@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 1, 1)])
def test_temporal_softmax_rejects_wrong_rank(shape):
    with pytest.raises(ValueError, match=r"\(batch, time, features\)"):
        TemporalSoftmax()(np.ones(shape, "float32"), mask=np.ones(shape[:2], bool))


def test_calling_model_with_targets_as_second_argument_is_a_type_error():
    """The guide's model(ids, targets): the second positional argument is `training`."""
    model = softmax_model()
    with pytest.raises(TypeError, match="multiple values for argument 'training'"):
        model(np.array([[1, 2, 0]]), np.zeros((1, 3, 1)))


# ----- EmbeddingLSTM (X3) ----------------------------------------------------------------


def test_embedding_lstm_output_shape():
    ids = np.random.default_rng(0).integers(0, 5000, size=(32, 10))
    assert EmbeddingLSTM(5000, 16, 32)(ids).shape == (32, 32)


def test_embedding_lstm_passes_the_mask_by_hand():
    layer = EmbeddingLSTM(20, 4, 3)
    short = keras.ops.convert_to_numpy(layer(np.array([[5, 2, 7]])))
    padded = keras.ops.convert_to_numpy(layer(np.array([[5, 2, 7, 0, 0, 0]])))
    np.testing.assert_allclose(short, padded, atol=1e-6)
    # Without the mask the LSTM would read the padding and give another answer.
    # (ops.take builds a fresh tensor with no mask attached; the embedding's own
    # output carries its mask, which Keras 3 would hand to the LSTM even with mask=None.)
    x = keras.ops.take(layer.embedding.embeddings, np.array([[5, 2, 7, 0, 0, 0]]), axis=0)
    unmasked = keras.ops.convert_to_numpy(layer.lstm(x))
    assert not np.allclose(unmasked, padded, atol=1e-4)
    assert layer.compute_mask(np.array([[5, 2, 0]])) is None


@pytest.mark.parametrize("args, error", [((0, 4, 3), ValueError), ((10, -1, 3), ValueError),
                                         ((10, 4, 2.0), TypeError), ((10, True, 3), TypeError)])
def test_embedding_lstm_rejects_bad_arguments(args, error):
    with pytest.raises(error, match="must be a positive int"):
        EmbeddingLSTM(*args)


def test_embedding_lstm_rejects_wrong_rank():
    with pytest.raises(ValueError, match=r"\(batch, time\)"):
        EmbeddingLSTM(10, 4, 3)(np.ones((2, 3, 1), "int32"))


# ----- the tutorials' versions are wrong in the documented ways ----------------------------


def test_guide_softmax_gives_negative_weights_that_do_not_sum_to_one():
    x = np.array([[[-1.0], [-2.0], [5.0]]], "float32")
    out = keras.ops.convert_to_numpy(GuideTemporalSoftmax()(x, mask=np.array([[True, True, False]])))
    assert (out[0, :2, 0] < 0).all()
    assert not np.isclose(out[0, :, 0].sum(), 1.0)


def test_r_softmax_gives_ones_and_nan():
    x = np.array([[[1.0], [2.0], [9.0]]], "float32")
    out = keras.ops.convert_to_numpy(RTemporalSoftmax()(x, mask=np.array([[True, True, False]])))
    np.testing.assert_array_equal(out[0, :2, 0], [1.0, 1.0])
    assert np.isnan(out[0, 2, 0])


def test_naive_softmax_gives_nan_on_a_fully_masked_row():
    x = np.ones((2, 2, 1), "float32")
    out = keras.ops.convert_to_numpy(NaiveTemporalSoftmax()(x, mask=np.array([[True, False], [False, False]])))
    np.testing.assert_allclose(out[0, :, 0], [1.0, 0.0])
    assert np.isnan(out[1]).all()


def test_sizes_may_be_numpy_integers():
    layer = CustomEmbedding(np.int64(10), np.int32(4), mask_zero=True)
    assert layer.get_config()["input_dim"] == 10 and type(layer.input_dim) is int
    assert EmbeddingLSTM(np.int64(10), 4, np.int64(3))(np.array([[1, 2, 0]])).shape == (1, 3)
    from helpers.attention import Embed

    assert Embed(np.int64(20), np.int32(4)).get_config()["input_dim"] == 20  # one rule for every layer
