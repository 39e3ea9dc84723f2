"""helpers.kerashub: the mask conversions, left_pad, greedy_generate, and their argument errors.

The conversions and the generation loop are also run under JAX and PyTorch in a child
process (one per backend), since masks live in different places on different backends.
"""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from helpers.kerashub import (
    KerasMaskToPaddingMask,
    PaddingMaskToKerasMask,
    check_padding_mask,
    greedy_generate,
    kerashub_warnings,
    left_pad,
    merge_padding_and_attention_mask,
    quote_source,
    set_numpy_weights,
)
from helpers.masks import keras_mask

keras_hub = pytest.importorskip("keras_hub")

IDS = np.array([[4, 7, 2, 0, 0], [3, 0, 0, 0, 0]])
MASK = IDS != 0


# ----- check_padding_mask ---------------------------------------------------------------


def test_check_padding_mask_accepts_bool_and_01():
    assert check_padding_mask(MASK, IDS).dtype == bool
    assert np.array_equal(check_padding_mask(MASK.astype("int32"), IDS), MASK)


def test_check_padding_mask_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"`padding_mask` must have the shape of `token_ids`, \(2, 5\)"):
        check_padding_mask(MASK[:, :3], IDS)
    with pytest.raises(ValueError, match=r"shape \(batch, sequence_length\)"):
        check_padding_mask(MASK[0])
    with pytest.raises(TypeError, match="must be boolean .* its dtype is float"):
        check_padding_mask(MASK.astype("float32"))
    with pytest.raises(TypeError, match="Received: padding_mask=None"):
        check_padding_mask(None)


# ----- the two conversion layers ----------------------------------------------------------


def test_padding_mask_to_keras_mask_attaches_and_replaces():
    x = keras.layers.Embedding(10, 4, mask_zero=True)(IDS)   # carries IDS != 0
    other = np.array([[1, 1, 1, 1, 0], [1, 1, 0, 0, 0]], bool)
    out = PaddingMaskToKerasMask()([x, other])
    assert np.array_equal(keras_mask(out), other)
    assert np.array_equal(keras_mask(x), MASK)               # the input keeps its own mask
    assert np.allclose(keras.ops.convert_to_numpy(out), keras.ops.convert_to_numpy(x))


def test_padding_mask_to_keras_mask_feeds_a_masked_pooling():
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    pooled = keras.layers.GlobalAveragePooling1D()(PaddingMaskToKerasMask()([x, MASK.astype("int32")]))
    expected = np.stack([x[i][MASK[i]].mean(axis=0) for i in range(2)])
    assert np.allclose(keras.ops.convert_to_numpy(pooled), expected, atol=1e-6)


def test_padding_mask_to_keras_mask_bad_input():
    with pytest.raises(ValueError, match=r"expects a list \[x, padding_mask\]"):
        PaddingMaskToKerasMask()(np.ones((2, 5, 3), "float32"))
    with pytest.raises(ValueError, match="must have shape \\(batch, time\\) matching"):
        PaddingMaskToKerasMask()([np.ones((2, 5, 3), "float32"), np.ones((2, 4), bool)])


def test_keras_mask_to_padding_mask_reads_the_mask_and_refuses_none():
    x = keras.layers.Embedding(10, 4, mask_zero=True)(IDS)
    out = KerasMaskToPaddingMask()(x)
    assert np.array_equal(keras.ops.convert_to_numpy(out), MASK) and keras_mask(out) is None
    with pytest.raises(ValueError, match="carries no Keras mask"):
        KerasMaskToPaddingMask()(np.ones((2, 5, 3), "float32"))


def test_conversion_layers_in_a_functional_model_save_and_load(tmp_path):
    ids = keras.Input((None,), dtype="int32")
    embedded = keras.layers.Embedding(10, 8, mask_zero=True)(ids)
    explicit = KerasMaskToPaddingMask()(embedded)
    encoded = keras_hub.layers.TransformerEncoder(intermediate_dim=8, num_heads=2)(embedded, padding_mask=explicit)
    back = PaddingMaskToKerasMask()([encoded, explicit])
    pooled = keras.layers.GlobalAveragePooling1D()(back)
    model = keras.Model(ids, [pooled, explicit])
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    for got, want in zip(loaded(IDS), model(IDS)):
        assert np.allclose(keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(want), atol=1e-6)
    assert np.array_equal(keras.ops.convert_to_numpy(model(IDS)[1]), MASK)


# ----- left_pad -------------------------------------------------------------------------


def test_left_pad_marks_from_lengths_not_ids():
    ids, mask = left_pad([[3, 0, 5], [7]], padding_value=0, length=4)
    assert ids.tolist() == [[0, 3, 0, 5], [0, 0, 0, 7]]
    assert mask.tolist() == [[False, True, True, True], [False, False, False, True]]   # the real 0 is kept


@pytest.mark.parametrize("bad, error, message", [
    ([], ValueError, "at least one row"),
    ([[1], []], ValueError, "at least one row, each with at least one token"),
    ([1, 2], TypeError, "list of lists"),
    ([[1.5]], TypeError, "token id must be an int"),
])
def test_left_pad_bad_sequences(bad, error, message):
    with pytest.raises(error, match=message):
        left_pad(bad)


def test_left_pad_bad_length():
    with pytest.raises(ValueError, match="more than `length`"):
        left_pad([[1, 2, 3]], length=2)
    with pytest.raises(ValueError, match="length must be a positive int"):
        left_pad([[1]], length=0)


# ----- greedy_generate -----------------------------------------------------------------


@pytest.fixture(scope="module")
def llama():
    backbone = keras_hub.models.LlamaBackbone(vocabulary_size=24, num_layers=1, num_query_heads=2,
                                              num_key_value_heads=2, hidden_dim=16, intermediate_dim=16, dropout=0.0)
    return set_numpy_weights(keras_hub.models.LlamaCausalLM(backbone=backbone, preprocessor=None), seed=0)


PROMPTS = [[1, 4, 6, 8, 10], [1, 5], [1, 18, 16]]


def test_left_padded_batch_generates_what_each_prompt_does_alone(llama):
    alone = [greedy_generate(llama, np.array([p]), np.ones((1, len(p)), bool), 4)[0].tolist() for p in PROMPTS]
    batch = greedy_generate(llama, *left_pad(PROMPTS), 4)
    assert batch.shape == (3, 4) and batch.dtype == np.int32
    assert batch.tolist() == alone


def test_right_padding_is_refused_then_wrong_when_allowed(llama):
    ids, mask = left_pad(PROMPTS)
    right_ids, right_mask = ids[:, ::-1].copy(), mask[:, ::-1].copy()   # reversed rows: padding on the right
    with pytest.raises(ValueError, match=r"rows \[1, 2\] end in padding"):
        greedy_generate(llama, right_ids, right_mask, 2)
    out = greedy_generate(llama, right_ids, right_mask, 2, require_left_padding=False)
    assert out.shape == (3, 2)


def test_greedy_generate_bad_arguments(llama):
    ids, mask = left_pad(PROMPTS)
    with pytest.raises(TypeError, match="`causal_lm` must be a Keras model"):
        greedy_generate(lambda x: x, ids, mask, 2)
    with pytest.raises(ValueError, match="steps must be a positive int"):
        greedy_generate(llama, ids, mask, 0)
    with pytest.raises(ValueError, match="must be integers of shape"):
        greedy_generate(llama, ids.astype("float32"), mask, 2)
    with pytest.raises(ValueError, match="must have the shape of `token_ids`"):
        greedy_generate(llama, ids, mask[:, 1:], 2)


# ----- set_numpy_weights, kerashub_warnings, quote_source, the private function ------------


def test_set_numpy_weights_is_deterministic_and_checks_arguments():
    a, b = keras.layers.Dense(3), keras.layers.Dense(3)
    a.build((None, 2))
    b.build((None, 2))
    set_numpy_weights(a, seed=4)
    set_numpy_weights(b, seed=4)
    assert all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))
    with pytest.raises(ValueError, match="build the model first"):
        set_numpy_weights(keras.layers.Dense(3))
    with pytest.raises(ValueError, match="`stddev` must be a positive number"):
        set_numpy_weights(a, stddev=0)
    with pytest.raises(ValueError, match="seed must be an int >= 0"):
        set_numpy_weights(a, seed=-1)


def test_kerashub_warnings_prints_the_both_masks_message(capsys):
    import absl.logging

    before = absl.logging.get_verbosity()
    x = keras.layers.Embedding(10, 8, mask_zero=True)(IDS)
    layer = keras_hub.layers.TransformerEncoder(intermediate_dim=8, num_heads=1)
    with kerashub_warnings():
        layer(x, padding_mask=MASK)
    assert "the built-in mask is ignored" in capsys.readouterr().out
    assert absl.logging.get_verbosity() == before


def test_quote_source_and_the_private_merge_function():
    merge = merge_padding_and_attention_mask()
    assert "mask = padding_mask" in quote_source(merge, "mask = padding_mask")
    with pytest.raises(ValueError, match="is not in the source"):
        quote_source(merge, "no such line")
    with pytest.raises(ValueError, match="at least one string"):
        quote_source(merge)


# ----- other backends ------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import keras, keras_hub, numpy as np
    from helpers.kerashub import (KerasMaskToPaddingMask, PaddingMaskToKerasMask, greedy_generate, left_pad,
                                  set_numpy_weights)
    from helpers.masks import keras_mask
    ids = np.array([[4, 7, 2, 0, 0]])
    x = keras.layers.Embedding(10, 4, mask_zero=True)(ids)
    assert np.array_equal(keras.ops.convert_to_numpy(KerasMaskToPaddingMask()(x)), ids != 0)
    assert np.array_equal(keras_mask(PaddingMaskToKerasMask()([x, np.array([[1, 1, 0, 0, 0]])])), [[1, 1, 0, 0, 0]])
    lm = keras_hub.models.LlamaCausalLM(backbone=keras_hub.models.LlamaBackbone(
        vocabulary_size=24, num_layers=1, num_query_heads=2, num_key_value_heads=2, hidden_dim=16,
        intermediate_dim=16, dropout=0.0), preprocessor=None)
    set_numpy_weights(lm, seed=0)
    prompts = [[1, 4, 6, 8, 10], [1, 5], [1, 18, 16]]
    alone = [greedy_generate(lm, np.array([p]), np.ones((1, len(p)), bool), 3)[0].tolist() for p in prompts]
    assert greedy_generate(lm, *left_pad(prompts), 3).tolist() == alone
    print("ok", keras.backend.backend())
""")


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_conversions_and_generation_on_other_backends(backend):
    pytest.importorskip(backend)
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"ok {backend}" in run.stdout
