"""helpers.widgets: the explorers' computations, their controls and what they display."""

import base64

import keras
import matplotlib
import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from helpers import widgets as W

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
GUIDE = [list(s) for s in W.DEFAULT_SEQUENCES]


# ----- padding explorer: computation ------------------------------------------------


@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
@pytest.mark.parametrize("maxlen", [None, 2, 4, 7])
def test_padding_view_is_pad_sequences(padding, truncating, maxlen):
    view = W.padding_view(GUIDE, maxlen=maxlen, padding=padding, truncating=truncating, value=-1)
    expected = keras.utils.pad_sequences(GUIDE, maxlen=maxlen, padding=padding, truncating=truncating, value=-1)
    assert np.array_equal(view.padded, expected)
    assert np.array_equal(view.mask, expected != -1)
    # `real` marks exactly the cells that hold a token of the row.
    lengths = [min(len(s), expected.shape[1]) for s in GUIDE]
    assert view.real.sum(axis=1).tolist() == lengths
    assert view.mismatches == []  # no real token equals -1


def test_padding_view_real_cells_and_dropped_tokens():
    view = W.padding_view(GUIDE, maxlen=4, padding="post", truncating="pre")
    assert view.real.tolist() == [[True, True, True, False], [True] * 4, [True] * 4]
    assert view.dropped == [[], [73], [83, 91]]
    view = W.padding_view(GUIDE, maxlen=4, padding="pre", truncating="post")
    assert view.real[0].tolist() == [False, True, True, True]
    assert view.dropped == [[], [927], [1253, 927]]


def test_padding_view_flags_a_real_token_equal_to_the_padding_value():
    view = W.padding_view([[5, 0, 7], [3]], padding="post")
    assert view.mismatches == [(0, 1)]
    assert "disagrees with the padding at (0, 1)" in str(view)
    assert W.padding_view([[5, 0, 7], [3]], padding="post", value=-1).mismatches == []


def test_padding_view_accepts_text():
    view = W.padding_view("711 632 71\n\n[73, 8]\n")
    assert view.sequences == [[711, 632, 71], [73, 8]]
    assert view.padded.tolist() == [[711, 632, 71], [0, 73, 8]]


def test_padding_view_text_and_figure():
    view = W.padding_view(padding="post")
    text = str(view)
    assert "pad_sequences(maxlen=None, padding='post', truncating='pre', value=0)" in text
    assert "row 0: [ 711  632   71    0    0    0]   mask TTTFFF" in text
    fig = view.figure()
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes) == 2


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(sequences="1 2\nthree"), ValueError, "line 2: 'three' is not an integer id"),
        (dict(sequences="\n \n"), ValueError, "no sequence given"),
        (dict(sequences=[]), ValueError, "non-empty list"),
        (dict(sequences=[[1, 2.5]]), TypeError, "sequence 0, position 1"),
        (dict(sequences=[3, 4]), TypeError, "must be a list of ids. Received: sequences"),
        (dict(maxlen=0), ValueError, "maxlen must be a positive int"),
        (dict(padding="middle"), ValueError, "`padding` must be 'pre' or 'post'"),
        (dict(truncating="end"), ValueError, "`truncating` must be 'pre' or 'post'"),
        (dict(value=0.5), TypeError, "value must be an int"),
        (dict(sequences=[[], []]), ValueError, "every sequence is empty"),
    ],
)
def test_padding_view_bad_input(kwargs, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        W.padding_view(**kwargs)


def test_parse_sequences_needs_text():
    with pytest.raises(TypeError, match="`text` must be a str"):
        W.parse_sequences([[1, 2]])


# ----- mask tracer: computation -------------------------------------------------------

EXPECTED_EVENTS = {
    "Embedding → Dense → LSTM": {"embedding": "created", "dense": "passed", "lstm": "consumed"},
    "Embedding → Flatten → Dense": {"embedding": "created", "flatten": "destroyed", "dense": "none"},
    "Embedding → Dense → TemporalSoftmax": {"embedding": "created", "dense": "passed", "temporal_softmax": "consumed"},
    "Embedding → MyActivation → LSTM(return_sequences=True)": {
        "embedding": "created", "my_activation": "passed", "lstm": "passed"},
    "Embedding → ActivationWithoutOptIn → LSTM": {"embedding": "created", "activation": "destroyed", "lstm": "none"},
    "Embedding → TemporalSplit → LSTM (second half)": {
        "embedding": "created", "temporal_split": "changed", "lstm": "consumed"},
}


def test_every_tracer_model_is_tested():
    assert set(EXPECTED_EVENTS) == set(W.TRACER_MODELS)


@pytest.mark.parametrize("name", list(EXPECTED_EVENTS))
def test_tracer_view_events(name):
    view = W.tracer_view(name)
    assert view.events == EXPECTED_EVENTS[name]
    assert np.array_equal(view.trace["embedding"].mask_out, view.inputs != 0)
    assert "event" in str(view) and name in view._repr_html_()
    assert isinstance(view.figure(), matplotlib.figure.Figure)


def test_tracer_view_records_keras_warning_for_the_destroying_layer():
    view = W.tracer_view("Embedding → Flatten → Dense")
    assert any("destroy the mask" in m for m in view.trace["flatten"].warnings)
    assert "Keras warned at 'flatten'" in str(view)


def test_tracer_view_padding_side_moves_the_mask_only():
    pre, post = W.tracer_view(padding="pre"), W.tracer_view(padding="post")
    assert pre.events == post.events
    assert pre.trace["embedding"].mask_out[0].tolist() == [False] * 3 + [True] * 3
    assert post.trace["embedding"].mask_out[0].tolist() == [True] * 3 + [False] * 3


def test_tracer_view_bad_input():
    with pytest.raises(ValueError, match="Received: name='LSTM only'"):
        W.tracer_view("LSTM only")
    with pytest.raises(ValueError, match="`padding` must be 'pre' or 'post'"):
        W.tracer_view(padding="both")


# ----- attention explorer: computation -------------------------------------------------


@pytest.mark.parametrize("seed", [0, 3])
def test_attention_view_key_axis_masks_padded_keys(seed):
    view = W.attention_view("x=3,y=5:x+y", length=15, seed=seed)
    assert view.mask.tolist() == [True] * 11 + [False] * 4
    for placement in ("key", "query", "none"):
        assert view.weights[placement].shape == (15, 15)
    real = view.mask
    # Correct mask: real queries give padded keys exactly 0 and their rows still sum to 1.
    assert view.padded_key_weight("key")[real].max() == 0.0
    assert np.allclose(view.weights["key"][real].sum(-1), 1.0, atol=1e-5)
    # The blog's mask: real queries' weights are those of no mask at all, padding included.
    assert np.allclose(view.weights["query"][real], view.weights["none"][real], atol=1e-6)
    assert view.padded_key_weight("query")[real].min() > 0.0
    # Padded queries' rows collapse to uniform (-1e9 swamps every score in float32).
    assert np.allclose(view.weights["query"][~real], 1 / 15)


def test_attention_view_without_padding_all_placements_agree():
    view = W.attention_view("x=3,y=5:x+y", length=11)
    assert view.mask.all()
    assert np.allclose(view.weights["key"], view.weights["query"], atol=1e-6)


def test_attention_view_text_and_figure():
    view = W.attention_view()
    text = str(view)
    assert "'x=37,y=5:x*y': 12 real tokens padded to 16" in text
    assert "mask on the key axis (correct)   min 0.000  max 0.000" in text
    assert "equal the unmasked weights: True" in text
    assert view.tokens[-1] == "·" and view.tokens[0] == "x"
    assert len(view.figure().axes) == 4  # two heatmaps and their colour bars


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(length=5), ValueError, "at most len_max_input=5 tokens; it has 12"),
        (dict(text="x=3 y=4"), ValueError, "the space at position 3"),
        (dict(text="x=a"), ValueError, "unknown token 'a'"),
        (dict(text=""), ValueError, "not empty"),
        (dict(length=0), ValueError, "length must be a positive int"),
        (dict(seed=-1), ValueError, "seed must be an int >= 0"),
    ],
)
def test_attention_view_bad_input(kwargs, error, words):
    with pytest.raises(error, match=words):
        W.attention_view(**kwargs)


# ----- explorers: controls and display --------------------------------------------------


@pytest.fixture
def shell():
    return InteractiveShell.instance()


def test_padding_explorer_controls_drive_the_view():
    explorer = W.PaddingExplorer()
    assert explorer.view.padded.shape == (3, 6)
    controls = explorer.controls
    assert set(controls) == {"sequences", "maxlen", "padding", "truncating", "value"}
    controls["padding"].value = "post"
    controls["maxlen"].value = 4
    controls["value"].value = -1
    assert explorer.values["maxlen"] == 4
    expected = keras.utils.pad_sequences(GUIDE, maxlen=4, padding="post", value=-1)
    assert np.array_equal(explorer.view.padded, expected)
    controls["sequences"].value = "1 2 3\n4"
    assert explorer.view.padded.tolist() == [[1, 2, 3, -1], [4, -1, -1, -1]]


def test_explorer_shows_errors_instead_of_raising():
    explorer = W.PaddingExplorer()
    explorer.controls["sequences"].value = "1 2\nx"
    assert explorer.view is None
    assert explorer.error.startswith("ValueError: line 2")
    summary, figure = explorer.outputs()
    assert "Cannot show this setting" in repr(summary) and repr(figure) == "(no figure)"
    explorer.controls["sequences"].value = "1 2\n3"
    assert explorer.error is None and explorer.view.padded.tolist() == [[1, 2], [0, 3]]


def test_tracer_and_attention_explorers_controls():
    tracer = W.TracerExplorer()
    tracer.controls["name"].value = "Embedding → Flatten → Dense"
    assert tracer.view.events["flatten"] == "destroyed"
    attention = W.AttentionExplorer()
    attention.controls["length"].value = 20
    assert attention.view.ids.shape == (20,)
    attention.controls["text"].value = "x=1,y=2:x-y"
    assert attention.view.text == "x=1,y=2:x-y"


def test_show_publishes_controls_as_widget_view_only_then_static_outputs(shell):
    explorer = W.PaddingExplorer()
    with capture_output() as captured:
        explorer.show()
    first, summary, figure = captured.outputs
    # The controls: a widget view and nothing else, so nbval has nothing to compare.
    assert set(first.data) == {WIDGET_VIEW}
    # The static outputs: text, and a real PNG with a text description.
    assert set(summary.data) == {"text/plain"} and "padded matrix, shape (3, 6)" in summary.data["text/plain"]
    assert set(figure.data) == {"image/png", "text/plain"}
    assert base64.b64decode(figure.data["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    assert figure.data["text/plain"].startswith("[figure] the 3x6 padded matrix")
    assert summary.transient["display_id"] and figure.transient["display_id"]


def test_moving_a_control_updates_the_outputs_in_place(shell):
    explorer = W.PaddingExplorer()
    with capture_output() as captured:
        explorer.show()
        explorer.controls["padding"].value = "post"
    _, summary, figure, new_summary, new_figure = captured.outputs
    assert new_summary.update and new_figure.update
    assert new_summary.transient["display_id"] == summary.transient["display_id"]
    assert new_figure.transient["display_id"] == figure.transient["display_id"]
    assert "padding='post'" in new_summary.data["text/plain"]


def test_tracer_explorer_summary_has_an_html_table(shell):
    with capture_output() as captured:
        W.TracerExplorer().show()
    summary = captured.outputs[1]
    assert '<table class="mask-trace">' in summary.data["text/html"]
    assert "consumed" in summary.data["text/plain"]
