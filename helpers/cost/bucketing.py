"""NumPy maths of the bucketing strategy and of padding: boundaries, buckets, padding fractions.

Taught in chapter 18 (The cost of padding).
"""

import numpy as np

from helpers.cost.checks import _check_boundaries, _check_lengths, _check_positive_int
from helpers.validation import received

#: The benchmark's default bucket boundaries: ratio 1.15 between neighbours, 8 .. 641.
#: A length ``L`` goes to bucket ``i`` when ``boundaries[i-1] <= L < boundaries[i]``.
DEFAULT_BOUNDARY_RATIO = 1.15


def geometric_boundaries(min_len, max_len, ratio=DEFAULT_BOUNDARY_RATIO):
    """Bucket boundaries that grow by ``ratio``, covering lengths ``min_len .. max_len``.

    Boundaries grow geometrically so that every bucket spans about the same *relative*
    range of lengths: the padding inside a bucket stays below ``1 - 1/ratio``.

    Args:
        min_len: int, the first boundary (shorter sequences share bucket 0).
        max_len: int, the longest length; the last boundary is ``max_len + 1`` so that
            every length falls below it.
        ratio: float > 1, the growth from one boundary to the next.

    Returns:
        A list of strictly increasing ints.

    Example:
        >>> geometric_boundaries(8, 20, ratio=1.5)
        [8, 12, 18, 21]
    """
    min_len = _check_positive_int(min_len, "min_len")
    max_len = _check_positive_int(max_len, "max_len")
    if not ratio > 1:
        raise ValueError(f"`ratio` must be > 1 for the boundaries to grow. {received('ratio', ratio)}")
    if min_len > max_len:
        raise ValueError(f"`min_len` must not exceed max_len={max_len}. {received('min_len', min_len)}")
    boundaries = [min_len]
    while boundaries[-1] <= max_len:
        boundaries.append(max(boundaries[-1] + 1, int(round(boundaries[-1] * ratio))))
    boundaries[-1] = min(boundaries[-1], max_len + 1)
    return boundaries


def bucket_index(lengths, boundaries):
    """The bucket of each length, with the rule of ``bucket_by_sequence_length``.

    Bucket 0 holds lengths below ``boundaries[0]``; bucket ``i`` holds
    ``boundaries[i-1] <= length < boundaries[i]``; the last bucket, ``len(boundaries)``,
    holds lengths ``>= boundaries[-1]``. A length equal to a boundary starts the next bucket.

    Args:
        lengths: 1-D ints, the sequence lengths.
        boundaries: 1-D strictly increasing ints.

    Returns:
        A 1-D int64 array of bucket indices, ``0 .. len(boundaries)``.

    Example:
        >>> bucket_index([3, 8, 9, 16, 40], [8, 16, 32])
        array([0, 1, 1, 2, 3])
    """
    lengths = _check_lengths(lengths)
    boundaries = _check_boundaries(boundaries)
    return np.searchsorted(boundaries, lengths, side="right").astype(np.int64)


def bucket_batches(lengths, boundaries, batch_size):
    """Group sequence indices into batches by bucket, as ``bucket_by_sequence_length`` does.

    Sequences are read in order; each goes to its bucket (see :func:`bucket_index`);
    a bucket that holds ``batch_size`` sequences is emitted as a batch and starts
    again empty. At the end, every non-empty bucket is emitted as a last, smaller batch.

    Args:
        lengths: 1-D ints, the sequence lengths, in corpus order.
        boundaries: 1-D strictly increasing ints.
        batch_size: int, the size of a full batch.

    Returns:
        A list of batches, each a list of indices into ``lengths``.

    Example:
        >>> bucket_batches([3, 30, 4, 31, 5], [10], batch_size=2)
        [[0, 2], [1, 3], [4]]
    """
    batch_size = _check_positive_int(batch_size, "batch_size")
    buckets = bucket_index(lengths, boundaries)
    open_batches, batches = {}, []
    for i, b in enumerate(buckets.tolist()):
        open_batches.setdefault(b, []).append(i)
        if len(open_batches[b]) == batch_size:
            batches.append(open_batches.pop(b))
    batches.extend(open_batches[b] for b in sorted(open_batches))
    return batches


def padding_fraction(batches):
    """The fraction of processed timesteps that are padding, over a whole epoch.

    Every cell of every padded batch is a processed timestep; the cells that hold
    id 0 are padding. The fraction is taken over all cells together, so a big
    batch weighs more than a small one.

    Args:
        batches: a list of 2-D integer arrays (batch, time), 0 = padding.

    Returns:
        float in ``[0, 1)``.

    Example:
        >>> padding_fraction([np.array([[5, 0, 0], [6, 7, 0]]), np.array([[8]])])
        0.42857142857142855
    """
    total, pads = 0, 0
    for i, batch in enumerate(batches):
        batch = np.asarray(batch)
        if batch.ndim != 2:
            raise ValueError(f"`batches[{i}]` must be 2-D (batch, time). {received(f'batches[{i}]', batch)} "
                             f"with shape {batch.shape}")
        total += batch.size
        pads += int(np.count_nonzero(batch == 0))
    if total == 0:
        raise ValueError(f"`batches` must hold at least one non-empty batch for padding_fraction. "
                         f"{received('batches', batches)}")
    return pads / total


def batch_stats(batches):
    """Counts that describe one epoch of padded batches.

    Args:
        batches: a list of 2-D integer arrays (batch, time), 0 = padding.

    Returns:
        dict with ``batches``, ``sequences``, ``real_tokens``, ``processed_timesteps``,
        ``padding_fraction``, ``distinct_widths`` (how many different time lengths the
        model sees), ``distinct_shapes`` (how many different ``(batch, time)`` shapes),
        ``max_width``, ``max_batch_cells`` (the largest ``batch x width``: what bounds a
        batch's activations), ``max_score_cells`` (the largest ``batch x width x width``:
        what bounds self-attention's score matrices) and ``sequential_steps`` (the sum of
        the batch widths: how many steps a recurrent layer's loop runs in the epoch).
    """
    widths = [int(np.shape(b)[1]) for b in batches]
    processed = int(sum(int(np.size(b)) for b in batches))
    fraction = padding_fraction(batches)
    return {
        "batches": len(batches),
        "sequences": int(sum(int(np.shape(b)[0]) for b in batches)),
        "real_tokens": int(round(processed * (1 - fraction))),
        "processed_timesteps": processed,
        "padding_fraction": fraction,
        "distinct_widths": len(set(widths)),
        "distinct_shapes": len({tuple(np.shape(b)) for b in batches}),
        "max_width": max(widths),
        "max_batch_cells": max(int(np.size(b)) for b in batches),
        "max_score_cells": max(int(np.size(b)) * int(np.shape(b)[1]) for b in batches),
        "sequential_steps": int(sum(widths)),
    }
