"""The exercise checks of chapters 05 and 06: solutions pass, typical wrong answers get specific feedback."""

import keras
import numpy as np
import pytest
from nbtools import run_solution
from nbtools import wrong_answer_problems as problems

from helpers.exercises.custom_layers import (
    check_double,
    check_is_distribution,
    check_masked_mean,
    check_masked_softmax,
    check_pair_pool,
    check_reverse_time,
)

CH05 = "05_custom_layers"
CH06 = "06_mask_consumers"


# ----- solutions taken from the chapters pass ----------------------------------------------


@pytest.mark.parametrize(
    "chapter, label, name, check",
    [
        (CH05, "ex-05-opt-in", "Double", check_double),
        (CH05, "ex-05-reverse-time", "ReverseTime", check_reverse_time),
        (CH05, "ex-05-pair-pool", "PairPool", check_pair_pool),
        (CH06, "ex-06-validator", "is_masked_distribution", check_is_distribution),
        (CH06, "ex-06-masked-mean", "MaskedMean", check_masked_mean),
        (CH06, "ex-06-masked-softmax", "masked_softmax", check_masked_softmax),
    ],
)
def test_chapter_solution_passes(chapter, label, name, check):
    result = check(run_solution(chapter, label, name))
    assert result.passed, result.problems


# ----- wrong answers get specific feedback ------------------------------------------------


class DoubleWithoutOptIn(keras.layers.Layer):
    def call(self, inputs):
        return inputs * 2


class DoubleStub(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        raise NotImplementedError


class DoubleDroppingMask(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return inputs * 2

    def compute_mask(self, inputs, mask=None):
        return None


def test_double_without_opt_in():
    assert "has not opted in" in problems(check_double(DoubleWithoutOptIn))


def test_double_stub_and_not_a_class():
    assert "not written yet" in problems(check_double(DoubleStub))
    assert "expected the class Double itself" in problems(check_double(DoubleWithoutOptIn()))


def test_double_returning_no_mask():
    assert "carries no mask" in problems(check_double(DoubleDroppingMask))


class ReverseOnlyInputs(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return keras.ops.flip(inputs, axis=1)


class ReverseWrongAxis(ReverseOnlyInputs):
    def call(self, inputs):
        return keras.ops.flip(inputs, axis=-1)

    def compute_mask(self, inputs, mask=None):
        return None if mask is None else keras.ops.flip(mask, axis=1)


class ReverseCrashingWithoutMask(ReverseOnlyInputs):
    def compute_mask(self, inputs, mask=None):
        return keras.ops.flip(mask, axis=1)


def test_reverse_time_mask_not_reversed():
    assert "the mask was passed on unchanged, but the steps moved" in problems(check_reverse_time(ReverseOnlyInputs))


def test_reverse_time_wrong_axis():
    text = problems(check_reverse_time(ReverseWrongAxis))
    assert "the output at [0, 0, 0] is" in text


def test_reverse_time_fails_without_mask():
    assert "on an input without a mask" in problems(check_reverse_time(ReverseCrashingWithoutMask))


class PairPoolPlainMean(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if inputs.shape[1] is not None and inputs.shape[1] % 2:
            raise ValueError("odd")
        return (inputs[:, 0::2] + inputs[:, 1::2]) / 2

    def compute_mask(self, inputs, mask=None):
        return None if mask is None else keras.ops.logical_or(mask[:, 0::2], mask[:, 1::2])


class PairPoolAndMask(PairPoolPlainMean):
    """Right values, but a pair is kept only if both steps are (logical_and)."""

    def call(self, inputs, mask=None):
        if mask is None:
            return (inputs[:, 0::2] + inputs[:, 1::2]) / 2
        keep = keras.ops.expand_dims(keras.ops.cast(mask, inputs.dtype), -1)
        a, b = keep[:, 0::2], keep[:, 1::2]
        return (inputs[:, 0::2] * a + inputs[:, 1::2] * b) / keras.ops.maximum(a + b, 1.0)

    def compute_mask(self, inputs, mask=None):
        return None if mask is None else keras.ops.logical_and(mask[:, 0::2], mask[:, 1::2])


def test_pair_pool_plain_mean():
    assert "the output is the plain mean of each pair" in problems(check_pair_pool(PairPoolPlainMean))


def test_pair_pool_and_instead_of_or():
    text = problems(check_pair_pool(PairPoolAndMask))
    assert "mask on the output: row 2, step 0 should be kept (True)" in text


def test_pair_pool_accepting_odd_lengths():
    class NoOddCheck(PairPoolAndMask):
        def call(self, inputs, mask=None):
            return inputs[:, 0::2]

    assert "an odd time length (5) should raise ValueError" in problems(check_pair_pool(NoOddCheck))


def sums_only(weights, mask):
    weights = np.asarray(weights)
    return bool(np.isfinite(weights).all())


def test_validator_checking_only_for_nan():
    text = problems(check_is_distribution(sums_only))
    assert "on the guide's TemporalSoftmax output (rows do not sum to 1) it returned True, expected False" in text


def test_validator_returning_non_bool():
    assert "should return True or False" in problems(check_is_distribution(lambda w, m: "yes"))


class MeanWithNaN(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return keras.ops.mean(inputs, axis=1)
        keep = keras.ops.expand_dims(keras.ops.cast(mask, inputs.dtype), -1)
        return keras.ops.sum(inputs * keep, axis=1) / keras.ops.sum(keep, axis=1)

    def compute_mask(self, inputs, mask=None):
        return None


class MeanIgnoringMask(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        return keras.ops.mean(inputs, axis=1)


class MeanWithoutMaskArgument(keras.layers.Layer):
    def call(self, inputs):
        return keras.ops.mean(inputs, axis=1)


def test_masked_mean_nan_on_empty_row():
    assert "row 2 is masked everywhere: its mean should be 0, got NaN" in problems(check_masked_mean(MeanWithNaN))


def test_masked_mean_including_padding_and_leaking_mask():
    text = problems(check_masked_mean(MeanIgnoringMask))
    assert "mean over all steps, padding included" in text
    assert "compute_mask should return None" in text


def test_masked_mean_without_mask_argument():
    assert "def call(self, inputs, mask=None)" in problems(check_masked_mean(MeanWithoutMaskArgument))


def naive_softmax(scores, mask):
    e = np.exp(scores) * mask
    return e / e.sum(axis=-1, keepdims=True)


def additive_softmax(scores, mask):
    return keras.ops.softmax(np.where(mask, scores, -1e9), axis=-1)


def test_masked_softmax_naive_gives_nan():
    text = problems(check_masked_softmax(naive_softmax))
    assert "large scores (1000 and more): NaN" in text
    assert "row 1 masked everywhere: NaN in the fully masked row" in text


def test_masked_softmax_additive_mask_gives_uniform_row():
    text = problems(check_masked_softmax(additive_softmax))
    assert "a uniform distribution" in text


def test_masked_softmax_wrong_axis():
    text = problems(check_masked_softmax(lambda s, m: np.where(m, np.exp(s - s.max()), 0) / 1.0))
    assert "small scores: the weights at [0, 0] is" in text
