"""The padding explorer: ``keras.utils.pad_sequences`` on your own lists, the padded matrix and its mask.

Taught in chapter 21 (Interactive explorers).
"""

import re
from dataclasses import dataclass, field

import numpy as np

from helpers.plots import sequence_rows
from helpers.validation import integer, positive_int, received
from helpers.widgets.display import FigureOutput, TextOutput, _close, _Explorer

#: The guide's three sentences after vocabulary lookup (tutorial step P2).
DEFAULT_SEQUENCES = ((711, 632, 71), (73, 8, 3215, 55, 927), (83, 91, 1, 645, 1253, 927))

#: The same, as the padding explorer's text box shows them: one sequence per line.
DEFAULT_TEXT = "\n".join(" ".join(str(t) for t in seq) for seq in DEFAULT_SEQUENCES)

PADDING_SIDES = ("pre", "post")


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
        raise TypeError(f"parse_sequences: `text` must be a str (one sequence per line). {received('text', text)}")
    sequences = []
    for number, line in enumerate(text.splitlines(), start=1):
        cleaned = line.replace("[", " ").replace("]", " ").replace(",", " ").strip()
        if not cleaned:
            continue
        row = []
        for item in cleaned.split():
            if not re.fullmatch(r"[+-]?\d+", item):
                raise ValueError(f"line {number}: {item!r} is not an integer id; write ids like 711 632 71. "
                                 f"{received('text', text)}")
            row.append(int(item))
        sequences.append(row)
    if not sequences:
        raise ValueError(f"no sequence given: `text` must hold one sequence of integer ids per line."
                         f" {received('text', text)}")
    return sequences


def _check_sequences(sequences):
    if isinstance(sequences, str):
        return parse_sequences(sequences)
    rows = []
    for i, seq in enumerate(sequence_rows(sequences, "padding_view")):
        row = []
        for j, item in enumerate(seq):
            row.append(integer(item, f"sequences[{i}][{j}]", owner=f"sequence {i}, position {j}"))
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
    if maxlen is not None:
        maxlen = positive_int(maxlen, "maxlen", owner="padding_view (None: the longest sequence)")
    for name, side in (("padding", padding), ("truncating", truncating)):
        if side not in PADDING_SIDES:
            raise ValueError(f"`{name}` must be 'pre' or 'post'. {received(name, side)}")
    value = integer(value, "value", owner="padding_view (the padding id)")
    if all(len(r) == 0 for r in rows) and maxlen is None:
        raise ValueError(f"`sequences` must hold a token: every sequence is empty, there is nothing to pad "
                         f"(give maxlen to get all-padding rows). {received('sequences', sequences)}")
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

        In a notebook, ``explorer`` as a cell's last line shows the controls, summary and figure.
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


