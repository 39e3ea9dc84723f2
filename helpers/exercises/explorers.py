"""Self-checks for the exercises of chapter 12 (the interactive explorers).

* :func:`check_predicted_padding`: the reader predicts, by hand, the matrix
  ``pad_sequences`` returns for :data:`PADDING_TASK`.
* :func:`check_layer_that_drops_mask`: a function that reads a mask trace and
  names the layer that drops the mask without using it.
* :func:`check_padded_key_weight`: a function that measures how much attention
  goes to padded keys.
"""

import numpy as np

from helpers.exercises import CheckResult, call_student, compare_arrays, to_numpy

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


def _expected_drop(trace):
    destroyed = [r.layer for r in trace if r.event == "destroyed"]
    return destroyed[0] if destroyed else None


def check_layer_that_drops_mask(layer_that_drops_mask, models=None):
    """Check ``layer_that_drops_mask(trace)`` on the trace of every tracer model.

    The function gets a :class:`helpers.tracing.MaskTrace` and must return the name
    of the first layer that receives a mask and passes none on *without using it*
    (event "destroyed"), or None when no layer does. A layer that consumes the mask
    (uses it, then emits none, like ``LSTM`` without ``return_sequences``) does not
    drop it.

    Args:
        layer_that_drops_mask: the reader's function.
        models: names of :data:`helpers.widgets.TRACER_MODELS` to test on (default: all).

    Returns:
        a :class:`helpers.exercises.CheckResult`.
    """
    from helpers.widgets import TRACER_MODELS, tracer_view

    result = CheckResult("Find the layer that drops the mask")
    for name in models or TRACER_MODELS:
        trace = tracer_view(name).trace
        expected = _expected_drop(trace)
        got, problem = call_student(layer_that_drops_mask, trace)
        if problem:
            result.problems.append(f"{name}: {problem}")
            return result
        if got == expected:
            continue
        if got is not None and not isinstance(got, str):
            result.problems.append(
                f"{name}: return a layer name (a str such as {trace.layers[0]!r}) or None, "
                f"got a {type(got).__name__}"
            )
            continue
        if got is None:
            result.problems.append(f"{name}: you returned None, but {expected!r} drops the mask (event 'destroyed')")
            continue
        if got not in trace.layers:
            result.problems.append(f"{name}: there is no layer {got!r}; the layers are {trace.layers}")
            continue
        event = trace[got].event
        why = {
            "consumed": "consumes the mask: its call() uses it, which is not dropping it",
            "created": "creates the mask",
            "passed": "passes the mask on unchanged",
            "changed": "changes the mask and passes the new one on",
            "none": "never received a mask",
            "destroyed": "drops the mask, but it is not the first layer to do so",
        }[event]
        answer = f"the answer is {expected!r}" if expected else "no layer drops the mask here, so the answer is None"
        result.problems.append(f"{name}: you returned {got!r}, which {why}; {answer}")
    return result


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
