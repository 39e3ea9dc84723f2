"""The figure of a mask trace: one panel per layer call showing the mask on its output.

Taught in chapter 4 (How masks propagate).
"""

import numpy as np

from helpers.tracing.events import EVENT_COLORS, as_list
from helpers.validation import positive_int, received


def plot_trace(trace, max_rows=8, title=None):
    """Draw the trace: one panel per layer call showing the mask on its output.

    Each panel is a small grid of the output mask (rows: the first ``max_rows``
    sequences of the batch, columns: time steps; dark blue = kept, grey and
    hatched = masked), titled with the layer's name and class and labelled
    with its event, in the event's colour. A layer whose output carries no
    mask says so ("no mask", "mask destroyed", "mask consumed"). A layer with
    several outputs shows their masks side by side.

    Args:
        trace: a :class:`helpers.tracing.MaskTrace`.
        max_rows: int, how many sequences of the batch to draw (default 8).
        title: str, the figure's title (default: names the model).

    Returns:
        A ``matplotlib.figure.Figure`` (already closed, so a notebook shows it once).
    """
    import matplotlib.pyplot as plt

    max_rows = positive_int(max_rows, "max_rows", owner="MaskTrace.plot")
    if not trace._records:
        raise ValueError(f"MaskTrace.plot: `trace` must hold at least one layer to plot. {received('trace', trace)}")
    n = len(trace._records)
    ncols = min(n, 5)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.7 * ncols, 2.3 * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    for record, ax in zip(trace._records, axes.flat):
        colour = EVENT_COLORS[record.event]
        masks = [m for m in as_list(record.mask_out) if m is not None]
        if masks:
            _draw_masks(ax, masks, max_rows)
        else:
            text = {"destroyed": "mask destroyed", "consumed": "mask consumed"}.get(record.event, "no mask")
            ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=10, color=colour,
                    transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_edgecolor(colour)
                spine.set_linewidth(1.5)
        ax.set_title(f"{record.index}. {record.layer}\n({record.class_name})", fontsize=9)
        ax.set_xlabel(record.event.upper(), fontsize=9, fontweight="bold", color=colour)
    fig.suptitle(title if title is not None else f"The mask after each layer of {trace.model_name or 'the model'}",
                 fontsize=11)
    fig.tight_layout()
    plt.close(fig)
    return fig


def _draw_masks(ax, masks, max_rows):
    """Draw boolean masks side by side in ``ax``, one column gap between them."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    from helpers.plots import PAD_COLOR, PAD_HATCH_COLOR, TRUE_COLOR

    kept, hidden, offset, rows = [], [], 0, 0
    for mask in masks:
        mask = np.asarray(mask, dtype=bool)
        mask = mask.reshape(mask.shape[0], -1) if mask.ndim > 1 else mask[:, None]
        mask = mask[:max_rows]
        rows = max(rows, mask.shape[0])
        for r in range(mask.shape[0]):
            for c in range(mask.shape[1]):
                (kept if mask[r, c] else hidden).append(Rectangle((offset + c - 0.5, r - 0.5), 1, 1))
        offset += mask.shape[1] + 1
    ax.add_collection(PatchCollection(kept, facecolor=TRUE_COLOR, edgecolor="white", linewidth=1))
    ax.add_collection(PatchCollection(hidden, facecolor=PAD_COLOR, edgecolor=PAD_HATCH_COLOR, hatch="///",
                                      linewidth=0))
    ax.add_collection(PatchCollection(hidden, facecolor="none", edgecolor="white", linewidth=1))
    ax.set_xlim(-0.5, offset - 1.5)
    ax.set_ylim(rows - 0.5, -0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
