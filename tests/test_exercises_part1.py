"""The exercises of Part I (chapters 01-04): each chapter's solution passes its check,
and typical wrong answers fail with specific feedback."""

import math

import keras
import numpy as np
import pytest
from keras import layers
from nbtools import run_solution
from nbtools import wrong_answer_problems as problems

from helpers import trace_masks
from helpers.exercises.masks import check_mask_from_lengths, check_masking_rule, check_zeroed_embeddings
from helpers.exercises.padding import (
    check_encode,
    check_pad_right,
    check_padding_fraction,
    check_truncate_and_pad,
    check_unpad,
)
from helpers.exercises.propagation import check_find_mask_dropper, check_lstm_by_hand, check_padding_proof_model

SOLUTIONS = [
    ("01_why_padding", "ex-01-encode", "encode", check_encode),
    ("01_why_padding", "ex-01-padding-fraction", "padding_fraction", check_padding_fraction),
    ("01_why_padding", "ex-01-mask-from-lengths", "mask_from_lengths", check_mask_from_lengths),
    ("02_padding", "ex-02-pad-right", "pad_right", check_pad_right),
    ("02_padding", "ex-02-truncate-and-pad", "truncate_and_pad", check_truncate_and_pad),
    ("02_padding", "ex-02-unpad", "unpad", check_unpad),
    ("03_making_masks", "ex-03-masking-rule", "masking_mask", check_masking_rule),
    ("03_making_masks", "ex-03-zeroed-embeddings", "embed_with_zeros", check_zeroed_embeddings),
    ("04_propagation", "ex-04-find-dropper", "find_mask_dropper", check_find_mask_dropper),
    ("04_propagation", "ex-04-padding-proof", "make_model", check_padding_proof_model),
    ("04_propagation", "ex-04-lstm-by-hand", "lstm_by_hand", check_lstm_by_hand),
]


@pytest.mark.parametrize("chapter, label, name, check", SOLUTIONS, ids=[s[1] for s in SOLUTIONS])
def test_solution_passes(chapter, label, name, check):
    result = check(run_solution(chapter, label, name))
    assert result.passed, repr(result)
    assert "correct" in repr(result)


def test_stub_and_crash_are_reported():
    def stub(*args, **kwargs):
        raise NotImplementedError

    assert "not written yet" in problems(check_pad_right(stub))
    assert "raised ZeroDivisionError" in problems(check_padding_fraction(lambda s: 1 / 0))
    assert "expected a function" in problems(check_encode(None))


# ----- chapter 01 -------------------------------------------------------------------


def test_encode_without_lower_case():
    text = problems(check_encode(lambda s, v: [v.get(w, v["[UNK]"]) for w in s.split()]))
    assert "word 0 ('A') should be 7, got 1 (compare words in lower case)" in text


def test_encode_splitting_on_single_spaces():
    text = problems(check_encode(lambda s, v: [v.get(w.lower(), 1) for w in s.split(" ")]))
    assert "encode('', ...) returned 1 ids, expected 0" in text


def test_padding_fraction_of_real_tokens():
    def real_fraction(sequences):
        lengths = [len(s) for s in sequences]
        return sum(lengths) / (len(lengths) * max(lengths))

    text = problems(check_padding_fraction(real_fraction))
    assert "got 0.778, expected 0.222 (4 of 18 cells are padding) (that is the fraction of real tokens)" in text


def test_mask_from_lengths_inverted_and_pre_padded():
    def right(lengths, maxlen):
        return np.arange(maxlen)[None, :] < np.asarray(lengths)[:, None]

    assert "the mask is inverted" in problems(check_mask_from_lengths(lambda lengths, m: ~right(lengths, m)))
    assert "mask of a pre-padded batch" in problems(check_mask_from_lengths(lambda lengths, m: right(lengths, m)[:, ::-1]))
    assert "row 0, step 3 should be masked (False)" in problems(
        check_mask_from_lengths(lambda lengths, m: np.ones((len(lengths), m), bool)))


# ----- chapter 02 -------------------------------------------------------------------


def test_pad_right_with_pre_padding():
    text = problems(check_pad_right(lambda s, value=0: keras.utils.pad_sequences(s, value=value)))
    assert "the padding is at the start of the rows; pad_right pads at the end" in text


def test_pad_right_ignoring_value_and_dtype():
    def zeros_only(sequences, value=0):
        return keras.utils.pad_sequences(sequences, padding="post").astype("int64")

    text = problems(check_pad_right(zeros_only))
    assert "the padding should be value=-1, not 0" in text
    assert "dtype int64, expected int32" in text


def test_truncate_and_pad_at_the_wrong_end():
    def wrong_end(sequences, maxlen, truncating="pre"):
        other = "post" if truncating == "pre" else "pre"
        return keras.utils.pad_sequences(sequences, maxlen=maxlen, truncating=other, padding="post")

    text = problems(check_truncate_and_pad(wrong_end))
    assert "cut at the wrong end: truncating='pre' keeps the last 4 ids" in text


def test_truncate_and_pad_wrong_width():
    text = problems(check_truncate_and_pad(lambda s, m, truncating="pre": keras.utils.pad_sequences(s, padding="post")))
    assert "the array has shape (3, 6), expected (3, 4)" in text


def test_unpad_ignoring_pre_padding():
    text = problems(check_unpad(lambda p, lengths, padding="post": [r[:n].tolist() for r, n in zip(p, lengths)]))
    assert "pre-padded: row 0 should be [711, 632, 71], got [0, 0, 0]" in text
    assert "pre-padding puts the ids at the end" in text


def test_unpad_with_minus_n():
    # row[-n:] is the whole row for an empty sequence
    def minus_n(p, lengths, padding="post"):
        return [r[:n].tolist() if padding == "post" else r[-n:].tolist() for r, n in zip(p, lengths)]

    text = problems(check_unpad(minus_n))
    assert "pre-padded with an empty row: row 1 should be [], got [0, 0, 0] (the padding is still there)" in text


# ----- chapter 03 -------------------------------------------------------------------


def test_masking_rule_with_all_instead_of_any():
    text = problems(check_masking_rule(lambda x, mask_value=0.0: np.all(x != mask_value, axis=-1)))
    assert "masked only if EVERY feature equals mask_value" in text


def test_masking_rule_per_feature():
    text = problems(check_masking_rule(lambda x, mask_value=0.0: x != mask_value))
    assert "one value per feature" in text and "reduce over the last axis" in text


def test_masking_rule_ignoring_mask_value():
    text = problems(check_masking_rule(lambda x, mask_value=0.0: np.any(x != 0.0, axis=-1)))
    assert "mask_value=-1.0: row 0, step 2 should be masked (False)" in text


def test_zeroed_embeddings_plain_lookup():
    text = problems(check_zeroed_embeddings(lambda w, ids: w[ids]))
    assert "row 0, step 2 is padding: its vector should be all zeros, but it is weights[0]" in text


def test_zeroed_embeddings_wrong_rows():
    text = problems(check_zeroed_embeddings(lambda w, ids: np.roll(w, 1, axis=0)[ids] * (ids != 0)[..., None]))
    assert "row 0, step 0 is id 3: its vector should be weights[3]" in text


# ----- chapter 04 -------------------------------------------------------------------


def test_find_mask_dropper_counting_consumers():
    def mask_in_none_out(model, ids):
        found = [r for r in trace_masks(model, ids) if r.has_mask_in and not r.has_mask_out]
        return found[0].layer if found else None

    text = problems(check_find_mask_dropper(mask_in_none_out))
    assert "'lstm' consumes the mask (its call() uses it); that is not dropping it" in text


def test_find_mask_dropper_always_none_and_bad_names():
    assert "returned None, but the layer 'flatten' drops the mask" in problems(
        check_find_mask_dropper(lambda model, ids: None))
    assert "there is no layer named 'nope'" in problems(check_find_mask_dropper(lambda model, ids: "nope"))
    assert "never received a mask" in problems(
        check_find_mask_dropper(lambda model, ids: model.layers[-1].name))


def test_padding_proof_model_without_mask():
    def no_mask(vocab_size):
        return keras.Sequential([keras.Input((None,), dtype="int32"), layers.Embedding(vocab_size, 4),
                                 layers.GlobalAveragePooling1D(), layers.Dense(1)])

    assert "no layer creates a mask: give the Embedding mask_zero=True" in problems(check_padding_proof_model(no_mask))


def test_padding_proof_model_with_flatten():
    def flatten(vocab_size):
        return keras.Sequential([keras.Input((5,), dtype="int32"), layers.Embedding(vocab_size, 4, mask_zero=True),
                                 layers.Flatten(name="flatten"), layers.Dense(1)])

    text = problems(check_padding_proof_model(flatten))
    assert "the layer 'flatten' (Flatten) destroys the mask" in text
    assert "fails when the same batch has 4 more padding steps" in text


def test_padding_proof_model_wrong_output_and_type():
    def per_step(vocab_size):
        return keras.Sequential([keras.Input((None,), dtype="int32"), layers.Embedding(vocab_size, 4, mask_zero=True),
                                 layers.Dense(1)])

    text = problems(check_padding_proof_model(per_step))
    assert "output has shape (3, 5, 1), expected (3, 1)" in text
    assert "no layer consumes the mask" in text
    assert "returned a Dense; expected a keras.Model" in problems(check_padding_proof_model(lambda v: layers.Dense(1)))


def test_lstm_by_hand_without_the_mask():
    text = problems(check_lstm_by_hand(lambda e, lstm, ids: lstm(e(ids) * math.sqrt(e.output_dim))))
    assert "the LSTM did not get the mask" in text


def test_lstm_by_hand_without_scaling():
    text = problems(check_lstm_by_hand(lambda e, lstm, ids: lstm(e(ids), mask=e.compute_mask(ids))))
    assert "not scaled by sqrt(output_dim)" in text


def test_lstm_by_hand_wrong_shape():
    text = problems(check_lstm_by_hand(lambda e, lstm, ids: e(ids)))
    assert "has shape (3, 5, 4), expected (3, 3)" in text
