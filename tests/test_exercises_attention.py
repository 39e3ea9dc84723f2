"""The exercise checks of chapters 10 and 11: solutions pass, typical mistakes get specific feedback."""

import numpy as np
import pytest
import tensorflow as tf
from nbtools import problems, run_solution

from helpers.exercises.attention import (
    check_masked_attention,
    check_padded_to_ragged,
    check_pair_mask,
    check_ragged_to_padded,
)

CH09 = "10_masked_self_attention"
CH10 = "11_ragged_tensors"


# ----- ex-10-pair-mask ----------------------------------------------------------------


def test_pair_mask_solution_passes():
    result = check_pair_mask(run_solution(CH09, "ex-10-pair-mask", "pair_mask"))
    assert result.passed, problems(result)
    assert "correct" in repr(result)


def test_pair_mask_key_only_is_named():
    result = check_pair_mask(lambda ids: np.broadcast_to((ids != 0)[:, None, :], ids.shape + ids.shape[1:]))
    assert not result.passed
    assert "key mask only; padded queries (rows) must be False too" in problems(result)


def test_pair_mask_wrong_position_and_dtype():
    def off_by_one(ids):
        real = ids != 0
        out = real[:, :, None] & real[:, None, :]
        out[0, 0, 0] = False
        return out

    result = check_pair_mask(off_by_one)
    assert "row 0, query 0, key 0 should be True (both steps are real)" in problems(result)
    result = check_pair_mask(lambda ids: ((ids != 0)[:, :, None] & (ids != 0)[:, None, :]).astype(int))
    assert "dtype int64; an attention mask is boolean" in problems(result)


def test_pair_mask_stub_feedback():
    def stub(ids):
        raise NotImplementedError

    assert "not written yet" in problems(check_pair_mask(stub))


# ----- ex-10-masked-attention ------------------------------------------------------------


def _blog_attention(q, k, v, key_mask):
    """The blog's defect: -1e9 along the query axis."""
    scores = q @ np.swapaxes(k, 1, 2) / np.sqrt(q.shape[-1])
    scores = scores + (~key_mask[:, :, None]) * -1e9
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores) / np.exp(scores).sum(axis=-1, keepdims=True)
    return weights @ v, weights


def test_masked_attention_solution_passes():
    result = check_masked_attention(run_solution(CH09, "ex-10-masked-attention", "masked_attention"))
    assert result.passed, problems(result)


def test_masked_attention_query_axis_is_named():
    result = check_masked_attention(_blog_attention)
    assert not result.passed
    text = problems(result)
    assert "to padded key" in text and "applied along the query axis" in text


def test_masked_attention_missing_scale_and_empty_rows():
    solution = run_solution(CH09, "ex-10-masked-attention", "masked_attention")

    def unscaled(q, k, v, key_mask):
        return solution(q * np.sqrt(q.shape[-1]), k, v, key_mask)

    assert "the scores are not scaled" in problems(check_masked_attention(unscaled))

    def uniform_empty_rows(q, k, v, key_mask):
        scores = q @ np.swapaxes(k, 1, 2) / np.sqrt(q.shape[-1])
        scores = np.where(key_mask[:, None, :], scores, -1e9)
        scores = scores - scores.max(axis=-1, keepdims=True)
        weights = np.exp(scores) / np.exp(scores).sum(axis=-1, keepdims=True)
        return weights @ v, weights

    assert "a row with no real key should get weight 0 everywhere" in problems(check_masked_attention(uniform_empty_rows))


def test_masked_attention_naive_exp_overflows():
    def naive(q, k, v, key_mask):
        e = np.exp(q @ np.swapaxes(k, 1, 2) / np.sqrt(q.shape[-1])) * key_mask[:, None, :]
        weights = e / e.sum(axis=-1, keepdims=True)
        return weights @ v, weights

    assert "contain NaN" in problems(check_masked_attention(naive))


def test_masked_attention_must_return_a_pair():
    solution = run_solution(CH09, "ex-10-masked-attention", "masked_attention")
    result = check_masked_attention(lambda *args: solution(*args)[1])
    assert "return a pair (outputs, weights)" in problems(result)


# ----- ex-11-ragged-to-padded ------------------------------------------------------------


def test_ragged_to_padded_solution_passes():
    result = check_ragged_to_padded(run_solution(CH10, "ex-11-ragged-to-padded", "ragged_to_padded"))
    assert result.passed, problems(result)


def test_ragged_to_padded_without_shape_is_named():
    result = check_ragged_to_padded(lambda r, length: (r.to_tensor(), r.to_tensor() != 0))
    assert "pass shape=[None, length]" in problems(result)


def test_ragged_to_padded_mask_from_zeros_is_caught():
    def from_zeros(r, length):
        ids = r.to_tensor(shape=[None, length])
        return ids, ids != 0

    result = check_ragged_to_padded(from_zeros)
    assert not result.passed
    assert "row 0, step 0 should be kept (True)" in problems(result)


# ----- ex-11-padded-to-ragged ------------------------------------------------------------


def test_padded_to_ragged_solution_passes():
    result = check_padded_to_ragged(run_solution(CH10, "ex-11-padded-to-ragged", "padded_to_ragged"))
    assert result.passed, problems(result)


def test_padded_to_ragged_forgotten_padding_is_named():
    result = check_padded_to_ragged(lambda ids: tf.RaggedTensor.from_tensor(ids))
    assert "row 0 keeps 2 padding zero(s) at its end" in problems(result)


@pytest.mark.parametrize("wrong", [lambda ids: [list(r[r != 0]) for r in ids], lambda ids: ids])
def test_padded_to_ragged_wrong_type(wrong):
    assert "return a tf.RaggedTensor" in problems(check_padded_to_ragged(wrong))
