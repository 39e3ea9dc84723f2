"""One test harness for every layer helpers/ registers, in the spirit of Keras's ``run_layer_test``.

The layers are discovered, not listed: every class registered with
``keras.saving.register_keras_serializable`` by a module of ``helpers`` (all of them are
imported first). Each needs a :class:`Case` in ``CASES``: how to feed it a small batch
and what it does with the mask. A registered layer without one FAILS (it is not
skipped), with a message saying to add it; a case for a layer that is no longer
registered fails too.

For each layer:

* ``get_config`` / ``from_config`` round trip: the clone has the same config;
* ``supports_masking`` is what the case says;
* ``compute_mask`` behaviour: called eagerly on the sample batch, the mask on the
  output (and ``compute_mask``'s own result) is what the case says;
* ``.keras`` round trip: a small model with the layer, saved and loaded, gives equal
  outputs and equal output masks on the sample batch.
"""

import importlib
import inspect
import pkgutil
import warnings
from dataclasses import dataclass

import keras
import numpy as np
import pytest

import helpers
from helpers.masks import keras_mask

#: The sample batch: two rows of ids, post-padded with 0, an even number of steps.
IDS = np.array([[3, 1, 4, 0, 0, 0], [5, 9, 2, 6, 5, 0]], dtype="int32")
REAL = IDS != 0
#: Second arguments some layers take beside the batch: each row's length, its segment ids
#: (one sequence per row, 0 on padding) and the positions within its sequence.
EXTRA = {"lengths": REAL.sum(axis=1).astype("int32"), "segments": REAL.astype("int32"),
         "positions": np.broadcast_to(np.arange(IDS.shape[1], dtype="int32"), IDS.shape).copy()}


def _import_all_helpers():
    for module in pkgutil.walk_packages(helpers.__path__, "helpers."):
        importlib.import_module(module.name)


def registered_layers():
    """``{registered name: class}`` of every Keras layer a helpers module registers."""
    _import_all_helpers()
    return {
        name: obj
        for name, obj in keras.saving.get_custom_objects().items()
        if inspect.isclass(obj) and issubclass(obj, keras.layers.Layer) and obj.__module__.startswith("helpers.")
    }


@dataclass(frozen=True)
class Case:
    """How to test one layer.

    Attributes:
        make: function returning a new layer instance (a small one).
        feed: what the layer is called on: ``"ids"`` (the int ids, no mask), ``"masked_ids"``
            (the ids with the mask ``ids != 0``), ``"vectors"`` (the output of
            ``Embedding(10, 4, mask_zero=True)``: float vectors carrying ``ids != 0``) or
            ``"pair"`` (two such vectors, as the layer's two tensor arguments).
        supports_masking: the value the layer must declare.
        mask_out: the mask its output must carry: ``"real"`` (``ids != 0``), ``None``, or
            ``"halves"`` (two outputs carrying the two halves of ``ids != 0``).
    """

    make: object
    feed: str
    supports_masking: bool
    mask_out: object
    extra: str = None  # a second argument, from EXTRA: "lengths", "segments" or "positions"


def _layers(name):
    return importlib.import_module(name)


def _case(module, cls, *args, feed, supports_masking, mask_out, extra=None, **kwargs):
    return Case(lambda: getattr(_layers(module), cls)(*args, **kwargs), feed, supports_masking, mask_out, extra)


#: Registered layers the harness cannot feed alone, and where each is tested instead.
NOT_ALONE = {
    "grader>AnswerLayer": "the grader's stand-in for a student's layer, answering from a session's record "
                          "(tests/test_grade_boundary.py)",
    "padding_masking>SegmentResetCell": "an RNN cell, not a layer over sequences: PackedRNN's case runs it",
}


#: One entry per registered layer, by its registered name ("package>Class").
CASES = {
    "padding_masking>CustomEmbedding": _case("helpers.layers", "CustomEmbedding", 10, 4, mask_zero=True,
                                             feed="ids", supports_masking=True, mask_out="real"),
    "padding_masking>EmbeddingLSTM": _case("helpers.layers", "EmbeddingLSTM", 10, 4, 3,
                                           feed="ids", supports_masking=False, mask_out=None),
    "padding_masking>MyActivation": _case("helpers.layers", "MyActivation",
                                          feed="vectors", supports_masking=True, mask_out="real"),
    "padding_masking>TemporalSplit": _case("helpers.layers", "TemporalSplit",
                                           feed="vectors", supports_masking=True, mask_out="halves"),
    "padding_masking>TemporalSoftmax": _case("helpers.layers", "TemporalSoftmax",
                                             feed="vectors", supports_masking=True, mask_out=None),
    "padding_masking>PadMasking": _case("helpers.attention", "PadMasking",
                                        feed="ids", supports_masking=True, mask_out="real"),
    "padding_masking>Embed": _case("helpers.attention", "Embed", 10, 4,
                                   feed="masked_ids", supports_masking=True, mask_out="real"),
    "padding_masking>Reflect": _case("helpers.attention", "Reflect",
                                     feed="vectors", supports_masking=True, mask_out="real"),
    "padding_masking>KeyPaddingMask": _case("helpers.attention", "KeyPaddingMask",
                                            feed="ids", supports_masking=False, mask_out=None),
    "padding_masking>MaskedConv1D": _case("helpers.layers", "MaskedConv1D", 3, 2,
                                          feed="vectors", supports_masking=True, mask_out="real"),
    "padding_masking>MaskedGlobalMaxPooling1D": _case("helpers.layers", "MaskedGlobalMaxPooling1D",
                                                      feed="vectors", supports_masking=True, mask_out=None),
    "padding_masking>PairedMaskedMean": _case("helpers.layers", "PairedMaskedMean",
                                              feed="pair", supports_masking=True, mask_out=None),
    "padding_masking>TokenAndPosition": _case("helpers.attention.transformer", "TokenAndPosition", 10, 6, 4,
                                              feed="ids", supports_masking=True, mask_out="real"),
    "padding_masking>EncoderBlock": _case("helpers.attention.transformer", "EncoderBlock", 4, 2, 8,
                                          feed="vectors", supports_masking=True, mask_out="real"),
    "padding_masking>DecoderBlock": _case("helpers.attention.transformer", "DecoderBlock", 4, 2, 8,
                                          feed="pair", supports_masking=True, mask_out="real"),
    "padding_masking>CarryMask": _case("helpers.attention.stacked", "CarryMask",
                                       feed="vectors", supports_masking=True, mask_out="real"),
    "padding_masking>TokenMask": _case("helpers.attention.stacked", "TokenMask",
                                       feed="ids", supports_masking=False, mask_out=None),
    "padding_masking>CenterOverTime": _case("helpers.audit.examples", "CenterOverTime",
                                            feed="vectors", supports_masking=True, mask_out="real"),
    "padding_masking>LookAhead": _case("helpers.audit.examples", "LookAhead",
                                       feed="vectors", supports_masking=True, mask_out="real"),
    "padding_masking>MaskedLookAhead": _case("helpers.audit.examples", "MaskedLookAhead",
                                             feed="vectors", supports_masking=True, mask_out="real"),
    "padding_masking>MeanOverTime": _case("helpers.audit.examples", "MeanOverTime", use_mask=True,
                                          feed="ids", supports_masking=False, mask_out=None),
    "padding_masking>FastPathRNN": _case("helpers.layers.fast_path", "FastPathRNN", keras.layers.LSTM(3),
                                         feed="unmasked_vectors", extra="lengths", supports_masking=False,
                                         mask_out=None),
    "padding_masking>LastRealStep": _case("helpers.layers.fast_path", "LastRealStep", feed="unmasked_vectors",
                                          extra="lengths", supports_masking=False, mask_out=None),
    "padding_masking>KerasMaskToPaddingMask": _case("helpers.kerashub", "KerasMaskToPaddingMask",
                                                    feed="vectors", supports_masking=True, mask_out=None),
    "padding_masking>PaddingMaskToKerasMask": _case("helpers.kerashub", "PaddingMaskToKerasMask",
                                                    feed="vectors_and_mask_list", extra="segments",
                                                    supports_masking=True, mask_out="real"),
    "padding_masking>PackedTokenAndPosition": _case("helpers.packing", "PackedTokenAndPosition", 10, 6, 4,
                                                    feed="ids", extra="positions", supports_masking=True,
                                                    mask_out="real"),
    "padding_masking>PackedBlock": _case("helpers.packing", "PackedBlock", 4, 2, 8, feed="vectors",
                                         extra="segments", supports_masking=True, mask_out="real"),
    "padding_masking>SegmentMeanPool": _case("helpers.packing", "SegmentMeanPool", 2, feed="vectors",
                                             extra="segments", supports_masking=True, mask_out=None),
    "padding_masking>PackedRNN": _case("helpers.packing", "PackedRNN", keras.layers.LSTMCell(3), feed="vectors",
                                       extra="positions", supports_masking=True, mask_out="real"),
    "padding_masking_tutorial_versions>GuideTemporalSoftmax": _case(
        "helpers.tutorial_versions", "GuideTemporalSoftmax", feed="vectors", supports_masking=True, mask_out=None),
    "padding_masking_tutorial_versions>RTemporalSoftmax": _case(
        "helpers.tutorial_versions", "RTemporalSoftmax", feed="vectors", supports_masking=True, mask_out=None),
    "padding_masking_tutorial_versions>NaiveTemporalSoftmax": _case(
        "helpers.tutorial_versions", "NaiveTemporalSoftmax", feed="vectors", supports_masking=True, mask_out=None),
    "padding_masking_tutorial_versions>ActivationWithoutOptIn": _case(
        "helpers.tutorial_versions", "ActivationWithoutOptIn", feed="vectors", supports_masking=False,
        mask_out=None),
}

REGISTERED = registered_layers()
TESTED = sorted(set(REGISTERED) - set(NOT_ALONE))


def _embedding():
    return keras.layers.Embedding(10, 4, mask_zero=True, name="embedding",
                                  embeddings_initializer=keras.initializers.RandomNormal(seed=1))


def _plain_embedding():
    return keras.layers.Embedding(10, 4, name="embedding", embeddings_initializer=keras.initializers.RandomNormal(seed=1))


def _model(case, layer):
    """A small Functional model: the case's feed, then the layer."""
    ids = keras.Input((IDS.shape[1],), dtype="int32", name="ids")
    extra = [keras.Input(EXTRA[case.extra].shape[1:], dtype="int32", name=case.extra)] if case.extra else []
    if case.feed == "ids":
        outputs = layer(ids, *extra)
    elif case.feed == "masked_ids":
        outputs = layer(ids, mask=keras.ops.not_equal(ids, 0))
    elif case.feed == "pair":
        x = _embedding()(ids)
        outputs = layer(x, x)
    elif case.feed == "unmasked_vectors":
        outputs = layer(_plain_embedding()(ids), *extra)
    elif case.feed == "vectors_and_mask_list":
        outputs = layer([_plain_embedding()(ids), *extra])
    else:
        outputs = layer(_embedding()(ids), *extra)
    return keras.Model([ids, *extra] if extra else ids, outputs, name="harness")


def _model_inputs(case):
    return [IDS, EXTRA[case.extra]] if case.extra else IDS


def _eager_call(case, layer):
    """Call the layer eagerly as the model would; returns (outputs, the inputs, the input mask)."""
    extra = [keras.ops.convert_to_tensor(EXTRA[case.extra])] if case.extra else []
    if case.feed == "ids":
        x, mask = keras.ops.convert_to_tensor(IDS), None
        return layer(x, *extra), x, mask
    if case.feed == "masked_ids":
        x, mask = keras.ops.convert_to_tensor(IDS), keras.ops.convert_to_tensor(REAL)
        return layer(x, mask=mask), x, mask
    if case.feed in ("unmasked_vectors", "vectors_and_mask_list"):
        x = _plain_embedding()(IDS)
        return (layer([x, *extra]) if case.feed == "vectors_and_mask_list" else layer(x, *extra)), x, None
    x = _embedding()(IDS)
    if case.feed == "pair":
        return layer(x, x), x, keras.ops.convert_to_tensor(REAL)
    return layer(x, *extra), x, keras.ops.convert_to_tensor(REAL)


def _expected_masks(case):
    if case.mask_out == "real":
        return [REAL]
    if case.mask_out == "halves":
        return [REAL[:, :3], REAL[:, 3:]]
    if case.mask_out is None:
        return None
    raise AssertionError(f"unknown mask_out {case.mask_out!r} in the harness's case")


def _check_masks(outputs, case, what):
    flat = keras.tree.flatten(outputs)
    masks = [keras_mask(t) for t in flat]
    expected = _expected_masks(case)
    if expected is None:
        assert all(m is None for m in masks), f"{what}: expected no mask on the output, got {masks}"
        return
    assert len(masks) == len(expected), f"{what}: {len(masks)} outputs, expected {len(expected)}"
    for got, want in zip(masks, expected):
        assert got is not None, f"{what}: the output carries no mask, expected {want.tolist()}"
        np.testing.assert_array_equal(got, want, err_msg=what)


def _quietly(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. ActivationWithoutOptIn: "will destroy the mask"
        return fn(*args, **kwargs)


def _numpy(outputs):
    return [np.asarray(keras.ops.convert_to_numpy(t)) for t in keras.tree.flatten(outputs)]


def test_every_registered_layer_has_a_case():
    missing = sorted(set(REGISTERED) - set(CASES) - set(NOT_ALONE))
    assert not missing, (
        f"registered layers without a harness case: {missing}. Add a Case for each to CASES in "
        "tests/test_layer_harness.py (how to feed it and what it does with the mask)."
    )
    stale = sorted(set(CASES) - set(REGISTERED))
    assert not stale, f"harness cases for layers that are no longer registered: {stale}; remove them"


def test_discovery_finds_the_books_layers():
    """The discovery is not vacuous: it finds layers of helpers.layers, attention and tutorial_versions."""
    modules = {cls.__module__.rsplit(".", 1)[0] for cls in REGISTERED.values()}
    assert {"helpers.layers", "helpers.attention"} <= modules, modules
    assert "padding_masking>TemporalSoftmax" in REGISTERED


def _case_of(name):
    if name not in CASES:
        pytest.fail(f"{name} is registered but has no harness case: add one to CASES in "
                    "tests/test_layer_harness.py", pytrace=False)
    return CASES[name]


@pytest.mark.parametrize("name", TESTED)
def test_config_round_trip(name):
    layer = _case_of(name).make()
    config = layer.get_config()
    clone = REGISTERED[name].from_config(config)
    assert type(clone) is REGISTERED[name]
    assert clone.get_config() == config
    assert keras.saving.get_registered_name(type(layer)) == name


@pytest.mark.parametrize("name", TESTED)
def test_supports_masking_and_compute_mask(name):
    case = _case_of(name)
    layer = case.make()
    assert layer.supports_masking is case.supports_masking, (
        f"{name}.supports_masking is {layer.supports_masking}, the harness expects {case.supports_masking}"
    )
    outputs, x, mask = _quietly(_eager_call, case, layer)
    _check_masks(outputs, case, f"{name} called eagerly")
    if not case.supports_masking:
        return  # Keras does not consult compute_mask then: the attached mask (checked above) is what counts
    if case.feed == "vectors_and_mask_list":
        computed = layer.compute_mask([x, keras.ops.convert_to_tensor(EXTRA[case.extra])], None)
    else:
        computed = layer.compute_mask(x, mask)
    expected = _expected_masks(case)
    if expected is None:
        assert computed is None, f"{name}.compute_mask returned {computed}, expected None"
    else:
        got = [np.asarray(keras.ops.convert_to_numpy(m)) for m in keras.tree.flatten(computed)]
        assert len(got) == len(expected)
        for g, want in zip(got, expected):
            np.testing.assert_array_equal(g, want)


@pytest.mark.parametrize("name", TESTED)
def test_keras_file_round_trip(name, tmp_path):
    case = _case_of(name)
    model = _quietly(_model, case, case.make())
    before = _quietly(model, _model_inputs(case))
    path = tmp_path / "harness.keras"
    model.save(path)
    loaded = _quietly(keras.saving.load_model, path)
    after = _quietly(loaded, _model_inputs(case))
    assert type(loaded.layers[-1]) is REGISTERED[name]
    for b, a in zip(_numpy(before), _numpy(after), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6, equal_nan=True)
    _check_masks(before, case, f"{name} in a model")
    _check_masks(after, case, f"{name} in the loaded model")


def test_the_harness_fails_a_layer_that_loses_its_mask():
    """The mask check can fail: a layer said to pass the mask on, which drops it (Flatten), is caught."""
    case = Case(lambda: keras.layers.Flatten(), "vectors", False, "real")
    outputs, _, _ = _quietly(_eager_call, case, case.make())
    with pytest.raises(AssertionError, match="carries no mask"):
        _check_masks(outputs, case, "Dense")


def test_a_new_registered_layer_without_a_case_is_reported():
    """The discovery can fail: a layer registered by a helpers module but missing from CASES is named."""

    class Unlisted(keras.layers.Layer):
        pass

    Unlisted.__module__ = "helpers.some_new_module"
    name = "harness_selftest>Unlisted"
    keras.saving.register_keras_serializable(package="harness_selftest")(Unlisted)
    try:
        found = registered_layers()
        assert name in found and name not in CASES
        with pytest.raises(pytest.fail.Exception, match="has no harness case: add one to CASES"):
            _case_of(name)
    finally:
        keras.saving.get_custom_objects().pop(name, None)
    assert name not in registered_layers()
