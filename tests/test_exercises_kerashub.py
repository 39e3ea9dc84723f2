"""The exercise checks of chapter 16: solutions pass, typical mistakes get specific feedback."""

import numpy as np
import pytest
from nbtools import problems, run_solution, wrong_answer_problems

from helpers.exercises.kerashub import check_effective_key_mask, check_pad_prompts, check_pair_inputs

pytest.importorskip("keras_hub")

CH = "16_kerashub"


def _stub(*args):
    raise NotImplementedError("your code here")


# ----- ex-16-effective-mask -------------------------------------------------------------


def test_effective_mask_solution_passes():
    result = check_effective_key_mask(run_solution(CH, "ex-16-effective-mask", "effective_key_mask"))
    assert result.passed, problems(result)


def test_effective_mask_padding_mask_wins_is_named():
    def padding_wins(keras_mask, padding_mask):   # what KerasHub's log message says
        chosen = padding_mask if padding_mask is not None else keras_mask
        return None if chosen is None else np.asarray(chosen, bool)

    assert "keeps only padding_mask, as KerasHub's log message says" in wrong_answer_problems(
        check_effective_key_mask(padding_wins))


def test_effective_mask_keras_mask_wins_and_or_are_named():
    def keras_wins(keras_mask, padding_mask):
        chosen = keras_mask if keras_mask is not None else padding_mask
        return None if chosen is None else np.asarray(chosen, bool)

    def either(keras_mask, padding_mask):
        masks = [np.asarray(m, bool) for m in (keras_mask, padding_mask) if m is not None]
        return np.logical_or.reduce(masks) if masks else None

    assert "keeps only the attached Keras mask" in wrong_answer_problems(check_effective_key_mask(keras_wins))
    assert "(OR)" in wrong_answer_problems(check_effective_key_mask(either))


def test_effective_mask_stub_and_dtype():
    assert "not written yet" in wrong_answer_problems(check_effective_key_mask(_stub))

    def as_int(keras_mask, padding_mask):
        masks = [np.asarray(m, bool) for m in (keras_mask, padding_mask) if m is not None]
        return np.logical_and.reduce(masks).astype(int) if masks else np.ones((2, 5), int)

    assert "dtype int64; a Keras mask is boolean" in wrong_answer_problems(check_effective_key_mask(as_int))


# ----- ex-16-pair-inputs ----------------------------------------------------------------


def test_pair_inputs_solution_passes():
    result = check_pair_inputs(run_solution(CH, "ex-16-pair-inputs", "pair_inputs"))
    assert result.passed, problems(result)


def test_pair_inputs_mask_from_segment_ids_is_named():
    solution = run_solution(CH, "ex-16-pair-inputs", "pair_inputs")

    def from_segments(first, second, length):
        out = solution(first, second, length)
        return {**out, "padding_mask": out["segment_ids"] != 0}

    assert "the padding_mask is segment_ids != 0, which drops the first sentence" in wrong_answer_problems(
        check_pair_inputs(from_segments))


def test_pair_inputs_missing_key_int_mask_and_stub():
    solution = run_solution(CH, "ex-16-pair-inputs", "pair_inputs")

    def no_mask(first, second, length):
        out = solution(first, second, length)
        return {"token_ids": out["token_ids"], "segment_ids": out["segment_ids"]}

    def int_mask(first, second, length):
        out = solution(first, second, length)
        return {**out, "padding_mask": out["padding_mask"].astype("int32")}

    assert "the dict has no padding_mask" in wrong_answer_problems(check_pair_inputs(no_mask))
    assert "a Keras mask is boolean" in wrong_answer_problems(check_pair_inputs(int_mask))
    assert "not written yet" in wrong_answer_problems(check_pair_inputs(_stub))
    assert "expected a dict" in wrong_answer_problems(check_pair_inputs(lambda a, b, n: [1, 2]))


# ----- ex-16-pad-prompts ----------------------------------------------------------------


def test_pad_prompts_solution_passes():
    result = check_pad_prompts(run_solution(CH, "ex-16-pad-prompts", "pad_prompts"))
    assert result.passed, problems(result)


def _right_padded(prompts):
    width = max(len(p) for p in prompts)
    ids, mask = np.zeros((len(prompts), width), "int32"), np.zeros((len(prompts), width), bool)
    for r, p in enumerate(prompts):
        ids[r, :len(p)], mask[r, :len(p)] = p, True
    return ids, mask


def test_pad_prompts_right_padding_is_named():
    text = wrong_answer_problems(check_pad_prompts(_right_padded))
    assert "its last column is a pad, where the loop reads the next token: pad on the left" in text
    assert text.startswith("prompt ") and "prompt 0 (" not in text   # prompt 0 is the longest: no padding


def test_pad_prompts_shape_dtype_contents_and_stub():
    solution = run_solution(CH, "ex-16-pad-prompts", "pad_prompts")

    def int_mask(prompts):
        ids, mask = solution(prompts)
        return ids, mask.astype(int)

    def mask_from_ids_reversed(prompts):
        ids, mask = solution(prompts)
        return ids[:, ::-1], mask

    def one_row(prompts):
        ids, mask = solution(prompts)
        return ids[:1], mask[:1]

    assert "padding_mask has dtype int64; a padding mask is boolean" in wrong_answer_problems(
        check_pad_prompts(int_mask))
    assert "expected the prompt [1, 4, 6, 8, 10, 4] in order" in wrong_answer_problems(
        check_pad_prompts(mask_from_ids_reversed))
    assert "expected (4, 6) each" in wrong_answer_problems(check_pad_prompts(one_row))
    assert "expected a pair (token_ids, padding_mask)" in wrong_answer_problems(check_pad_prompts(lambda p: p))
    assert "not written yet" in wrong_answer_problems(check_pad_prompts(_stub))
