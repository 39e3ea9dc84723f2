"""The exercises of chapter 20: each solution in the chapter passes its check; typical
wrong answers fail with specific feedback."""

import numpy as np
from nbtools import problems, run_solution, wrong_answer_problems

from helpers.exercises.scale import check_accumulation_weights, check_epoch_token_mean
from helpers.scale import accumulation_sample_weights

CHAPTER = "20_masks_at_scale"


# ---------------------------------------------------------------- accumulation weights

def test_accumulation_weights_solution_passes():
    fn = run_solution(CHAPTER, "ex-20-accumulation-weights", "accumulation_weights")
    result = check_accumulation_weights(fn)
    assert result.passed, problems(result)
    assert "correct" in repr(result)


def test_the_books_helper_passes_the_check():
    assert check_accumulation_weights(lambda masks: accumulation_sample_weights(masks)).passed


def test_accumulation_weights_for_a_masked_output_fail_with_the_reason():
    def masked(masks):
        return accumulation_sample_weights(masks, output_mask=True)

    assert "OUTPUT CARRIES the mask" in wrong_answer_problems(check_accumulation_weights(masked))


def test_accumulation_weights_without_k_and_plain_mask_fail():
    def without_k(masks):
        total = sum(m.sum() for m in masks)
        return [m * (m.size / total) for m in masks]

    assert "k times too small" in wrong_answer_problems(check_accumulation_weights(without_k))

    def plain(masks):
        return [m.astype(float) for m in masks]

    assert "the mask itself" in wrong_answer_problems(check_accumulation_weights(plain))


def test_accumulation_weights_padding_shape_and_stub_fail():
    def padded_ones(masks):
        total = sum(m.sum() for m in masks)
        return [np.ones(m.shape) * len(masks) * m.size / total for m in masks]

    assert "padding (mask False) must get weight 0" in wrong_answer_problems(check_accumulation_weights(padded_ones))

    def flat(masks):
        return [np.asarray(m, float).ravel() for m in masks]

    assert "must have its mask's shape" in wrong_answer_problems(check_accumulation_weights(flat))

    def stub(masks):
        raise NotImplementedError("your code here")

    assert "not written yet" in wrong_answer_problems(check_accumulation_weights(stub))


# ---------------------------------------------------------------- epoch token mean

def test_epoch_token_mean_solution_passes():
    fn = run_solution(CHAPTER, "ex-20-epoch-token-mean", "epoch_token_mean")
    result = check_epoch_token_mean(fn)
    assert result.passed, problems(result)


def test_epoch_token_mean_of_batch_means_fails():
    def mean_of_means(batch_losses, token_counts):
        return float(np.mean(batch_losses))

    assert "the mean of the batch means" in wrong_answer_problems(check_epoch_token_mean(mean_of_means))


def test_epoch_token_mean_sum_and_non_number_fail():
    def summed(batch_losses, token_counts):
        return float(np.sum(batch_losses))

    assert "the sum of the batch losses" in wrong_answer_problems(check_epoch_token_mean(summed))

    def as_list(batch_losses, token_counts):
        return [1.0, 2.0]

    assert "expected one number" in wrong_answer_problems(check_epoch_token_mean(as_list))
