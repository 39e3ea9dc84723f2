"""The padding audit's report: a verdict per layer, a table and a figure.

Taught in chapter 15 (Audit your own model).
"""

from dataclasses import asdict, dataclass

import numpy as np

from helpers.notebook import ROUNDING, format_difference

CLEAN, LEAK, NOT_COMPARED = "clean", "LEAK", "not compared"


def format_change(change, digits=2):
    """A change as the table prints it: ``-`` (not compared), ``<1e-05`` below
    :data:`helpers.notebook.ROUNDING` (float rounding, exact zeros included, as the chapters
    print it) or ``digits`` significant digits."""
    if change is None:
        return "-"
    if change < ROUNDING:
        return format_difference(change)
    return f"{change:.{digits}g}"


@dataclass
class LayerVerdict:
    """One row of the report.

    Attributes:
        name: the layer's name (``"name (call 2)"`` for a shared layer's second call).
        class_name: the layer's class.
        verdict: ``"clean"``, ``"LEAK"`` (its outputs at real positions depend on the padding)
            or ``"not compared"`` (an output without a batch axis or of another shape).
        change: float or None, the largest absolute change at real positions.
        mask: ``"received"`` (its input carries a Keras mask, and it arrives), ``"LOST"`` (the
            symbolic input carries a mask, the run-time input none) or ``"-"`` (no mask to receive).
    """

    name: str
    class_name: str
    verdict: str
    change: object
    mask: str


class AuditReport:
    """What :func:`helpers.audit.audit_padding` found.

    Attributes:
        ok: bool, True when no output at a real position changed with the padding.
        leaks: list of str, the layers whose outputs at real positions change, earliest first
            (for a subclassed model, the model's own name when its output changes).
        lost_masks: list of str, the layers whose symbolic input carries a Keras mask but
            which receive none at run time (Functional and Sequential models).
        layers: list of :class:`LayerVerdict`, one per layer call in run order (for a
            subclassed model, one row for the whole model).
        output_change: float, the largest change of the model's outputs at real positions.
        tolerance: float, the tolerance the changes were judged with.
        notes: list of str, what the audit could not vary (a fixed time axis, empty rows).
    """

    def __init__(self, model_name, layers, output_change, tolerance, notes, localised):
        self.model_name = model_name
        self.layers = layers
        self.output_change = output_change
        self.tolerance = tolerance
        self.notes = list(notes)
        self.localised = localised
        self.leaks = [row.name for row in layers if row.verdict == LEAK]
        self.lost_masks = [row.name for row in layers if row.mask == "LOST"]
        self.ok = not self.leaks

    @property
    def first_leak(self):
        """The earliest leaking layer (where to look first), or None."""
        return self.leaks[0] if self.leaks else None

    def to_dict(self):
        """The report as plain Python (for JSON)."""
        return {"model": self.model_name, "ok": self.ok, "leaks": self.leaks, "lost_masks": self.lost_masks,
                "output_change": self.output_change, "tolerance": self.tolerance, "notes": self.notes,
                "layers": [asdict(row) for row in self.layers]}

    def table(self, digits=2):
        """The table as text: layer, class, verdict, largest change, mask at run time."""
        header = ("layer", "class", "verdict", "largest change", "mask")
        rows = [(r.name, r.class_name, r.verdict, format_change(r.change, digits), r.mask) for r in self.layers]
        widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]
        lines = ["  ".join(str(x).ljust(w) for x, w in zip(line, widths)).rstrip() for line in [header, *rows]]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def summary(self):
        """One line: the verdict, the first leak and the lost masks."""
        if self.ok:
            text = f"{self.model_name}: clean (largest change of the output: {format_change(self.output_change)})"
        else:
            text = (f"{self.model_name}: LEAKS padding; first leak at {self.first_leak!r} "
                    f"(the output changes by {format_change(self.output_change)})")
        if self.lost_masks:
            text += f"; mask lost at run time by {self.lost_masks[0]!r}"
            if len(self.lost_masks) > 1:
                text += f" and {len(self.lost_masks) - 1} later layer(s)"
        return text

    def __repr__(self):
        lines = [f"<AuditReport {self.summary()}>", self.table()]
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)

    def plot(self, ax=None):
        """A bar per layer: its largest change at real positions (log scale), red where it leaks.

        Args:
            ax: optional matplotlib Axes to draw on.

        Returns:
            the matplotlib Figure.
        """
        import matplotlib.pyplot as plt

        rows = [r for r in self.layers if r.change is not None]
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 0.35 * max(len(rows), 2) + 1.2))
        floor = self.tolerance * 1e-4
        values = [max(r.change, floor) for r in rows]
        colors = ["tab:red" if r.verdict == LEAK else "tab:green" for r in rows]
        positions = np.arange(len(rows))[::-1]
        ax.barh(positions, values, color=colors)
        ax.set_yticks(positions, [r.name + ("  (mask lost)" if r.mask == "LOST" else "") for r in rows])
        ax.set_xscale("log")
        ax.axvline(self.tolerance, color="black", linestyle="--", linewidth=1, label="tolerance")
        ax.set_xlabel("largest change at real positions (log scale)")
        ax.set_title(f"{self.model_name}: {'clean' if self.ok else 'leaks padding'}")
        ax.legend(loc="lower right")
        ax.figure.tight_layout()
        return ax.figure
