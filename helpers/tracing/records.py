"""The records of a mask trace: what one layer did to the mask, and the table of them all.

Taught in chapter 4 (How masks propagate).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

from helpers.tracing.events import EVENT_COLORS, EVENTS, as_list
from helpers.tracing.figure import plot_trace
from helpers.validation import received


@dataclass
class MaskRecord:
    """What one layer call did to the mask.

    Attributes:
        index: int, position of the call in the trace (0-based).
        layer: str, the layer's name.
        class_name: str, the layer's class (``"Embedding"``, ``"LSTM"``, ...).
        event: str, one of :data:`EVENTS`.
        output_shape: tuple of ints, or a list of tuples for a layer with several outputs.
        mask_in: the mask the layer received: a boolean NumPy array, ``None``, or a
            list of those for a layer with several tensor inputs.
        mask_out: the mask attached to the layer's output: a boolean NumPy array,
            ``None``, or a list of those for a layer with several outputs.
        uses_mask: bool, whether the layer's ``call()`` takes a ``mask`` argument
            (for a ``Lambda``: whether its function does).
        warnings: tuple of str, warnings Keras raised during the call (for example
            "... will therefore destroy the mask information"). They are recorded
            here instead of being printed.
    """

    index: int
    layer: str
    class_name: str
    event: str
    output_shape: object
    mask_in: object = None
    mask_out: object = None
    uses_mask: bool = False
    warnings: tuple = field(default_factory=tuple)

    @property
    def has_mask_in(self):
        return any(m is not None for m in as_list(self.mask_in))

    @property
    def has_mask_out(self):
        return any(m is not None for m in as_list(self.mask_out))


class MaskTrace(Sequence):
    """The records of :func:`trace_masks`, one per layer call, in execution order.

    Behaves like a read-only list of :class:`MaskRecord`; ``trace["lstm"]`` looks a
    record up by layer name (the first call of that layer). Printing it shows a
    table; in a notebook it renders as an HTML table; :meth:`plot` draws it.
    """

    def __init__(self, records, model_name=""):
        self._records = list(records)
        self.model_name = model_name

    def __len__(self):
        return len(self._records)

    def __getitem__(self, key):
        if isinstance(key, str):
            for record in self._records:
                if record.layer == key:
                    return record
            names = ", ".join(repr(r.layer) for r in self._records)
            raise KeyError(f"no layer named {key!r} in this trace; its layers are {names}")
        if isinstance(key, slice):
            return MaskTrace(self._records[key], self.model_name)
        return self._records[key]

    @property
    def events(self):
        """Dict ``{layer name: event}`` in execution order."""
        return {r.layer: r.event for r in self._records}

    @property
    def layers(self):
        """The layer names, in execution order."""
        return [r.layer for r in self._records]

    def where(self, event):
        """The records whose event is ``event`` (one of :data:`EVENTS`), in order."""
        if event not in EVENTS:
            raise ValueError(f"`event` must be one of {', '.join(EVENTS)}. {received('event', event)}")
        return [r for r in self._records if r.event == event]

    # ----- text and HTML tables -------------------------------------------------
    _HEADER = ("#", "layer", "class", "output shape", "mask in", "mask out", "event")

    def _rows(self):
        return [
            (
                str(r.index),
                r.layer,
                r.class_name,
                _describe_shape(r.output_shape),
                _describe_mask(r.mask_in),
                _describe_mask(r.mask_out),
                r.event,
            )
            for r in self._records
        ]

    def __str__(self):
        rows = self._rows()
        widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(self._HEADER)]
        line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
        out = [line(self._HEADER), line(["-" * w for w in widths])]
        out += [line(row) for row in rows]
        if not rows:
            out.append("(no layers)")
        return "\n".join(out)

    def __repr__(self):
        return str(self)

    def _repr_html_(self):
        head = "".join(f"<th>{escape(h)}</th>" for h in self._HEADER)
        body = []
        for row in self._rows():
            cells = "".join(f"<td>{escape(c)}</td>" for c in row[:-1])
            colour = EVENT_COLORS[row[-1]]
            cells += f'<td style="color:{colour};font-weight:bold">{escape(row[-1])}</td>'
            body.append(f"<tr>{cells}</tr>")
        return (
            '<table class="mask-trace">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            "<p><small>mask in / mask out: shape of the boolean mask and how many steps it keeps "
            "(True); '-' means no mask.</small></p>"
        )

    # ----- figure -----------------------------------------------------------------
    def plot(self, max_rows=8, title=None):
        """Draw the trace: one panel per layer call showing the mask on its output.

        See :func:`helpers.tracing.figure.plot_trace` (this method calls it).
        """
        return plot_trace(self, max_rows=max_rows, title=title)


def _describe_shape(shape, none="?"):
    if isinstance(shape, list):
        return ", ".join(_describe_shape(s, none) for s in shape)
    return "(" + ", ".join(none if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _describe_mask(mask):
    if isinstance(mask, list):
        return " | ".join(_describe_mask(m) for m in mask)
    if mask is None:
        return "-"
    return f"{_describe_shape(mask.shape)} {int(mask.sum())}/{mask.size} kept"
