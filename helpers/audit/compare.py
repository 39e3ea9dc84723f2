"""Comparing a run with its references at the real positions only.

Taught in chapter 15 (Audit your own model).

An output axis *follows* a stream when its length grew by exactly the padding the
audit added to that stream (each stream gets a different amount, so the match is
unambiguous): such an axis is cut to each row's real steps before comparing. An
output with no such axis (a pooled vector, a class score) is compared whole.
"""

import numpy as np


def following_axes(shape_a, shape_b, batch):
    """``{axis: stream}`` for the axes of an output that follow a stream's time axis."""
    if shape_b is None or len(shape_a) != len(shape_b):
        return {}
    axes = {}
    for axis in range(1, len(shape_a)):
        grown = shape_b[axis] - shape_a[axis]
        for index, (stream, extra) in enumerate(zip(batch.streams, batch.extras)):
            if extra and grown == extra and shape_a[axis] == stream.time:
                axes[axis] = index
    return axes


def _cut(array, axes, batch, lengths, added):
    """``array`` with each following axis cut to the real steps ``lengths`` (``added`` steps were appended)."""
    index = [slice(None)] * array.ndim
    for axis, stream in axes.items():
        length, side = lengths[stream], batch.streams[stream].side
        total = batch.streams[stream].time + (added[stream] if added else 0)
        index[axis] = slice(0, length) if side == "right" else slice(total - length, total)
    return array[tuple(index)]


def largest_change(a, b, references, batch):
    """The largest absolute change of one output at real positions, and the scale it is judged against.

    Args:
        a: the output on the batch as given (NumPy, batch first), or None.
        b: the output on the batch with extra padding, or None.
        references: ``{lengths: output}``, the output of each group of rows run alone at its own lengths.
        batch: the :class:`helpers.audit.inputs.Batch`, with ``extras`` and ``groups`` set.

    Returns:
        ``(change, scale)``, or ``(None, None)`` when the output cannot be compared (no batch axis,
        or a shape the references do not share).
    """
    if a is None or a.ndim == 0 or a.shape[0] != batch.size:
        return None, None
    axes = following_axes(a.shape, None if b is None else b.shape, batch)
    change, scale = 0.0, 0.0
    for lengths, rows in batch.groups.items():
        reference = references.get(lengths)
        if reference is None:
            return None, None
        expected = list(a.shape)
        expected[0] = len(rows)
        for axis, stream in axes.items():
            expected[axis] = lengths[stream] if not batch.streams[stream].fixed else expected[axis]
        if list(reference.shape) != expected:
            return None, None
        scale = max(scale, float(np.max(np.abs(reference), initial=0.0)))
        for variant, added in ((a, None), (b, batch.extras)):
            if variant is None or variant.shape[0] != batch.size:
                continue
            cut = _cut(variant[rows], axes, batch, lengths, added)
            if cut.shape != reference.shape:
                return None, None
            change = max(change, float(np.max(np.abs(cut - reference), initial=0.0)))
    return change, scale


def call_change(index, runs, batch):
    """The largest change over the outputs of the ``index``-th layer call, or (None, None)."""
    a_call = runs["a"][1][index]
    b_call = runs["b"][1][index] if runs["b"] is not None else None
    worst, scale, compared = 0.0, 0.0, False
    for k, a in enumerate(a_call.outputs):
        b = b_call.outputs[k] if b_call is not None else None
        references = {lengths: calls[index].outputs[k] for lengths, (_, calls) in runs["r"].items()}
        if any(r is None for r in references.values()):
            continue
        change, out_scale = largest_change(a, b, references, batch)
        if change is None:
            continue
        compared = True
        worst, scale = max(worst, change), max(scale, out_scale)
    return (worst, scale) if compared else (None, None)


def output_change(runs, batch):
    """The largest change over the model's outputs, or (None, None)."""
    worst, scale, compared = 0.0, 0.0, False
    for k, a in enumerate(runs["a"][0]):
        b = runs["b"][0][k] if runs["b"] is not None else None
        references = {lengths: outputs[k] for lengths, (outputs, _) in runs["r"].items()}
        change, out_scale = largest_change(a, b, references, batch)
        if change is None:
            continue
        compared = True
        worst, scale = max(worst, change), max(scale, out_scale)
    return (worst, scale) if compared else (None, None)
