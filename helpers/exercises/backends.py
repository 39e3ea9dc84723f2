"""Self-checks for the exercises of the chapter on backends (the same masks on every backend).

| check                 | exercise                                                      |
|-----------------------|---------------------------------------------------------------|
| check_real_steps      | ex-17-real-steps: a row's outputs at its real steps, any backend |
| check_lstm_path       | ex-17-lstm-path: which LSTM kernel each backend runs on a GPU  |
"""

import numpy as np

from helpers.exercises import CheckResult, call_student, compare_arrays, to_numpy
from helpers.gpu import cudnn_mask_ok

#: The backends the exercises name.
BACKENDS = ("tensorflow", "jax", "torch")

#: Kernels an LSTM with default arguments can end in on a GPU, inside ``fit``/``predict``.
PATHS = ("cudnn", "loop", "error")


def _real_step_cases():
    rng = np.random.default_rng(3)
    values = rng.normal(size=(3, 5, 2)).astype("float32")
    masks = {
        "post-padded": [[True, True, True, False, False], [True, False, False, False, False],
                        [True, True, True, True, True]],
        "pre-padded": [[False, False, True, True, True], [False, False, False, False, True],
                       [True, True, True, True, True]],
        "holes and an empty row": [[True, False, True, False, True], [False, False, False, False, False],
                                   [False, True, True, False, False]],
    }
    return values, {name: np.array(m) for name, m in masks.items()}


def check_real_steps(real_steps):
    """Check ``real_steps(outputs, mask) -> list`` of one (kept_steps, features) array per row.

    The outputs and the mask are given as tensors of the current Keras backend, so a
    solution that calls ``.numpy()`` fails on JAX and PyTorch: convert with
    ``keras.ops.convert_to_numpy``.
    """
    import keras

    result = CheckResult("real_steps")
    values, masks = _real_step_cases()
    for case, mask in masks.items():
        outputs = keras.ops.convert_to_tensor(values)
        got, problem = call_student(real_steps, outputs, keras.ops.convert_to_tensor(mask))
        if problem:
            result.problems.append(f"{case}: {problem}")
            break
        if not isinstance(got, (list, tuple)) or len(got) != len(mask):
            result.problems.append(f"{case}: expected a list of {len(mask)} arrays (one per row), got {got!r:.60}")
            continue
        for row, (got_row, kept) in enumerate(zip(got, mask)):
            expected = values[row][kept]
            if to_numpy(got_row) is None:
                result.problems.append(f"{case}: row {row} is not an array")
                continue
            result.problems += compare_arrays(got_row, expected, what=f"row {row}", case=case)
    return result


def reference_lstm_path(backend, mask):
    """The kernel an LSTM with default arguments runs inside ``fit`` on a GPU.

    ``mask`` is None or a boolean (batch, time) array. Read from Keras 3.15.1's
    sources (``keras/src/backend/<backend>/rnn.py``): with no mask every backend
    takes cuDNN; JAX declines cuDNN for any mask (its generic loop); TensorFlow and
    PyTorch take cuDNN for right-padded masks with no empty row and stop with an
    error for any other mask.
    """
    if mask is None:
        return "cudnn"
    if backend == "jax":
        return "loop"
    return "cudnn" if cudnn_mask_ok(np.asarray(mask, dtype=bool)) else "error"


def _path_cases():
    return {
        "no mask": None,
        "right-padded": np.array([[True, True, False], [True, True, True]]),
        "left-padded": np.array([[False, True, True], [True, True, True]]),
        "an empty row": np.array([[True, True, False], [False, False, False]]),
    }


def check_lstm_path(lstm_path):
    """Check ``lstm_path(backend, mask) -> "cudnn" | "loop" | "error"`` on every backend and mask."""
    result = CheckResult("lstm_path")
    for backend in BACKENDS:
        for case, mask in _path_cases().items():
            got, problem = call_student(lstm_path, backend, None if mask is None else mask.copy())
            if problem:
                result.problems.append(f"{backend}, {case}: {problem}")
                return result
            expected = reference_lstm_path(backend, mask)
            if got not in PATHS:
                result.problems.append(f"{backend}, {case}: expected one of {PATHS}, got {got!r}")
            elif got != expected:
                result.problems.append(f"{backend}, {case}: got {got!r}, but Keras runs {expected!r} there")
    return result
