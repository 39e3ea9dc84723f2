"""The exercise checks of chapter 19: solutions pass, typical wrong answers get specific feedback."""

import numpy as np
import pytest
from nbtools import run_solution
from nbtools import wrong_answer_problems as problems

from helpers.exercises.packing import check_next_token_targets, check_segment_mask

CH19 = "19_packing"


@pytest.mark.parametrize("label, name, check", [
    ("ex-19-targets", "next_token_targets", check_next_token_targets),
    ("ex-19-segment-mask", "segment_mask", check_segment_mask),
])
def test_chapter_solution_passes(label, name, check):
    result = check(run_solution(CH19, label, name))
    assert result.passed, result.problems


def shifted_everywhere(ids, segment_ids):
    """Crosses boundaries: the plain shift of an unpacked language model."""
    targets = np.zeros_like(ids)
    targets[:, :-1] = ids[:, 1:]
    return targets, (targets > 0).astype("float32")


def test_targets_crossing_a_boundary_are_named():
    message = problems(check_next_token_targets(shifted_everywhere))
    assert "the next step starts another sequence" in message


def test_targets_not_written_and_wrong_type():
    def unwritten(ids, segment_ids):
        raise NotImplementedError("your code here")

    assert "not written yet" in problems(check_next_token_targets(unwritten))
    assert "expected a tuple" in problems(check_next_token_targets(lambda ids, segment_ids: ids))


def padding_mask_only(segment_ids, causal=False):
    s = np.asarray(segment_ids) > 0
    return s[:, :, None] & s[:, None, :]


def not_causal(segment_ids, causal=False):
    s = np.asarray(segment_ids)
    return (s[:, :, None] == s[:, None, :]) & (s[:, :, None] != 0)


def keeps_padding(segment_ids, causal=False):
    s = np.asarray(segment_ids)
    mask = s[:, :, None] == s[:, None, :]
    return mask & np.tril(np.ones(mask.shape[1:], bool)) if causal else mask


@pytest.mark.parametrize("wrong, why", [
    (padding_mask_only, "different sequences"),
    (not_causal, "a later key (causal)"),
    (keeps_padding, "a padding query or key"),
])
def test_segment_mask_mistakes_are_explained(wrong, why):
    assert why in problems(check_segment_mask(wrong))


def test_segment_mask_of_ints_is_refused():
    message = problems(check_segment_mask(lambda s, causal=False: not_causal(s).astype(int)))
    assert "expected a boolean mask" in message
