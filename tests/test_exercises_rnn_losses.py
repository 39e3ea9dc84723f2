"""Exercise checks of chapters 8 and 9: each chapter's solution passes, typical mistakes fail clearly."""

import numpy as np
import pytest
from nbtools import problems, run_solution

from helpers.exercises.rnn_losses import (
    check_final_state,
    check_loss_and_metric,
    check_masked_mse,
    check_source_steps,
    reference_loss_and_metric,
)
from helpers.keras_internals import set_keras_mask

RNN = "08_masks_in_rnns"
LOSSES = "09_masks_in_losses"


# ------------------------------------------------------------------ ex-08-source-steps


def test_source_steps_solution_passes():
    fn = run_solution(RNN, "ex-08-source-steps", "source_steps")
    result = check_source_steps(fn)
    assert result.passed, problems(result)


def test_source_steps_vectorised_hint_passes():
    def vectorised(mask):
        return np.maximum.accumulate(np.where(mask, np.arange(mask.shape[1]), -1), axis=1)

    assert check_source_steps(vectorised).passed


def test_source_steps_one_step_back_is_caught():
    def one_step_back(mask):  # a masked step shows the step just before it
        steps = np.arange(mask.shape[1])
        return np.where(mask, steps, steps - 1)

    result = check_source_steps(one_step_back)
    assert not result.passed
    assert "row 0, step 4: expected 2 (the step is masked, so it repeats the output of the last kept step, 2), got 3" in problems(result)


def test_source_steps_leading_zeros_forgotten_is_caught():
    def no_minus_one(mask):
        return np.maximum.accumulate(np.where(mask, np.arange(mask.shape[1]), 0), axis=1)

    result = check_source_steps(no_minus_one)
    assert not result.passed
    assert "pre-padded: row 0, step 0: expected -1 (no step is kept up to here" in problems(result)


def test_source_steps_stub_and_wrong_shape():
    def stub(mask):
        raise NotImplementedError

    assert "not written yet" in problems(check_source_steps(stub))
    assert "expected an int array of shape (2, 5), got shape (2,)" in problems(check_source_steps(lambda m: m.sum(axis=1)))


# ------------------------------------------------------------------ ex-08-final-state


def test_final_state_solution_passes_including_a_real_lstm():
    fn = run_solution(RNN, "ex-08-final-state", "final_state")
    result = check_final_state(fn)
    assert result.passed, problems(result)


def test_final_state_last_step_is_caught():
    result = check_final_state(lambda outputs, mask: outputs[:, -1], include_real_lstm=False)
    assert not result.passed
    assert "row 0: you returned the output of the last step, which is masked (zeros here); take the output of the last kept step, step 2" in problems(result)


def test_final_state_empty_row_and_wrong_shape():
    def first_kept_or_last(outputs, mask):
        state = outputs[:, -1].copy()
        for row in range(len(mask)):
            kept = np.flatnonzero(mask[row])
            state[row] = outputs[row, kept[-1]] if kept.size else 1.0
        return state

    result = check_final_state(first_kept_or_last, include_real_lstm=False)
    assert "row 1 is masked everywhere; its final state is the zero initial state" in problems(result)
    result = check_final_state(lambda outputs, mask: outputs, include_real_lstm=False)
    assert "the final state has shape (2, 4, 3), expected (2, 3)" in problems(result)


# ------------------------------------------------------------------ ex-09-masked-mse


def test_masked_mse_solution_passes():
    fn = run_solution(LOSSES, "ex-09-masked-mse", "masked_mse")
    result = check_masked_mse(fn)
    assert result.passed, problems(result)


def test_masked_mse_summing_features_is_caught():
    def sums_features(y_true, y_pred, mask):
        return float(((y_pred - y_true) ** 2).sum(-1)[mask].sum() / max(mask.sum(), 1))

    assert "you summed over the features; Keras's mse averages over them first" in problems(check_masked_mse(sums_features))


def test_masked_mse_matches_keras():
    import keras

    fn = run_solution(LOSSES, "ex-09-masked-mse", "masked_mse")
    y_true = np.arange(24, dtype="float32").reshape(2, 4, 3)
    y_pred = np.ones_like(y_true)
    mask = np.array([[True, True, False, False], [True, True, True, False]])
    keras_pred = keras.ops.convert_to_tensor(y_pred)
    set_keras_mask(keras_pred, keras.ops.convert_to_tensor(mask))  # as a masking layer attaches it
    assert np.isclose(float(keras.losses.MeanSquaredError()(y_true, keras_pred)), fn(y_true, y_pred, mask))


def test_masked_mse_typical_mistakes():
    def ignores_mask(y_true, y_pred, mask):
        return float(((y_pred - y_true) ** 2).mean())

    def divides_by_all(y_true, y_pred, mask):
        return float((((y_pred - y_true) ** 2).mean(-1) * mask).sum() / mask.size)

    def nan_when_empty(y_true, y_pred, mask):
        return float(((y_pred - y_true) ** 2).mean(-1)[mask].mean()) if mask.any() else float("nan")

    with np.errstate(all="ignore"):
        assert "that is the mean over all 8 steps; leave out the masked ones" in problems(check_masked_mse(ignores_mask))
        assert "you divided by all 8 steps; divide by the 5 kept steps" in problems(check_masked_mse(divides_by_all))
        assert "a batch masked everywhere: got NaN" in problems(check_masked_mse(nan_when_empty))


# ------------------------------------------------------------------ ex-09-loss-and-metric


def test_loss_and_metric_solution_passes():
    fn = run_solution(LOSSES, "ex-09-loss-and-metric", "loss_and_metric")
    result = check_loss_and_metric(fn)
    assert result.passed, problems(result)


def test_reference_matches_keras_evaluate():
    """The check's reference is what Keras 3.15 reports: loss / kept steps, metric / kept weights."""
    import keras

    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Embedding(5, 5, mask_zero=True)(inputs)))
    model.compile(loss="mse", weighted_metrics=["mse"])
    ids = np.array([[1, 2, 0, 0], [3, 4, 1, 0]])
    y_true = np.arange(24, dtype="float32").reshape(2, 4, 3)
    weights = np.array([[1.0, 2.0, 9.0, 9.0], [0.5, 1.0, 2.0, 9.0]], dtype="float32")
    result = model.evaluate(ids, y_true, sample_weight=weights, verbose=0, return_dict=True)
    loss, metric = reference_loss_and_metric(y_true, model.predict(ids, verbose=0), ids != 0, weights)
    assert np.isclose(result["loss"], loss, rtol=1e-5)
    assert np.isclose(result["mse"], metric, rtol=1e-5)


def test_loss_and_metric_typical_mistakes():
    def swapped(y_true, y_pred, mask, sample_weight):
        errors = ((y_pred - y_true) ** 2).mean(-1)
        w = sample_weight * mask
        return (errors * w).sum() / w.sum(), (errors * w).sum() / mask.sum()

    def unweighted(y_true, y_pred, mask, sample_weight):
        errors = ((y_pred - y_true) ** 2).mean(-1)
        value = errors[mask].mean() if mask.any() else 0.0
        return value, value

    with np.errstate(all="ignore"):
        text = problems(check_loss_and_metric(swapped))
        assert "the loss should be 3.650, got 2.808: you divided by the sum of their weights (6.5); Keras divides the loss by the 5 kept steps" in text
        assert "the metric should be 2.808, got 3.650: you divided by the 5 kept steps; Keras divides the metric by the sum of the kept weights (6.5)" in text
        assert "the loss is NaN; Keras gives 0.0 when nothing is kept" in text
        assert "you left out the sample weights" in problems(check_loss_and_metric(unweighted))


@pytest.mark.parametrize("bad", [lambda *a: 1.0, lambda *a: (1.0, 2.0, 3.0)])
def test_loss_and_metric_needs_a_pair(bad):
    assert "expected a pair (loss, metric)" in problems(check_loss_and_metric(bad))


def test_masked_mse_answer_as_a_backend_tensor_passes():
    """A solution written with keras.ops returns a backend tensor (on PyTorch maybe a CUDA one)."""
    import keras

    def with_keras_ops(y_true, y_pred, mask):
        per_step = keras.ops.mean(keras.ops.square(keras.ops.convert_to_tensor(y_pred) - y_true), axis=-1)
        kept = keras.ops.cast(keras.ops.convert_to_tensor(mask), per_step.dtype)
        return keras.ops.divide_no_nan(keras.ops.sum(per_step * kept), keras.ops.sum(kept))

    assert check_masked_mse(with_keras_ops).passed
