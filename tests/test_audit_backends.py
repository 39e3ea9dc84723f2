"""helpers.audit under JAX and PyTorch: the same verdicts as under TensorFlow, one process per backend.

Twelve models, leaky and clean (tests/test_audit.py has them on TensorFlow), each audited
in a child process whose ``KERAS_BACKEND`` is set before Keras is imported.
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent

CHILD = r"""
import json, warnings
import numpy as np
warnings.simplefilter("ignore")
import keras
from helpers.attention.stacked import build_stacked_attention_model
from helpers.audit import audit_padding
from helpers.audit import examples as ex

ids = ex.make_ids(batch=6, max_length=9, seed=2)
left = ex.make_ids(batch=6, max_length=9, seed=2, padding="pre")
steps = ex.make_steps()
cases = {
    "stacked": (build_stacked_attention_model(), ids),
    "stacked_attention_mask": (build_stacked_attention_model(fix="attention_mask"), ids),
    "stacked_carry_mask": (build_stacked_attention_model(fix="carry_mask"), ids),
    "conv_same": (ex.build_conv_model("same"), ids),
    "conv_masked": (ex.build_conv_model("masked"), ids),
    "conv_same_left": (ex.build_conv_model("same"), left),
    "look_ahead": (ex.build_look_ahead_model(), ids),
    "masked_look_ahead": (ex.build_look_ahead_model(masked=True), ids),
    "bigru_left": (ex.build_bigru_model(), left),
    "mean_over_time": (ex.MeanOverTime(name="mean_over_time"), ids),
    "masked_mean_over_time": (ex.MeanOverTime(use_mask=True), ids),
    "masking_conv": (ex.build_masking_model("conv"), steps),
    "masking_lstm": (ex.build_masking_model("lstm"), steps),
}
out = {"backend": keras.backend.backend()}
for name, (model, inputs) in cases.items():
    report = audit_padding(model, inputs)
    out[name] = {"ok": report.ok, "first_leak": report.first_leak, "lost": report.lost_masks}
print("RESULT " + json.dumps(out))
"""

EXPECTED_LEAKS = {"stacked": "block2_attention", "conv_same": "conv", "conv_same_left": "conv",
                  "look_ahead": "look_ahead", "mean_over_time": "mean_over_time", "masking_conv": "conv"}
CLEAN = ["stacked_attention_mask", "stacked_carry_mask", "conv_masked", "masked_look_ahead", "bigru_left",
         "masked_mean_over_time", "masking_lstm"]


@pytest.fixture(scope="module", params=["jax", "torch"])
def results(request):
    env = dict(os.environ, KERAS_BACKEND=request.param, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    line = next(line for line in run.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def test_the_child_ran_on_its_backend(request, results):
    assert results["backend"] in ("jax", "torch")


@pytest.mark.parametrize("name", list(EXPECTED_LEAKS))
def test_leaks_found_on_every_backend(results, name):
    assert results[name]["ok"] is False
    assert results[name]["first_leak"] == EXPECTED_LEAKS[name]


@pytest.mark.parametrize("name", CLEAN)
def test_clean_on_every_backend(results, name):
    assert results[name]["ok"] is True, results[name]


def test_the_stacked_encoder_loses_its_mask_on_every_backend(results):
    assert results["stacked"]["lost"][0] == "block1_add"
    assert "block2_attention" in results["stacked"]["lost"]
    assert "block2_attention" not in results["stacked_carry_mask"]["lost"]
