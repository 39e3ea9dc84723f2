"""Self-checks for the exercises of chapter 20 (Masks at scale).

- :func:`check_accumulation_weights`: sample weights that make gradient accumulation
  give the token-mean update, for a model whose output carries no mask;
- :func:`check_epoch_token_mean`: the token mean of an epoch from Keras's batch losses.

Each check calls the student's function on small cases and returns a
:class:`helpers.exercises.CheckResult` with specific feedback.
"""

import numpy as np

from helpers.exercises import CheckResult, call_quietly, to_numpy

# The reference answers are written out here by hand, so that a check never depends
# on the code it checks (helpers.scale holds the book's own version).


def _mask(lengths, width):
    return np.arange(width)[None, :] < np.asarray(lengths)[:, None]


_WEIGHT_CASES = [
    ("two micro-batches, 6 and 1 tokens", [_mask([6], 6), _mask([1], 6)]),
    ("shapes differ", [_mask([6, 2], 6), _mask([1], 4)]),
    ("three micro-batches, one all padding", [_mask([2, 1], 3), _mask([0, 0], 5), _mask([4], 4)]),
    ("equal token counts", [_mask([3], 5), _mask([2, 1], 5)]),
]


def _reference_weights(masks):
    total = sum(int(m.sum()) for m in masks)
    return [m * (len(masks) * m.size / total) for m in masks]


def _diagnose_weights(masks, got):
    """Name the mistake when ``got`` matches a known wrong formula, else None."""
    k, total = len(masks), sum(int(m.sum()) for m in masks)
    wrong = {
        "the mask itself (1 at real tokens): each micro-batch's loss still divides by its own "
        "batch x time cells, and the optimizer averages the k gradients": [m * 1.0 for m in masks],
        "k times too small: the optimizer divides the summed gradients by k "
        "(gradient_accumulation_steps), so multiply by k": [m * (m.size / total) for m in masks],
        "the formula for a model whose OUTPUT CARRIES the mask (Keras then divides by the "
        "micro-batch's own token count); here it carries none, so use batch x time cells": [
            m * (k * m.sum() / total) for m in masks],
        "each micro-batch's own token mean (batch x time / its tokens): that is what Keras already does; "
        "use the total token count of all micro-batches": [
            m * (m.size / max(int(m.sum()), 1)) for m in masks],
    }
    for why, weights in wrong.items():
        if all(np.allclose(g, w, atol=1e-5) for g, w in zip(got, weights)):
            return why
    return None


def check_accumulation_weights(accumulation_weights):
    """Check ``accumulation_weights(masks) -> list of float weight arrays`` (output without a mask)."""
    result = CheckResult("accumulation_weights")
    for case, masks in _WEIGHT_CASES:
        copies = [m.copy() for m in masks]
        got, problem = call_quietly(accumulation_weights, copies)
        if problem:
            result.problems.append(f"{case}: {problem}")
            continue
        if not isinstance(got, (list, tuple)) or len(got) != len(masks):
            result.problems.append(f"{case}: expected a list of {len(masks)} arrays, one per micro-batch; got "
                                   f"{type(got).__name__}")
            continue
        arrays = [to_numpy(g) for g in got]
        shapes = [None if a is None else a.shape for a in arrays]
        if shapes != [m.shape for m in masks]:
            result.problems.append(f"{case}: each weight array must have its mask's shape {[m.shape for m in masks]}; "
                                   f"got {shapes}")
            continue
        arrays = [a.astype("float64") for a in arrays]
        expected = _reference_weights(masks)
        if all(np.allclose(a, e, atol=1e-5) for a, e in zip(arrays, expected)):
            continue
        if any(np.any(a[~m] != 0) for a, m in zip(arrays, masks)):
            result.problems.append(f"{case}: padding (mask False) must get weight 0")
            continue
        why = _diagnose_weights(masks, arrays)
        first = next(i for i, (a, e) in enumerate(zip(arrays, expected)) if not np.allclose(a, e, atol=1e-5))
        detail = f"micro-batch {first}: got {np.round(arrays[first], 3).tolist()}, expected " \
                 f"{np.round(expected[first], 3).tolist()}"
        result.problems.append(f"{case}: {detail}" + (f". These are {why}" if why else ""))
    return result


_EPOCH_CASES = [
    ("two batches, 6 and 1 tokens", [2.0, 9.0], [6, 1], 3.0),
    ("three batches", [1.0, 2.0, 4.0], [2, 4, 2], 2.25),
    ("a batch without a real token (its loss is 0)", [3.0, 0.0, 1.0], [3, 0, 1], 2.5),
    ("one batch", [0.7], [5], 0.7),
]


def check_epoch_token_mean(epoch_token_mean):
    """Check ``epoch_token_mean(batch_losses, token_counts) -> float``."""
    result = CheckResult("epoch_token_mean")
    for case, losses, counts, expected in _EPOCH_CASES:
        got, problem = call_quietly(epoch_token_mean, list(losses), list(counts))
        if problem:
            result.problems.append(f"{case}: {problem}")
            continue
        value = to_numpy(got)
        if value is None or value.shape != () or value.dtype.kind not in "fiu":
            result.problems.append(f"{case}: expected one number (a float), got {type(got).__name__}")
            continue
        value = float(value)
        if np.isclose(value, expected, atol=1e-6):
            continue
        if np.isclose(value, np.mean(losses), atol=1e-6):
            result.problems.append(f"{case}: got {value:.3f}, the mean of the batch means (what Keras reports); "
                                   f"expected {expected:.3f}. Weight each batch's mean by its number of real tokens")
        elif np.isclose(value, sum(losses), atol=1e-6):
            result.problems.append(f"{case}: got {value:.3f}, the sum of the batch losses; each is already a mean: "
                                   "multiply by its token count to get the batch's sum first")
        else:
            result.problems.append(f"{case}: got {value:.3f}, expected {expected:.3f}")
    return result
