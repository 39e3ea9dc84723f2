"""helpers.audit: the padding audit finds the leaks it should, no others, and says why bad input is bad.

Runs on the default backend (TensorFlow); tests/test_audit_backends.py runs a set of
these models under JAX and PyTorch, tests/test_audit_cli.py the command line.
"""

import json
import warnings

import keras
import numpy as np
import pytest

from helpers.attention.stacked import CarryMask, build_stacked_attention_model
from helpers.audit import AuditReport, audit_padding
from helpers.audit import examples as ex
from helpers.audit.book import book_models

# Conv1D and Reshape warn at build time that they destroy the mask: expected here.
pytestmark = pytest.mark.filterwarnings("ignore:.*destroy the mask information")

IDS = ex.make_ids(batch=6, max_length=9, seed=2)
LEFT = ex.make_ids(batch=6, max_length=9, seed=2, padding="pre")


def audit(model, inputs=IDS, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Conv1D's "destroys the mask" warning at build time
        return audit_padding(model, inputs, **kwargs)


LEAKY = {
    "stacked attention (mask lost)": (lambda: build_stacked_attention_model(), "block2_attention"),
    "Conv1D same": (lambda: ex.build_conv_model("same"), "conv"),
    "Conv1D causal (pooling reads padding)": (lambda: ex.build_conv_model("causal"), "pooling"),
    "look ahead": (lambda: ex.build_look_ahead_model(), "look_ahead"),
    "subclassed mean": (lambda: ex.MeanOverTime(name="mean_over_time"), "mean_over_time"),
}
CLEAN = {
    "stacked attention, attention_mask": lambda: build_stacked_attention_model(fix="attention_mask"),
    "stacked attention, carry_mask": lambda: build_stacked_attention_model(fix="carry_mask"),
    "MaskedConv1D": lambda: ex.build_conv_model("masked"),
    "masked look ahead": lambda: ex.build_look_ahead_model(masked=True),
    "bidirectional GRU": lambda: ex.build_bigru_model(),
    "subclassed masked mean": lambda: ex.MeanOverTime(use_mask=True),
}


@pytest.mark.parametrize("name", list(LEAKY))
def test_leaky_models_are_found_and_localised(name):
    build, first = LEAKY[name]
    report = audit(build())
    assert not report.ok
    assert report.first_leak == first
    assert report.output_change > 1e-3


@pytest.mark.parametrize("name", list(CLEAN))
def test_clean_models_pass(name):
    report = audit(CLEAN[name]())
    assert report.ok, report
    assert report.leaks == []
    assert report.output_change < 1e-5


@pytest.mark.parametrize("name", ["bidirectional GRU", "MaskedConv1D", "masked look ahead"])
def test_left_padded_ids_are_understood(name):
    report = audit(CLEAN[name](), LEFT)
    assert report.ok, report


def test_left_padded_conv_same_leaks():
    assert audit(ex.build_conv_model("same"), LEFT).first_leak == "conv"


def test_stacked_attention_loses_its_mask_at_the_residual_add():
    report = audit(build_stacked_attention_model())
    assert report.lost_masks[0] == "block1_add"
    assert "block2_attention" in report.lost_masks
    rows = {row.name: row for row in report.layers}
    assert rows["block1_attention"].mask == "received" and rows["block1_attention"].verdict == "clean"
    assert rows["block2_attention"].mask == "LOST" and rows["block2_attention"].verdict == "LEAK"


def test_carry_mask_gives_the_second_attention_its_mask():
    report = audit(build_stacked_attention_model(fix="carry_mask"))
    assert "block2_attention" not in report.lost_masks
    assert {row.name: row.mask for row in report.layers}["block2_attention"] == "received"


def test_every_book_model_is_clean():
    for name, (model, inputs) in book_models(batch=4).items():
        report = audit(model, inputs)
        assert report.ok, f"{name}: {report}"


def test_masking_floats_get_garbage_at_masked_steps():
    steps = ex.make_steps()
    assert audit(ex.build_masking_model("lstm"), steps).ok
    assert audit(ex.build_masking_model("masked_conv"), steps).ok
    report = audit(ex.build_masking_model("conv"), steps)
    assert report.first_leak == "conv"
    assert any("destroy the mask" in note for note in report.notes)


def _dict_model(use_mask, mask_key="ids_mask"):
    ids = keras.Input((None,), dtype="int32", name="ids")
    mask = keras.Input((None,), dtype="bool", name=mask_key)
    x = keras.layers.Embedding(20, 4, name="embedding")(ids)
    pooled = keras.layers.GlobalAveragePooling1D(name="pooling")(x, mask=mask if use_mask else None)
    return keras.Model({"ids": ids, mask_key: mask}, pooled, name="dict_model")


@pytest.mark.parametrize("mask_key", ["ids_mask", "padding_mask"])
def test_dict_inputs_with_a_mask_key(mask_key):
    inputs = {"ids": IDS, mask_key: IDS != 0}
    assert audit(_dict_model(True, mask_key), inputs).ok
    leaky = audit(_dict_model(False, mask_key), inputs)
    assert leaky.first_leak == "pooling"


def test_kerashub_backbone_clean_right_padded_and_leaky_left_padded():
    keras_hub = pytest.importorskip("keras_hub")
    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.BertBackbone(vocabulary_size=20, num_layers=1, num_heads=2, hidden_dim=8,
                                             intermediate_dim=16, max_sequence_length=16)
    right = {"token_ids": IDS, "segment_ids": np.zeros_like(IDS), "padding_mask": IDS != 0}
    left = {"token_ids": LEFT, "segment_ids": np.zeros_like(LEFT), "padding_mask": LEFT != 0}
    assert audit(backbone, right).ok
    assert audit(backbone, left).first_leak == "position_embedding"


def test_breakage_a_leak_introduced_into_a_clean_model_is_found_and_its_fix_passes():
    clean = ex.build_look_ahead_model(masked=True)
    assert audit(clean).ok

    def swap(to):
        return lambda layer: to(name=layer.name) if isinstance(layer, ex.LookAhead) else layer.__class__.from_config(
            layer.get_config())

    broken = keras.models.clone_model(clean, clone_function=swap(ex.LookAhead))
    broken.set_weights(clean.get_weights())
    assert audit(broken).leaks == ["look_ahead", "pooling"]
    fixed = keras.models.clone_model(broken, clone_function=swap(ex.MaskedLookAhead))
    fixed.set_weights(clean.get_weights())
    assert audit(fixed).ok


def test_breakage_removing_the_carry_mask_fix_brings_the_leak_back():
    fixed = build_stacked_attention_model(fix="carry_mask")
    assert any(isinstance(layer, CarryMask) for layer in fixed.layers)
    assert audit(fixed).ok
    assert not audit(build_stacked_attention_model(fix=None)).ok


def test_report_table_figure_and_dict():
    report = audit(ex.build_look_ahead_model())
    assert isinstance(report, AuditReport)
    text = repr(report)
    assert "layer" in text and "verdict" in text and "largest change" in text and "LEAK" in text
    json.dumps(report.to_dict())
    figure = report.plot()
    assert len(figure.axes) == 1
    import matplotlib.pyplot as plt

    plt.close(figure)


def test_tolerance_decides():
    model = ex.build_look_ahead_model()
    change = audit(model).output_change
    assert audit(model, tolerance=10 * change).ok


def test_fixed_time_axis_is_noted():
    model, inputs = book_models(batch=3)["reflect model (chapter 10)"]
    report = audit(model, inputs)
    assert report.ok and "fixed time axis" in report.notes[0]


# ----- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("inputs, match", [
    (np.ones((3, 5), "int32"), "found no padding"),
    (np.array([1, 2, 0]), "no time axis"),
    ([[1, 2, 0], [3, 0]], "ragged"),
    (np.array([[1, 0, 2], [3, 4, 0]]), "neither right- nor left-padded"),
    ({"ids": np.ones((2, 4), "int32"), "padding_mask": np.ones((2, 3), bool)}, r"same \(batch, time\)"),
])
def test_bad_inputs_are_refused_with_the_argument_named(inputs, match):
    with pytest.raises(ValueError, match=match) as info:
        audit(ex.build_bigru_model(), inputs)
    assert "audit_padding" in str(info.value)


def test_a_ragged_tensor_is_refused():
    tf = pytest.importorskip("tensorflow")
    with pytest.raises(ValueError, match="ragged"):
        audit(ex.build_bigru_model(), tf.ragged.constant([[1, 2], [3]]))


def test_floats_without_masking_need_a_mask_value():
    model = keras.Sequential([keras.Input((None, 3)), keras.layers.LSTM(2)])
    with pytest.raises(ValueError, match="mask_value"):
        audit(model, ex.make_steps(features=3))


def test_a_model_without_a_time_axis():
    model = keras.Sequential([keras.Input((), dtype="int32"), keras.layers.Embedding(10, 2)])
    with pytest.raises(ValueError, match="no time axis"):
        audit(model, IDS)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"tolerance": 0}, ValueError, "tolerance must be a positive float"),
    ({"padding": "middle"}, ValueError, "padding must be one of"),
    ({"padding": "left"}, ValueError, "not on the left"),
])
def test_bad_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        audit(ex.build_bigru_model(), IDS, **kwargs)


def test_not_a_model():
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        audit_padding(keras.layers.Dense(2), IDS)
