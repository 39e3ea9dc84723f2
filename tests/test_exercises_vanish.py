"""The exercise checks of chapter 14: solutions pass, typical mistakes get specific feedback."""

import keras
from nbtools import problems, run_solution, wrong_answer_problems

from helpers.attention.stacked import build_stacked_attention_model
from helpers.exercises.vanish import check_attend, check_stacked_model

CH = "14_where_masks_vanish"


def _stub(*args):
    raise NotImplementedError


# ----- ex-14-same-on-both-paths ------------------------------------------------------------


def test_attend_solution_passes():
    result = check_attend(run_solution(CH, "ex-14-same-on-both-paths", "attend"))
    assert result.passed, problems(result)
    assert "correct" in repr(result)


def test_attend_without_zeroing_is_named():
    def no_where(layer, x, mask):
        pairs = keras.ops.logical_and(mask[:, :, None], mask[:, None, :])
        return layer(x, x, attention_mask=pairs)

    assert "padded queries (row 0, steps 3 and 4) should give 0" in wrong_answer_problems(check_attend(no_where))


def test_attend_with_value_mask_and_where_passes():
    """query_mask= is overwritten, but value_mask= is honoured: with the where, that is right too."""
    def by_hand(layer, x, mask):
        out = layer(x, x, query_mask=mask, value_mask=mask)
        return keras.ops.where(mask[:, :, None], out, 0.0)

    assert check_attend(by_hand).passed


def test_attend_without_any_mask_is_named():
    def unmasked(layer, x, mask):
        return keras.ops.where(mask[:, :, None], layer(x, x), 0.0)

    assert "attention_mask=" in wrong_answer_problems(check_attend(unmasked))


def test_attend_stub_is_reported():
    assert "not written yet" in wrong_answer_problems(check_attend(_stub))


# ----- ex-14-keep-the-mask -----------------------------------------------------------------


def test_stacked_solution_passes():
    result = check_stacked_model(run_solution(CH, "ex-14-keep-the-mask", "make_model"))
    assert result.passed, problems(result)


def test_stacked_plain_model_is_named():
    text = wrong_answer_problems(check_stacked_model(lambda vocab_size: build_stacked_attention_model()))
    assert "these attention layers get no mask: block2_attention" in text
    assert "4 more padded steps change the output" in text


def test_stacked_one_block_is_named():
    one = lambda vocab_size: build_stacked_attention_model(num_blocks=1)  # noqa: E731
    assert "1 MultiHeadAttention layer(s); stack two blocks" in wrong_answer_problems(check_stacked_model(one))


def test_stacked_fixes_pass():
    for fix in ("attention_mask", "carry_mask"):
        result = check_stacked_model(lambda vocab_size, fix=fix: build_stacked_attention_model(fix=fix))
        assert result.passed, problems(result)


def test_stacked_stub_is_reported():
    assert "not written yet" in wrong_answer_problems(check_stacked_model(_stub))
