"""``audit_padding``: does a model's output at real positions depend on the padding around it?

Taught in chapter 15 (Audit your own model).
"""

import warnings

from helpers.audit import compare, run
from helpers.audit.inputs import OWNER, Batch
from helpers.audit.report import CLEAN, LEAK, NOT_COMPARED, AuditReport, LayerVerdict
from helpers.validation import non_negative_int, received


def _check_model(model):
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"{OWNER}: model must be a keras.Model (Functional, Sequential or subclassed). "
                        f"{received('model', model)}")


def _check_tolerance(tolerance):
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not tolerance > 0:
        raise ValueError(f"{OWNER}: tolerance must be a positive float. {received('tolerance', tolerance)}")
    return float(tolerance)


def _check_time_axis(graph, batch):
    """A model input of rank 1 per example (no time axis) cannot be audited."""
    if graph is None:
        return
    names = [x.name for x in graph.inputs]
    if len(batch.entries) != len(names):
        raise ValueError(f"{OWNER}: inputs holds {len(batch.entries)} array(s), but the model takes "
                         f"{len(names)} input(s) {names}. Received: inputs with keys/positions "
                         f"{[e.key for e in batch.entries]}")
    for symbolic in graph.inputs:
        if len(symbolic.shape) < 2:
            raise ValueError(f"{OWNER}: the model has no time axis: its input {symbolic.name!r} has shape "
                             f"{tuple(symbolic.shape)}; the audit needs (batch, time, ...) sequences. "
                             f"Received: model={getattr(graph, 'name', graph)!r}")


def _runner(model, graph):
    if graph is None:
        return lambda inputs, garbage: (run.run_model(model, inputs), [])
    return lambda inputs, garbage: run.run_graph(graph, inputs, garbage_after_masking=garbage)


def _notes(batch):
    notes = []
    for stream in batch.streams:
        if stream.fixed:
            notes.append(f"{stream.name} has a fixed time axis ({stream.time} steps): no padding could be added or "
                         "removed, so each row was compared with the rows of its length run alone, at that length")
    empty = batch.size - len(batch.real_rows)
    if empty:
        notes.append(f"{empty} fully padded row(s) left out (no real position to compare)")
    return notes


def _verdict(change, scale, tolerance):
    if change is None:
        return NOT_COMPARED
    return LEAK if change > tolerance * max(1.0, scale) else CLEAN


def _rows(runs, batch, tolerance):
    rows = []
    for index, call in enumerate(runs["a"][1]):
        change, scale = compare.call_change(index, runs, batch)
        if call.mask_only and _verdict(change, scale, tolerance) != LEAK:
            continue  # an operation that only computes a mask (NotEqual, LogicalOr) and agrees
        mask = "LOST" if call.lost else "received" if call.masked else "-"
        rows.append(LayerVerdict(call.name, call.class_name, _verdict(change, scale, tolerance), change, mask))
    return rows


def audit_padding(model, inputs, tolerance=1e-4, padding="auto", padding_value=0, mask_value=None,
                  extra_padding=None, seed=0):
    """Check that a model's outputs at real positions do not depend on the padding around them.

    The model runs three ways: on ``inputs`` as given; on ``inputs`` with extra padding
    appended (and, where a mask says which steps are padding, garbage at the padded
    steps); and on each sequence alone at its own length, without padding (rows of the
    same lengths run together). Outputs are compared at real positions (an output axis
    that follows the time axis is cut to each row's real steps) or whole (pooled
    outputs). For a Functional or Sequential model every layer's output is compared, so
    the report says where a leak starts, and a probe records the layers whose mask was
    lost at run time.

    Args:
        model: a ``keras.Model``.
        inputs: int ids ``(batch, time)`` padded with ``padding_value`` (right or left);
            floats ``(batch, time, features)`` whose padding a ``Masking`` layer marks; a list
            of these; or a dict with a ``padding_mask`` (KerasHub) or ``*_mask`` entry.
        tolerance: float, the largest change that counts as equal (relative to the output's
            size when that is above 1).
        padding: ``"auto"``, ``"right"`` or ``"left"``: where the padding is.
        padding_value: int, the id that pads integer sequences.
        mask_value: float, the padding value of float sequences (default: the model's ``Masking``).
        extra_padding: int, the steps of padding to add (default: a quarter of the length, at least 3).
        seed: int, seed of the garbage put at masked steps.

    Returns:
        an :class:`helpers.audit.report.AuditReport` (``ok``, ``leaks``, ``lost_masks``, a table
        as its ``repr`` and a figure from ``plot()``).

    Raises:
        TypeError: ``model`` is not a Keras model.
        ValueError: ``inputs`` hold no padding, are ragged, have no time axis, or their ids and
            mask differ in shape; ``tolerance`` or ``padding`` is invalid.

    Example:
        >>> import keras, numpy as np
        >>> model = keras.Sequential([keras.Input((None,), dtype="int32"),
        ...                           keras.layers.Embedding(10, 4, mask_zero=True),
        ...                           keras.layers.GlobalAveragePooling1D()])
        >>> report = audit_padding(model, np.array([[1, 2, 3], [4, 5, 0]]))
        >>> report.ok, report.leaks, report.lost_masks
        (True, [], [])
    """
    _check_model(model)
    tolerance = _check_tolerance(tolerance)
    seed = non_negative_int(seed, "seed", owner=OWNER)
    batch = Batch(model, inputs, padding=padding, padding_value=padding_value, mask_value=mask_value)
    with run.no_grad(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if not model.built:
            model(batch.original())
        graph = run.keras_internals.functional_graph(model)
        _check_time_axis(graph, batch)
        base = 0 if extra_padding is None else non_negative_int(extra_padding, "extra_padding", owner=OWNER)
        batch.extras = [0 if s.fixed else (base or max(3, s.time // 4)) + i for i, s in enumerate(batch.streams)]
        garbage = any(e.kind in ("member", "floats") for e in batch.entries)
        call = _runner(model, graph)
        runs = {"a": call(batch.original(), False)}
        runs["b"] = call(batch.extended(batch.extras, seed=seed), True) if any(batch.extras) or garbage else None
        runs["r"] = {lengths: call(batch.trimmed(rows, lengths), False) for lengths, rows in batch.groups.items()}
    out_change, out_scale = compare.output_change(runs, batch)
    if graph is not None:
        rows = _rows(runs, batch, tolerance)
    else:
        rows = [LayerVerdict(model.name, type(model).__name__, _verdict(out_change, out_scale, tolerance),
                             out_change, "-")]
    if graph is not None and _verdict(out_change, out_scale, tolerance) == LEAK and not any(
            r.verdict == LEAK for r in rows):
        rows.append(LayerVerdict(f"{model.name} (output)", type(model).__name__, LEAK, out_change, "-"))
    notes = _notes(batch) + sorted({f"Keras warned: {w.message}" for w in caught})
    return AuditReport(model.name, rows, out_change, tolerance, notes, graph is not None)
