"""MaskedConv1D, MaskedGlobalMaxPooling1D and PairedMaskedMean: padding invariance, masks, bad input, saving."""

import warnings

import keras
import numpy as np
import pytest

from helpers.layers import MaskedConv1D, MaskedGlobalMaxPooling1D, PairedMaskedMean

RNG = np.random.default_rng(0)
VALUES = RNG.normal(size=(3, 6, 4)).astype("float32")  # real steps: the first LENGTHS[i] of row i
LENGTHS = [2, 6, 4]


def to_np(x):
    return keras.ops.convert_to_numpy(x)


def padded(total, pre=False, fill=0.0, lengths=LENGTHS):
    """VALUES[i, :lengths[i]] placed in rows of ``total`` steps; padding holds ``fill``."""
    x = np.full((len(lengths), total, VALUES.shape[2]), fill, "float32")
    mask = np.zeros((len(lengths), total), bool)
    for i, length in enumerate(lengths):
        start = total - length if pre else 0
        x[i, start:start + length] = VALUES[i, :length]
        mask[i, start:start + length] = True
    return x, mask


def real_steps(y, mask):
    return [y[i][mask[i]] for i in range(len(y))]


# Padding at the end or at the start, 6 or 11 steps, zeros or junk in the padding.
LAYOUTS = [(total, pre, fill) for total in (6, 11) for pre in (False, True) for fill in (0.0, 5.0, -3.0)]


def conv(padding, kernel_size=3, **kwargs):
    return MaskedConv1D(5, kernel_size, padding=padding, bias_initializer="ones",
                        kernel_initializer=keras.initializers.GlorotUniform(seed=1), **kwargs)


# ----- MaskedConv1D -----------------------------------------------------------------------


@pytest.mark.parametrize("padding", ["same", "causal"])
@pytest.mark.parametrize("kernel_size, dilation_rate", [(3, 1), (4, 1), (2, 2)])
def test_conv_real_steps_do_not_depend_on_the_padding(padding, kernel_size, dilation_rate):
    layer = conv(padding, kernel_size, dilation_rate=dilation_rate)
    x, mask = padded(6)
    reference = real_steps(to_np(layer(x, mask=mask)), mask)
    for total, pre, fill in LAYOUTS:
        x, mask = padded(total, pre, fill)
        y = to_np(layer(x, mask=mask))
        for row, (got, want) in enumerate(zip(real_steps(y, mask), reference)):
            np.testing.assert_allclose(got, want, atol=1e-5, err_msg=f"{total=} {pre=} {fill=} {row=}")
        assert (y[~mask] == 0).all(), "padded steps of the output must be 0"


@pytest.mark.parametrize("padding", ["same", "causal"])
def test_conv_without_padding_equals_conv1d(padding):
    layer = conv(padding)
    x, mask = padded(6, lengths=[6, 6, 6])
    masked = to_np(layer(x, mask=mask))
    plain = keras.layers.Conv1D(5, 3, padding=padding)
    plain.build(x.shape)
    plain.set_weights(layer.get_weights())
    np.testing.assert_allclose(masked, to_np(plain(x)), atol=1e-5)
    np.testing.assert_allclose(to_np(layer(x)), to_np(plain(x)), atol=1e-5)


def test_plain_conv1d_does_depend_on_the_padding():
    """The reason for the layer: Conv1D reads what sits in the padding."""
    layer = keras.layers.Conv1D(5, 3, padding="same")
    x0, mask = padded(6)
    x5, _ = padded(6, fill=5.0)
    assert not np.allclose(real_steps(to_np(layer(x0)), mask)[0], real_steps(to_np(layer(x5)), mask)[0])


def test_conv_passes_the_mask_on_in_a_model():
    ids = np.array([[4, 7, 0, 0], [3, 1, 8, 2]])
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(10, 3, mask_zero=True)(inputs)
    y = MaskedConv1D(2, 3, name="conv")(x)
    assert y._keras_mask is not None
    model = keras.Model(inputs, keras.layers.LSTM(2)(y))
    eager = MaskedConv1D(2, 3)(keras.layers.Embedding(10, 3, mask_zero=True)(ids))
    np.testing.assert_array_equal(to_np(eager._keras_mask), ids != 0)
    assert model(ids).shape == (2, 2)


@pytest.mark.parametrize("bad", [{"padding": "valid"}, {"padding": "SAME"}, {"strides": 2},
                                 {"data_format": "channels_first"}])
def test_conv_rejects_arguments_that_change_the_time_axis(bad):
    with pytest.raises(ValueError, match="MaskedConv1D"):
        MaskedConv1D(2, 3, **bad)


def test_conv_valid_padding_message_says_the_time_axis_must_keep_its_length():
    with pytest.raises(ValueError, match="time axis keeps its length.*Received: padding='valid'"):
        MaskedConv1D(2, 3, padding="valid")


def test_conv_rejects_a_mask_of_the_wrong_shape():
    x, mask = padded(6)
    with pytest.raises(ValueError, match="mask has shape"):
        conv("same")(x, mask=mask[:, :4])


# ----- MaskedGlobalMaxPooling1D -------------------------------------------------------------


def test_max_is_over_real_steps_only():
    for total, pre, fill in LAYOUTS:
        x, mask = padded(total, pre, fill)
        got = to_np(MaskedGlobalMaxPooling1D()(x, mask=mask))
        want = np.stack([VALUES[i, :n].max(axis=0) for i, n in enumerate(LENGTHS)])
        np.testing.assert_allclose(got, want, atol=1e-6, err_msg=f"{total=} {pre=} {fill=}")


def test_max_of_a_row_without_real_steps_is_zero():
    x = -np.ones((2, 3, 2), "float32")
    got = to_np(MaskedGlobalMaxPooling1D()(x, mask=np.array([[False] * 3, [True, False, False]])))
    np.testing.assert_array_equal(got, [[0, 0], [-1, -1]])
    assert np.isfinite(got).all()


def test_max_without_mask_is_the_plain_max():
    x, _ = padded(6, fill=9.0)
    np.testing.assert_allclose(to_np(MaskedGlobalMaxPooling1D()(x)), x.max(axis=1))


def test_max_consumes_the_mask():
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(10, 3, mask_zero=True)(inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "destroy the mask" warning
        y = MaskedGlobalMaxPooling1D()(x)
    assert getattr(y, "_keras_mask", None) is None and tuple(y.shape) == (None, 3)
    assert MaskedGlobalMaxPooling1D().compute_mask(x, x._keras_mask) is None


@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 4, 5)])
def test_max_rejects_inputs_that_are_not_3d(shape):
    with pytest.raises(ValueError, match=r"expects inputs of shape \(batch, time, features\)"):
        MaskedGlobalMaxPooling1D()(np.ones(shape, "float32"))


def test_max_rejects_a_mask_of_the_wrong_shape():
    x, mask = padded(6)
    with pytest.raises(ValueError, match="mask has shape"):
        MaskedGlobalMaxPooling1D()(x, mask=mask[:2])


# ----- a model of both, end to end ------------------------------------------------------------


def conv_model():
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(20, 4, mask_zero=True, name="embedding")(inputs)
    x = MaskedConv1D(6, 3, activation="relu", name="conv")(x)
    x = MaskedConv1D(6, 2, padding="causal", name="causal")(x)
    x = MaskedGlobalMaxPooling1D(name="max")(x)
    return keras.Model(inputs, keras.layers.Dense(1, name="score")(x))


IDS = [[3, 9, 4], [5, 1, 2, 8, 7, 6], [11]]


@pytest.mark.parametrize("maxlen", [6, 10])
@pytest.mark.parametrize("where", ["pre", "post"])
def test_model_output_does_not_depend_on_padding(maxlen, where):
    model = conv_model()
    reference = to_np(model(keras.utils.pad_sequences(IDS, padding="post")))
    got = to_np(model(keras.utils.pad_sequences(IDS, padding=where, maxlen=maxlen)))
    np.testing.assert_allclose(got, reference, atol=1e-5)


def test_round_trip_keeps_outputs_and_masks(tmp_path):
    model = conv_model()
    ids = keras.utils.pad_sequences(IDS, padding="post", maxlen=8)
    path = tmp_path / "conv.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.get_layer("conv"), MaskedConv1D)
    assert loaded.get_layer("causal").padding == "causal"
    assert isinstance(loaded.get_layer("max"), MaskedGlobalMaxPooling1D)
    np.testing.assert_allclose(to_np(loaded(ids)), to_np(model(ids)), atol=1e-6)
    embedded = loaded.get_layer("embedding")(ids)
    np.testing.assert_array_equal(to_np(loaded.get_layer("conv")(embedded)._keras_mask), ids != 0)


# ----- PairedMaskedMean -------------------------------------------------------------------


def test_paired_mean_gets_a_mask_and_b_mask():
    a_ids, b_ids = np.array([[4, 0, 0], [1, 2, 3]]), np.array([[5, 6, 0, 0], [0, 0, 0, 0]])
    ea, eb = keras.layers.Embedding(10, 2, mask_zero=True), keras.layers.Embedding(10, 3, mask_zero=True)
    a, b = ea(a_ids), eb(b_ids)
    got = to_np(PairedMaskedMean()(a, b))
    av, bv = to_np(a), to_np(b)
    np.testing.assert_allclose(got[0], np.concatenate([av[0, :1].mean(0), bv[0, :2].mean(0)]), atol=1e-6)
    np.testing.assert_allclose(got[1], np.concatenate([av[1].mean(0), np.zeros(3)]), atol=1e-6)


def test_paired_mean_in_a_model_round_trip(tmp_path):
    qa, qb = keras.Input((None,), dtype="int32"), keras.Input((None,), dtype="int32")
    a = keras.layers.Embedding(10, 2, mask_zero=True)(qa)
    b = keras.layers.Embedding(10, 3, mask_zero=True)(qb)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = PairedMaskedMean(name="pair")(a, b)
    assert tuple(out.shape) == (None, 5)
    model = keras.Model([qa, qb], out)
    a_ids, b_ids = np.array([[4, 0, 0]]), np.array([[5, 6, 0, 0]])
    longer = [np.pad(a_ids, ((0, 0), (0, 3))), np.pad(b_ids, ((0, 0), (0, 5)))]
    np.testing.assert_allclose(to_np(model([a_ids, b_ids])), to_np(model(longer)), atol=1e-6)
    path = tmp_path / "pair.keras"
    model.save(path)
    np.testing.assert_allclose(to_np(keras.models.load_model(path)([a_ids, b_ids])),
                               to_np(model([a_ids, b_ids])), atol=1e-6)


def test_paired_mean_rejects_2d_inputs():
    with pytest.raises(ValueError, match="PairedMaskedMean expects b of shape"):
        PairedMaskedMean()(np.ones((1, 2, 3), "float32"), np.ones((1, 2), "float32"))
