"""Plots of the cost chapter: the length histogram and the benchmark's results.

Taught in chapter 18 (The cost of padding).
"""

import numpy as np

from helpers.cost.checks import _check_boundaries, _check_lengths
from helpers.cost.classifiers import MODEL_NAMES
from helpers.cost.results import results_rows
from helpers.cost.strategies import STRATEGIES, STRATEGY_NAMES


def plot_length_histogram(lengths, boundaries=None, figsize=(8, 2.8)):
    """A histogram of sequence lengths (log-spaced bins), with bucket boundaries if given.

    Args:
        lengths: 1-D ints.
        boundaries: optional bucket boundaries, drawn as thin vertical lines.

    Returns:
        The matplotlib ``Figure`` (closed: a notebook shows it when a cell returns it).
    """
    import matplotlib.pyplot as plt

    lengths = _check_lengths(lengths)
    fig, ax = plt.subplots(figsize=figsize, constrained_layout=True)
    bins = np.geomspace(max(1, lengths.min()), lengths.max() + 1, 40)
    ax.hist(lengths, bins=bins, color="tab:blue", alpha=0.8)
    ax.set_xscale("log")
    ax.axvline(np.median(lengths), color="black", linewidth=1.5, label=f"median {np.median(lengths):.0f}")
    ax.axvline(lengths.max(), color="tab:red", linewidth=1.5, label=f"longest {lengths.max()}")
    if boundaries is not None:
        for b in _check_boundaries(boundaries):
            ax.axvline(b, color="gray", linewidth=0.5, alpha=0.6)
    ax.set_xlabel("sequence length (tokens, log scale)" + ("; grey: bucket boundaries" if boundaries else ""))
    ax.set_ylabel("sequences")
    ax.legend(fontsize=8)
    plt.close(fig)  # shown once, by the notebook displaying the returned figure
    return fig


def plot_results(results, figsize=(10, 3.6)):
    """Two panels from a results dict: padding fraction, and real tokens per second.

    The left panel shows the fraction of processed timesteps that are padding for each
    strategy; the right one the training throughput of each model per strategy, with
    its ratio to padding to the global maximum, and the ideal (no padding processed) as
    a dashed line. Unsupported strategies are marked "not supported".

    Returns:
        The matplotlib ``Figure`` (closed: a notebook shows it when a cell returns it).
    """
    import matplotlib.pyplot as plt

    rows = results_rows(results)
    models = list(results["models"])
    strategies = [s for s in STRATEGIES]
    fig, (ax_pad, ax_tps) = plt.subplots(1, 2, figsize=figsize, constrained_layout=True)
    labels = [STRATEGY_NAMES[s] for s in strategies]
    first = [r for r in rows if r["model"] == models[0] and r["strategy"] in strategies]
    fractions = [r["padding_fraction"] if r["supported"] else 0 for r in first]
    bars = ax_pad.bar(labels, [100 * f for f in fractions], color="tab:gray")
    for bar, r in zip(bars, first):
        text = f"{100 * r['padding_fraction']:.0f}%" if r["supported"] else "not\nsupported"
        ax_pad.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=8)
    ax_pad.set_ylabel("padding timesteps (% of processed)")
    ax_pad.set_ylim(0, 105)
    ax_pad.set_title("How much of the work is padding")
    ax_pad.tick_params(axis="x", labelrotation=20)

    width = 0.8 / len(models)
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:red"]
    for m, model in enumerate(models):
        mrows = {r["strategy"]: r for r in rows if r["model"] == model}
        xs = np.arange(len(strategies)) + (m - (len(models) - 1) / 2) * width
        values = [mrows[s]["real_tokens_per_s"] or 0 for s in strategies]
        ax_tps.bar(xs, values, width, label=MODEL_NAMES.get(model, model), color=colours[m % 4])
        for x, s, v in zip(xs, strategies, values):
            if mrows[s]["supported"]:
                ax_tps.annotate(f"{mrows[s]['speedup']:.1f}x", (x, v), ha="center", va="bottom", fontsize=8)
        ax_tps.axhline(mrows["ideal"]["real_tokens_per_s"], color=colours[m % 4], linestyle="--", linewidth=1)
    for i, s in enumerate(strategies):
        if not any(r["supported"] for r in rows if r["strategy"] == s):
            ax_tps.text(i, 0.02, "not\nsupported", ha="center", va="bottom", fontsize=8,
                        transform=ax_tps.get_xaxis_transform())
    ax_tps.set_xticks(np.arange(len(strategies)), labels, rotation=20)
    ax_tps.yaxis.set_major_formatter(lambda y, _: f"{y / 1000:.0f}k")
    ax_tps.set_ylabel("real tokens per second (training)")
    ax_tps.set_title("Throughput (dashed: ideal, no padding)")
    ax_tps.legend(fontsize=8, loc="upper left")
    plt.close(fig)  # shown once, by the notebook displaying the returned figure
    return fig
