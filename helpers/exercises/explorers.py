"""Self-checks for the exercises of chapter 21 (the interactive explorers).

* :func:`check_predicted_padding`: the reader predicts, by hand, the matrix
  ``pad_sequences`` returns for :data:`PADDING_TASK`.
* :func:`check_second_half_masks`: the reader predicts the mask an LSTM receives
  after ``TemporalSplit``, for post- and pre-padding, and checks it against the trace.
* :func:`check_padded_key_weight`: a function that measures how much attention
  goes to padded keys.
"""

import numpy as np

from helpers.exercises import CheckResult, call_student, compare_arrays, compare_masks, to_numpy

#: The settings of the "predict the padded matrix" exercise.
PADDING_TASK = {
    "sequences": [[5, 8, 2, 9], [3], [7, 1, 4, 6, 2, 8]],
    "maxlen": 4,
    "padding": "post",
    "truncating": "pre",
    "value": -1,
}


def _pad(**changes):
    import keras

    task = dict(PADDING_TASK, **changes)
    sequences = task.pop("sequences")
    return keras.utils.pad_sequences(sequences, dtype="int32", **task)


def check_predicted_padding(predicted_padding):
    """Check ``predicted_padding()``: the matrix the reader expects for :data:`PADDING_TASK`.

    Args:
        predicted_padding: a function without arguments returning a nested list
            (or array) of ints, shape (3, 4).

    Returns:
        a :class:`helpers.exercises.CheckResult`.
    """
    result = CheckResult("Predict the padded matrix")
    got, problem = call_student(predicted_padding)
    if problem:
        result.problems.append(problem)
        return result
    got_np = to_numpy(got)
    if got_np is None or got_np.dtype == object:
        result.problems.append(
            "the prediction is not a rectangular matrix of ints: return a list of 3 rows of 4 ids each"
        )
        return result
    expected = _pad()
    if got_np.shape == expected.shape and np.array_equal(got_np, expected):
        return result
    # Recognise the usual slips before listing cells.
    alternatives = (
        (_pad(padding="pre"), "padding='post' puts the padding value AFTER the tokens; you put it before them"),
        (_pad(truncating="post"),
         "truncating='pre' removes tokens from the START of a sequence that is too long (row 2 keeps its "
         "last 4 tokens); you removed them from the end"),
        (_pad(padding="pre", truncating="post"), "both sides are swapped: padding goes after the tokens "
         "(padding='post') and truncation cuts the start (truncating='pre')"),
        (_pad(value=0), "the padding value is -1 here (value=-1), not the default 0"),
    )
    for alternative, message in alternatives:
        if got_np.shape == alternative.shape and np.array_equal(got_np, alternative):
            result.problems.append(message)
            return result
    if got_np.ndim == 2 and got_np.shape[1] != expected.shape[1]:
        result.problems.append(
            f"each row should have maxlen = {PADDING_TASK['maxlen']} steps; yours have {got_np.shape[1]}"
        )
        return result
    result.problems += compare_arrays(got_np, expected, what="the padded matrix")
    return result


#: The tracer model of the "mask after the split" exercise.
SPLIT_MODEL = "Embedding → TemporalSplit → LSTM (second half)"


def _expected_split_masks():
    """The mask the LSTM of :data:`SPLIT_MODEL` receives, for each padding side, from the trace."""
    from helpers.widgets import tracer_view

    return {padding: np.asarray(tracer_view(SPLIT_MODEL, padding=padding).trace["lstm"].mask_in, dtype=bool)
            for padding in ("post", "pre")}


def check_second_half_masks(second_half_masks):
    """Check ``second_half_masks()``: the reader's prediction of the mask after ``TemporalSplit``.

    In the tracer model :data:`SPLIT_MODEL` the guide's three sequences (3, 5 and 6
    ids) are padded to 6 steps, embedded with ``mask_zero=True`` and split in two
    halves of 3 steps; the LSTM reads the second half. The reader predicts, without
    running anything, the mask that LSTM receives, for post- and for pre-padding.
    The answer is compared with what ``trace_masks`` records.

    Args:
        second_half_masks: a function without arguments returning a dict
            ``{"post": mask, "pre": mask}``, each a boolean array (or nested list)
            of shape (3, 3), True for a kept step.

    Returns:
        a :class:`helpers.exercises.CheckResult`.
    """
    result = CheckResult("The mask after the split")
    got, problem = call_student(second_half_masks)
    if problem:
        result.problems.append(problem)
        return result
    if not isinstance(got, dict) or set(got) != {"post", "pre"}:
        keys = sorted(got) if isinstance(got, dict) else type(got).__name__
        result.problems.append(f"return a dict with the keys 'post' and 'pre', got {keys}")
        return result
    expected = _expected_split_masks()
    answers = {side: to_numpy(got[side]) for side in ("post", "pre")}
    if all(a is not None and a.shape == (3, 3) for a in answers.values()):
        pairs = (("post", "pre"), ("pre", "post"))
        swapped = all(np.array_equal(answers[a].astype(bool), expected[b]) for a, b in pairs)
        if swapped:
            result.problems.append("the two masks are swapped: post-padding puts the zeros at the END of each row")
            return result
        for side in ("post", "pre"):
            first_half = _full_mask(side)[:, :3]
            first_half_given = np.array_equal(answers[side].astype(bool), first_half)
            if first_half_given and not np.array_equal(first_half, expected[side]):
                result.problems.append(
                    f"{side}-padded: this is the mask of the FIRST half (steps 0 to 2); "
                    "the LSTM reads the second half (steps 3 to 5)")
                return result
    for side in ("post", "pre"):
        result.problems += compare_masks(answers[side], expected[side], case=f"{side}-padded")
    return result


def _full_mask(padding):
    from helpers.widgets import tracer_inputs

    return tracer_inputs(padding) != 0


def _expected_padded_key_weight(weights, mask):
    weights = np.asarray(weights, dtype="float64")
    mask = np.asarray(mask, dtype=bool)
    return (weights * (~mask)[:, None, :]).sum(axis=-1)


def _weight_cases():
    rng = np.random.default_rng(12)
    cases = []
    for batch, time, lengths in ((1, 4, (2,)), (2, 6, (6, 3)), (3, 5, (1, 4, 5))):
        scores = rng.normal(size=(batch, time, time))
        weights = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
        mask = np.arange(time)[None, :] < np.asarray(lengths)[:, None]
        cases.append((f"batch {batch}, time {time}, lengths {list(lengths)}", weights.astype("float32"), mask))
    from helpers.widgets import attention_view

    view = attention_view()
    cases.append(("the explorer's blog (query-axis) weights", view.weights["query"][None], view.mask[None]))
    return cases


def check_padded_key_weight(padded_key_weight):
    """Check ``padded_key_weight(weights, mask)``.

    ``weights`` has shape (batch, query, key), each row a softmax over keys;
    ``mask`` has shape (batch, key), True at real steps. The function must return
    an array (batch, query): for each query, the total weight it puts on padded
    keys (the keys where the mask is False).

    Returns:
        a :class:`helpers.exercises.CheckResult`.
    """
    result = CheckResult("Measure the attention on padded keys")
    for label, weights, mask in _weight_cases():
        got, problem = call_student(padded_key_weight, weights.copy(), mask.copy())
        if problem:
            result.problems.append(f"{label}: {problem}")
            return result
        expected = _expected_padded_key_weight(weights, mask)
        got_np = to_numpy(got)
        if got_np is not None and got_np.dtype.kind in "fiu" and got_np.shape == expected.shape:
            got_f = got_np.astype("float64")
            on_real = (weights * mask[:, None, :]).sum(-1)
            wrong_axis = (weights * (~mask)[:, None, :]).sum(axis=1)
            if not np.allclose(got_f, expected, atol=1e-5):
                if np.allclose(got_f, on_real, atol=1e-5):
                    result.problems.append(f"{label}: you summed the weight on the REAL keys (mask True); "
                                           "sum it over the padded keys (mask False)")
                    continue
                if np.allclose(got_f, wrong_axis, atol=1e-5):
                    result.problems.append(f"{label}: you summed over the query axis (axis 1); sum over the key "
                                           "axis (the last one), so each query gets its own total")
                    continue
        result.problems += compare_arrays(got, expected, what="the weight on padded keys", case=label, atol=1e-5)
    return result
