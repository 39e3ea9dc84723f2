"""Tests of helpers.attention: PadMasking, Embed, Reflect, KeyPaddingMask and the models."""

import warnings

import keras
import numpy as np
import pytest

from helpers.attention import (
    Embed,
    KeyPaddingMask,
    PadMasking,
    Reflect,
    build_mha_model,
    build_reflect_model,
)

# build_reflect_model warns that Reshape ends the mask (the chapter discusses it).
pytestmark = pytest.mark.filterwarnings("ignore:Layer 'flatten' .* does not support masking")

IDS = np.array([[3, 5, 13, 6, 4, 5, 15, 0, 0, 0], [4, 5, 12, 1, 3, 9, 4, 0, 0, 0]], dtype="int32")
MASK = IDS != 0


def _vectors(seed=0, shape=(2, 10, 15)):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _quiet_build(builder, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Reshape warns that the mask stops there
        return builder(**kwargs)


# PadMasking ---------------------------------------------------------------------------


def test_pad_masking_returns_ids_and_mask():
    layer = PadMasking()
    out = layer(IDS)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(out), IDS)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer.compute_mask(IDS)), MASK)


def test_pad_masking_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\(batch, time\)"):
        PadMasking()(IDS[0])
    with pytest.raises(TypeError, match="integer token ids"):
        PadMasking()(IDS.astype("float32"))


# Embed --------------------------------------------------------------------------------


def test_embed_zeroes_padded_steps_and_passes_mask():
    embed = Embed(20, 15)
    out = embed(PadMasking()(IDS))
    out = keras.ops.convert_to_numpy(out)
    assert out.shape == (2, 10, 15)
    assert np.all(out[~MASK] == 0.0)
    assert np.all(np.abs(out[MASK]).sum(-1) > 0)
    weights = keras.ops.convert_to_numpy(embed.embeddings)
    np.testing.assert_allclose(out[0, 0], weights[3])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(embed.compute_mask(IDS, MASK)), MASK)


def test_embed_without_mask_keeps_row_zero():
    embed = Embed(20, 4)
    out = keras.ops.convert_to_numpy(embed(IDS))
    np.testing.assert_allclose(out[0, -1], keras.ops.convert_to_numpy(embed.embeddings)[0])


def test_embed_rejects_bad_input():
    with pytest.raises(ValueError, match="input_dim must be a positive int"):
        Embed(0, 15)
    with pytest.raises(TypeError, match="output_dim must be a positive int.*Received: output_dim=2.5 .of type float"):
        Embed(20, 2.5)
    with pytest.raises(ValueError, match=r"\(batch, time\)"):
        Embed(20, 4)(np.zeros((2, 3, 4), dtype="int32"))
    with pytest.raises(TypeError, match="integer token ids"):
        Embed(20, 4)(np.zeros((2, 3), dtype="float32"))
    with pytest.raises(ValueError, match=r"`mask` must have the ids' shape \(2, 10\)\. Received: mask with shape \(2, 5\)"):
        Embed(20, 4)(IDS, mask=MASK[:, :5])


# Reflect ------------------------------------------------------------------------------


def test_reflect_shapes_and_parameter_count():
    layer = Reflect()
    out, weights = layer(_vectors(), mask=MASK, return_attention_scores=True)
    assert tuple(out.shape) == (2, 10, 15)
    assert tuple(weights.shape) == (2, 10, 10)
    assert layer.count_params() == 3 * 15 * 15


def test_reflect_masked_keys_get_zero_weight():
    _, weights = Reflect()(_vectors(), mask=MASK, return_attention_scores=True)
    weights = keras.ops.convert_to_numpy(weights)
    key_padded = np.broadcast_to(~MASK[:, None, :], weights.shape)
    assert np.all(weights[key_padded] == 0.0)
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-6)


def test_reflect_query_axis_variant_leaks_weight_to_padded_keys():
    _, weights = Reflect(mask_axis="query")(_vectors(), mask=MASK, return_attention_scores=True)
    weights = keras.ops.convert_to_numpy(weights)
    real_queries = weights[MASK]  # (n_real, key)
    padded_keys = np.broadcast_to(~MASK[:, None, :], weights.shape)[MASK]
    assert real_queries[padded_keys].min() > 0.0


def _junk_in_padding(x, seed=1):
    junk = x.copy()
    junk[~MASK] = np.random.default_rng(seed).normal(size=junk[~MASK].shape) * 10
    return junk


@pytest.mark.parametrize("mask_axis, invariant", [("key", True), ("query", False)])
def test_reflect_padding_invariance(mask_axis, invariant):
    layer = Reflect(mask_axis=mask_axis)
    x = _vectors()
    x[~MASK] = 0.0
    a = keras.ops.convert_to_numpy(layer(x, mask=MASK))[MASK]
    b = keras.ops.convert_to_numpy(layer(_junk_in_padding(x), mask=MASK))[MASK]
    assert np.allclose(a, b, atol=1e-6) == invariant


@pytest.mark.parametrize("mask_axis, invariant", [("key", True), ("query", False)])
def test_reflect_invariant_to_amount_of_padding(mask_axis, invariant):
    layer = Reflect(mask_axis=mask_axis)
    x = _vectors()[:1]
    x[0, 7:] = 0.0  # as Embed leaves padded steps
    long = keras.ops.convert_to_numpy(layer(x, mask=MASK[:1]))[0, :7]
    short = keras.ops.convert_to_numpy(layer(x[:, :7], mask=MASK[:1, :7]))[0]
    assert np.allclose(long, short, atol=1e-6) == invariant


def test_reflect_fully_masked_row_gives_zeros_not_nan():
    mask = MASK.copy()
    mask[1] = False
    out, weights = Reflect()(_vectors(), mask=mask, return_attention_scores=True)
    out, weights = keras.ops.convert_to_numpy(out), keras.ops.convert_to_numpy(weights)
    assert not np.isnan(out).any() and not np.isnan(weights).any()
    assert np.all(weights[1] == 0.0) and np.all(out[1] == 0.0)


def test_reflect_without_mask_is_plain_attention():
    _, weights = Reflect()(_vectors(), return_attention_scores=True)
    assert keras.ops.convert_to_numpy(weights).min() > 0.0


def test_reflect_rejects_bad_input():
    with pytest.raises(ValueError, match="`mask_axis` must be 'key' or 'query'. Received: mask_axis='keys'"):
        Reflect(mask_axis="keys")
    with pytest.raises(ValueError, match=r"\(batch, time, d\)"):
        Reflect()(np.zeros((2, 15), dtype="float32"))
    with pytest.raises(ValueError, match="`mask` must have shape"):
        Reflect()(_vectors(), mask=MASK[:, :4])
    with pytest.raises(ValueError, match="`mask` must have shape"):
        Reflect()(_vectors(), mask=MASK[:, :, None])


def test_reflect_passes_mask_on():
    layer = Reflect()
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer.compute_mask(_vectors(), MASK)), MASK)


# KeyPaddingMask -----------------------------------------------------------------------


def test_key_padding_mask():
    out = keras.ops.convert_to_numpy(KeyPaddingMask()(IDS))
    assert out.shape == (2, 10, 10) and out.dtype == bool
    np.testing.assert_array_equal(out, np.broadcast_to(MASK[:, None, :], (2, 10, 10)))
    with pytest.raises(ValueError, match=r"\(batch, time\)"):
        KeyPaddingMask()(IDS[0])


# Models and saving ----------------------------------------------------------------------


def test_reflect_model_parameter_counts():
    model = _quiet_build(build_reflect_model)
    counts = {layer.name: layer.count_params() for layer in model.layers}
    assert counts["embed"] == 300
    assert counts["reflect"] == 675
    assert counts["hidden"] == 45_150
    assert counts["logits"] == 3_020
    assert model.count_params() == 49_145


def test_reflect_model_output_shape():
    model = _quiet_build(build_reflect_model)
    ids = np.zeros((3, 20), dtype="int32")
    ids[:, :5] = 7
    assert tuple(model(ids).shape) == (3, 20)


def test_mha_model_masks_same_keys_as_reflect():
    model = _quiet_build(build_mha_model)
    ids = np.zeros((2, 20), dtype="int32")
    ids[0, :12], ids[1, :15] = 7, 9
    x = model.get_layer("embed")(ids, mask=ids != 0)
    attention_mask = KeyPaddingMask()(ids)
    _, scores = model.get_layer("attention")(x, x, attention_mask=attention_mask, return_attention_scores=True)
    scores = keras.ops.convert_to_numpy(scores)[:, 0]
    _, weights = Reflect()(x, mask=ids != 0, return_attention_scores=True)
    weights = keras.ops.convert_to_numpy(weights)
    real = ids != 0
    np.testing.assert_array_equal(scores[real] == 0, weights[real] == 0)


@pytest.mark.parametrize("mask_axis", ["key", "query"])
def test_save_load_round_trip(tmp_path, mask_axis):
    model = _quiet_build(build_reflect_model, mask_axis=mask_axis)
    ids = np.zeros((2, 20), dtype="int32")
    ids[0, :11], ids[1, :17] = 3, 12
    path = tmp_path / "reflect.keras"
    model.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = keras.saving.load_model(path)
    assert loaded.get_layer("reflect").mask_axis == mask_axis
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(ids)), keras.ops.convert_to_numpy(model(ids)), atol=1e-6
    )


