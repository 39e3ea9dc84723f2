"""The exercise checks of chapter 12 accept the chapter's solutions and explain typical mistakes."""

import numpy as np
import pytest
from nbtools import run_solution

from helpers.exercises.explorers import (
    PADDING_TASK,
    check_layer_that_drops_mask,
    check_padded_key_weight,
    check_predicted_padding,
)

CHAPTER = "12_interactive_explorers"


# ----- predict the padded matrix -------------------------------------------------------


def test_padding_solution_passes():
    solution = run_solution(CHAPTER, "ex-12-predict-padding", "predicted_padding")
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


# ----- find the layer that drops the mask -----------------------------------------------


def test_drop_solution_passes():
    solution = run_solution(CHAPTER, "ex-12-find-mask-drop", "layer_that_drops_mask")
    result = check_layer_that_drops_mask(solution)
    assert result.passed, result


def test_drop_confusing_consumed_with_dropped_is_explained():
    def last_layer_without_mask_out(trace):
        for record in trace:
            if record.mask_in is not None and record.mask_out is None:
                return record.layer
        return None

    result = check_layer_that_drops_mask(last_layer_without_mask_out)
    assert not result.passed
    assert any(
        p.startswith("Embedding → Dense → LSTM: you returned 'lstm', which consumes the mask")
        and p.endswith("no layer drops the mask here, so the answer is None")
        for p in result.problems
    ), result.problems


def test_drop_always_none_and_wrong_types():
    result = check_layer_that_drops_mask(lambda trace: None)
    assert "Embedding → Flatten → Dense: you returned None, but 'flatten' drops the mask" in result.problems[0]
    result = check_layer_that_drops_mask(lambda trace: 3, models=["Embedding → Flatten → Dense"])
    assert "return a layer name (a str such as 'embedding') or None, got a int" in result.problems[0]
    result = check_layer_that_drops_mask(lambda trace: "Flatten", models=["Embedding → Flatten → Dense"])
    assert "there is no layer 'Flatten'" in result.problems[0]


# ----- attention on padded keys -----------------------------------------------------------


def test_key_weight_solution_passes():
    solution = run_solution(CHAPTER, "ex-12-padded-key-weight", "padded_key_weight")
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
