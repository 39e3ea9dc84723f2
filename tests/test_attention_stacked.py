"""Tests of helpers.attention.stacked: the stacked blocks that lose the mask, and the two fixes."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from helpers.attention.stacked import (
    CarryMask,
    TokenMask,
    attention_masks_at_run_time,
    build_stacked_attention_model,
    padding_change,
)
from helpers.masks import has_keras_mask

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IDS = np.array([[3, 4, 5, 6, 7], [8, 2, 9, 0, 0]], dtype="int32")


def test_plain_model_changes_with_padding_fixes_do_not():
    assert padding_change(build_stacked_attention_model(), IDS) > 0.1
    for fix in ("attention_mask", "carry_mask"):
        assert padding_change(build_stacked_attention_model(fix=fix), IDS) < 1e-5, fix


def test_one_block_keeps_its_mask():
    """The loss starts at the second block: one block alone is masked at run time."""
    assert padding_change(build_stacked_attention_model(num_blocks=1), IDS) < 1e-5


def test_symbolic_tensors_carry_the_mask_that_run_time_loses():
    model = build_stacked_attention_model()
    norm = model.get_layer("block1_norm").output
    assert has_keras_mask(norm)  # the symbolic graph looks masked
    assert attention_masks_at_run_time(model, IDS) == {"block1_attention": True, "block2_attention": False}
    for fix in ("attention_mask", "carry_mask"):
        seen = attention_masks_at_run_time(build_stacked_attention_model(fix=fix), IDS)
        assert seen == {"block1_attention": True, "block2_attention": True}, fix


def test_same_seed_same_weights_whatever_the_fix():
    plain = build_stacked_attention_model(seed=3)
    fixed = build_stacked_attention_model(fix="carry_mask", seed=3)
    for name in ("embedding", "block2_attention"):
        for a, b in zip(plain.get_layer(name).get_weights(), fixed.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b)
    # Without padding, the three models agree.
    full = np.array([[3, 4, 5, 6, 7]], dtype="int32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(plain(full)),
                               keras.ops.convert_to_numpy(fixed(full)), atol=1e-6)


def test_output_units_adds_a_dense_layer():
    model = build_stacked_attention_model(output_units=3, fix="attention_mask")
    assert model.get_layer("output").units == 3
    assert tuple(model(IDS).shape) == (2, 3)


def test_carry_mask_round_trips(tmp_path):
    layer = CarryMask(name="carry")
    assert CarryMask.from_config(layer.get_config()).name == "carry"
    model = build_stacked_attention_model(fix="carry_mask")
    path = tmp_path / "stacked.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(IDS)),
                               keras.ops.convert_to_numpy(model(IDS)), atol=1e-6)
    assert padding_change(loaded, IDS) < 1e-5


def test_fixes_pass_every_mask_as_an_argument():
    """The fixes do not rely on Keras recording a mask it filled in itself (3.15.1 does, the
    3.16 development branch does not): the pooling and each CarryMask get mask= explicitly."""
    for fix in ("attention_mask", "carry_mask"):
        model = build_stacked_attention_model(fix=fix)
        names = ["pooling"] + ([f"block{b}_carry_mask" for b in (1, 2)] if fix == "carry_mask" else [])
        for name in names:
            node_kwargs = model.get_layer(name)._inbound_nodes[0].arguments.kwargs
            assert "mask" in node_kwargs, (fix, name)


def test_token_mask():
    out = keras.ops.convert_to_numpy(TokenMask()(IDS))
    np.testing.assert_array_equal(out, IDS != 0)
    assert TokenMask.from_config(TokenMask(name="t").get_config()).name == "t"
    with pytest.raises(TypeError, match="integer token ids"):
        TokenMask()(IDS.astype("float32"))
    with pytest.raises(ValueError, match=r"\(batch, time\)"):
        TokenMask()(IDS[0])


def test_bad_arguments():
    with pytest.raises(ValueError, match=r'`fix` must be one of None, "attention_mask" or "carry_mask". '
                                         r"Received: fix='mask' \(of type str\)"):
        build_stacked_attention_model(fix="mask")
    with pytest.raises(ValueError, match="num_blocks must be a positive int"):
        build_stacked_attention_model(num_blocks=0)
    with pytest.raises(TypeError, match="output_units must be a positive int"):
        build_stacked_attention_model(output_units=2.0)
    model = build_stacked_attention_model(num_blocks=1)
    with pytest.raises(ValueError, match=r"integer token ids of shape \(batch, time\)"):
        padding_change(model, IDS.astype("float32"))
    with pytest.raises(ValueError, match="extra_steps must be a positive int"):
        padding_change(model, IDS, extra_steps=0)


SCRIPT = """
import numpy as np, keras
from helpers.attention.stacked import build_stacked_attention_model, padding_change
ids = np.array([[3, 4, 5, 6, 7], [8, 2, 9, 0, 0]], dtype="int32")
changes = [padding_change(build_stacked_attention_model(fix=fix), ids) for fix in (None, "attention_mask", "carry_mask")]
assert changes[0] > 0.1 and max(changes[1:]) < 1e-5, changes
print(keras.backend.backend(), "ok")
"""


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_same_on_other_backends(backend):
    pytest.importorskip(backend)
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env,
                            timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == f"{backend} ok"
