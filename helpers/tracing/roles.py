"""What built-in layers do with a mask, computed with ``trace_masks``: the book's role tables.

Taught in chapters 4 and 6 (How masks propagate; Layers that consume masks).

The chapters never type a table of "which layer makes, changes, passes on, consumes
or destroys the mask" by hand. They list the layers to probe, and
:func:`mask_role_table` builds a small model around each one, traces it with
:func:`helpers.tracing.trace_masks` and reports the role Keras gave it. The tests
(``tests/test_mask_role_tables.py``) run the same probes and compare the roles with
the ones the chapters assert, so a table cannot drift from what Keras does.

Example:
    >>> from keras import layers
    >>> table = mask_role_table({"Dense": layers.Dense(4), "Flatten": layers.Flatten()})
    >>> table.roles
    {'Dense': 'pass-through', 'Flatten': 'destroys'}
"""

import warnings
from dataclasses import dataclass
from html import escape

import numpy as np

from helpers.validation import received

#: The role a layer plays for the mask, from the event ``trace_masks`` records for it.
ROLE_OF_EVENT = {
    "created": "generator",
    "passed": "pass-through",
    "changed": "modifier",
    "consumed": "consumer",
    "destroyed": "destroys",
    "none": "no mask",
}

#: The inputs a probe can start from (the ``start`` argument of :func:`mask_role_table`).
STARTS = ("embedded", "ids", "features")

#: The probe batch: three rows of ids of lengths 3, 5 and 6, post-padded with 0 to 6 steps.
PROBE_IDS = np.array([[5, 3, 7, 0, 0, 0],
                      [4, 8, 2, 6, 1, 0],
                      [3, 9, 1, 4, 2, 6]], dtype="int32")

#: Size of the vectors of the probe embedding (and of the probe features).
PROBE_DIM = 16


@dataclass
class RoleRow:
    """One row of a role table.

    Attributes:
        label: str, the name the table gives the probe (``"Concatenate(axis=1)"``).
        class_name: str, the class of the probed layer.
        role: str, one of the values of :data:`ROLE_OF_EVENT`.
        event: str, the event ``trace_masks`` recorded for the probed layer.
        mask_in: tuple of ints or None, the shape of the mask the layer received.
        mask_out: tuple of ints or None, the shape of the mask on its output.
        warns: bool, whether Keras warned during the call ("... will therefore destroy
            the mask information").
    """

    label: str
    class_name: str
    role: str
    event: str
    mask_in: object
    mask_out: object
    warns: bool


class RoleTable(list):
    """A list of :class:`RoleRow`; prints (and renders in a notebook) as a table."""

    _HEADER = ("layer", "class", "role", "event", "mask in", "mask out", "Keras warns")

    def __add__(self, other):
        """Two tables, one after the other (for probes that start from different inputs)."""
        return RoleTable(list(self) + list(other))

    @property
    def roles(self):
        """Dict ``{label: role}`` in the order of the probes."""
        return {row.label: row.role for row in self}

    def _cells(self):
        shape = lambda s: "-" if s is None else "(" + ", ".join(map(str, s)) + ")"  # noqa: E731
        return [(r.label, r.class_name, r.role, r.event, shape(r.mask_in), shape(r.mask_out),
                 "yes" if r.warns else "no") for r in self]

    def __str__(self):
        rows = self._cells()
        widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(self._HEADER)]
        line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
        return "\n".join([line(self._HEADER), line(["-" * w for w in widths])] + [line(r) for r in rows])

    def __repr__(self):
        return str(self)

    def _repr_html_(self):
        head = "".join(f"<th>{escape(h)}</th>" for h in self._HEADER)
        body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in self._cells())
        return f'<table class="mask-roles"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _probe_input(start):
    import keras

    if start == "features":
        return keras.Input(shape=(None, PROBE_DIM), dtype="float32", name="features")
    return keras.Input(shape=(None,), dtype="int32", name="ids")


def _probe_batch(start):
    if start == "features":
        # Each id repeated PROBE_DIM times: padded steps are vectors of zeros.
        return np.repeat(PROBE_IDS[:, :, None], PROBE_DIM, axis=2).astype("float32")
    return PROBE_IDS


def mask_role_table(probes, start="embedded"):
    """Trace each probe on a masked batch and report the role Keras gives it.

    Each probe is placed in a small Functional model and traced with
    :func:`helpers.tracing.trace_masks` on :data:`PROBE_IDS` (rows of 3, 5 and 6
    ids, post-padded to 6 steps). The row describes the *last* layer call of the
    probe, which is the layer being probed.

    Args:
        probes: dict ``{label: probe}``. A probe is a ``keras.layers.Layer``
            (called on the input tensor) or a callable that takes the input tensor
            and returns an output tensor (for layers with several inputs, such as
            ``lambda x: layers.Add()([x, x])``, or self-attention
            ``lambda x: layers.MultiHeadAttention(2, 4)(x, x)``). A callable with
            two parameters is called ``probe(x, mask)``, where ``mask`` is the
            symbolic boolean ``(batch, time)`` mask ``ids != 0``, for a layer given a
            mask by hand (``lambda x, mask: layers.Softmax(axis=1)(x, mask=...)``).
        start: str, what the probe receives:
            ``"embedded"`` (default): the output of
            ``Embedding(10, 16, mask_zero=True)``, shape ``(3, 6, 16)``, mask ``(3, 6)``;
            ``"ids"``: the integer ids themselves, ``(3, 6)``, no mask (for generators);
            ``"features"``: float vectors ``(3, 6, 16)``, zero at padding, no mask.

    Returns:
        A :class:`RoleTable`, one :class:`RoleRow` per probe, in order.

    Raises:
        TypeError: ``probes`` is not a dict, or a probe is neither a layer nor callable.
        ValueError: ``start`` is not one of :data:`STARTS`, ``probes`` is empty, or a
            probe fails on its input (the message names the probe).
    """
    import keras

    from helpers.tracing import trace_masks

    if not isinstance(probes, dict):
        raise TypeError(f"`probes` must be a dict {{label: layer or callable}}. {received('probes', probes)}")
    if not probes:
        raise ValueError(f"`probes` must hold at least one {{label: layer}}. {received('probes', probes)}")
    if start not in STARTS:
        raise ValueError(f"`start` must be one of {', '.join(map(repr, STARTS))}. {received('start', start)}")
    table = RoleTable()
    for label, probe in probes.items():
        if not callable(probe):
            raise TypeError(f"`probes[{label!r}]` must be a keras layer or a callable. "
                            f"{received(f'probes[{label!r}]', probe)}")
        inputs = _probe_input(start)
        x = inputs
        if start == "embedded":
            x = keras.layers.Embedding(10, PROBE_DIM, mask_zero=True, name="probe_embedding")(inputs)
        try:
            # Building calls the layer on symbolic tensors, and Keras warns there already
            # about a mask it destroys; the trace records that warning again, for the call.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if _takes_two(probe):
                    mask = keras.ops.not_equal(inputs[..., 0] if start == "features" else inputs, 0)
                    outputs = probe(x, mask)
                else:
                    outputs = probe(x)
                model = keras.Model(inputs, outputs)
            trace = trace_masks(model, _probe_batch(start))
        except Exception as exc:  # noqa: BLE001 - re-raised with the probe named
            raise ValueError(f"`probes[{label!r}]` must run on the probe input; probe {label!r} failed: "
                             f"{type(exc).__name__}: {exc}. {received(f'probes[{label!r}]', probe)}") from exc
        record = trace[len(trace) - 1]
        table.append(RoleRow(
            label=label,
            class_name=record.class_name,
            role=ROLE_OF_EVENT[record.event],
            event=record.event,
            mask_in=_shape_of(record.mask_in),
            mask_out=_shape_of(record.mask_out),
            warns=bool(record.warnings),
        ))
    return table


def _takes_two(probe):
    import inspect

    import keras

    if isinstance(probe, keras.layers.Layer):
        return False
    try:
        params = inspect.signature(probe).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) == 2


def _shape_of(mask):
    if isinstance(mask, list):
        mask = next((m for m in mask if m is not None), None)
    return None if mask is None else tuple(int(d) for d in np.shape(mask))
