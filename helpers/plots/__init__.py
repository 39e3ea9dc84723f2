"""Figures of the book (matplotlib): padded batches and masks, attention heatmaps, loss curves.

Every function returns a ``matplotlib.figure.Figure``. When it makes its own
figure it closes it before returning, so a notebook shows the figure exactly
once (as the cell's result); when you pass ``ax=``, it draws there and leaves
the figure to you.

Colours are the same everywhere in the book: a real token (or a step the mask
keeps) is blue; padding (or a step the mask hides) is light grey and hatched.
Attention weights have one heatmap style, :func:`plot_attention`, used by the
chapters and by the attention explorer alike.

Submodules:
    batches    ``plot_padded``, ``plot_mask``, ``compare_padded``, ``plot_ragged``, ``sequence_rows``
    attention_heatmaps  ``plot_attention`` (the one attention heatmap), ``plot_attention_pair``, ``plot_loss``

Example:
    >>> ids = keras.utils.pad_sequences([[7, 4], [3, 9, 5]], padding="post")
    >>> fig = plot_padded(ids, title="post-padding")
"""

from helpers.plots.attention_heatmaps import PAD_LABEL, plot_attention, plot_attention_pair, plot_loss, token_labels
from helpers.plots.batches import (
    KEPT_COLOR,
    PAD_COLOR,
    PAD_HATCH_COLOR,
    TRUE_COLOR,
    compare_padded,
    plot_mask,
    plot_padded,
    plot_ragged,
    sequence_rows,
)

__all__ = [
    "KEPT_COLOR", "PAD_COLOR", "PAD_HATCH_COLOR", "PAD_LABEL", "TRUE_COLOR", "compare_padded", "plot_attention",
    "plot_attention_pair", "plot_loss", "plot_mask", "plot_padded", "plot_ragged", "sequence_rows", "token_labels",
]
