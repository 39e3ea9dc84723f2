"""helpers.exercises.audit: chapter 15's checks accept the worked answers and reject the leaky models."""

import warnings

import keras
import pytest
from keras import ops

from helpers.audit import examples as ex
from helpers.exercises.audit import check_fixed_conv_model, check_masked_center
from helpers.layers import MaskedConv1D

pytestmark = pytest.mark.filterwarnings("ignore:.*destroy the mask information")


def make_fixed_conv_model(vocab_size):
    return keras.Sequential([keras.Input((None,), dtype="int32"), keras.layers.Embedding(vocab_size, 8, mask_zero=True),
                             MaskedConv1D(8, 3), keras.layers.GlobalAveragePooling1D()])


class MaskedCenter(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return inputs - ops.mean(inputs, axis=1, keepdims=True)
        weights = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        total = ops.maximum(ops.sum(weights, axis=1, keepdims=True), 1.0)
        return inputs - ops.sum(inputs * weights, axis=1, keepdims=True) / total


def test_the_worked_answers_pass():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert check_fixed_conv_model(make_fixed_conv_model).passed
        assert check_masked_center(MaskedCenter).passed


@pytest.mark.parametrize("conv", ["same", "causal"])
def test_leaky_conv_models_fail_with_the_leaking_layer_named(conv):
    result = check_fixed_conv_model(lambda v: ex.build_conv_model(conv, vocab_size=v))
    assert not result.passed
    assert any("still finds a leak" in p for p in result.problems)


def test_removing_the_convolution_is_not_a_fix():
    def no_conv(vocab_size):
        return keras.Sequential([keras.Input((None,), dtype="int32"),
                                 keras.layers.Embedding(vocab_size, 8, mask_zero=True),
                                 keras.layers.GlobalAveragePooling1D()])

    result = check_fixed_conv_model(no_conv)
    assert any("no Conv1D" in p for p in result.problems)


def test_the_leaky_center_fails():
    result = check_masked_center(ex.CenterOverTime)
    assert not result.passed


def test_a_center_that_ignores_the_mask_is_found_by_the_audit():
    class Unmasked(MaskedCenter):
        def call(self, inputs, mask=None):
            return super().call(inputs, None)

    result = check_masked_center(Unmasked)
    assert any("output at real steps" in p for p in result.problems)
    assert any("still finds a leak" in p for p in result.problems)


def test_not_written_yet():
    def make(vocab_size):
        raise NotImplementedError("your code here")

    assert "not written yet" in repr(check_fixed_conv_model(make))
