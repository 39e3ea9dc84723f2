"""Packing whole sequences into rows: the plan, the arrays, the way back, next-token targets.

Taught in chapter 19 (Packing); the benchmark of chapter 18 (``benchmarks/padding_cost``)
times it against the ideal.

A packed row holds several sequences one after the other; three int32 arrays of shape
``(rows, row_length)`` describe it:

- ``ids``: the tokens, 0 for the padding left at the end of a row;
- ``segment_ids``: 1, 2, ... for the first, second, ... sequence of the row, 0 for padding;
- ``positions``: 0, 1, ... restarting at every sequence (0 for padding).
"""

import numpy as np

from helpers.validation import non_negative_int, positive_int, received


class Packed(tuple):
    """``(ids, segment_ids, positions)``, and which sequence went where.

    A tuple of the three arrays (so ``ids, segment_ids, positions = pack(...)`` works),
    with one more attribute, ``sequence_index``: ``(rows, max_segments)`` int32, the
    index in the input of the sequence that is segment ``k + 1`` of row ``r``, -1 where
    the row has fewer segments. :func:`unpack` uses it to give the sequences back in
    their original order.
    """

    def __new__(cls, ids, segment_ids, positions, sequence_index):
        packed = super().__new__(cls, (ids, segment_ids, positions))
        packed.sequence_index = sequence_index
        return packed

    @property
    def ids(self):
        return self[0]

    @property
    def segment_ids(self):
        return self[1]

    @property
    def positions(self):
        return self[2]


def _lengths_of(sequences, owner):
    if isinstance(sequences, (str, bytes)) or not hasattr(sequences, "__len__"):
        raise TypeError(f"{owner}: `sequences` must be a list of 1-D integer sequences. "
                        f"{received('sequences', sequences)}")
    lengths = []
    for i, s in enumerate(sequences):
        array = np.asarray(s)
        if array.ndim != 1 or (array.size and not np.issubdtype(array.dtype, np.integer)):
            raise ValueError(f"{owner}: sequence {i} must be a 1-D sequence of integer ids; got shape "
                             f"{array.shape}, dtype {array.dtype}. {received(f'sequences[{i}]', s)}")
        if array.size == 0:
            raise ValueError(f"{owner}: sequence {i} is empty; every sequence needs at least one token. "
                             f"{received(f'sequences[{i}]', s)}")
        if array.min() < 1:
            raise ValueError(f"{owner}: sequence {i} contains id {int(array.min())}; ids must be >= 1 "
                             f"(0 is the padding id). {received(f'sequences[{i}]', s)}")
        lengths.append(array.size)
    return np.asarray(lengths, dtype=np.int64)


def plan_rows(lengths, row_lengths, *, shuffle=False, seed=0):
    """First-fit decreasing: which sequences share a row, with rows of one or several lengths.

    Sequences are taken longest first (equal lengths in input order, or in a random
    order with ``shuffle``); each goes into the first open row with room for it, else
    opens a new row of the smallest length in ``row_lengths`` that holds it. Sequences
    are never split. With ``shuffle`` the rows come out in a random order.

    Args:
        lengths: 1-D ints >= 1, the sequence lengths.
        row_lengths: int, or a list of ints: the lengths a row may have.
        shuffle: bool, random tie order and row order (from ``seed``).
        seed: int >= 0.

    Returns:
        A list of ``(row_length, [sequence indices in row order])``.

    Raises:
        ValueError: a sequence is longer than the longest row; the message names it.

    Example:
        >>> plan_rows([3, 5, 2, 4], 8)
        [(8, [1, 0]), (8, [3, 2])]
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    capacities = sorted({positive_int(r, "row_length", owner="pack") for r in np.atleast_1d(row_lengths).tolist()})
    seed = non_negative_int(seed, "seed", owner="pack")
    too_long = np.flatnonzero(lengths > capacities[-1])
    if too_long.size:
        i = int(too_long[0])
        raise ValueError(f"pack: sequence {i} has {int(lengths[i])} tokens, more than row_length={capacities[-1]}; "
                         f"packing never splits a sequence: raise `row_length` or truncate it first "
                         f"({too_long.size} sequence(s) too long). {received('row_length', capacities[-1])}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(lengths.size) if shuffle else np.arange(lengths.size)
    order = order[np.argsort(-lengths[order], kind="stable")]
    room = np.empty(0, dtype=np.int64)
    rows, sizes = [], []
    for i in order.tolist():
        fits = np.flatnonzero(room >= lengths[i])
        if fits.size:
            row = int(fits[0])
        else:
            size = next(c for c in capacities if c >= lengths[i])
            room = np.append(room, size)
            rows.append([])
            sizes.append(size)
            row = len(rows) - 1
        rows[row].append(i)
        room[row] -= lengths[i]
    plan = list(zip(sizes, rows))
    if shuffle:
        plan = [plan[j] for j in rng.permutation(len(plan))]
    return plan


def rows_from_plan(sequences, plan, row_length=None):
    """The :class:`Packed` arrays of a plan from :func:`plan_rows` (all rows ``row_length`` wide)."""
    width = max(size for size, _ in plan) if row_length is None else row_length
    ids = np.zeros((len(plan), width), np.int32)
    segments = np.zeros_like(ids)
    positions = np.zeros_like(ids)
    index = np.full((len(plan), max((len(r) for _, r in plan), default=0)), -1, np.int32)
    for r, (_, members) in enumerate(plan):
        start = 0
        for k, i in enumerate(members):
            tokens = np.asarray(sequences[i])
            end = start + tokens.size
            ids[r, start:end] = tokens
            segments[r, start:end] = k + 1
            positions[r, start:end] = np.arange(tokens.size)
            index[r, k] = i
            start = end
    return Packed(ids, segments, positions, index)


def pack(sequences, row_length, *, shuffle=False, seed=0):
    """Pack whole sequences into rows of ``row_length`` tokens (first-fit decreasing).

    Args:
        sequences: a list of 1-D integer sequences, ids >= 1 (0 is padding).
        row_length: int, the tokens per row; at least the longest sequence.
        shuffle: bool, draw the order of equal-length sequences and of the rows from
            ``seed`` (a new seed per epoch gives a new order); False keeps the
            deterministic first-fit-decreasing order.
        seed: int >= 0.

    Returns:
        A :class:`Packed`: ``(ids, segment_ids, positions)``, each ``(rows, row_length)``
        int32, plus ``sequence_index``.

    Raises:
        ValueError: a sequence is longer than ``row_length`` (its index and length are
            named), empty, or holds id 0; ``row_length`` is not a positive int.

    Example:
        >>> ids, segment_ids, positions = pack([[5, 6, 7], [8, 9], [3, 4, 5, 6]], row_length=6)
        >>> ids.tolist()
        [[3, 4, 5, 6, 8, 9], [5, 6, 7, 0, 0, 0]]
        >>> segment_ids.tolist()
        [[1, 1, 1, 1, 2, 2], [1, 1, 1, 0, 0, 0]]
        >>> positions.tolist()
        [[0, 1, 2, 3, 0, 1], [0, 1, 2, 0, 0, 0]]
    """
    if isinstance(row_length, (list, tuple, np.ndarray)):
        raise TypeError(f"pack: `row_length` must be a positive int. {received('row_length', row_length)}")
    row_length = positive_int(row_length, "row_length", owner="pack")
    lengths = _lengths_of(sequences, "pack")
    if lengths.size == 0:
        raise ValueError(f"pack: `sequences` must hold at least one sequence. {received('sequences', sequences)}")
    return rows_from_plan(sequences, plan_rows(lengths, row_length, shuffle=shuffle, seed=seed), row_length)


def _segments_array(segment_ids, ids_shape=None, owner="unpack"):
    segments = np.asarray(segment_ids)
    if segments.ndim != 2 or not np.issubdtype(segments.dtype, np.integer):
        raise ValueError(f"{owner}: `segment_ids` must be a 2-D integer array (rows, row_length). "
                         f"{received('segment_ids', segment_ids)}")
    if ids_shape is not None and segments.shape != ids_shape:
        raise ValueError(f"{owner}: `segment_ids` must have the shape of `ids`, {ids_shape}. "
                         f"Received: segment_ids of shape {segments.shape}")
    return segments


def unpack(ids, segment_ids, sequence_index=None):
    """The sequences of packed rows, back as a list of 1-D int32 arrays.

    Args:
        ids: ``(rows, row_length)`` ints (NumPy or a backend tensor).
        segment_ids: ``(rows, row_length)`` ints, 0 for padding.
        sequence_index: optional ``(rows, max_segments)`` from :func:`pack`
            (``Packed.sequence_index``): return the sequences in their original order.
            Without it, in row order then segment order.

    Example:
        >>> packed = pack([[5, 6, 7], [8, 9], [3, 4, 5, 6]], row_length=6)
        >>> [s.tolist() for s in unpack(*packed[:2], packed.sequence_index)]
        [[5, 6, 7], [8, 9], [3, 4, 5, 6]]
    """
    from helpers.validation import to_array

    ids = to_array(ids, "ids", owner="unpack")
    segments = _segments_array(to_array(segment_ids, "segment_ids", owner="unpack"), ids.shape)
    found = []
    for r in range(ids.shape[0]):
        for k in np.unique(segments[r][segments[r] > 0]).tolist():
            found.append(((r, k), ids[r][segments[r] == k].astype(np.int32)))
    if sequence_index is None:
        return [tokens for _, tokens in found]
    index = np.asarray(sequence_index)
    out = [None] * int((index >= 0).sum())
    for (r, k), tokens in found:
        out[int(index[r, k - 1])] = tokens
    return out


def packed_next_token_targets(ids, segment_ids):
    """Next-token targets of packed rows that never cross from one sequence to the next.

    Step ``t``'s target is ``ids[t + 1]`` when step ``t + 1`` belongs to the same
    sequence; the last token of every sequence, and padding, get target 0 and weight 0.

    Args:
        ids, segment_ids: ``(rows, row_length)`` ints (NumPy).

    Returns:
        ``(targets, weights)``: int32 and float32 ``(rows, row_length)``. A loss that
        averages over real targets is ``sum(loss * weights) / sum(weights)``.

    Example:
        >>> targets, weights = packed_next_token_targets(np.array([[4, 5, 6, 7, 8]]), np.array([[1, 1, 1, 2, 2]]))
        >>> targets.tolist(), weights.tolist()
        ([[5, 6, 0, 8, 0]], [[1.0, 1.0, 0.0, 1.0, 0.0]])
    """
    ids = np.asarray(ids)
    segments = _segments_array(segment_ids, ids.shape, owner="packed_next_token_targets")
    same = np.zeros(segments.shape, bool)
    same[:, :-1] = (segments[:, 1:] == segments[:, :-1]) & (segments[:, :-1] > 0)
    targets = np.zeros(ids.shape, np.int32)
    targets[:, :-1] = ids[:, 1:]
    return np.where(same, targets, 0).astype(np.int32), same.astype(np.float32)
