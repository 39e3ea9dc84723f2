"""helpers.attention.attention_mask against keras.layers.MultiHeadAttention itself.

MultiHeadAttention's attention scores are 0 exactly where its own mask is False
(a softmax weight of a kept key is never exactly 0 with random weights), so
"scores == 0" is the layer's mask, read from the outside.
"""

import doctest

import keras
import numpy as np
import pytest

import helpers.attention.mha_mask as masks_module
from helpers.attention import attention_mask


def _embedded(ids, seed):
    """Vectors of ``ids`` with the Keras mask ``ids != 0`` attached (Embedding(mask_zero=True))."""
    embedding = keras.layers.Embedding(10, 4, mask_zero=True, embeddings_initializer=keras.initializers.RandomNormal(seed=seed))
    return embedding(np.asarray(ids))


def _mha_allowed(query_ids, key_ids=None, causal=False, sliding_window=None):
    """Where MultiHeadAttention's weights are non-zero: the mask it built, (B, T, S)."""
    keras.utils.set_random_seed(0)
    query = _embedded(query_ids, seed=1)
    value = query if key_ids is None else _embedded(key_ids, seed=2)
    layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3, sliding_window=sliding_window)
    _, scores = layer(query, value, return_attention_scores=True, use_causal_mask=causal)
    scores = keras.ops.convert_to_numpy(scores)
    # the same mask in every head
    assert all(np.array_equal(scores[:, 0] != 0, scores[:, h] != 0) for h in range(scores.shape[1]))
    return scores[:, 0] != 0


def _ours(query_ids, key_ids=None, **kwargs):
    key_ids = query_ids if key_ids is None else key_ids
    mask = attention_mask(np.asarray(query_ids) != 0, np.asarray(key_ids) != 0, **kwargs)
    return keras.ops.convert_to_numpy(mask)


IDS = [[3, 5, 1, 0, 0], [4, 2, 2, 6, 1], [7, 0, 0, 0, 0]]


def test_self_attention_with_padding():
    ours = _ours(IDS)
    assert ours.shape == (3, 5, 5) and ours.dtype == bool
    np.testing.assert_array_equal(ours, _mha_allowed(IDS))


def test_causal_self_attention():
    ours = _ours(IDS, causal=True)
    np.testing.assert_array_equal(ours, _mha_allowed(IDS, causal=True))
    # a real query never attends to a later key
    assert not ours[1][np.triu_indices(5, k=1)].any()


@pytest.mark.parametrize("key_ids", [
    [[1, 2, 3, 4, 5, 0, 0], [6, 7, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1]],   # S = 7 > T = 5
    [[1, 2, 0], [6, 7, 8], [9, 0, 0]],                                       # S = 3 < T = 5
])
@pytest.mark.parametrize("causal", [False, True])
def test_cross_attention_t_differs_from_s(key_ids, causal):
    ours = _ours(IDS, key_ids, causal=causal)
    assert ours.shape == (3, 5, len(key_ids[0]))
    np.testing.assert_array_equal(ours, _mha_allowed(IDS, key_ids, causal=causal))


def test_fully_masked_rows_are_zero_in_keras_and_false_here():
    query_ids = [[1, 2, 0, 0], [3, 0, 0, 0]]
    key_ids = [[0, 0, 0], [5, 6, 0]]   # row 0: every key is padding
    ours = _ours(query_ids, key_ids)
    assert not ours[0].any()                       # no key to attend to
    assert not ours[1, 1:].any()                   # padded queries: empty rows
    np.testing.assert_array_equal(ours, _mha_allowed(query_ids, key_ids))


def test_sliding_window_matches_keras():
    ours = _ours(IDS, causal=True, sliding_window=2)
    np.testing.assert_array_equal(ours, _mha_allowed(IDS, causal=True, sliding_window=2))


def test_explicit_mask_reproduces_the_attached_masks():
    """Passing our mask as attention_mask on plain tensors gives the same weights."""
    keras.utils.set_random_seed(0)
    query = _embedded(IDS, seed=1)
    layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3)
    _, attached = layer(query, query, return_attention_scores=True, use_causal_mask=True)
    plain = keras.ops.convert_to_numpy(query)
    _, explicit = layer(plain, plain, attention_mask=_ours(IDS, causal=True), return_attention_scores=True)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(explicit), keras.ops.convert_to_numpy(attached), atol=1e-6)


def test_missing_masks_need_lengths():
    only_keys = keras.ops.convert_to_numpy(attention_mask(key_mask=[[True, False]], query_length=3))
    assert only_keys.shape == (1, 3, 2) and only_keys[:, :, 1].sum() == 0
    causal = keras.ops.convert_to_numpy(attention_mask(causal=True, query_length=2, key_length=3))
    np.testing.assert_array_equal(causal, [[[True, False, False], [True, True, False]]])


@pytest.mark.parametrize("kwargs, message", [
    (dict(query_mask=[[True, True]], key_mask=[[True], [False]]),
     "must have the same batch size. Received: query_mask with shape (1, 2) (batch size 1)"),
    (dict(query_mask=[True, True], key_mask=[[True]]), "`query_mask` must be 2-D (batch, steps). Received: query_mask with shape (2,)"),
    (dict(query_mask=[[True]], key_mask=np.ones((1, 2, 2), bool)), "`key_mask` must be 2-D"),
    (dict(), "`query_mask` or `query_length` must be given"),
    (dict(query_mask=[[True]]), "`key_mask` or `key_length` must be given"),
    (dict(query_mask=[[True, True]], key_length=2, query_length=3),
     "`query_length` must agree with the 2 steps of query_mask. Received: query_length=3"),
    (dict(query_length=0, key_length=2), "query_length must be a positive int (>= 1). Received: query_length=0"),
    (dict(query_length=2, key_length=2, sliding_window=0),
     "sliding_window must be a positive int (>= 1). Received: sliding_window=0"),
])
def test_bad_input_raises_value_error(kwargs, message):
    with pytest.raises(ValueError, match=None) as info:
        attention_mask(**kwargs)
    assert message in str(info.value)


def test_bad_types_raise_type_error():
    with pytest.raises(TypeError, match="`causal` must be a bool. Received: causal='yes'"):
        attention_mask(query_length=2, key_length=2, causal="yes")
    with pytest.raises(TypeError, match="`query_mask` must be an array or tensor. Received: query_mask=<object"):
        attention_mask(query_mask=object(), key_length=2)


def test_docstring_example_runs():
    result = doctest.testmod(masks_module, extraglobs={"attention_mask": attention_mask}, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 2 and result.failed == 0


# ----- helpers.attention.transformer (chapter 13's layers) ------------------------------

from helpers.attention.transformer import (  # noqa: E402
    DecoderBlock,
    EncoderBlock,
    TokenAndPosition,
    build_encoder_decoder,
    make_reversal_arrays,
)


def test_reversal_arrays_share_one_padding():
    source, decoder_input, target = make_reversal_arrays(50, seed=3)
    np.testing.assert_array_equal(decoder_input != 0, target != 0)
    np.testing.assert_array_equal((source != 0).sum(1) + 1, (target != 0).sum(1))
    with pytest.raises(ValueError, match="`length` must be at least 7, room for 6 digits and the end token. Received: length=4"):
        make_reversal_arrays(2, length=4)
    with pytest.raises(ValueError, match="`min_digits` must be at most max_digits=3. Received: min_digits=5"):
        make_reversal_arrays(2, min_digits=5, max_digits=3)


@pytest.mark.parametrize("layer", [TokenAndPosition(13, 8, 4), EncoderBlock(8, 2, 16), DecoderBlock(8, 2, 16)])
def test_layer_config_round_trip(layer):
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config() and clone.supports_masking


def test_model_logits_carry_the_decoder_mask_and_ignore_padding_length():
    keras.utils.set_random_seed(0)
    model = build_encoder_decoder(max_length=12, dim=8, heads=2, hidden=8)
    source, decoder_input, target = make_reversal_arrays(4, seed=0)
    logits = model([source, decoder_input])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(logits._keras_mask), target != 0)
    longer = model([np.pad(source, ((0, 0), (0, 3))), np.pad(decoder_input, ((0, 0), (0, 3)))])
    real = target != 0
    np.testing.assert_allclose(keras.ops.convert_to_numpy(longer)[:, :7][real],
                               keras.ops.convert_to_numpy(logits)[real], atol=1e-5)
