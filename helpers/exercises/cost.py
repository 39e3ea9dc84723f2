"""Self-checks for the exercises of the chapter "The cost of padding".

Used by the exercises of chapter 18 (The cost of padding).

- :func:`check_padding_fraction`: the fraction of processed timesteps that are padding;
- :func:`check_assign_buckets`: which length bucket each sequence goes to;
- :func:`check_bucket_batches`: grouping sequences into batches bucket by bucket.

Each check calls the student's function on small test cases and returns a
:class:`helpers.exercises.CheckResult` with specific feedback.
"""

import numpy as np

from helpers.exercises import CheckResult, call_student, to_numpy

# The reference answers are written out here, by hand, so that a check never depends
# on the code it is checking (helpers.cost holds the book's own versions).


def _batch(rows):
    width = max(len(r) for r in rows)
    return np.array([list(r) + [0] * (width - len(r)) for r in rows], dtype=np.int32)


_FRACTION_CASES = [
    ("one batch", [_batch([[5], [6, 7, 8]])], 2 / 6),
    ("two batches of different sizes", [_batch([[5], [6, 7, 8]]), _batch([[9, 9]] * 4)], 2 / 14),
    ("no padding at all", [_batch([[1, 2], [3, 4]])], 0.0),
    ("three batches", [_batch([[4]]), _batch([[1, 2, 3, 4, 5], [1]]), _batch([[7, 7], [7]])], 5 / 15),
]


def check_padding_fraction(padding_fraction):
    """Check ``padding_fraction(batches) -> float`` (share of processed cells that are 0)."""
    result = CheckResult("padding_fraction")
    for case, batches, expected in _FRACTION_CASES:
        copies = [b.copy() for b in batches]
        got, problem = call_student(padding_fraction, copies)
        if problem:
            result.problems.append(f"{case}: {problem}")
            continue
        if any(not np.array_equal(a, b) for a, b in zip(copies, batches)):
            result.problems.append(f"{case}: the function changed the batches it was given; only count")
        value = to_numpy(got)
        if value is None or value.shape != () or value.dtype.kind not in "fiu":
            result.problems.append(f"{case}: expected one number (a float), got {type(got).__name__}")
            continue
        value = float(value)
        if np.isclose(value, expected, atol=1e-6):
            continue
        per_batch = np.mean([np.mean(b == 0) for b in batches])
        real = 1 - expected
        if len(batches) > 1 and np.isclose(value, per_batch, atol=1e-6):
            result.problems.append(
                f"{case}: got {value:.3f}, the mean of the per-batch fractions; expected {expected:.3f}. "
                "A bigger batch processes more timesteps: count padding cells and all cells over "
                "every batch together, then divide once")
        elif np.isclose(value, real, atol=1e-6):
            result.problems.append(
                f"{case}: got {value:.3f}, the fraction of REAL timesteps; expected {expected:.3f}, "
                "the fraction that is padding (id 0)")
        elif np.isclose(value, 100 * expected, atol=1e-4):
            result.problems.append(f"{case}: got {value:.3f}, a percentage; return a fraction between 0 and 1")
        else:
            result.problems.append(f"{case}: got {value:.3f}, expected {expected:.3f}")
    return result


_BUCKET_CASES = [
    ("boundaries [8, 16, 32]", [3, 8, 9, 15, 16, 31, 32, 40], [8, 16, 32], [0, 1, 1, 1, 2, 2, 3, 3]),
    ("one boundary [10]", [10, 9, 1, 11], [10], [1, 0, 0, 1]),
    ("geometric boundaries", [5, 6, 12, 13, 100], [6, 9, 13, 20], [0, 1, 2, 3, 4]),
]


def check_assign_buckets(assign_buckets):
    """Check ``assign_buckets(lengths, boundaries) -> bucket index per length``."""
    result = CheckResult("assign_buckets")
    for case, lengths, boundaries, expected in _BUCKET_CASES:
        got, problem = call_student(assign_buckets, list(lengths), list(boundaries))
        if problem:
            result.problems.append(f"{case}: {problem}")
            continue
        got = to_numpy(got)
        if got is None or got.shape != (len(lengths),):
            shape = None if got is None else got.shape
            result.problems.append(f"{case}: expected one bucket index per length, shape ({len(lengths)},); "
                                   f"got shape {shape}")
            continue
        if got.dtype.kind not in "iu":
            result.problems.append(f"{case}: bucket indices must be integers, got dtype {got.dtype}")
            continue
        for position, (length, want, have) in enumerate(zip(lengths, expected, got.tolist())):
            if want == have:
                continue
            if length in boundaries:
                why = ("a length equal to a boundary starts the next bucket "
                       "(bucket i holds boundaries[i-1] <= length < boundaries[i])")
            elif length >= boundaries[-1]:
                why = f"lengths >= the last boundary ({boundaries[-1]}) go to the last bucket, {len(boundaries)}"
            elif length < boundaries[0]:
                why = f"lengths below the first boundary ({boundaries[0]}) go to bucket 0"
            else:
                why = f"it lies between boundaries {boundaries[want - 1]} and {boundaries[want]}"
            result.problems.append(f"{case}: length {length} (position {position}) should go to bucket {want}, "
                                   f"got {have}: {why}")
    return result


_BATCH_CASES = [
    ("two buckets, batch size 2", [3, 30, 4, 31, 5], [10], 2, [[0, 2], [1, 3], [4]]),
    ("a full batch closes at once", [1, 1, 1, 50, 1], [10], 3, [[0, 1, 2], [3], [4]]),
    ("three buckets, batch size 2", [12, 2, 40, 13, 3, 41, 14], [10, 20], 2, [[0, 3], [1, 4], [2, 5], [6]]),
]


def check_bucket_batches(bucket_batches):
    """Check ``bucket_batches(lengths, boundaries, batch_size) -> list of index batches``.

    The order of the batches does not matter; inside a batch, indices are in corpus order.
    """
    result = CheckResult("bucket_batches")
    for case, lengths, boundaries, batch_size, expected in _BATCH_CASES:
        got, problem = call_student(bucket_batches, list(lengths), list(boundaries), batch_size)
        if problem:
            result.problems.append(f"{case}: {problem}")
            continue
        try:
            got = [[int(i) for i in batch] for batch in got]
        except (TypeError, ValueError):
            result.problems.append(f"{case}: expected a list of batches, each a list of int indices; "
                                   f"got {type(got).__name__}")
            continue
        seen = sorted(i for batch in got for i in batch)
        if seen != list(range(len(lengths))):
            missing = sorted(set(range(len(lengths))) - set(seen))
            extra = sorted({i for i in seen if seen.count(i) > 1} | {i for i in seen if not 0 <= i < len(lengths)})
            what = []
            if missing:
                what.append(f"indices {missing} are in no batch")
            if extra:
                what.append(f"indices {extra} appear twice or do not exist")
            result.problems.append(f"{case}: every sequence must be in exactly one batch: " + "; ".join(what))
            continue
        bucket = [sum(length >= b for b in boundaries) for length in lengths]
        mixed = [b for b in got if len({bucket[i] for i in b}) > 1]
        if mixed:
            b = mixed[0]
            result.problems.append(f"{case}: batch {b} mixes lengths {[lengths[i] for i in b]} from buckets "
                                   f"{sorted({bucket[i] for i in b})}; a batch holds one bucket only")
            continue
        big = [b for b in got if len(b) > batch_size]
        if big:
            result.problems.append(f"{case}: batch {big[0]} holds {len(big[0])} sequences, more than "
                                   f"batch_size={batch_size}")
            continue
        unordered = [b for b in got if b != sorted(b)]
        if unordered:
            result.problems.append(f"{case}: batch {unordered[0]} is not in corpus order; keep the indices "
                                   "in the order the sequences arrive")
            continue
        if sorted(map(tuple, got)) != sorted(map(tuple, expected)):
            result.problems.append(
                f"{case}: got batches {got}, expected {expected} (in any order). Read the sequences in "
                "order; a bucket that reaches batch_size sequences is emitted at once and starts again "
                "empty; what is left in each bucket at the end becomes a last, smaller batch")
    return result
