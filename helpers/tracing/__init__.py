"""Follow a batch through a Keras model and report what each layer does to the mask.

``trace_masks(model, inputs)`` runs ``inputs`` through ``model`` one layer at a
time, eagerly, and reads the mask Keras attaches to every tensor on the way
(the ``_keras_mask`` attribute). It returns a :class:`MaskTrace`: one
:class:`MaskRecord` per layer call, each with an *event*:

=========== =============================================================
event       meaning
=========== =============================================================
created     no mask came in, a mask goes out (``Embedding(mask_zero=True)``,
            ``Masking``)
passed      a mask came in and the same mask goes out (``Dense``, ``Dropout``,
            ``LSTM(return_sequences=True)``)
changed     a mask came in and a different one goes out: other values or
            another shape (a layer that splits or crops the time axis)
destroyed   a mask came in, none goes out, and the layer never looked at it:
            its ``call()`` has no ``mask`` argument (``Flatten``, a plain
            ``Lambda``, arithmetic written with operators on symbolic tensors)
consumed    a mask came in, none goes out, and the layer used it: its
            ``call()`` takes ``mask`` (``LSTM`` without ``return_sequences``,
            ``GlobalAveragePooling1D``, a masked softmax over time)
none        no mask came in and none goes out
=========== =============================================================

Example:
    >>> model = keras.Sequential([
    ...     keras.Input(shape=(None,), dtype="int32"),
    ...     keras.layers.Embedding(100, 4, mask_zero=True, name="embedding"),
    ...     keras.layers.LSTM(8, name="lstm"),
    ... ])
    >>> trace = trace_masks(model, np.array([[5, 3, 0], [7, 0, 0]]))
    >>> trace.events
    {'embedding': 'created', 'lstm': 'consumed'}
    >>> print(trace)           # a table; trace.plot() draws it
"""

import inspect
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

import numpy as np

#: The possible values of :attr:`MaskRecord.event`, in the order the book explains them.
EVENTS = ("created", "passed", "changed", "destroyed", "consumed", "none")

#: Colours used for events in tables and figures.
EVENT_COLORS = {
    "created": "#1b9e77",
    "passed": "#4575b4",
    "changed": "#d95f02",
    "destroyed": "#d7301f",
    "consumed": "#7570b3",
    "none": "#888888",
}


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
        return any(m is not None for m in _as_list(self.mask_in))

    @property
    def has_mask_out(self):
        return any(m is not None for m in _as_list(self.mask_out))


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
            raise ValueError(f"unknown event {event!r}; expected one of {', '.join(EVENTS)}")
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

        Each panel is a small grid of the output mask (rows: the first ``max_rows``
        sequences of the batch, columns: time steps; dark blue = kept, grey and
        hatched = masked), titled with the layer's name and class and labelled
        with its event, in the event's colour. A layer whose output carries no
        mask says so ("no mask", "mask destroyed", "mask consumed"). A layer with
        several outputs shows their masks side by side.

        Args:
            max_rows: int, how many sequences of the batch to draw (default 8).
            title: str, the figure's title (default: names the model).

        Returns:
            A ``matplotlib.figure.Figure`` (already closed, so a notebook shows it once).
        """
        import matplotlib.pyplot as plt

        if not isinstance(max_rows, int) or isinstance(max_rows, bool) or max_rows < 1:
            raise ValueError(f"max_rows must be a positive int, got {max_rows!r}")
        if not self._records:
            raise ValueError("this trace has no layers to plot")
        n = len(self._records)
        ncols = min(n, 5)
        nrows = -(-n // ncols)
        fig, axes = plt.subplots(nrows, ncols, figsize=(2.7 * ncols, 2.3 * nrows), squeeze=False)
        for ax in axes.flat[n:]:
            ax.axis("off")
        for record, ax in zip(self._records, axes.flat):
            colour = EVENT_COLORS[record.event]
            masks = [m for m in _as_list(record.mask_out) if m is not None]
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
        fig.suptitle(title if title is not None else f"The mask after each layer of {self.model_name or 'the model'}",
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


# ----- tracing ------------------------------------------------------------------


def trace_masks(model, inputs):
    """Run ``inputs`` through ``model`` layer by layer and record what happens to the mask.

    Works for Sequential and Functional models, including layers with several
    inputs or outputs and operations written with operators on symbolic tensors
    (they appear in the trace under their operation's name). Input layers are
    skipped. The model runs eagerly in inference mode; its weights are not changed.

    Args:
        model: a ``keras.Sequential`` or Functional ``keras.Model``.
        inputs: the batch to follow: an array (or a list / dict of arrays for a
            model with several inputs), with a batch axis first, e.g. padded ids of
            shape ``(batch, time)``.

    Returns:
        A :class:`MaskTrace`.

    Raises:
        TypeError: ``model`` is not a Sequential or Functional Keras model.
        ValueError: ``inputs`` are ragged, empty, of the wrong rank or number, or a
            layer fails on them (the message names the layer).
    """
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(
            f"trace_masks expects a Keras model (keras.Sequential or a Functional keras.Model), "
            f"got {type(model).__name__}"
        )
    if isinstance(model, keras.Sequential):
        records = _trace_sequential(model, inputs)
    elif _is_functional(model):
        records = _trace_functional(model, inputs)
    else:
        raise TypeError(
            f"trace_masks cannot follow the subclassed model {type(model).__name__}: its call() is "
            "Python code, not a graph of layers. Build it with keras.Sequential or the Functional "
            "API, or trace the layers inside it one by one."
        )
    return MaskTrace(records, model_name=model.name)


def _is_functional(model):
    from keras.src.models.functional import Functional

    return isinstance(model, Functional)


def _to_array(x, what):
    """A NumPy array from a tensor, array or rectangular nested list; clear error otherwise."""
    import keras

    if keras.ops.is_tensor(x):
        return keras.ops.convert_to_numpy(x)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            array = np.asarray(x)
    except ValueError as exc:
        raise ValueError(
            f"{what} is ragged (rows of different lengths); pad it into one rectangular array first, "
            "for example with keras.utils.pad_sequences"
        ) from exc
    if array.dtype == object:
        raise ValueError(
            f"{what} is ragged or not numeric; pad it into one rectangular array first, "
            "for example with keras.utils.pad_sequences"
        )
    return array


def _check_batch(array, what):
    if array.ndim == 0:
        raise ValueError(f"{what} is a scalar; expected a batch with the batch axis first, e.g. ids of shape (batch, time)")
    if array.shape[0] == 0:
        raise ValueError(f"{what} is an empty batch (shape {array.shape}); give at least one sequence")


def _trace_sequential(model, inputs):
    import keras

    if isinstance(inputs, (dict,)) or (isinstance(inputs, (list, tuple)) and inputs and keras.ops.is_tensor(inputs[0])):
        raise ValueError("a Sequential model takes one input array; got several")
    array = _to_array(inputs, "inputs")
    _check_batch(array, "inputs")
    try:
        expected = model.inputs
    except (AttributeError, ValueError):
        expected = None
    if expected:
        _check_rank(array, expected[0], "inputs")
        x = keras.ops.convert_to_tensor(array, dtype=expected[0].dtype)
    else:
        x = keras.ops.convert_to_tensor(array)
    records = []
    for layer in model.layers:
        x = _traced_call(layer, (x,), {}, records)
    return records


def _check_rank(array, spec, what):
    expected_shape = tuple(spec.shape)
    if array.ndim != len(expected_shape):
        raise ValueError(
            f"{what} has rank {array.ndim} (shape {array.shape}), but the model expects rank "
            f"{len(expected_shape)}: shape {_describe_shape(expected_shape, none='None')}"
        )
    for axis, (got, want) in enumerate(zip(array.shape, expected_shape)):
        if want is not None and got != want:
            raise ValueError(
                f"{what} has shape {array.shape}, but the model expects "
                f"{_describe_shape(expected_shape, none='None')} (axis {axis} should be {want})"
            )


def _trace_functional(model, inputs):
    import keras

    specs = list(model.inputs)
    if isinstance(inputs, dict):
        names = [s.name for s in specs]
        missing = [n for n in names if n not in inputs]
        if missing:
            raise ValueError(f"inputs is missing the model input(s) {missing}; the model's inputs are {names}")
        flat = [inputs[n] for n in names]
    elif isinstance(inputs, (list, tuple)) and len(specs) > 1:
        flat = list(inputs)
    else:
        flat = [inputs]
    if len(flat) != len(specs):
        raise ValueError(f"the model has {len(specs)} input(s), but {len(flat)} array(s) were given")
    tensors = []
    for i, (x, spec) in enumerate(zip(flat, specs)):
        what = "inputs" if len(specs) == 1 else f"input {i} ({spec.name})"
        array = _to_array(x, what)
        _check_batch(array, what)
        _check_rank(array, spec, what)
        tensors.append(keras.ops.convert_to_tensor(array, dtype=spec.dtype))

    records = []
    hidden = _mask_only_operations(model)

    def operation_fn(operation):
        def call(*args, **kwargs):
            if id(operation) in hidden:
                return operation(*args, **kwargs)
            return _traced_call(operation, args, kwargs, records)

        return call

    model._run_through_graph(tensors, operation_fn=operation_fn)
    return records


def _mask_only_operations(model):
    """Ids of the graph's operations that only compute masks (not layers, not on the data path).

    In a Functional model Keras 3 records the mask of a layer's input as an argument
    of the next layer's node (``mask=...``), so the ``inputs != 0`` of an
    ``Embedding(mask_zero=True)`` appears in the graph as a ``NotEqual`` operation.
    The trace runs such operations but does not list them.
    """
    import keras

    data, stack = set(), list(keras.tree.flatten(model.outputs))
    while stack:
        tensor = stack.pop()
        if id(tensor) in data:
            continue
        data.add(id(tensor))
        history = getattr(tensor, "_keras_history", None)
        if history is None:
            continue
        node = history.operation._inbound_nodes[history.node_index]
        parts = [node.arguments.args] + [
            value for key, value in node.arguments.kwargs.items() if not (key == "mask" or key.endswith("_mask"))
        ]
        stack.extend(x for x in keras.tree.flatten(parts) if isinstance(x, keras.KerasTensor))
    hidden = set()
    for nodes in model._nodes_by_depth.values():
        for node in nodes:
            operation = node.operation
            if operation is None or isinstance(operation, keras.layers.Layer):
                continue
            if not any(id(x) in data for x in node.outputs):
                hidden.add(id(operation))
    return hidden


def _traced_call(operation, args, kwargs, records):
    """Call one layer (or operation), record its masks, return its outputs."""
    import keras

    mask_in = _mask_received(args, kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            outputs = operation(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - re-raised with the layer named
            shapes = _describe_shape([tuple(t.shape) for t in keras.tree.flatten(args) if keras.ops.is_tensor(t)])
            raise ValueError(
                f"layer {operation.name!r} ({type(operation).__name__}) failed on an input of shape "
                f"{shapes}: {type(exc).__name__}: {exc}"
            ) from exc
    flat_out = keras.tree.flatten(outputs)
    masks_out = [_mask_of(t) for t in flat_out]
    shapes = [tuple(int(d) for d in t.shape) for t in flat_out]
    record = MaskRecord(
        index=len(records),
        layer=operation.name,
        class_name=type(operation).__name__,
        event="none",
        output_shape=shapes[0] if len(shapes) == 1 else shapes,
        mask_in=mask_in,
        mask_out=masks_out[0] if len(masks_out) == 1 else masks_out,
        uses_mask=_uses_mask(operation),
        warnings=tuple(str(w.message) for w in caught),
    )
    record.event = _classify(record)
    records.append(record)
    return outputs


def _mask_of(tensor):
    from keras.src.backend import get_keras_mask

    mask = get_keras_mask(tensor)
    if mask is None:
        return None
    import keras

    return np.asarray(keras.ops.convert_to_numpy(mask)).astype(bool)


def _mask_received(args, kwargs):
    """The mask Keras hands the layer: an explicit ``mask=`` or the masks on its first argument."""
    import keras

    if kwargs.get("mask") is not None:
        masks = [None if m is None else np.asarray(keras.ops.convert_to_numpy(m)).astype(bool)
                 for m in keras.tree.flatten(kwargs["mask"])]
        return masks[0] if len(masks) == 1 else masks
    if not args:
        return None
    tensors = [t for t in keras.tree.flatten(args[0]) if keras.ops.is_tensor(t)]
    if not tensors:
        return None
    masks = [_mask_of(t) for t in tensors]
    return masks[0] if len(masks) == 1 else masks


def _uses_mask(operation):
    """Whether the mask reaches the operation's code: its call() takes ``mask`` (or ``*_mask``)."""
    import keras

    if isinstance(operation, keras.layers.Lambda):
        return bool(getattr(operation, "_fn_expects_mask_arg", False))
    try:
        params = inspect.signature(operation.call).parameters
    except (TypeError, ValueError):
        return False
    return any(name == "mask" or name.endswith("_mask") for name in params)


def _same_mask(a, b):
    return a is not None and b is not None and a.shape == b.shape and bool(np.array_equal(a, b))


def _classify(record):
    ins = [m for m in _as_list(record.mask_in) if m is not None]
    outs = _as_list(record.mask_out)
    has_out = any(m is not None for m in outs)
    if not ins:
        return "created" if has_out else "none"
    if not has_out:
        return "consumed" if record.uses_mask else "destroyed"
    reference = ins[0]
    return "passed" if all(_same_mask(m, reference) for m in outs) else "changed"


# ----- formatting helpers ---------------------------------------------------------


def _as_list(value):
    return list(value) if isinstance(value, list) else [value]


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
