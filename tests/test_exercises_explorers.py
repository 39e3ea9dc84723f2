"""The exercise checks of chapter 21 accept the chapter's solutions and explain typical mistakes."""

import numpy as np
import pytest
from nbtools import run_solution

from helpers.exercises.explorers import (
    PADDING_TASK,
    check_padded_key_weight,
    check_predicted_padding,
    check_second_half_masks,
)

CHAPTER = "21_interactive_explorers"


# ----- predict the padded matrix -------------------------------------------------------


def test_padding_solution_passes():
    solution = run_solution(CHAPTER, "ex-21-predict-padding", "predicted_padding")
    result = check_predicted_padding(solution)
    assert result.passed, result
    assert "correct" in repr(result)


@pytest.mark.parametrize(
    "answer, words",
    [
        ([[5, 8, 2, 9], [-1, -1, -1, 3], [4, 6, 2, 8]], "puts the padding value AFTER the tokens"),
        ([[5, 8, 2, 9], [3, -1, -1, -1], [7, 1, 4, 6]], "removes tokens from the START"),
        ([[5, 8, 2, 9], [-1, -1, -1, 3], [7, 1, 4, 6]], "both sides are swapped"),
        ([[5, 8, 2, 9], [3, 0, 0, 0], [4, 6, 2, 8]], "the padding value is -1 here"),
        ([[5, 8, 2, 9], [3, -1, -1, -1], [4, 6, 2, 9]], "the padded matrix at [2, 3] is"),
        ([[5, 8, 2, 9, -1, -1], [3, -1, -1, -1, -1, -1], [7, 1, 4, 6, 2, 8]], "maxlen = 4 steps; yours have 6"),
        ([[5, 8, 2, 9], [3], [4, 6, 2, 8]], "not a rectangular matrix"),
    ],
)
def test_padding_typical_mistakes(answer, words):
    result = check_predicted_padding(lambda: answer)
    assert not result.passed
    assert any(words in p for p in result.problems), result.problems


def test_padding_stub_gets_told_it_is_not_written():
    def predicted_padding():
        raise NotImplementedError

    result = check_predicted_padding(predicted_padding)
    assert result.problems == ["the function is not written yet (it raises NotImplementedError)"]


def test_padding_task_is_what_the_chapter_states():
    assert PADDING_TASK == {"sequences": [[5, 8, 2, 9], [3], [7, 1, 4, 6, 2, 8]], "maxlen": 4,
                            "padding": "post", "truncating": "pre", "value": -1}


# ----- the mask after the split ---------------------------------------------------------

POST = [[False, False, False], [True, True, False], [True, True, True]]
PRE = [[True, True, True], [True, True, True], [True, True, True]]


def test_split_solution_passes():
    solution = run_solution(CHAPTER, "ex-21-split-mask", "second_half_masks")
    result = check_second_half_masks(solution)
    assert result.passed, result
    assert "correct" in repr(result)


def test_split_expected_masks_are_the_trace():
    # The answer the check compares with comes from trace_masks; these are its values.
    assert check_second_half_masks(lambda: {"post": POST, "pre": PRE}).passed


@pytest.mark.parametrize(
    "answer, words",
    [
        ({"post": PRE, "pre": POST}, "the two masks are swapped"),
        ({"post": [[True] * 3] * 3, "pre": PRE}, "post-padded: this is the mask of the FIRST half"),
        ({"post": POST, "pre": [[False] * 3, [False, True, True], [True] * 3]}, "pre-padded: this is the mask of the FIRST half"),
        ({"post": POST, "pre": [[True, True, False]] + PRE[1:]}, "pre-padded: row 0, step 2 should be kept (True)"),
        ({"post": np.array(POST, int), "pre": PRE}, "dtype int64; a Keras mask is boolean"),
        ({"post": [[True, True]] * 3, "pre": PRE}, "post-padded: the mask has shape (3, 2), expected (3, 3)"),
        ({"post": POST}, "return a dict with the keys 'post' and 'pre', got ['post']"),
        ([POST, PRE], "return a dict with the keys 'post' and 'pre', got list"),
    ],
)
def test_split_typical_mistakes(answer, words):
    result = check_second_half_masks(lambda: answer)
    assert not result.passed
    assert any(words in p for p in result.problems), result.problems


def test_split_stub_gets_told_it_is_not_written():
    def second_half_masks():
        raise NotImplementedError

    result = check_second_half_masks(second_half_masks)
    assert result.problems == ["the function is not written yet (it raises NotImplementedError)"]


# ----- attention on padded keys -----------------------------------------------------------


def test_key_weight_solution_passes():
    solution = run_solution(CHAPTER, "ex-21-padded-key-weight", "padded_key_weight")
    result = check_padded_key_weight(solution)
    assert result.passed, result


def test_key_weight_on_real_keys_is_explained():
    result = check_padded_key_weight(lambda w, m: (w * m[:, None, :]).sum(-1))
    assert not result.passed
    assert "you summed the weight on the REAL keys" in result.problems[0]


def test_key_weight_wrong_axis_is_explained():
    result = check_padded_key_weight(lambda w, m: (w * (~m)[:, None, :]).sum(axis=1))
    assert any("you summed over the query axis" in p for p in result.problems), result.problems


def test_key_weight_wrong_shape_and_values():
    result = check_padded_key_weight(lambda w, m: (w * (~m)[:, None, :]).sum())
    assert "has shape ()" in result.problems[0]
    result = check_padded_key_weight(lambda w, m: np.zeros(w.shape[:2]))
    assert "the weight on padded keys at [0, 0] is" in result.problems[0]
