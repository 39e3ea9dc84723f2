"""Self-checks for the exercises of chapter 19 (Packing).

    check_next_token_targets(next_token_targets)   ex-19-targets
    check_segment_mask(segment_mask)               ex-19-segment-mask

Each check calls the student's function on packed rows made by
:func:`helpers.packing.pack` and on hand-made edge cases, and compares with
:func:`helpers.packing.packed_next_token_targets` and
:func:`helpers.packing.segment_attention_mask`. Positions are 0-based.
"""

import numpy as np

from helpers.exercises import CheckResult, call_quietly, to_numpy
from helpers.packing import pack, packed_next_token_targets, segment_attention_mask


def _cases():
    """(name, ids, segment_ids): packed rows and edge cases."""
    rng = np.random.default_rng(7)
    packed = pack([rng.integers(1, 40, size=int(n)) for n in rng.integers(1, 9, size=14)], 12)
    full = np.array([[4, 5, 6, 7]])
    return [
        ("packed rows", packed.ids, packed.segment_ids),
        ("a row that is one sequence, no padding", full, np.ones_like(full)),
        ("one-token sequences", np.array([[3, 4, 5, 0]]), np.array([[1, 2, 3, 0]])),
        ("a row of padding only", np.zeros((1, 3), int), np.zeros((1, 3), int)),
    ]


def _first_difference(got, expected):
    where = np.argwhere(got != expected)
    row, step = where[0][0], where[0][1]
    return int(row), int(step)


def check_next_token_targets(next_token_targets):
    """Check ``next_token_targets(ids, segment_ids) -> (targets, weights)`` (ex-19-targets)."""
    result = CheckResult("next_token_targets")
    for name, ids, segments in _cases():
        value, problem = call_quietly(next_token_targets, ids.copy(), segments.copy())
        if problem:
            result.problems.append(f"{name}: {problem}")
            continue
        if not isinstance(value, tuple) or len(value) != 2:
            result.problems.append(f"{name}: expected a tuple (targets, weights), got {type(value).__name__}")
            continue
        targets, weights = (to_numpy(v) for v in value)
        if targets is None or weights is None:
            result.problems.append(f"{name}: targets and weights must be arrays or tensors")
            continue
        want_targets, want_weights = packed_next_token_targets(ids, segments)
        if targets.shape != ids.shape or weights.shape != ids.shape:
            result.problems.append(f"{name}: targets and weights must have the shape of ids, {ids.shape}; got "
                                   f"{targets.shape} and {weights.shape}")
            continue
        if not np.array_equal(weights.astype(np.float32), want_weights):
            row, step = _first_difference(weights.astype(np.float32), want_weights)
            crossing = step + 1 < ids.shape[1] and segments[row, step] != segments[row, step + 1]
            hint = " (the next step starts another sequence)" if crossing and segments[row, step] else ""
            result.problems.append(f"{name}: row {row}, step {step}: weight {weights[row, step]:g}, expected "
                                   f"{want_weights[row, step]:g}{hint}")
            continue
        if not np.array_equal(np.where(want_weights > 0, targets, 0), want_targets):
            row, step = _first_difference(np.where(want_weights > 0, targets, 0), want_targets)
            result.problems.append(f"{name}: row {row}, step {step}: target {targets[row, step]}, expected "
                                   f"{want_targets[row, step]} (the id of the next step)")
        elif np.any(targets[want_weights == 0] != 0):
            result.problems.append(f"{name}: steps with weight 0 must have target 0")
    return result


def check_segment_mask(segment_mask):
    """Check ``segment_mask(segment_ids, causal=False) -> (rows, T, T) bool`` (ex-19-segment-mask)."""
    result = CheckResult("segment_mask")
    for name, _, segments in _cases():
        for causal in (False, True):
            value, problem = call_quietly(segment_mask, segments.copy(), causal=causal)
            label = f"{name}, causal={causal}"
            if problem:
                result.problems.append(f"{label}: {problem}")
                continue
            got = to_numpy(value)
            if got is None:
                result.problems.append(f"{label}: expected a boolean array or tensor, got {type(value).__name__}")
                continue
            expected = to_numpy(segment_attention_mask(segments, causal=causal))
            if got.shape != expected.shape:
                result.problems.append(f"{label}: expected shape {expected.shape}, got {got.shape}")
                continue
            if got.dtype != bool:
                result.problems.append(f"{label}: expected a boolean mask, got dtype {got.dtype}")
                continue
            wrong = np.argwhere(got != expected)
            if wrong.size:
                row, query, key = (int(v) for v in wrong[0])
                why = ("a padding query or key" if segments[row, query] == 0 or segments[row, key] == 0 else
                       "different sequences" if segments[row, query] != segments[row, key] else
                       "a later key (causal)" if key > query else "the same sequence")
                result.problems.append(f"{label}: row {row}, query {query}, key {key} is {bool(got[row, query, key])}, "
                                       f"expected {bool(expected[row, query, key])} ({why})")
    return result
