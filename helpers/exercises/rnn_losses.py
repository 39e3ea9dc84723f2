"""Self-checks for the exercises of chapters 8 (masks in RNNs) and 9 (masks in losses).

| check                    | exercise                                              |
|--------------------------|-------------------------------------------------------|
| check_source_steps       | ex-08-source-steps: which step's output each step shows |
| check_final_state        | ex-08-final-state: the final state from a sequence    |
| check_masked_mse         | ex-09-masked-mse: the masked mean squared error       |
| check_loss_and_metric    | ex-09-loss-and-metric: Keras's loss and weighted metric with sample weights |

Each check runs the student's function on several cases and returns a
:class:`helpers.exercises.CheckResult`. Positions are 0-based.
"""

import numpy as np

from helpers.exercises import CheckResult, call_student, compare_arrays, to_numpy

# --------------------------------------------------------------------------------------
# Chapter 8
# --------------------------------------------------------------------------------------

#: Masks of the source-steps exercise: leading, inner and trailing masked steps,
#: a row with nothing masked and a row masked everywhere.
SOURCE_STEP_CASES = {
    "post-padded": [[True, True, True, False, False], [True, False, False, False, False]],
    "pre-padded": [[False, False, True, True, True], [False, False, False, False, True]],
    "holes": [[True, False, True, False, False], [False, True, False, False, True]],
    "no padding, and nothing kept": [[True, True, True, True, True], [False, False, False, False, False]],
}


def reference_source_steps(mask):
    """For each step, the kept step whose output a masked RNN shows there; -1 for zeros."""
    mask = np.asarray(mask, dtype=bool)
    source = np.full(mask.shape, -1, dtype=int)
    for row in range(mask.shape[0]):
        last = -1
        for step in range(mask.shape[1]):
            if mask[row, step]:
                last = step
            source[row, step] = last
    return source


def check_source_steps(fn):
    """Check ``fn(mask) -> int array``: the step whose output appears at each step, or -1."""
    result = CheckResult("source_steps")
    for case, mask in SOURCE_STEP_CASES.items():
        mask = np.array(mask, dtype=bool)
        got, problem = call_student(fn, mask.copy())
        if problem:
            result.problems.append(f"{case}: {problem}")
            break
        expected = reference_source_steps(mask)
        got_np = to_numpy(got)
        if got_np is None or got_np.shape != expected.shape:
            shape = None if got_np is None else got_np.shape
            result.problems.append(f"{case}: expected an int array of shape {expected.shape}, got shape {shape}")
            continue
        for row, step in zip(*np.nonzero(got_np != expected)):
            want = int(expected[row, step])
            if want == -1:
                why = "no step is kept up to here, so the output is the zero initial output"
            elif want == step:
                why = "the step is kept, so it shows its own new output"
            else:
                why = f"the step is masked, so it repeats the output of the last kept step, {want}"
            result.problems.append(
                f"{case}: row {row}, step {step}: expected {want} ({why}), got {got_np[row, step].item()!r}"
            )
    return result


def _final_state_cases():
    """(name, outputs, mask, expected final state) cases; outputs are zero at masked steps."""
    rng = np.random.default_rng(7)
    cases = []
    masks = {
        "post-padded": [[True, True, True, False], [True, False, False, False]],
        "pre-padded": [[False, True, True, True], [False, False, False, True]],
        "holes and a row masked everywhere": [[True, False, True, False], [False, False, False, False]],
    }
    for name, mask in masks.items():
        mask = np.array(mask, dtype=bool)
        outputs = rng.normal(size=mask.shape + (3,)).round(3).astype("float32")
        outputs[~mask] = 0.0  # as an RNN built with zero_output_for_mask=True returns them
        expected = np.zeros((mask.shape[0], 3), dtype="float32")
        for row in range(mask.shape[0]):
            kept = np.flatnonzero(mask[row])
            if kept.size:
                expected[row] = outputs[row, kept[-1]]
        cases.append((name, outputs, mask, expected))
    return cases


def _real_lstm_case():
    """A real LSTM(zero_output_for_mask=True): its returned state h is the expected answer."""
    import keras

    ids = np.array([[3, 1, 4, 0, 0], [0, 2, 0, 1, 0], [0, 0, 0, 0, 0]])
    embedding = keras.layers.Embedding(
        5, 4, mask_zero=True, embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0, seed=3)
    )
    lstm = keras.layers.LSTM(
        3,
        return_sequences=True,
        return_state=True,
        zero_output_for_mask=True,
        use_cudnn=False,
        kernel_initializer=keras.initializers.GlorotUniform(seed=4),
        recurrent_initializer=keras.initializers.Orthogonal(seed=5),
    )
    mask = ids != 0
    outputs, h, _ = lstm(embedding(ids), mask=mask)
    return ("a real LSTM (zero_output_for_mask=True)", keras.ops.convert_to_numpy(outputs), mask,
            keras.ops.convert_to_numpy(h))


def check_final_state(fn, include_real_lstm=True):
    """Check ``fn(outputs, mask) -> (batch, units)``: the output at each row's last kept step.

    Args:
        fn: the student's function.
        include_real_lstm: bool, also compare with the state an LSTM returns (needs Keras).
    """
    result = CheckResult("final_state")
    cases = _final_state_cases()
    if include_real_lstm:
        cases.append(_real_lstm_case())
    for name, outputs, mask, expected in cases:
        got, problem = call_student(fn, outputs.copy(), mask.copy())
        if problem:
            result.problems.append(f"{name}: {problem}")
            break
        got_np = to_numpy(got)
        if got_np is not None and got_np.shape == expected.shape and got_np.dtype.kind in "fiu":
            last = outputs[:, -1]
            for row in range(mask.shape[0]):
                if np.allclose(got_np[row], expected[row], atol=1e-5):
                    continue
                if not mask[row].any():
                    result.problems.append(
                        f"{name}: row {row} is masked everywhere; its final state is the zero initial "
                        f"state, got {np.round(got_np[row], 3).tolist()}"
                    )
                elif not mask[row, -1] and np.allclose(got_np[row], last[row]):
                    result.problems.append(
                        f"{name}: row {row}: you returned the output of the last step, which is masked "
                        f"(zeros here); take the output of the last kept step, "
                        f"step {np.flatnonzero(mask[row])[-1]}"
                    )
                else:
                    result.problems.append(
                        f"{name}: row {row}: expected the output of step {np.flatnonzero(mask[row])[-1]} "
                        f"(the last kept step), {np.round(expected[row], 3).tolist()}, "
                        f"got {np.round(got_np[row], 3).tolist()}"
                    )
        else:
            result.problems += compare_arrays(got, expected, what="the final state", case=name)
    return result


# --------------------------------------------------------------------------------------
# Chapter 9
# --------------------------------------------------------------------------------------


def _loss_cases():
    """(name, y_true, y_pred, mask, sample_weight) cases of shape (batch, time, features)."""
    rng = np.random.default_rng(8)
    cases = []
    masks = {
        "two rows of different lengths": [[True, True, False, False], [True, True, True, False]],
        "one row masked everywhere": [[True, True, True, True], [False, False, False, False]],
        "a batch masked everywhere": [[False, False, False, False], [False, False, False, False]],
        "pre-padded rows": [[False, False, True, True], [False, True, True, True]],
    }
    for name, mask in masks.items():
        mask = np.array(mask, dtype=bool)
        y_true = rng.integers(0, 5, size=mask.shape + (3,)).astype("float32")
        y_pred = rng.integers(0, 5, size=mask.shape + (3,)).astype("float32") / 2
        weights = rng.integers(1, 5, size=mask.shape).astype("float32") / 2
        cases.append((name, y_true, y_pred, mask, weights))
    return cases


def reference_masked_mse(y_true, y_pred, mask):
    """Mean over the kept (row, step) entries of the per-step mean squared error; 0 if none."""
    per_step = ((np.asarray(y_pred, float) - np.asarray(y_true, float)) ** 2).mean(axis=-1)
    mask = np.asarray(mask, dtype=bool)
    return float(per_step[mask].sum() / mask.sum()) if mask.any() else 0.0


def reference_loss_and_metric(y_true, y_pred, mask, sample_weight):
    """Keras 3.15's masked, weighted loss and weighted metric.

    loss:   sum(error * weight * mask) / number of kept entries
    metric: sum(error * weight * mask) / sum(weight * mask)
    Both give 0.0 when nothing is kept.
    """
    per_step = ((np.asarray(y_pred, float) - np.asarray(y_true, float)) ** 2).mean(axis=-1)
    mask = np.asarray(mask, dtype=bool)
    w = np.asarray(sample_weight, float) * mask
    total = float((per_step * w).sum())
    loss = total / mask.sum() if mask.any() else 0.0
    metric = total / w.sum() if w.sum() else 0.0
    return loss, metric


def _as_number(value):
    """``float(value)`` for a scalar (Python, NumPy or a tensor of any backend and device), else None."""
    array = to_numpy(value)  # keras.ops.convert_to_numpy for tensors (a CUDA tensor too)
    try:
        array = array.astype(float)
    except (AttributeError, TypeError, ValueError):
        return None
    return float(array) if array.shape == () else None


def check_masked_mse(fn):
    """Check ``fn(y_true, y_pred, mask) -> float``: the mean squared error over kept steps."""
    result = CheckResult("masked_mse")
    for name, y_true, y_pred, mask, _ in _loss_cases():
        got, problem = call_student(fn, y_true.copy(), y_pred.copy(), mask.copy())
        if problem:
            result.problems.append(f"{name}: {problem}")
            break
        value = _as_number(got)
        expected = reference_masked_mse(y_true, y_pred, mask)
        if value is None:
            result.problems.append(f"{name}: expected one number, got {type(got).__name__} {np.shape(got)}")
        elif np.isnan(value):
            result.problems.append(
                f"{name}: got NaN; with {int(mask.sum())} kept steps the answer is {expected:.3f} "
                "(Keras returns 0.0, not NaN, when nothing is kept: divide with a guard)"
            )
        elif not np.isclose(value, expected, atol=1e-4):
            per_step = ((y_pred - y_true) ** 2).mean(axis=-1)
            kept, total = int(mask.sum()), mask.size
            if np.isclose(value, per_step.mean(), atol=1e-4):
                hint = f"that is the mean over all {total} steps; leave out the masked ones"
            elif kept and np.isclose(value, per_step[mask].sum() / total, atol=1e-4):
                hint = f"you divided by all {total} steps; divide by the {kept} kept steps"
            elif kept and np.isclose(value, ((y_pred - y_true) ** 2)[mask].sum() / kept, atol=1e-4):
                hint = "you summed over the features; Keras's mse averages over them first"
            else:
                hint = f"average the per-step error (mean over features) over the {kept} kept steps"
            result.problems.append(f"{name}: expected {expected:.3f}, got {value:.3f}: {hint}")
    return result


def check_loss_and_metric(fn):
    """Check ``fn(y_true, y_pred, mask, sample_weight) -> (loss, metric)`` against Keras 3.15."""
    result = CheckResult("loss_and_metric")
    for name, y_true, y_pred, mask, weights in _loss_cases():
        got, problem = call_student(fn, y_true.copy(), y_pred.copy(), mask.copy(), weights.copy())
        if problem:
            result.problems.append(f"{name}: {problem}")
            break
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            result.problems.append(f"{name}: expected a pair (loss, metric), got {type(got).__name__}")
            continue
        loss, metric = (_as_number(v) for v in got)
        want_loss, want_metric = reference_loss_and_metric(y_true, y_pred, mask, weights)
        kept = int(mask.sum())
        weight_sum = float((weights * mask).sum())
        for what, value, want, right, wrong in (
            ("the loss", loss, want_loss, f"the {kept} kept steps", f"the sum of their weights ({weight_sum:g})"),
            ("the metric", metric, want_metric, f"the sum of the kept weights ({weight_sum:g})",
             f"the {kept} kept steps"),
        ):
            if value is None:
                result.problems.append(f"{name}: {what} should be one number, got {type(value).__name__}")
            elif np.isnan(value):
                result.problems.append(f"{name}: {what} is NaN; Keras gives 0.0 when nothing is kept")
            elif not np.isclose(value, want, atol=1e-4):
                per_step = ((y_pred - y_true) ** 2).mean(axis=-1)
                weighted = float((per_step * weights * mask).sum())
                swapped = None
                if kept:  # the other divisor: the sum of kept weights for the loss, the count for the metric
                    swapped = weighted / weight_sum if what == "the loss" else weighted / kept
                if swapped is not None and np.isclose(value, swapped, atol=1e-4):
                    hint = f"you divided by {wrong}; Keras divides {what} by {right}"
                elif np.isclose(value, reference_masked_mse(y_true, y_pred, mask), atol=1e-4):
                    hint = "you left out the sample weights"
                else:
                    hint = f"sum error * weight over the kept steps, then divide by {right}"
                result.problems.append(f"{name}: {what} should be {want:.3f}, got {value:.3f}: {hint}")
    return result
