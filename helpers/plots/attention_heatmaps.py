"""Attention heatmaps (the book's one style, used by chapters and the attention explorer) and loss curves."""

import numpy as np

from helpers.validation import check_mask, received, to_array

PAD_LABEL = "␣"  # how a padded step (the space token) is labelled on the axes


def _history_losses(history, key="loss"):
    """The per-epoch losses of a Keras ``History``, a history dict, or a list of floats."""
    if hasattr(history, "history"):
        history = history.history
    if isinstance(history, dict):
        if key not in history:
            raise ValueError(f"`history` must have the key {key!r}; it has {sorted(history)}."
                             f" {received('history', history)}")
        history = history[key]
    values = np.asarray(history, dtype=float)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"`history` must be a non-empty list of per-epoch values. {received('history', history)} "
                         f"with shape {values.shape}")
    return values


def plot_loss(history, ax=None, title="Training loss", key="loss"):
    """Plot the loss after each epoch.

    Args:
        history: what ``model.fit`` returned (a ``keras.callbacks.History``), its
            ``.history`` dict, or a list of per-epoch values.
        ax: a matplotlib Axes to draw on, or None for a new figure.
        title: str, the title.
        key: str, the history entry to plot (``"loss"``, ``"val_loss"``, ...).

    Returns:
        the matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    values = _history_losses(history, key)
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 3.2))
    else:
        fig = ax.figure
    epochs = np.arange(1, values.size + 1)
    ax.plot(epochs, values, marker="o")
    ax.set_xlabel("epoch")
    ax.set_ylabel(key.replace("_", " "))
    ax.set_xticks(epochs)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def token_labels(tokens):
    """Axis labels for a list of tokens: the padding space becomes a visible ``␣``."""
    return [PAD_LABEL if t == " " else t for t in tokens]


def plot_attention(weights, tokens, ax=None, title=None, vmax=None, colorbar=True, padded=None,
                   hatch_padded_queries=False):
    """Heatmap of attention weights: one row per query, one column per key.

    This is the book's one attention heatmap: the self-attention chapter and the
    attention explorer (:class:`helpers.widgets.AttentionView`) both draw with it.
    Columns of padded keys are outlined in cyan, so it is easy to see whether they
    receive any weight; padded tokens are labelled ``␣``. The colour scale is a
    square root (``PowerNorm(0.5)``): small weights stay visible, and only an
    exact 0 is black.

    Args:
        weights: array ``(query, key)`` of softmax weights for one sequence.
        tokens: list of str, the token at each step (``" "`` for padding).
        ax: a matplotlib Axes, or None for a new figure.
        title: str or None.
        vmax: upper end of the colour scale (default: the largest weight).
        colorbar: bool, draw a colour bar.
        padded: optional boolean array ``(steps,)``, True at padded steps
            (default: the steps whose token is ``" "``).
        hatch_padded_queries: bool, also hatch the rows of padded queries.

    Returns:
        the matplotlib Figure.

    Example:
        >>> fig = plot_attention(np.full((3, 3), 1 / 3), ["a", "b", " "])
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import PowerNorm
    from matplotlib.patches import Rectangle

    weights = to_array(weights, "weights", owner="plot_attention").astype(float)
    if weights.ndim != 2 or weights.shape[0] != weights.shape[1]:
        raise ValueError(f"plot_attention: `weights` must be a square (query, key) array."
                         f" {received('weights', weights)} "
                         f"with shape {weights.shape}")
    if len(tokens) != weights.shape[1]:
        raise ValueError(f"plot_attention: `tokens` must hold one token per step ({weights.shape[1]}); it holds "
                         f"{len(tokens)}. {received('tokens', tokens)}")
    n = len(tokens)
    if padded is None:
        padded = np.array([t == " " for t in tokens], dtype=bool)
    else:
        padded = check_mask(padded, (n,), name="padded", owner="plot_attention")
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 4.4))
    else:
        fig = ax.figure
    vmax = float(vmax if vmax is not None else max(weights.max(), 1e-12))
    image = ax.imshow(weights, cmap="magma", norm=PowerNorm(0.5, vmin=0.0, vmax=vmax), interpolation="nearest")
    labels = [PAD_LABEL if p else t for t, p in zip(token_labels(tokens), padded)]
    steps = np.arange(n)
    ax.set_xticks(steps, labels, fontsize=7 if n > 16 else None)
    ax.set_yticks(steps, labels, fontsize=7 if n > 16 else None)
    ax.set_xlabel("key (attended to); padded keys outlined in cyan")
    ax.set_ylabel("query (attending)")
    for j in np.nonzero(padded)[0]:
        ax.add_patch(Rectangle((j - 0.5, -0.5), 1, n, fill=False, edgecolor="tab:cyan", linewidth=0.8))
        if hatch_padded_queries:
            ax.add_patch(Rectangle((-0.5, j - 0.5), n, 1, fill=False, hatch="///", edgecolor="white", linewidth=0))
    if title:
        ax.set_title(title)
    if colorbar:
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="weight (square-root scale)")
    return fig


def plot_attention_pair(left, right, tokens, titles=("", ""), **heatmap):
    """Two attention heatmaps side by side, on the same colour scale.

    Args:
        left, right: arrays ``(query, key)`` for the same sequence.
        tokens: list of str, the token at each step.
        titles: pair of str.
        **heatmap: passed to :func:`plot_attention` (``padded=``, ``hatch_padded_queries=``).

    Returns:
        the matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    vmax = max(float(np.max(left)), float(np.max(right)), 1e-12)  # one colour scale for both
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    plot_attention(left, tokens, ax=axes[0], title=titles[0], vmax=vmax, colorbar=False, **heatmap)
    plot_attention(right, tokens, ax=axes[1], title=titles[1], vmax=vmax, colorbar=True, **heatmap)
    fig.tight_layout()
    return fig
