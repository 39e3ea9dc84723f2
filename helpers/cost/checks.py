"""Argument checks shared by the cost helpers: lengths, positive ints, bucket boundaries.

Used in chapter 18 (The cost of padding).
"""

import numpy as np

from helpers.validation import non_negative_int, positive_int, received


def _check_lengths(lengths, name="lengths"):
    given = lengths
    lengths = np.asarray(lengths)
    if lengths.ndim != 1:
        raise ValueError(f"`{name}` must be a 1-D sequence of ints. {received(name, given)} with shape {lengths.shape}")
    if lengths.size and not np.issubdtype(lengths.dtype, np.integer):
        raise TypeError(f"`{name}` must hold integers. {received(name, given)} with dtype {lengths.dtype}")
    if lengths.size and lengths.min() < 1:
        raise ValueError(f"`{name}` must all be >= 1 (a sequence has at least one token); "
                         f"the smallest is {lengths.min()}. "
                         f"{received(name, given)}")
    return lengths.astype(np.int64)


def _check_positive_int(value, name):
    return positive_int(value, name)


def _check_seed(value, name="seed"):
    return non_negative_int(value, name)


def _check_boundaries(boundaries):
    given = boundaries
    boundaries = np.asarray(boundaries)
    if boundaries.ndim != 1 or boundaries.size == 0:
        raise ValueError(f"`boundaries` must be a non-empty 1-D list of ints. {received('boundaries', given)} "
                         f"with shape {boundaries.shape}")
    if not np.issubdtype(boundaries.dtype, np.integer):
        raise TypeError(f"`boundaries` must hold integers. {received('boundaries', given)} "
                        f"with dtype {boundaries.dtype}")
    if np.any(np.diff(boundaries) <= 0):
        raise ValueError(f"`boundaries` must be strictly increasing. {received('boundaries', boundaries.tolist())}")
    return boundaries
