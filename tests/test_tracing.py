"""Tests of helpers.tracing.trace_masks: events, records, rendering, bad input."""

import matplotlib

matplotlib.use("Agg")

import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from keras import layers, ops  # noqa: E402

import helpers  # noqa: E402
from helpers.tracing import EVENTS, MaskRecord, MaskTrace, trace_masks  # noqa: E402

IDS = np.array([[711, 632, 71, 0, 0, 0], [73, 8, 3215, 55, 927, 0], [83, 91, 1, 645, 1253, 927]])
MASK = IDS != 0


# ----- test-only layers ----------------------------------------------------------


class DropLastStep(layers.Layer):
    """Changes the time axis: removes the last step from inputs and mask."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        return inputs[:, :-1]

    def compute_mask(self, inputs, mask=None):
        return None if mask is None else mask[:, :-1]


class HideFirstStep(layers.Layer):
    """Keeps the shape, changes the values: the first step becomes masked."""

    def call(self, inputs, mask=None):
        # A new tensor: had call() returned `inputs` itself, the mask already on it would
        # stay and Keras would not call compute_mask (Keras 3.15, eager).
        return inputs * 1.0

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        first = ops.arange(ops.shape(mask)[1]) > 0
        return ops.logical_and(mask, first[None, :])


class MaskedSum(layers.Layer):
    """A consumer: call() takes the mask, compute_mask returns None (like TemporalSoftmax)."""

    def call(self, inputs, mask=None):
        if mask is not None:
            inputs = inputs * ops.cast(mask, inputs.dtype)[..., None]
        return ops.sum(inputs, axis=1)

    def compute_mask(self, inputs, mask=None):
        return None


class SplitTime(layers.Layer):
    """Two outputs: the two halves of the time axis, each with its half of the mask."""

    def call(self, inputs, mask=None):
        half = ops.shape(inputs)[1] // 2
        return inputs[:, :half], inputs[:, half:]

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        half = ops.shape(mask)[1] // 2
        return mask[:, :half], mask[:, half:]


def embedding(name="embedding"):
    return layers.Embedding(5000, 4, mask_zero=True, name=name)


# ----- events ---------------------------------------------------------------------


def test_embedding_created_dense_passed_lstm_consumed():
    model = keras.Sequential([keras.Input((None,), dtype="int32"), embedding(), layers.Dense(3, name="dense"),
                              layers.LSTM(5, name="lstm")])
    trace = trace_masks(model, IDS)
    assert trace.events == {"embedding": "created", "dense": "passed", "lstm": "consumed"}
    np.testing.assert_array_equal(trace["embedding"].mask_out, MASK)
    assert trace["embedding"].mask_in is None
    np.testing.assert_array_equal(trace["dense"].mask_in, MASK)
    np.testing.assert_array_equal(trace["dense"].mask_out, MASK)
    assert trace["lstm"].mask_out is None
    assert trace["lstm"].output_shape == (3, 5)
    assert trace["embedding"].class_name == "Embedding"


def test_lstm_with_return_sequences_passes_the_mask():
    model = keras.Sequential([embedding(), layers.LSTM(5, return_sequences=True, name="lstm")])
    assert trace_masks(model, IDS)["lstm"].event == "passed"


def test_flatten_destroys_the_mask_and_the_next_layer_sees_none():
    model = keras.Sequential([embedding(), layers.Flatten(name="flatten"), layers.Dense(1, name="out")])
    trace = trace_masks(model, IDS)
    assert trace.events == {"embedding": "created", "flatten": "destroyed", "out": "none"}
    assert not trace["flatten"].uses_mask
    assert any("destroy the mask" in w for w in trace["flatten"].warnings)
    assert trace["out"].mask_in is None


def test_masking_layer_creates_the_same_mask():
    x = np.tile(IDS[:, :, None], (1, 1, 10)).astype("float32")
    model = keras.Sequential([layers.Masking(name="masking")])
    record = trace_masks(model, x)["masking"]
    assert record.event == "created"
    np.testing.assert_array_equal(record.mask_out, MASK)


def test_shape_changing_layer_is_changed():
    model = keras.Sequential([embedding(), DropLastStep(name="drop_last")])
    record = trace_masks(model, IDS)["drop_last"]
    assert record.event == "changed"
    assert record.mask_out.shape == (3, 5)
    np.testing.assert_array_equal(record.mask_out, MASK[:, :-1])


def test_value_changing_layer_is_changed():
    model = keras.Sequential([embedding(), HideFirstStep(name="hide_first")])
    record = trace_masks(model, IDS)["hide_first"]
    assert record.event == "changed"
    assert not record.mask_out[:, 0].any()


def test_consumer_with_mask_argument_and_no_output_mask_is_consumed():
    model = keras.Sequential([embedding(), MaskedSum(name="masked_sum")])
    record = trace_masks(model, IDS)["masked_sum"]
    assert record.event == "consumed"
    assert record.uses_mask


def test_global_average_pooling_consumes_and_lambda_destroys():
    inputs = keras.Input((None,), dtype="int32")
    x = embedding()(inputs)
    with pytest.warns(UserWarning, match="destroy the mask"):
        lam = layers.Lambda(lambda t: t * 2.0, name="lam")(x)
    pooled = layers.GlobalAveragePooling1D(name="gap")(x)
    model = keras.Model(inputs, [lam, pooled])
    events = trace_masks(model, IDS).events
    assert events["lam"] == "destroyed"
    assert events["gap"] == "consumed"


def test_lambda_whose_function_takes_the_mask_consumes_it():
    def masked_mean(t, mask=None):
        m = ops.cast(mask, t.dtype)[..., None]
        return ops.sum(t * m, axis=1) / ops.sum(m, axis=1)

    model = keras.Sequential([embedding(), layers.Lambda(masked_mean, name="mean")])
    assert trace_masks(model, IDS)["mean"].event == "consumed"


def test_arithmetic_on_symbolic_tensors_destroys_silently_and_mask_ops_are_hidden():
    inputs = keras.Input((None,), dtype="int32")
    x = embedding()(inputs)
    y = x * 2.0
    outputs = layers.LSTM(3, name="lstm")(y)
    model = keras.Model(inputs, outputs)
    trace = trace_masks(model, IDS)
    # The Embedding's `inputs != 0` is a node of the graph, but only feeds masks: not listed.
    assert [r.class_name for r in trace] == ["Embedding", "Multiply", "LSTM"]
    assert trace[1].event == "destroyed"
    assert trace[1].warnings == ()  # Keras gives no warning for an operation
    assert trace["lstm"].event == "none"


def test_functional_lstm_receives_the_mask_from_the_graph():
    inputs = keras.Input((None,), dtype="int32")
    outputs = layers.LSTM(3, name="lstm")(embedding()(inputs))
    trace = trace_masks(keras.Model(inputs, outputs), IDS)
    assert trace.events == {"embedding": "created", "lstm": "consumed"}
    np.testing.assert_array_equal(trace["lstm"].mask_in, MASK)


def test_multi_output_split_layer_is_changed_with_two_masks():
    inputs = keras.Input((6,), dtype="int32")
    first, second = SplitTime(name="split")(embedding()(inputs))
    model = keras.Model(inputs, [layers.Dense(2, name="d1")(first), layers.Dense(2, name="d2")(second)])
    trace = trace_masks(model, IDS)
    record = trace["split"]
    assert record.event == "changed"
    assert record.output_shape == [(3, 3, 4), (3, 3, 4)]
    np.testing.assert_array_equal(record.mask_out[0], MASK[:, :3])
    np.testing.assert_array_equal(record.mask_out[1], MASK[:, 3:])
    assert trace["d1"].event == "passed" and trace["d2"].event == "passed"
    assert "|" in str(trace)
    assert isinstance(trace.plot(), matplotlib.figure.Figure)


def test_temporal_split_from_helpers_layers_is_changed():
    split = getattr(pytest.importorskip("helpers.layers"), "TemporalSplit", None)
    if split is None:
        pytest.skip("helpers.layers.TemporalSplit is not written yet")
    inputs = keras.Input((6,), dtype="int32")
    halves = split(name="temporal_split")(embedding()(inputs))
    model = keras.Model(inputs, list(halves))
    record = trace_masks(model, IDS)["temporal_split"]
    assert record.event == "changed"
    np.testing.assert_array_equal(record.mask_out[1], [[False] * 3, [True, True, False], [True] * 3])


def test_two_masked_inputs_added_pass_the_mask():
    a = keras.Input((6,), dtype="int32", name="a")
    b = keras.Input((6,), dtype="int32", name="b")
    summed = layers.Add(name="add")([embedding("emb_a")(a), embedding("emb_b")(b)])
    model = keras.Model([a, b], summed)
    trace = trace_masks(model, [IDS, IDS])
    assert trace["add"].event == "passed"
    assert isinstance(trace["add"].mask_in, list) and len(trace["add"].mask_in) == 2
    assert trace_masks(model, {"a": IDS, "b": IDS}).events == trace.events


def test_no_mask_anywhere_is_none():
    model = keras.Sequential([layers.Embedding(5000, 4, name="plain"), layers.Dense(2, name="dense")])
    assert set(trace_masks(model, IDS).events.values()) == {"none"}


def test_tracing_does_not_change_the_weights_and_matches_the_model():
    model = keras.Sequential([keras.Input((None,), dtype="int32"), embedding(), layers.LSTM(4, name="lstm")])
    before = [w.copy() for w in model.get_weights()]
    trace_masks(model, IDS)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_helpers_package_exports_trace_masks():
    model = keras.Sequential([embedding()])
    assert helpers.trace_masks(model, IDS).events == {"embedding": "created"}


# ----- the MaskTrace object ----------------------------------------------------------


@pytest.fixture
def trace():
    model = keras.Sequential([embedding(), layers.Dense(3, name="dense"), layers.Flatten(name="flatten")])
    return trace_masks(model, IDS)


def test_trace_is_list_like(trace):
    assert isinstance(trace, MaskTrace)
    assert len(trace) == 3
    assert all(isinstance(r, MaskRecord) for r in trace)
    assert trace[0] is trace["embedding"]
    assert trace[-1].layer == "flatten"
    assert isinstance(trace[1:], MaskTrace) and len(trace[1:]) == 2
    assert trace.layers == ["embedding", "dense", "flatten"]
    assert [r.index for r in trace] == [0, 1, 2]
    assert [r.layer for r in trace.where("destroyed")] == ["flatten"]
    assert trace.where("changed") == []
    assert all(r.event in EVENTS for r in trace)


def test_trace_lookup_errors(trace):
    with pytest.raises(KeyError, match="no layer named 'lstm'.*'embedding', 'dense', 'flatten'"):
        trace["lstm"]
    with pytest.raises(ValueError, match="must be one of .*Received: event='dropped'"):
        trace.where("dropped")


def test_trace_text_table(trace):
    text = str(trace)
    lines = text.splitlines()
    assert lines[0].split() == ["#", "layer", "class", "output", "shape", "mask", "in", "mask", "out", "event"]
    assert "(3, 6) 14/18 kept" in lines[2]
    assert lines[2].endswith("created")
    assert lines[4].endswith("destroyed")
    assert repr(trace) == text
    model = keras.Sequential([embedding(), layers.Dense(3, name="dense"), layers.Flatten(name="flatten")])
    assert str(trace_masks(model, IDS)) == text  # deterministic


def test_trace_html_table(trace):
    html = trace._repr_html_()
    assert html.startswith("<table") and html.count("<tr>") == 4
    assert "destroyed" in html and "0x" not in html


def test_trace_plot(trace):
    before = plt.get_fignums()
    fig = trace.plot(max_rows=2)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert plt.get_fignums() == before  # closed: a notebook shows it once
    titled = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_xlabel() for ax in titled] == ["CREATED", "PASSED", "DESTROYED"]
    with pytest.raises(ValueError, match="max_rows"):
        trace.plot(max_rows=0)
    with pytest.raises(ValueError, match="at least one layer"):
        trace[3:].plot()


# ----- bad input -----------------------------------------------------------------------


def test_not_a_model():
    with pytest.raises(TypeError, match="must be a Keras model.*of type Dense"):
        trace_masks(layers.Dense(2), IDS)
    with pytest.raises(TypeError, match="of type ndarray"):
        trace_masks(IDS, IDS)


def test_subclassed_model_is_refused():
    class Custom(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(TypeError, match="subclassed model Custom"):
        trace_masks(Custom(), IDS)


def test_bad_inputs():
    model = keras.Sequential([keras.Input((6,), dtype="int32"), embedding()])
    with pytest.raises(ValueError, match="ragged"):
        trace_masks(model, [[1, 2], [3]])
    with pytest.raises(ValueError, match="(?s)must have rank 2.*with rank 3"):
        trace_masks(model, IDS[None])
    with pytest.raises(ValueError, match=r"axis 1 should be 6"):
        trace_masks(model, IDS[:, :4])
    with pytest.raises(ValueError, match="empty batch"):
        trace_masks(model, np.zeros((0, 6), "int32"))
    with pytest.raises(ValueError, match="scalar"):
        trace_masks(model, 3)


def test_wrong_number_of_inputs_for_a_functional_model():
    a = keras.Input((6,), dtype="int32", name="a")
    b = keras.Input((6,), dtype="int32", name="b")
    model = keras.Model([a, b], layers.Add()([embedding("ea")(a), embedding("eb")(b)]))
    with pytest.raises(ValueError, match="must be 2 array.*1 were given"):
        trace_masks(model, IDS)
    with pytest.raises(ValueError, match=r"\['b'\] are missing"):
        trace_masks(model, {"a": IDS})


def test_a_failing_layer_is_named():
    model = keras.Sequential([embedding(), layers.LSTM(3, name="lstm")])
    with pytest.raises(ValueError, match="layer 'lstm' \\(LSTM\\) failed"):
        trace_masks(model, IDS[:, :, None])


def test_the_books_temporal_softmax_is_consumed_and_flatten_destroys():
    """The two events the book's readers meet first, on the book's own consumer layer."""
    from helpers.layers import TemporalSoftmax

    model = keras.Sequential([
        keras.Input((6,), dtype="int32"),
        layers.Embedding(5000, 4, mask_zero=True, name="embedding"),
        layers.Dense(1, name="dense"),
        TemporalSoftmax(name="temporal_softmax"),
    ])
    trace = trace_masks(model, IDS)
    assert trace.events == {"embedding": "created", "dense": "passed", "temporal_softmax": "consumed"}
    assert np.array_equal(trace["temporal_softmax"].mask_in, MASK)
    assert trace["temporal_softmax"].mask_out is None

    with pytest.warns(UserWarning, match="destroy the mask"):  # Keras says so when it builds
        flat = keras.Sequential([keras.Input((6,), dtype="int32"),
                                 layers.Embedding(5000, 4, mask_zero=True, name="embedding"),
                                 layers.Flatten(name="flatten")])
    assert trace_masks(flat, IDS)["flatten"].event == "destroyed"
