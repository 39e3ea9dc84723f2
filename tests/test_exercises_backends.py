"""The backends chapter's self-checks: the book's solutions pass, typical mistakes get specific feedback."""

import keras
import pytest

from helpers.exercises.backends import check_lstm_path, check_real_steps
from helpers.gpu import cudnn_mask_ok


def real_steps_solution(outputs, mask):
    outputs = keras.ops.convert_to_numpy(outputs)
    mask = keras.ops.convert_to_numpy(mask).astype(bool)
    return [row[kept] for row, kept in zip(outputs, mask)]


def lstm_path_solution(backend, mask):
    if mask is None:
        return "cudnn"
    if backend == "tensorflow":
        return "cudnn" if cudnn_mask_ok(mask) else "error"
    return "loop"


def test_solutions_pass():
    assert check_real_steps(real_steps_solution).passed
    assert check_lstm_path(lstm_path_solution).passed


def test_real_steps_up_to_the_last_real_step_is_wrong():
    def up_to_last(outputs, mask):
        outputs, mask = keras.ops.convert_to_numpy(outputs), keras.ops.convert_to_numpy(mask)
        return [row[: int(kept.sum())] for row, kept in zip(outputs, mask)]

    result = check_real_steps(up_to_last)
    assert not result.passed
    assert any("pre-padded" in p for p in result.problems)


def test_real_steps_that_returns_one_array_gets_told_to_return_a_list():
    result = check_real_steps(lambda outputs, mask: keras.ops.convert_to_numpy(outputs))
    assert not result.passed
    assert "expected a list of 3 arrays" in result.problems[0]


def test_lstm_path_that_forgets_jax_and_torch_decline_cudnn():
    def forgets_jax(backend, mask):
        return "cudnn" if mask is None or cudnn_mask_ok(mask) else "error"

    result = check_lstm_path(forgets_jax)
    assert not result.passed
    assert all(p.startswith(("jax", "torch")) for p in result.problems)


def test_lstm_path_with_the_old_torch_answer_is_told_why():
    """The answer this exercise once graded as right: PyTorch like TensorFlow (cuDNN or an error)."""
    def old_answer(backend, mask):
        if mask is None:
            return "cudnn"
        if backend == "jax":
            return "loop"
        return "cudnn" if cudnn_mask_ok(mask) else "error"

    result = check_lstm_path(old_answer)
    assert not result.passed
    assert result.problems and all(p.startswith("torch") for p in result.problems)
    assert "before it looks at the device" in result.problems[0]
    assert "torch, left-padded: got 'error', but Keras runs 'loop'" in "\n".join(result.problems)


@pytest.mark.parametrize("answer", ["fallback", None])
def test_lstm_path_with_an_unknown_answer(answer):
    result = check_lstm_path(lambda backend, mask: answer)
    assert any("expected one of" in p for p in result.problems)


def test_stub_is_not_attempted():
    def stub(outputs, mask):
        raise NotImplementedError

    assert "not written yet" in check_real_steps(stub).problems[0]
