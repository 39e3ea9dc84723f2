"""The attention-mask explorer: one ``Reflect`` layer's weights with the mask on the key or the query axis.

Taught in chapter 21 (Interactive explorers).
"""

from dataclasses import dataclass

import numpy as np

from helpers.validation import non_negative_int, positive_int, received
from helpers.widgets.display import FigureOutput, TextOutput, _close, _Explorer

#: The attention explorer's default text (a problem of the toy arithmetic data set).
DEFAULT_PROBLEM = "x=37,y=5:x*y"

MASK_PLACEMENTS = ("key", "query")


@dataclass
class AttentionView:
    """The result of :func:`attention_view`.

    Attributes:
        text: str, the problem.
        ids: int array (length,), its ids padded with 0.
        mask: bool array (length,), True at real tokens.
        weights: dict ``{"key": array, "query": array, "none": array}`` of attention
            weights (query, key) of one :class:`helpers.attention.Reflect` layer with
            the same weights, with the mask on the key axis, on the query axis (the
            blog's defect), and without a mask.
        seed: int, the seed of the random (untrained) weights.
    """

    text: str
    ids: np.ndarray
    mask: np.ndarray
    weights: dict
    seed: int

    def padded_key_weight(self, placement):
        """Per query: the total attention weight that goes to padded keys."""
        return self.weights[placement][:, ~self.mask].sum(axis=1)

    @property
    def tokens(self):
        from helpers.data import VOCABULARY

        return ["·" if i == 0 else VOCABULARY[i] for i in self.ids]

    def __str__(self):
        real = int(self.mask.sum())
        lines = [
            f"{self.text!r}: {real} real tokens padded to {len(self.ids)} (padding shown as ·); "
            f"untrained weights, seed {self.seed}",
            "attention weight on padded keys, per real query (row sums over the padded columns):",
        ]
        for placement, label in (("key", "mask on the key axis (correct)"), ("query", "mask on the query axis (blog)")):
            leak = self.padded_key_weight(placement)[self.mask]
            lines.append(f"  {label:32s} min {leak.min():.3f}  max {leak.max():.3f}")
        same = np.allclose(self.weights["query"][self.mask], self.weights["none"][self.mask], atol=1e-6)
        lines.append(f"  query-axis rows of real queries equal the unmasked weights: {same}")
        return "\n".join(lines)

    def figure(self):
        """Two heatmaps (query x key), in the book's one style (:func:`helpers.plots.plot_attention`).

        The blog's query-axis mask, then the key-axis mask, on one colour scale;
        padded keys are outlined, padded queries' rows hatched.
        """
        import matplotlib.pyplot as plt

        from helpers.plots import plot_attention

        n = len(self.ids)
        fig, axes = plt.subplots(1, 2, figsize=(2 * max(3.2, 0.32 * n + 1.2) + 0.8, max(3.0, 0.3 * n + 1.2)))
        vmax = max(1e-6, max(float(self.weights[p].max()) for p in MASK_PLACEMENTS))  # one colour scale
        for ax, placement, title in (
            (axes[0], "query", "blog: mask on the query axis"),
            (axes[1], "key", "correct: mask on the key axis"),
        ):
            leak = self.padded_key_weight(placement)[self.mask]
            plot_attention(self.weights[placement], self.tokens, ax=ax, vmax=vmax, padded=~self.mask,
                           hatch_padded_queries=True,
                           title=f"{title}\nweight on padded keys (real queries): max {leak.max():.3f}")
            ax.title.set_fontsize(9)
        fig.tight_layout()
        return _close(fig)

    def describe(self):
        return (
            "attention weights (query x key) for the blog's query-axis mask and the correct key-axis mask; "
            "padded key columns outlined in cyan"
        )


def _reflect_layers(hidden, seed):
    """Embed and three Reflect layers (key mask, query mask, no mask) sharing random weights."""
    from helpers.attention import Embed, Reflect
    from helpers.data import VOCABULARY

    rng = np.random.default_rng(seed)
    embed = Embed(len(VOCABULARY), hidden, name="embed")
    embed.build((None, None))
    embed.set_weights([rng.normal(0.0, 1.0, size=(len(VOCABULARY), hidden)).astype("float32")])
    limit = np.sqrt(6.0 / (2 * hidden))
    matrices = [rng.uniform(-limit, limit, size=(hidden, hidden)).astype("float32") for _ in range(3)]
    reflects = {}
    for placement in MASK_PLACEMENTS + ("none",):
        layer = Reflect(mask_axis="key" if placement == "none" else placement, name=f"reflect_{placement}")
        layer.build((None, None, hidden))
        layer.set_weights(matrices)
        reflects[placement] = layer
    return embed, reflects


def attention_view(text=DEFAULT_PROBLEM, length=16, seed=0, hidden=15):
    """Attention weights of one ``Reflect`` layer on ``text`` padded to ``length``.

    The text is encoded with :func:`helpers.data.encode` and padded with id 0.
    An ``Embed`` and a ``Reflect`` layer with random (untrained) weights from
    ``seed`` compute the attention weights three times with the same weights:
    with the mask on the key axis (``Reflect``'s default, correct), on the query
    axis (the blog post's version), and without a mask. The point does not depend
    on the weights: on the query axis every real query still gives padded keys
    exactly the weight it gives them without a mask.

    Args:
        text: str, tokens of the arithmetic vocabulary, e.g. "x=37,y=5:x*y".
        length: int, the padded length (at least the number of tokens).
        seed: int >= 0, seed of the random weights.
        hidden: int, size of the vectors (15 in the book's model).

    Returns:
        an :class:`AttentionView`.

    Example:
        >>> view = attention_view("x=3,y=5:x+y", length=14)
        >>> float(view.padded_key_weight("key").max())
        0.0
    """
    import keras

    from helpers.data import encode

    length = positive_int(length, "length", owner="attention_view")
    seed = non_negative_int(seed, "seed", owner="attention_view")
    hidden = positive_int(hidden, "hidden", owner="attention_view")
    if not text:
        raise ValueError(f"attention_view: `text` must be a problem such as 'x=37,y=5:x*y', not empty."
                         f" {received('text', text)}")
    ids = encode(text, len_max_input=int(length))
    batch = ids[None, :]
    mask = batch != 0
    embed, reflects = _reflect_layers(int(hidden), int(seed))
    # As a plain array: no Keras mask attached, so the "none" variant really gets no mask.
    vectors = np.asarray(keras.ops.convert_to_numpy(embed(batch, mask=mask)))
    weights = {}
    for placement, layer in reflects.items():
        _, w = layer(vectors, mask=None if placement == "none" else mask, return_attention_scores=True)
        weights[placement] = np.asarray(keras.ops.convert_to_numpy(w))[0]
    return AttentionView(text=text, ids=ids, mask=mask[0], weights=weights, seed=int(seed))


class AttentionExplorer(_Explorer):
    """Controls for :func:`attention_view`: the problem, its padded length, the weights' seed.

    Example:
        >>> explorer = AttentionExplorer()
        >>> float(explorer.update(length=20).padded_key_weight("query").max()) > 0
        True
    """

    def __init__(self, text=DEFAULT_PROBLEM, length=16, seed=0):
        super().__init__(text=text, length=length, seed=seed)

    def _compute(self, **values):
        return attention_view(**values)

    def _outputs(self, view):
        return [TextOutput(str(view)), FigureOutput(view.figure(), view.describe())]

    def _make_controls(self):
        import ipywidgets as w

        v = self._values
        return {
            "text": w.Text(value=v["text"], description="problem", continuous_update=False),
            "length": w.IntSlider(value=v["length"], min=1, max=24, description="length", continuous_update=False),
            "seed": w.IntSlider(value=v["seed"], min=0, max=9, description="seed", continuous_update=False),
        }
