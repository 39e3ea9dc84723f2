"""What the padding audit understands of a batch: its streams of padded sequences, and variants of it.

Taught in chapter 15 (Audit your own model).

A *stream* is a set of inputs that share one time axis and one padding mask: the ids
of a model that masks with ``Embedding(mask_zero=True)``; a float sequence whose
padding a ``Masking`` layer marks; or, in a dict, a ``padding_mask`` (KerasHub) or
``*_mask`` entry with the arrays it governs. Each stream is right- or left-padded.
From a :class:`Batch` the audit makes the variants it compares: the batch with extra
padding (:meth:`Batch.extended`) and each sequence cut to its own length
(:meth:`Batch.trimmed`).
"""

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from helpers.validation import received, to_array

OWNER = "audit_padding"
SIDES = ("auto", "right", "left")


@dataclass
class Entry:
    """One array of the batch: its key (None, a list index or a dict key), kind and stream."""

    key: object
    array: np.ndarray
    kind: str  # "ids", "floats", "mask", "member" (governed by a mask entry) or "static"
    stream: int = -1
    fill: object = 0


@dataclass
class Stream:
    """Inputs sharing one time axis: the real steps of each row, the padding side, the length."""

    name: str
    mask: np.ndarray
    side: str
    fixed: bool = False
    lengths: np.ndarray = field(default=None)

    @property
    def time(self):
        return self.mask.shape[1]


def _described(name, value):
    """``Received: name=...``, an array described by its shape and dtype rather than its values."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"Received: {name} with shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, dict):
        return f"Received: {name}=dict with keys {sorted(map(str, value))}"
    return received(name, value)


def _error(message, name, value):
    return ValueError(f"{OWNER}: {message} {_described(name, value)}")


def _array(value, name):
    type_name = type(value).__name__
    if "Ragged" in type_name or getattr(value, "ragged", False) is True:
        raise _error("cannot audit a ragged input: pad it into one rectangular array first, for example with "
                     "keras.utils.pad_sequences (padding with 0, as Embedding(mask_zero=True) expects).", name, value)
    array = to_array(value, name, owner=OWNER, hint="pad it into one rectangular array first, for example with "
                     "keras.utils.pad_sequences")
    if array.ndim < 2:
        raise _error(f"{name} has no time axis: expected (batch, time) ids or (batch, time, features) values, "
                     f"got shape {array.shape}.", name, value)
    return array


def _side(mask, padding, name):
    """The padding side of ``mask`` (rows of real steps then padding, or the reverse)."""
    lengths = mask.sum(axis=1)
    steps = np.arange(mask.shape[1])
    right = bool((mask == (steps < lengths[:, None])).all())
    left = bool((mask == (steps >= mask.shape[1] - lengths[:, None])).all())
    if padding == "right" and not right or padding == "left" and not left:
        raise ValueError(f"{OWNER}: the padding of {name} is not on the {padding}: some row has padding before "
                         f"its real steps (or holes). Received: padding={padding!r}")
    if not (right or left):
        holes = np.flatnonzero(~(mask == (steps < lengths[:, None])).all(axis=1)).tolist()[:5]
        raise ValueError(f"{OWNER}: {name} is neither right- nor left-padded: some row has padding between real "
                         f"steps; the audit needs each row's real steps in one block. Received: rows {holes} "
                         "with holes")
    if padding != "auto":
        return padding
    return "right" if right else "left"


def _masking_value(model):
    """The ``mask_value`` of the first ``keras.layers.Masking`` in ``model`` (nested models too), or None."""
    import keras

    stack = [model]
    while stack:
        layer = stack.pop(0)
        if isinstance(layer, keras.layers.Masking):
            return layer.mask_value
        stack.extend(getattr(layer, "layers", []) or [])
    return None


def _sequence_entry(key, array, name, padding_value, mask_value, model):
    """An ids entry (int, padded with ``padding_value``) or a floats entry (padding marked by Masking)."""
    if array.dtype.kind in "iub":
        return Entry(key, array, "ids", fill=padding_value), array != padding_value
    if mask_value is None:
        mask_value = _masking_value(model)
    if mask_value is None:
        raise _error(f"{name} holds floats, and the model has no Masking layer to say which steps are padding: "
                     "pass mask_value=... (the padding value), or integer ids padded with 0, or a dict with "
                     "a padding_mask.", name, array)
    mask = array != mask_value if array.ndim == 2 else (array != mask_value).any(axis=tuple(range(2, array.ndim)))
    return Entry(key, array, "floats", fill=mask_value), mask


def _mask_prefix(key):
    for suffix in ("padding_mask", "mask"):
        if key.endswith(suffix):
            return key[: -len(suffix)]
    return key


def _dict_streams(inputs, entries, streams, padding):
    """Streams of a dict with ``padding_mask`` / ``*_mask`` keys: each mask governs the keys sharing its prefix."""
    mask_keys = [k for k in inputs if k == "padding_mask" or str(k).endswith("_mask")]
    for key in mask_keys:
        mask = _array(inputs[key], f"inputs[{key!r}]")
        if mask.ndim != 2 or not (mask.dtype == bool or np.isin(mask, (0, 1)).all()):
            raise _error(f"inputs[{key!r}] must be a (batch, time) mask of booleans (or 0/1), got shape "
                         f"{mask.shape} and dtype {mask.dtype}.", f"inputs[{key!r}]", inputs[key])
        index = len(streams)
        streams.append(Stream(key, mask.astype(bool), _side(mask.astype(bool), padding, f"inputs[{key!r}]")))
        entries.append(Entry(key, mask, "mask", index, fill=np.zeros((), mask.dtype)))
    for key, value in inputs.items():
        if key in mask_keys:
            continue
        array = _array(value, f"inputs[{key!r}]")
        owners = [i for i, k in enumerate(mask_keys) if len(mask_keys) == 1 or str(key).startswith(_mask_prefix(k))]
        if not owners:
            entries.append(Entry(key, array, "static"))
            continue
        stream = streams[owners[0]]
        if array.shape[:2] != stream.mask.shape:
            raise _error(f"inputs[{key!r}] has shape {array.shape} but its mask inputs[{stream.name!r}] has shape "
                         f"{stream.mask.shape}: ids and mask must have the same (batch, time).",
                         f"inputs[{key!r}]", value)
        entries.append(Entry(key, array, "member", owners[0], fill=np.zeros((), array.dtype)))


def _fixed_lengths(model, entries):
    """Which entries the model's input spec gives a fixed time axis (so their length cannot change)."""
    symbolic = getattr(model, "input", None) if getattr(model, "built", False) else None
    fixed = {}
    for entry in entries:
        try:
            if entry.key is None:
                spec = symbolic if not isinstance(symbolic, (list, tuple)) else symbolic[0]
            else:
                spec = symbolic[entry.key]
            fixed[id(entry)] = spec.shape[1] is not None
        except (AttributeError, IndexError, KeyError, TypeError, ValueError):
            fixed[id(entry)] = False
    return fixed


class Batch:
    """A batch as the audit reads it: its entries, their streams and each row's real lengths.

    Args:
        model: the Keras model the batch is for (read for a ``Masking`` layer and fixed input lengths).
        inputs: int ids ``(batch, time)`` padded with ``padding_value``; floats ``(batch, time, features)``
            whose padding a ``Masking`` layer (or ``mask_value``) marks; a list of these; or a dict with
            a ``padding_mask`` / ``*_mask`` entry and the arrays it governs.
        padding: ``"auto"``, ``"right"`` or ``"left"``.
        padding_value: int, the id that pads integer sequences.
        mask_value: float or None, the padding value of float sequences (default: the model's Masking).
    """

    def __init__(self, model, inputs, padding="auto", padding_value=0, mask_value=None):
        if padding not in SIDES:
            raise ValueError(f"{OWNER}: padding must be one of {SIDES}. {received('padding', padding)}")
        if isinstance(inputs, (list, tuple)) and all(isinstance(row, (list, tuple)) for row in inputs):
            inputs = _array(inputs, "inputs")  # nested Python lists: rows of one batch, not a list of inputs
        self.structure = "dict" if isinstance(inputs, dict) else "list" if isinstance(inputs, (list, tuple)) else None
        self.entries, self.streams = [], []
        self.extras = None
        if isinstance(inputs, dict) and any(k == "padding_mask" or str(k).endswith("_mask") for k in inputs):
            _dict_streams(inputs, self.entries, self.streams, padding)
        else:
            items = (inputs.items() if isinstance(inputs, dict) else enumerate(inputs) if self.structure
                     else [(None, inputs)])
            for key, value in items:
                name = "inputs" if key is None else f"inputs[{key!r}]"
                array = _array(value, name)
                entry, mask = _sequence_entry(key, array, name, padding_value, mask_value, model)
                entry.stream = len(self.streams)
                self.streams.append(Stream(name, mask, _side(mask, padding, name)))
                self.entries.append(entry)
        self._check_rows(inputs)
        fixed = _fixed_lengths(model, self.entries)
        for entry in self.entries:
            if entry.stream >= 0 and fixed[id(entry)]:
                self.streams[entry.stream].fixed = True
        for stream in self.streams:
            stream.lengths = stream.mask.sum(axis=1)
        if all(bool(s.mask.all()) for s in self.streams):
            raise _error("found no padding in inputs: every row is full length, so there is nothing to test. "
                         "Give sequences of different lengths, padded (for example with keras.utils.pad_sequences).",
                         "inputs", inputs)

    def _check_rows(self, inputs):
        rows = {e.array.shape[0] for e in self.entries}
        if len(rows) > 1:
            raise _error(f"the arrays of inputs have different batch sizes {sorted(rows)}.", "inputs", inputs)
        self.size = rows.pop()

    @property
    def real_rows(self):
        """Rows with at least one real step in every stream (fully padded rows are left out)."""
        return np.flatnonzero(np.all([s.lengths > 0 for s in self.streams], axis=0))

    def pack(self, arrays):
        """The arrays in the structure of the inputs (array, list or dict)."""
        if self.structure is None:
            return arrays[0]
        if self.structure == "list":
            return list(arrays)
        return {e.key: a for e, a in zip(self.entries, arrays)}

    def original(self):
        return self.pack([e.array for e in self.entries])

    def extended(self, extras, garbage=True, seed=0):
        """The batch with ``extras[s]`` padding steps added to stream ``s`` on its padding side.

        With ``garbage``, the padded steps of arrays a mask governs get values drawn from their real steps.
        """
        rng = np.random.default_rng(seed)
        arrays = []
        for entry in self.entries:
            array = entry.array
            if entry.stream >= 0 and extras[entry.stream]:
                stream = self.streams[entry.stream]
                shape = (array.shape[0], extras[entry.stream]) + array.shape[2:]
                pad = np.full(shape, entry.fill, dtype=array.dtype)
                array = np.concatenate([array, pad] if stream.side == "right" else [pad, array], axis=1)
            if garbage and entry.kind == "member":
                array = self._garbage(entry, array, extras, rng)
            arrays.append(array)
        return self.pack(arrays)

    def _garbage(self, entry, array, extras, rng):
        stream = self.streams[entry.stream]
        pad = np.zeros((stream.mask.shape[0], extras[entry.stream]), bool)
        mask = np.concatenate([stream.mask, pad] if stream.side == "right" else [pad, stream.mask], axis=1)
        real = entry.array[stream.mask]
        if real.size == 0:
            return array
        array = array.copy()
        array[~mask] = real[rng.integers(0, len(real), size=int((~mask).sum()))]
        return array

    def trimmed(self, rows, lengths):
        """Rows ``rows`` with each stream ``s`` cut to its real steps, ``lengths[s]`` (no padding left)."""
        arrays = []
        for entry in self.entries:
            array = entry.array[rows]
            if entry.stream >= 0 and not self.streams[entry.stream].fixed:
                stream, length = self.streams[entry.stream], lengths[entry.stream]
                array = array[:, :length] if stream.side == "right" else array[:, stream.time - length:]
            arrays.append(array)
        return self.pack(arrays)

    @cached_property
    def groups(self):
        """``{lengths: rows}``: the real rows grouped by their tuple of lengths (one reference run each)."""
        groups = {}
        for row in self.real_rows:
            key = tuple(int(s.lengths[row]) for s in self.streams)
            groups.setdefault(key, []).append(int(row))
        return {key: np.array(rows) for key, rows in sorted(groups.items())}
