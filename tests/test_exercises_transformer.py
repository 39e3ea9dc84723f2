"""The exercise checks of chapters 12 and 13: solutions pass, typical mistakes get specific feedback."""

import numpy as np
from nbtools import problems, read_chapter, run_solution

from helpers.exercises.transformer import (
    check_cross_mask,
    check_decoder_masks,
    check_masked_token_loss,
    check_shift_right,
)

CH13 = "12_transformer_masks"
CH14 = "13_encoder_decoder"


def _stub(*args):
    raise NotImplementedError


# ----- ex-12-cross-mask ----------------------------------------------------------------


def test_cross_mask_solution_passes():
    result = check_cross_mask(run_solution(CH13, "ex-12-cross-mask", "cross_mask"))
    assert result.passed, problems(result)
    assert "correct" in repr(result)


def test_cross_mask_causal_is_named():
    def causal(dec, enc):
        q, k = dec != 0, enc != 0
        return q[:, :, None] & k[:, None, :] & np.tril(np.ones((dec.shape[1], enc.shape[1]), bool))[None]

    assert "this mask is causal" in problems(check_cross_mask(causal))


def test_cross_mask_decoder_padding_on_keys_is_named():
    def decoder_keys(dec, enc):
        q = dec != 0
        return q[:, :, None] & q[:, None, :]

    text = problems(check_cross_mask(decoder_keys))
    assert "the keys are the encoder's 6 steps" in text          # T != S: wrong number of columns
    assert "the decoder's padding is on the keys" in text        # T == S: silently wrong values


def test_cross_mask_one_side_only_is_named():
    text = problems(check_cross_mask(lambda dec, enc: np.broadcast_to((enc != 0)[:, None, :],
                                                                       dec.shape + enc.shape[1:])))
    assert "only the encoder's padding is there" in text
    text = problems(check_cross_mask(lambda dec, enc: np.broadcast_to((dec != 0)[:, :, None],
                                                                       dec.shape + enc.shape[1:])))
    assert "only the decoder's padding is there" in text


def test_cross_mask_stub_and_dtype():
    assert "not written yet" in problems(check_cross_mask(_stub))
    text = problems(check_cross_mask(lambda d, e: ((d != 0)[:, :, None] & (e != 0)[:, None, :]).astype(int)))
    assert "dtype int64; an attention mask is boolean" in text


# ----- ex-12-decoder-bug ----------------------------------------------------------------


def _chapter_namespace():
    """The buggy function as the chapter defines it (its code cell)."""
    for cell in read_chapter(CH13).cells:
        if cell.cell_type == "code" and "def buggy_decoder_masks" in cell.source:
            namespace = {"np": np}
            exec(compile(cell.source, "<ch13>", "exec"), namespace)  # noqa: S102
            return namespace
    raise LookupError("buggy_decoder_masks not found in chapter 12")


def test_decoder_masks_solution_passes():
    result = check_decoder_masks(run_solution(CH13, "ex-12-decoder-bug", "decoder_masks"))
    assert result.passed, problems(result)


def test_the_buggy_decoder_fails_with_both_bugs_named():
    text = problems(check_decoder_masks(_chapter_namespace()["buggy_decoder_masks"]))
    assert "puts the target's padding on the encoder's keys" in text
    assert "self-attention mask has no key padding" in text


def test_decoder_masks_not_causal_and_bad_return():
    def not_causal(tgt, src):
        q, k = tgt != 0, src != 0
        return q[:, :, None] & q[:, None, :], q[:, :, None] & k[:, None, :]

    assert "not causal" in problems(check_decoder_masks(not_causal))
    assert "return a pair (self_mask, cross_mask)" in problems(check_decoder_masks(lambda t, s: t))


# ----- ex-13-shift-right ----------------------------------------------------------------


def test_shift_right_solution_passes():
    result = check_shift_right(run_solution(CH14, "ex-13-shift-right", "shift_right"))
    assert result.passed, problems(result)


def test_shift_right_mistakes_are_named():
    left = lambda t, s: np.concatenate([t[:, 1:], np.zeros((len(t), 1), t.dtype)], 1)  # noqa: E731
    assert "this shifts left" in problems(check_shift_right(left))
    longer = lambda t, s: np.concatenate([np.full((len(t), 1), s), t], 1)  # noqa: E731
    assert "keep the targets' length" in problems(check_shift_right(longer))
    no_start = lambda t, s: np.concatenate([np.zeros((len(t), 1), t.dtype), t[:, :-1]], 1)  # noqa: E731
    assert "step 0 must be the start token 11" in problems(check_shift_right(no_start))


# ----- ex-13-masked-loss ----------------------------------------------------------------


def _step_xent(labels, logits):
    shifted = logits - logits.max(-1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    return -np.take_along_axis(logp, labels[..., None], -1)[..., 0]


def test_masked_loss_solution_passes():
    result = check_masked_token_loss(run_solution(CH14, "ex-13-masked-loss", "masked_token_loss"))
    assert result.passed, problems(result)


def test_masked_loss_mistakes_are_named():
    over_all = lambda y, z: _step_xent(y, z.astype("float64")).mean()  # noqa: E731
    assert "mean over all steps, padding included" in problems(check_masked_token_loss(over_all))

    wrong_divisor = lambda y, z: (_step_xent(y, z.astype("float64")) * (y != 0)).sum() / y.size  # noqa: E731
    assert "divides by all" in problems(check_masked_token_loss(wrong_divisor))

    def per_row(y, z):
        step, keep = _step_xent(y, z.astype("float64")), y != 0
        return np.mean([step[r][keep[r]].mean() for r in range(len(y)) if keep[r].any()])

    assert "mean of per-row means" in problems(check_masked_token_loss(per_row))

    def naive(y, z):
        p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
        return -np.log(np.take_along_axis(p, y[..., None], -1)[..., 0])[y != 0].mean()

    assert "cannot overflow" in problems(check_masked_token_loss(naive))
    assert "not written yet" in problems(check_masked_token_loss(_stub))
