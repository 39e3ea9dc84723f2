"""Self-checks for the exercises of the chapter on backends (the same masks on every backend).

Used by the exercises of chapter 17 (The same masks on every backend).

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

    ``mask`` is None or a boolean (batch, time) array. From Keras 3.15.1's sources
    (``keras/src/backend/<backend>/rnn.py``) and what the layer did on an NVIDIA H200
    (``reports/recurrent_paths_gpu.json``): with no mask every backend takes cuDNN.
    JAX and PyTorch decline cuDNN for *any* mask, before they look at the device
    (their ``lstm`` raises ``NotImplementedError`` first thing), so Keras runs its
    generic loop, which honours every mask. TensorFlow takes cuDNN for a right-padded
    mask with no empty row and, inside ``fit``, stops with an error for any other mask.
    """
    if mask is None:
        return "cudnn"
    if backend == "tensorflow":
        return "cudnn" if cudnn_mask_ok(np.asarray(mask, dtype=bool)) else "error"
    return "loop"


#: Why a wrong answer is wrong, for the mistakes the chapter's table rules out.
_HINTS = {
    "torch": "PyTorch's lstm raises NotImplementedError for any mask before it looks at the device, "
             "so Keras runs its generic loop: no cuDNN and no error (the GPU table above)",
    "jax": "JAX's lstm declines cuDNN for any mask, so Keras runs its generic loop",
    "tensorflow": "TensorFlow hands a mask to cuDNN only if it is right-padded with no empty row; "
                  "inside fit any other mask stops the step with an error",
}


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
                hint = f" ({_HINTS[backend]})" if mask is not None else ""
                result.problems.append(f"{backend}, {case}: got {got!r}, but Keras runs {expected!r} there{hint}")
    return result
