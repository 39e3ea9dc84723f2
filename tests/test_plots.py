"""Tests of helpers.plots: figures of padded batches and masks."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from helpers.plots import compare_padded, plot_mask, plot_padded, plot_ragged  # noqa: E402

RAW = [[711, 632, 71], [73, 8, 3215, 55, 927], [83, 91, 1, 645, 1253, 927]]
POST = np.array([[711, 632, 71, 0, 0, 0], [73, 8, 3215, 55, 927, 0], [83, 91, 1, 645, 1253, 927]], dtype="int32")


def cell_counts(ax):
    """(kept cells, padded cells) drawn in ``ax``: the first two patch collections."""
    return len(ax.collections[0].get_paths()), len(ax.collections[1].get_paths())


def texts(ax):
    return [t.get_text() for t in ax.texts]


@pytest.fixture(autouse=True)
def no_leftover_figures():
    plt.close("all")
    yield
    plt.close("all")


def test_plot_padded_draws_every_id_and_hatches_the_padding():
    fig = plot_padded(POST, title="post")
    assert isinstance(fig, Figure)
    assert plt.get_fignums() == []  # closed, so a notebook displays it once
    ax = fig.axes[0]
    assert ax.get_title() == "post"
    assert texts(ax) == [str(v) for v in POST.ravel()]
    assert cell_counts(ax) == (14, 4)
    assert ax.collections[1].get_hatch() == "///"


def test_plot_padded_uses_the_mask_when_given():
    mask = POST != 0
    mask[2, 5] = False
    ax = plot_padded(POST, mask).axes[0]
    assert cell_counts(ax) == (13, 5)


def test_plot_padded_other_pad_value_and_floats():
    ids = np.where(POST == 0, -1, POST)
    assert cell_counts(plot_padded(ids, pad_value=-1).axes[0]) == (14, 4)
    floats = plot_padded(np.array([[1.5, 0.0]])).axes[0]
    assert texts(floats) == ["1.5", "0"]


def test_plot_padded_in_a_given_axes_is_not_closed():
    fig, ax = plt.subplots()
    assert plot_padded(POST, ax=ax) is fig
    assert plt.fignum_exists(fig.number)


def test_plot_padded_annotate_off_and_auto():
    assert texts(plot_padded(POST, annotate=False).axes[0]) == []
    big = np.ones((4, 50), dtype=int)
    assert texts(plot_padded(big).axes[0]) == []
    with pytest.raises(TypeError, match="annotate"):
        plot_padded(POST, annotate="yes")


def test_plot_padded_bad_input():
    with pytest.raises(ValueError, match=r"2-D.*shape \(6,\)"):
        plot_padded(POST[0])
    with pytest.raises(ValueError, match="ragged"):
        plot_padded(RAW)
    with pytest.raises(ValueError, match="empty"):
        plot_padded(np.zeros((0, 3)))
    with pytest.raises(ValueError, match=r"(?s)`mask` must have the ids' shape \(3, 6\).*with shape \(3, 5\)"):
        plot_padded(POST, POST[:, :5] != 0)
    with pytest.raises(TypeError, match="boolean"):
        plot_padded(POST, np.full(POST.shape, 0.5))
    with pytest.raises(TypeError, match="numbers"):
        plot_padded(np.array([["a", "b"]]))
    with pytest.raises(TypeError, match="None"):
        plot_padded(None)


def test_plot_mask():
    fig = plot_mask(POST != 0, title="mask")
    ax = fig.axes[0]
    assert texts(ax)[:4] == ["T", "T", "T", "F"]
    assert cell_counts(ax) == (14, 4)
    assert plt.get_fignums() == []
    # 0/1 integers and tensors are accepted
    import keras

    assert cell_counts(plot_mask((POST != 0).astype(int)).axes[0]) == (14, 4)
    assert cell_counts(plot_mask(keras.ops.convert_to_tensor(POST != 0)).axes[0]) == (14, 4)


def test_plot_mask_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        plot_mask(np.ones((2, 3, 4), bool))
    with pytest.raises(TypeError, match="boolean"):
        plot_mask(POST)
    with pytest.raises(ValueError, match="empty"):
        plot_mask(np.zeros((2, 0), bool))


def test_compare_padded_side_by_side():
    pre = np.array([[0, 0, 0, 711, 632, 71], [0, 73, 8, 3215, 55, 927], [83, 91, 1, 645, 1253, 927]])
    fig = compare_padded({"pre": pre, "post": POST}, masks={"post": POST != 0}, title="both")
    assert plt.get_fignums() == []
    assert [ax.get_title() for ax in fig.axes] == ["pre", "post"]
    assert fig._suptitle.get_text() == "both"
    assert all(cell_counts(ax) == (14, 4) for ax in fig.axes)
    fig = compare_padded([("a", POST), ("b", POST), ("c", POST)], ncols=2)
    assert len(fig.axes) == 4 and not fig.axes[3].axison


def test_compare_padded_bad_input():
    with pytest.raises(ValueError, match="must hold at least one"):
        compare_padded({})
    with pytest.raises(TypeError, match="dict"):
        compare_padded([POST, POST])
    with pytest.raises(ValueError, match="are unknown"):
        compare_padded({"a": POST}, masks={"b": POST != 0})
    with pytest.raises(ValueError, match="ncols"):
        compare_padded({"a": POST}, ncols=0)


def test_plot_ragged():
    fig = plot_ragged(RAW, labels=["Hello world !", "How are you doing today", "The weather will be nice tomorrow"])
    ax = fig.axes[0]
    assert len(ax.patches) == 3 + 5 + 6
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "Hello world !"
    assert len(plot_ragged([[1, 2], []]).axes[0].patches) == 2
    with pytest.raises(ValueError, match=r"one label per sequence \(3\); it holds 2"):
        plot_ragged(RAW, labels=["a", "b"])
    with pytest.raises(ValueError, match="non-empty"):
        plot_ragged([])
    with pytest.raises(TypeError, match=r"`sequences\[1\]` must be a list of ids"):
        plot_ragged([[1], 2])


def test_sequence_rows_checks_ragged_batches():
    from helpers.plots import sequence_rows

    assert sequence_rows(np.array([[1, 2], [3, 4]]), "f") == [[1, 2], [3, 4]]
    with pytest.raises(ValueError, match="f: `sequences` must be a non-empty list"):
        sequence_rows([], "f")
    with pytest.raises(TypeError, match=r"f: `sequences\[1\]` must be a list of ids. Received: sequences\[1\]=2 \(of type int\)"):
        sequence_rows([[1], 2], "f")
