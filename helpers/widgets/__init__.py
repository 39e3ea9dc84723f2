"""Interactive explorers (ipywidgets) for padding, mask propagation and attention masks.

Three explorers, each in two layers:

* a **pure computation** that takes plain arguments and returns a *view*: an
  object holding the numbers, a text summary (``str(view)``) and a matplotlib
  figure (``view.figure()``). It needs no browser and no widget, so tests and
  chapters call it directly:

  ===========================  ============================================
  :func:`padding_view`         ``keras.utils.pad_sequences`` on your lists,
                               the padded matrix and its mask
  :func:`tracer_view`          :func:`helpers.tracing.trace_masks` on one of
                               :data:`TRACER_MODELS`
  :func:`attention_view`       attention weights of
                               :class:`helpers.attention.Reflect` with the
                               mask on the key axis (correct) and on the
                               query axis (the blog post's defect)
  ===========================  ============================================

* an **explorer** (:class:`PaddingExplorer`, :class:`TracerExplorer`,
  :class:`AttentionExplorer`) that puts ipywidgets controls above that view.
  Displaying one shows three outputs: the controls, the text summary and the
  figure. The summary and the figure are ordinary outputs (text and PNG), so
  the static website, which has no kernel and no widget JavaScript, shows the
  explorer's default state. In a live kernel, moving a control recomputes the
  view and replaces those two outputs in place (IPython display handles).

  The controls are published as a widget view *only*, without the usual
  ``text/plain`` fallback. nbval ignores the widget-view MIME type (model ids
  are random), so a stored notebook compares equal whatever ids its widgets got.

Example:
    >>> view = padding_view([[711, 632, 71], [73, 8, 3215, 55, 927]], padding="post")
    >>> view.padded
    array([[ 711,  632,   71,    0,    0],
           [  73,    8, 3215,   55,  927]], dtype=int32)
    >>> PaddingExplorer()        # in a notebook: controls, summary, figure
"""

import base64
import functools
import io
import re
import warnings
from dataclasses import dataclass, field

import numpy as np

from helpers.plots import sequence_rows

#: The guide's three sentences after vocabulary lookup (tutorial step P2).
DEFAULT_SEQUENCES = ((711, 632, 71), (73, 8, 3215, 55, 927), (83, 91, 1, 645, 1253, 927))

#: The same, as the padding explorer's text box shows them: one sequence per line.
DEFAULT_TEXT = "\n".join(" ".join(str(t) for t in seq) for seq in DEFAULT_SEQUENCES)

PADDING_SIDES = ("pre", "post")


# ============================================================================
# Shared display machinery
# ============================================================================


def _png(fig):
    """Base64 PNG of a matplotlib figure."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


class FigureOutput:
    """A figure as a notebook output: PNG for the page, a short description as text.

    The text (``text/plain``) is what nbval compares and what a reader without
    images gets; IPython's own ``<Figure size ...>`` would say nothing.

    Args:
        figure: a matplotlib ``Figure``.
        description: str, one line saying what the figure shows.
    """

    def __init__(self, figure, description):
        self.figure = figure
        self.description = description

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"image/png": _png(self.figure), "text/plain": f"[figure] {self.description}"}

    def __repr__(self):
        return f"[figure] {self.description}"


class TextOutput:
    """Plain text as a notebook output (an error message, a placeholder)."""

    def __init__(self, text):
        self.text = text

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/plain": self.text}

    def __repr__(self):
        return self.text


class _Explorer:
    """Base of the explorers: controls above a text summary and a figure.

    Subclasses define ``_make_controls()`` (a dict name -> ipywidgets control),
    ``_compute(**values)`` (returns a view) and ``_outputs(view)`` (the objects to
    display for it).
    """

    def __init__(self, **values):
        self._values = dict(values)
        self._controls = None
        self._handles = None
        self.view = None  # the view currently shown; set by update()
        self.error = None  # the message when the current values are invalid
        self.update(**values)

    # ----- pure part ---------------------------------------------------------
    @property
    def values(self):
        """The current settings, as keyword arguments of the view function."""
        return dict(self._values)

    def update(self, **values):
        """Change settings, recompute the view and refresh the displayed outputs.

        Invalid settings do not raise: the explorer keeps them, sets ``error`` to the
        message and shows it instead of the summary.

        Returns:
            the new view, or None if the settings are invalid.
        """
        self._values.update(values)
        try:
            self.view = self._compute(**self._values)
            self.error = None
        except (ValueError, TypeError) as exc:
            self.view = None
            self.error = f"{type(exc).__name__}: {exc}"
        self._refresh()
        return self.view

    def outputs(self):
        """The objects the explorer shows below its controls: [summary, figure]."""
        if self.view is None:
            return [TextOutput(f"Cannot show this setting. {self.error}"), TextOutput("(no figure)")]
        return self._outputs(self.view)

    # ----- widgets -----------------------------------------------------------
    @property
    def controls(self):
        """The ipywidgets controls, created on first use, as a dict name -> widget."""
        if self._controls is None:
            self._controls = self._make_controls()
            for name, control in self._controls.items():
                control.observe(functools.partial(self._on_change, name), names="value")
        return self._controls

    def widget(self):
        """The controls in one ipywidgets box."""
        import ipywidgets

        return ipywidgets.VBox(list(self.controls.values()))

    def _on_change(self, name, change):
        self.update(**{name: self._from_control(name, change["new"])})

    def _from_control(self, name, value):
        return value

    def _refresh(self):
        if self._handles is None:
            return
        for handle, output in zip(self._handles, self.outputs()):
            handle.update(output)

    def show(self):
        """Display the controls, then the summary and the figure (updated in place)."""
        from IPython.display import display

        box = self.widget()
        bundle = box._repr_mimebundle_()
        view_only = {k: v for k, v in bundle.items() if k == "application/vnd.jupyter.widget-view+json"}
        if view_only:
            display(view_only, raw=True)
        self._handles = [display(output, display_id=True) for output in self.outputs()]

    def _ipython_display_(self):
        self.show()


def _close(fig):
    import matplotlib.pyplot as plt

    plt.close(fig)
    return fig


# ============================================================================
# 1. Padding explorer
# ============================================================================


def parse_sequences(text):
    """Read sequences of integer ids from text: one sequence per line.

    Ids are separated by spaces and/or commas; brackets are ignored, so
    ``[711, 632, 71]`` works too. Blank lines are skipped.

    Args:
        text: str.

    Returns:
        list of lists of int.

    Raises:
        TypeError: ``text`` is not a str.
        ValueError: a line holds something that is not an integer, or no sequence is given.

    Example:
        >>> parse_sequences("711 632 71\\n73, 8, 3215")
        [[711, 632, 71], [73, 8, 3215]]
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_sequences expects a str (one sequence per line), got {type(text).__name__}")
    sequences = []
    for number, line in enumerate(text.splitlines(), start=1):
        cleaned = line.replace("[", " ").replace("]", " ").replace(",", " ").strip()
        if not cleaned:
            continue
        row = []
        for item in cleaned.split():
            if not re.fullmatch(r"[+-]?\d+", item):
                raise ValueError(f"line {number}: {item!r} is not an integer id; write ids like 711 632 71")
            row.append(int(item))
        sequences.append(row)
    if not sequences:
        raise ValueError("no sequence given: write one sequence of integer ids per line")
    return sequences


def _check_sequences(sequences):
    if isinstance(sequences, str):
        return parse_sequences(sequences)
    rows = []
    for i, seq in enumerate(sequence_rows(sequences, "padding_view")):
        row = []
        for j, item in enumerate(seq):
            if isinstance(item, (bool, np.bool_)) or not isinstance(item, (int, np.integer)):
                raise TypeError(f"sequence {i}, position {j}: {item!r} is not an integer id")
            row.append(int(item))
        rows.append(row)
    return rows


@dataclass
class PaddingView:
    """The result of :func:`padding_view`.

    Attributes:
        sequences: list of lists of int, the input.
        maxlen, padding, truncating, value: the settings used (``maxlen`` None = longest).
        padded: int32 array (rows, maxlen): ``keras.utils.pad_sequences``'s result.
        real: bool array, same shape: True where the cell holds one of the row's
            own tokens, False where ``pad_sequences`` put ``value``.
        mask: bool array, same shape: ``padded != value``, the mask a layer that
            knows the padding value computes from the padded matrix
            (``Embedding(mask_zero=True)`` does this for ``value == 0``).
        dropped: list (one per row) of the tokens truncation removed.
    """

    sequences: list
    maxlen: object
    padding: str
    truncating: str
    value: int
    padded: np.ndarray
    real: np.ndarray
    mask: np.ndarray
    dropped: list = field(default_factory=list)

    @property
    def mismatches(self):
        """(row, step) pairs where the mask disagrees with where the padding is."""
        return [tuple(int(i) for i in rc) for rc in zip(*np.nonzero(self.mask != self.real))]

    def __str__(self):
        settings = (
            f"pad_sequences(maxlen={self.maxlen}, padding={self.padding!r}, "
            f"truncating={self.truncating!r}, value={self.value})"
        )
        lines = [settings, f"padded matrix, shape {self.padded.shape}:"]
        width = max(len(str(v)) for v in self.padded.flat) if self.padded.size else 1
        for r, row in enumerate(self.padded):
            cells = " ".join(str(v).rjust(width) for v in row)
            marks = "".join("T" if m else "F" for m in self.mask[r])
            lines.append(f"  row {r}: [{cells}]   mask {marks}")
        for r, lost in enumerate(self.dropped):
            if lost:
                lines.append(f"  row {r}: truncation dropped {lost}")
        if self.mismatches:
            shown = ", ".join(f"({r}, {c})" for r, c in self.mismatches[:6])
            lines.append(
                f"  warning: the mask (padded != {self.value}) disagrees with the padding at {shown}: "
                f"a real token equal to the padding value is masked too"
            )
        else:
            lines.append(f"  the mask (padded != {self.value}) is False exactly where padding was added")
        return "\n".join(lines)

    def figure(self):
        """Two panels: the padded matrix (padding hatched) and its mask."""
        import matplotlib.pyplot as plt

        from helpers.plots import plot_mask, plot_padded

        rows, cols = self.padded.shape
        fig, axes = plt.subplots(
            1, 2, figsize=(2 * max(2.6, 0.3 + 0.5 * cols) + 0.5, max(1.8, 0.9 + 0.45 * rows))
        )
        plot_padded(self.padded, self.real, title=f"padded (padding={self.padding!r})", ax=axes[0])
        plot_mask(self.mask, title=f"mask: padded != {self.value}", ax=axes[1])
        fig.tight_layout()
        return _close(fig)

    def describe(self):
        return (
            f"the {self.padded.shape[0]}x{self.padded.shape[1]} padded matrix (padding hatched) "
            f"and its mask (True = kept)"
        )


def padding_view(sequences=DEFAULT_SEQUENCES, maxlen=None, padding="pre", truncating="pre", value=0):
    """Pad ``sequences`` with ``keras.utils.pad_sequences`` and describe the result.

    Args:
        sequences: list of lists of integer ids, or text with one sequence per line.
        maxlen: int >= 1, or None for the length of the longest sequence.
        padding: "pre" or "post": where padding goes.
        truncating: "pre" or "post": which end of a too-long sequence is cut.
        value: int, the padding value.

    Returns:
        a :class:`PaddingView`.

    Raises:
        ValueError, TypeError: bad sequences or settings, with what was expected.

    Example:
        >>> padding_view([[1, 2, 3], [4]], maxlen=2, truncating="post").padded
        array([[1, 2],
               [0, 4]], dtype=int32)
    """
    import keras

    rows = _check_sequences(sequences)
    if maxlen is not None and (isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 1):
        raise ValueError(f"maxlen must be a positive int or None (the longest sequence), got {maxlen!r}")
    for name, side in (("padding", padding), ("truncating", truncating)):
        if side not in PADDING_SIDES:
            raise ValueError(f"{name} must be 'pre' or 'post', got {side!r}")
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"value must be an int (the padding id), got {value!r}")
    if all(len(r) == 0 for r in rows) and maxlen is None:
        raise ValueError("every sequence is empty: there is nothing to pad (give maxlen to get all-padding rows)")
    options = dict(maxlen=None if maxlen is None else int(maxlen), padding=padding, truncating=truncating)
    padded = keras.utils.pad_sequences(rows, value=int(value), dtype="int32", **options)
    # Same call on sequences of ones with padding 0: True exactly where a real token landed.
    real = keras.utils.pad_sequences([[1] * len(r) for r in rows], value=0, dtype="int32", **options).astype(bool)
    length = padded.shape[1]
    dropped = []
    for r in rows:
        excess = max(0, len(r) - length)
        dropped.append([] if not excess else (r[:excess] if truncating == "pre" else r[len(r) - excess:]))
    return PaddingView(
        sequences=rows,
        maxlen=options["maxlen"],
        padding=padding,
        truncating=truncating,
        value=int(value),
        padded=padded,
        real=real,
        mask=padded != int(value),
        dropped=dropped,
    )


class PaddingExplorer(_Explorer):
    """Controls for :func:`padding_view`: sequences, maxlen, padding, truncating, value.

    Example:
        >>> explorer = PaddingExplorer(padding="post")
        >>> explorer.update(maxlen=4).padded.shape
        (3, 4)
        >>> explorer                     # in a notebook: controls, summary, figure
    """

    MAXLEN_CHOICES = tuple(range(1, 13))

    def __init__(self, sequences=DEFAULT_TEXT, maxlen=None, padding="pre", truncating="pre", value=0):
        if not isinstance(sequences, str):
            sequences = "\n".join(" ".join(str(t) for t in seq) for seq in _check_sequences(sequences))
        super().__init__(sequences=sequences, maxlen=maxlen, padding=padding, truncating=truncating, value=value)

    def _compute(self, **values):
        return padding_view(**values)

    def _outputs(self, view):
        return [TextOutput(str(view)), FigureOutput(view.figure(), view.describe())]

    def _from_control(self, name, value):
        return None if name == "maxlen" and value == "longest" else value

    def _make_controls(self):
        import ipywidgets as w

        v = self._values
        # "longest" stands for maxlen=None: a Dropdown whose value is None shows nothing selected.
        maxlen_options = [("longest", "longest")] + [(str(n), n) for n in self.MAXLEN_CHOICES]
        if v["maxlen"] is not None and v["maxlen"] not in self.MAXLEN_CHOICES:
            maxlen_options.append((str(v["maxlen"]), v["maxlen"]))
        return {
            "sequences": w.Textarea(
                value=v["sequences"], description="sequences", rows=4, continuous_update=False,
                layout=w.Layout(width="30em"),
            ),
            "maxlen": w.Dropdown(options=maxlen_options, value=v["maxlen"] or "longest", description="maxlen"),
            "padding": w.ToggleButtons(options=list(PADDING_SIDES), value=v["padding"], description="padding"),
            "truncating": w.ToggleButtons(
                options=list(PADDING_SIDES), value=v["truncating"], description="truncating"
            ),
            "value": w.IntText(value=v["value"], description="value"),
        }


# ============================================================================
# 2. Mask tracer
# ============================================================================


def _sequential(name, layers):
    import keras

    return keras.Sequential([keras.Input(shape=(6,), dtype="int32", name="ids"), *layers], name=name)


def _embedding():
    import keras

    return keras.layers.Embedding(5000, 8, mask_zero=True, name="embedding")


def _model_dense_lstm():
    import keras

    return _sequential("dense_lstm", [_embedding(), keras.layers.Dense(8, name="dense"), keras.layers.LSTM(4, name="lstm")])


def _model_flatten_dense():
    import keras

    return _sequential("flatten_dense", [_embedding(), keras.layers.Flatten(name="flatten"), keras.layers.Dense(1, name="dense")])


def _model_temporal_softmax():
    import keras

    from helpers.layers import TemporalSoftmax

    return _sequential(
        "dense_temporal_softmax",
        [_embedding(), keras.layers.Dense(1, name="dense"), TemporalSoftmax(name="temporal_softmax")],
    )


def _model_activation_opt_in():
    import keras

    from helpers.layers import MyActivation

    return _sequential(
        "my_activation_lstm",
        [_embedding(), MyActivation(name="my_activation"), keras.layers.LSTM(4, return_sequences=True, name="lstm")],
    )


def _model_activation_no_opt_in():
    import keras

    from helpers.tutorial_versions import ActivationWithoutOptIn

    return _sequential(
        "activation_without_opt_in",
        [_embedding(), ActivationWithoutOptIn(name="activation"), keras.layers.LSTM(4, name="lstm")],
    )


def _model_temporal_split():
    import keras

    from helpers.layers import TemporalSplit

    ids = keras.Input(shape=(6,), dtype="int32", name="ids")
    first, second = TemporalSplit(name="temporal_split")(_embedding()(ids))
    outputs = keras.layers.LSTM(4, name="lstm")(second)
    return keras.Model(ids, outputs, name="temporal_split_lstm")


#: The tracer's models: a name (as the dropdown shows it) -> a function that builds it.
#: Each takes the guide's padded batch, ids of shape (3, 6), and starts with
#: ``Embedding(5000, 8, mask_zero=True)``.
TRACER_MODELS = {
    "Embedding → Dense → LSTM": _model_dense_lstm,
    "Embedding → Flatten → Dense": _model_flatten_dense,
    "Embedding → Dense → TemporalSoftmax": _model_temporal_softmax,
    "Embedding → MyActivation → LSTM(return_sequences=True)": _model_activation_opt_in,
    "Embedding → ActivationWithoutOptIn → LSTM": _model_activation_no_opt_in,
    "Embedding → TemporalSplit → LSTM (second half)": _model_temporal_split,
}


def tracer_inputs(padding="post"):
    """The batch every tracer model is traced on: the guide's three sequences padded to 6 steps."""
    import keras

    if padding not in PADDING_SIDES:
        raise ValueError(f"padding must be 'pre' or 'post', got {padding!r}")
    return keras.utils.pad_sequences([list(s) for s in DEFAULT_SEQUENCES], padding=padding)


@functools.lru_cache(maxsize=None)
def tracer_model(name):
    """Build (once) the tracer model called ``name``, one of :data:`TRACER_MODELS`.

    Keras's warnings while building (a layer that will destroy the mask) are
    caught here; the trace records them again for the layer that caused them.
    """
    if name not in TRACER_MODELS:
        raise ValueError(f"unknown tracer model {name!r}; choose one of: " + "; ".join(TRACER_MODELS))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TRACER_MODELS[name]()


@dataclass
class TracerView:
    """The result of :func:`tracer_view`.

    Attributes:
        name: str, the model's name in :data:`TRACER_MODELS`.
        padding: "pre" or "post", how the traced batch was padded.
        inputs: int array (3, 6), the traced batch.
        trace: the :class:`helpers.tracing.MaskTrace`.
    """

    name: str
    padding: str
    inputs: np.ndarray
    trace: object

    @property
    def events(self):
        return self.trace.events

    def __str__(self):
        lines = [f"model: {self.name}", f"inputs: the guide's padded batch ({self.padding}-padded), shape {self.inputs.shape}", ""]
        lines.append(str(self.trace))
        for record in self.trace:
            for message in record.warnings:
                lines.append(f"Keras warned at {record.layer!r}: {message}")
        return "\n".join(lines)

    def _repr_html_(self):
        from html import escape

        warned = "".join(
            f"<p><small>Keras warned at <code>{escape(r.layer)}</code>: {escape(m)}</small></p>"
            for r in self.trace
            for m in r.warnings
        )
        return (
            f"<p><b>{escape(self.name)}</b> on the guide's padded batch "
            f"({escape(self.padding)}-padded), shape {self.inputs.shape}</p>"
            + self.trace._repr_html_()
            + warned
        )

    def figure(self):
        return self.trace.plot(title=self.name)

    def describe(self):
        steps = ", ".join(f"{layer}: {event}" for layer, event in self.events.items())
        return f"the mask after each layer of {self.name} ({steps})"


class _HTMLOutput(TextOutput):
    def __init__(self, text, html):
        super().__init__(text)
        self.html = html

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/plain": self.text, "text/html": self.html}


def tracer_view(name="Embedding → Dense → LSTM", padding="post"):
    """Trace the mask through one of :data:`TRACER_MODELS` on the guide's padded batch.

    Args:
        name: str, a key of :data:`TRACER_MODELS`.
        padding: "pre" or "post", how the batch is padded.

    Returns:
        a :class:`TracerView`; ``view.trace`` is the :class:`helpers.tracing.MaskTrace`.

    Example:
        >>> tracer_view("Embedding → Flatten → Dense").events
        {'embedding': 'created', 'flatten': 'destroyed', 'dense': 'none'}
    """
    from helpers.tracing import trace_masks

    model = tracer_model(name)
    inputs = tracer_inputs(padding)
    return TracerView(name=name, padding=padding, inputs=inputs, trace=trace_masks(model, inputs))


class TracerExplorer(_Explorer):
    """Controls for :func:`tracer_view`: a model to trace and the padding side.

    Example:
        >>> explorer = TracerExplorer()
        >>> explorer.update(name="Embedding → Flatten → Dense").events["flatten"]
        'destroyed'
    """

    def __init__(self, name="Embedding → Dense → LSTM", padding="post"):
        super().__init__(name=name, padding=padding)

    def _compute(self, **values):
        return tracer_view(**values)

    def _outputs(self, view):
        return [_HTMLOutput(str(view), view._repr_html_()), FigureOutput(view.figure(), view.describe())]

    def _make_controls(self):
        import ipywidgets as w

        return {
            "name": w.Dropdown(
                options=list(TRACER_MODELS), value=self._values["name"], description="model",
                layout=w.Layout(width="32em"),
            ),
            "padding": w.ToggleButtons(options=list(PADDING_SIDES), value=self._values["padding"], description="padding"),
        }


# ============================================================================
# 3. Attention-mask explorer
# ============================================================================

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
        """Two heatmaps (query x key): blog's query-axis mask, then the key-axis mask."""
        import matplotlib.pyplot as plt
        from matplotlib.patches import Rectangle

        n = len(self.ids)
        fig, axes = plt.subplots(1, 2, figsize=(2 * max(3.2, 0.32 * n + 1.2) + 0.8, max(3.0, 0.3 * n + 1.2)))
        tokens = self.tokens
        padded = np.nonzero(~self.mask)[0]
        vmax = max(1e-6, max(float(self.weights[p].max()) for p in MASK_PLACEMENTS))  # one colour scale
        for ax, placement, title in (
            (axes[0], "query", "blog: mask on the query axis"),
            (axes[1], "key", "correct: mask on the key axis"),
        ):
            weights = self.weights[placement]
            image = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=vmax, interpolation="nearest")
            for j in padded:  # padded keys: red frame around the column
                ax.add_patch(Rectangle((j - 0.5, -0.5), 1, n, fill=False, edgecolor="#d7301f", linewidth=1.2))
            for i in padded:  # padded queries: hatched rows
                ax.add_patch(Rectangle((-0.5, i - 0.5), n, 1, fill=False, hatch="///", edgecolor="white",
                                       linewidth=0))
            leak = self.padded_key_weight(placement)[self.mask]
            ax.set_title(f"{title}\nweight on padded keys (real queries): max {leak.max():.3f}", fontsize=9)
            ax.set_xticks(range(n))
            ax.set_xticklabels(tokens, fontsize=7)
            ax.set_yticks(range(n))
            ax.set_yticklabels(tokens, fontsize=7)
            ax.set_xlabel("key (attended to); padded keys framed in red", fontsize=8)
            ax.set_ylabel("query (attending)", fontsize=8)
            fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        fig.tight_layout()
        return _close(fig)

    def describe(self):
        return (
            "attention weights (query x key) for the blog's query-axis mask and the correct key-axis mask; "
            "padded key columns framed in red"
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

    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
        raise ValueError(f"length must be a positive int, got {length!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    if not text:
        raise ValueError("text is empty: write a problem such as 'x=37,y=5:x*y'")
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
