"""Figures of padded batches, ragged lists and masks: grids of cells, padding grey and hatched.

Taught in chapters 1, 2 and 3 (Why sequences need padding and masks; Padding with pad_sequences; Making masks).
"""

import textwrap

import numpy as np

from helpers.validation import check_mask, positive_int, received, to_array

#: Face colour of a kept (real) step.
KEPT_COLOR = "#bcd7f2"
#: Face colour of a padded / masked step.
PAD_COLOR = "#efefef"
#: Colour of the hatching on padded / masked steps.
PAD_HATCH_COLOR = "#9a9a9a"
#: Colour of a "True" cell in a mask.
TRUE_COLOR = "#2b6cb0"


def _plt():
    import matplotlib.pyplot as plt

    return plt


def _to_numpy(value, name, fn):
    return to_array(value, name, owner=fn, hint="pad it first, or draw the ragged lists with plot_ragged")


def _check_ids(ids, fn):
    array = _to_numpy(ids, "ids", fn)
    if array.ndim != 2:
        raise ValueError(f"{fn}: `ids` must be 2-D (rows, time steps). {received('ids', ids)} with shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{fn}: `ids` must not be empty: nothing to draw."
                         f" {received('ids', ids)} with shape {array.shape}")
    if array.dtype.kind not in "iufb":
        raise TypeError(f"{fn}: `ids` must be numbers. {received('ids', ids)} with dtype {array.dtype}")
    return array


def _check_mask(mask, shape, fn):
    array = _to_numpy(mask, "mask", fn)
    if array.shape != tuple(shape):
        raise ValueError(f"{fn}: `mask` must have the ids' shape {tuple(shape)}: a mask has one boolean per "
                         f"(row, time step). {received('mask', mask)} with shape {array.shape}")
    return check_mask(array, shape, owner=fn, accept_01=True)


def _new_axes(shape, ax, scale=0.55):
    plt = _plt()
    if ax is not None:
        return ax.figure, ax, False
    rows, cols = shape
    fig, ax = plt.subplots(figsize=(max(2.5, 0.2 + scale * cols), max(1.4, 0.5 + scale * rows)))
    return fig, ax, True


def _finish(fig, ax, own, title):
    """Title the axes; close a figure the function made itself (a notebook then shows it once)."""
    if title:
        ax.set_title(title, fontsize=10)
    if own:
        fig.tight_layout()
        _plt().close(fig)
    return fig


def _format_value(value):
    if isinstance(value, (bool, np.bool_)):
        return "T" if value else "F"
    if isinstance(value, (np.floating, float)):
        return f"{value:g}"
    return str(value)


def _draw_cells(ax, values, kept, annotate, kept_color=KEPT_COLOR, text_colors=("black", "#555555")):
    """Draw a grid of cells: ``kept`` cells plain, others grey and hatched; optional labels."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    rows, cols = kept.shape
    kept_cells, pad_cells = [], []
    for r in range(rows):
        for c in range(cols):
            (kept_cells if kept[r, c] else pad_cells).append(Rectangle((c - 0.5, r - 0.5), 1, 1))
    ax.add_collection(PatchCollection(kept_cells, facecolor=kept_color, edgecolor="white", linewidth=1.5))
    ax.add_collection(PatchCollection(pad_cells, facecolor=PAD_COLOR, edgecolor=PAD_HATCH_COLOR, hatch="///",
                                      linewidth=0))
    # White grid over the hatching keeps the cells apart.
    ax.add_collection(PatchCollection(pad_cells, facecolor="none", edgecolor="white", linewidth=1.5))
    if annotate:
        size = 9 if cols <= 12 else 7
        for r in range(rows):
            for c in range(cols):
                ax.text(c, r, _format_value(values[r, c]), ha="center", va="center", fontsize=size,
                        color=text_colors[0] if kept[r, c] else text_colors[1])
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)
    ax.set_aspect("auto")
    ax.set_xticks(range(cols) if cols <= 30 else range(0, cols, max(1, cols // 10)))
    ax.set_yticks(range(rows) if rows <= 30 else range(0, rows, max(1, rows // 10)))
    ax.tick_params(length=0, labelsize=8)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xlabel("time step", fontsize=9)
    ax.set_ylabel("row", fontsize=9)


def _auto_annotate(annotate, shape):
    if annotate == "auto":
        return shape[0] <= 20 and shape[1] <= 24
    if not isinstance(annotate, bool):
        raise TypeError(f"`annotate` must be True, False or 'auto'. {received('annotate', annotate)}")
    return annotate


def plot_padded(ids, mask=None, *, pad_value=0, title=None, ax=None, annotate="auto"):
    """Draw a padded batch of ids as a grid, each cell labelled with its id.

    Padding is drawn light grey and hatched; real tokens are blue. Which cells
    count as padding comes from ``mask`` when given (False = padding/masked),
    otherwise from ``ids == pad_value``.

    Args:
        ids: 2-D array-like of shape (rows, time steps): a padded batch.
        mask: optional boolean array of the same shape (True = keep the step).
        pad_value: the padding value, used when ``mask`` is None (default 0).
        title: optional title.
        ax: optional matplotlib Axes to draw in (then the figure is not closed).
        annotate: True, False or "auto" (label cells when the grid is small).

    Returns:
        The ``matplotlib.figure.Figure``.

    Raises:
        ValueError: ``ids`` is not 2-D, is ragged or empty; ``mask`` has another shape.
        TypeError: ``ids`` is not numeric, or ``mask`` is not boolean.

    Example:
        >>> fig = plot_padded([[711, 632, 71, 0], [73, 8, 3215, 55]], title="post")
    """
    array = _check_ids(ids, "plot_padded")
    kept = _check_mask(mask, array.shape, "plot_padded") if mask is not None else array != pad_value
    fig, ax, own = _new_axes(array.shape, ax)
    _draw_cells(ax, array, kept, _auto_annotate(annotate, array.shape))
    return _finish(fig, ax, own, title)


def plot_mask(mask, *, title=None, ax=None, annotate="auto"):
    """Draw a boolean mask as a grid: True (kept) in dark blue, False (masked) grey and hatched.

    Args:
        mask: 2-D boolean array-like of shape (rows, time steps); a tensor is fine.
        title: optional title.
        ax: optional matplotlib Axes to draw in (then the figure is not closed).
        annotate: True, False or "auto": write T / F in the cells.

    Returns:
        The ``matplotlib.figure.Figure``.

    Raises:
        ValueError: the mask is not 2-D or is empty.
        TypeError: the mask is not boolean (0/1 integers are accepted).

    Example:
        >>> fig = plot_mask(np.array([[True, True, False], [True, False, False]]))
    """
    array = _to_numpy(mask, "mask", "plot_mask")
    if array.ndim != 2:
        raise ValueError(f"plot_mask: `mask` must be 2-D (rows, time steps). {received('mask', mask)} "
                         f"with shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"plot_mask: `mask` must not be empty: nothing to draw. {received('mask', mask)} "
                         f"with shape {array.shape}")
    array = _check_mask(array, array.shape, "plot_mask")
    fig, ax, own = _new_axes(array.shape, ax, scale=0.45)
    _draw_cells(ax, array, array, _auto_annotate(annotate, array.shape), kept_color=TRUE_COLOR,
                text_colors=("white", "#555555"))
    return _finish(fig, ax, own, title)


def compare_padded(panels, *, masks=None, pad_value=0, title=None, ncols=None, annotate="auto"):
    """Draw several padded batches side by side, one panel each, with the same colours.

    Args:
        panels: dict ``{panel title: ids}`` or list of ``(panel title, ids)`` pairs.
        masks: optional dict ``{panel title: mask}`` for the panels that have one.
        pad_value: padding value for panels without a mask (default 0).
        title: optional title of the whole figure.
        ncols: panels per row (default: all in one row, at most 4).
        annotate: as in :func:`plot_padded`.

    Returns:
        The ``matplotlib.figure.Figure`` (closed, so a notebook shows it once).

    Example:
        >>> raw = [[7, 4], [3, 9, 5]]
        >>> fig = compare_padded({"pre": keras.utils.pad_sequences(raw),
        ...                       "post": keras.utils.pad_sequences(raw, padding="post")})
    """
    items = list(panels.items()) if isinstance(panels, dict) else list(panels)
    if not items:
        raise ValueError(f"compare_padded: `panels` must hold at least one (title, ids) pair."
                         f" {received('panels', panels)}")
    for item in items:
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
            raise TypeError(f"compare_padded: `panels` must be a dict {{title: ids}} or a list of (title, ids) pairs. "
                            f"{received('panels', panels)}")
    masks = dict(masks or {})
    unknown = set(masks) - {name for name, _ in items}
    if unknown:
        raise ValueError(f"compare_padded: `masks` must name panels of `panels`; {sorted(unknown)} are unknown. "
                         f"{received('masks', masks)}")
    arrays = [(name, _check_ids(ids, "compare_padded")) for name, ids in items]
    n = len(arrays)
    ncols = min(n, 4) if ncols is None else ncols
    ncols = positive_int(ncols, "ncols", owner="compare_padded")
    nrows = -(-n // ncols)
    widest = max(a.shape[1] for _, a in arrays)
    tallest = max(a.shape[0] for _, a in arrays)
    plt = _plt()
    panel_width = max(2.6, 0.3 + 0.5 * widest)
    fig, axes = plt.subplots(nrows, ncols, squeeze=False,
                             figsize=(ncols * panel_width, nrows * max(1.6, 1.0 + 0.45 * tallest)))
    for ax in axes.flat[n:]:
        ax.axis("off")
    for (name, array), ax in zip(arrays, axes.flat):
        plot_padded(array, masks.get(name), pad_value=pad_value, ax=ax, annotate=annotate,
                    title=textwrap.fill(name, width=max(16, int(panel_width * 8))))
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    plt.close(fig)
    return fig


def sequence_rows(sequences, caller):
    """Check a batch of ragged sequences and return it as a list of lists.

    Args:
        sequences: a non-empty list (or tuple, or 2-D array) of sequences of ids.
        caller: str, the function name used in error messages.

    Raises:
        ValueError: ``sequences`` is empty or not a list.
        TypeError: one of the sequences is not a list, tuple or array.
    """
    if isinstance(sequences, np.ndarray) and sequences.dtype != object:
        sequences = sequences.tolist()
    if not isinstance(sequences, (list, tuple)) or not sequences:
        raise ValueError(f"{caller}: `sequences` must be a non-empty list of lists of ids."
                         f" {received('sequences', sequences)}")
    rows = []
    for i, seq in enumerate(sequences):
        if not isinstance(seq, (list, tuple, np.ndarray)):
            raise TypeError(f"{caller}: `sequences[{i}]` must be a list of ids. {received(f'sequences[{i}]', seq)}")
        rows.append(list(seq))
    return rows


def plot_ragged(sequences, *, labels=None, title=None, ax=None):
    """Draw ragged sequences (lists of ids of different lengths) as rows of boxes.

    Each row is as long as its sequence, so the ragged right edge is visible: this
    is what cannot go into one rectangular tensor.

    Args:
        sequences: list of lists of numbers (they may be empty).
        labels: optional list of row labels (e.g. the sentences), one per sequence.
        title: optional title.
        ax: optional matplotlib Axes to draw in (then the figure is not closed).

    Returns:
        The ``matplotlib.figure.Figure``.

    Example:
        >>> fig = plot_ragged([[711, 632, 71], [73, 8, 3215, 55, 927]])
    """
    from matplotlib.patches import Rectangle

    rows = sequence_rows(sequences, "plot_ragged")
    if labels is not None and len(labels) != len(rows):
        raise ValueError(f"plot_ragged: `labels` must hold one label per sequence ({len(rows)}); "
                         f"it holds {len(labels)}. "
                         f"{received('labels', labels)}")
    longest = max(1, max(len(r) for r in rows))
    plt = _plt()
    own = ax is None
    if own:
        extra = 0.0 if labels is None else 0.07 * max(len(str(label)) for label in labels)
        fig, ax = plt.subplots(figsize=(max(3.0, 0.75 * longest + 0.6 + extra), max(1.4, 0.5 + 0.5 * len(rows))))
    else:
        fig = ax.figure
    for r, seq in enumerate(rows):
        for c, value in enumerate(seq):
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor=KEPT_COLOR, edgecolor="white", linewidth=1.5))
            ax.text(c, r, _format_value(value), ha="center", va="center", fontsize=9)
    ax.set_xlim(-0.5, longest - 0.5)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xticks(range(longest))
    ax.set_yticks(range(len(rows)))
    if labels is not None:
        ax.set_yticklabels([str(label) for label in labels], fontsize=8)
    ax.tick_params(length=0, labelsize=8)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xlabel("position", fontsize=9)
    return _finish(fig, ax, own, title)
