"""The exercise checks of chapter 07: solutions pass, typical wrong answers get specific feedback."""

import keras
import numpy as np
import pytest
from nbtools import run_solution
from nbtools import wrong_answer_problems as problems

from helpers.exercises.layer_questions import check_conv_model, check_merged_masks, keras_merged_masks

CH15 = "07_layers_around_masks"


@pytest.mark.parametrize(
    "label, name, check",
    [("ex-07-merged-masks", "merged_masks", check_merged_masks),
     ("ex-07-conv-model", "make_conv_model", check_conv_model)],
)
def test_chapter_solution_passes(label, name, check):
    result = check(run_solution(CH15, label, name))
    assert result.passed, result.problems


def test_keras_reference_masks():
    a = np.array([[True, False]])
    b = np.array([[False, False]])
    masks = keras_merged_masks(a, b)
    np.testing.assert_array_equal(masks["add"], [[True, False]])
    np.testing.assert_array_equal(masks["concat_time"], [[True, False, False, False]])


# ----- merged_masks: wrong answers ------------------------------------------------------------


def merged_with_and(mask_a, mask_b):
    return {"add": mask_a & mask_b, "concat_time": np.concatenate([mask_a, mask_b], axis=1),
            "concat_features": mask_a | mask_b}


def merged_time_wrong_axis(mask_a, mask_b):
    return {"add": mask_a | mask_b, "concat_time": mask_a | mask_b, "concat_features": mask_a | mask_b}


def merged_features_as_first(mask_a, mask_b):
    return {"add": mask_a | mask_b, "concat_time": np.concatenate([mask_a, mask_b], axis=1),
            "concat_features": mask_a}


def test_merged_with_and_is_told_add_is_an_or():
    assert "ANY of its inputs (a logical OR" in problems(check_merged_masks(merged_with_and))


def test_merged_time_not_concatenated_is_told_the_shape():
    assert "time_a + time_b" in problems(check_merged_masks(merged_time_wrong_axis))


def test_merged_features_wrong_is_named():
    assert "'concat_features'" in problems(check_merged_masks(merged_features_as_first))


def test_merged_missing_key_and_wrong_type_and_stub():
    assert "no key 'concat_features'" in problems(check_merged_masks(
        lambda a, b: {"add": a | b, "concat_time": np.concatenate([a, b], axis=1)}))
    assert "expected a dict" in problems(check_merged_masks(lambda a, b: [a | b]))

    def stub(a, b):
        raise NotImplementedError

    assert "not written yet" in problems(check_merged_masks(stub))


# ----- make_conv_model: wrong answers ------------------------------------------------------


def plain_conv_model(vocab_size):
    return keras.Sequential([
        keras.Input((None,), dtype="int32"),
        keras.layers.Embedding(vocab_size, 4, mask_zero=True),
        keras.layers.Conv1D(4, 3, padding="same"),
        keras.layers.GlobalMaxPooling1D(),
        keras.layers.Dense(1),
    ])


def no_conv_model(vocab_size):
    return keras.Sequential([
        keras.Input((None,), dtype="int32"),
        keras.layers.Embedding(vocab_size, 4, mask_zero=True),
        keras.layers.GlobalAveragePooling1D(),
        keras.layers.Dense(1),
    ])


def masked_conv_plain_max(vocab_size):
    from helpers.layers import MaskedConv1D

    return keras.Sequential([
        keras.Input((None,), dtype="int32"),
        keras.layers.Embedding(vocab_size, 4, mask_zero=True),
        MaskedConv1D(4, 3),
        keras.layers.GlobalMaxPooling1D(name="plain_max"),
        keras.layers.Dense(1),
    ])


def test_plain_conv1d_is_named_and_padding_reaches_the_result():
    text = problems(check_conv_model(plain_conv_model))
    assert "(Conv1D) destroys the mask: use helpers.layers.MaskedConv1D" in text
    assert "the padding reaches the result" in text


def test_model_without_convolution_is_told_so():
    assert "no convolution over time" in problems(check_conv_model(no_conv_model))


def test_plain_max_pooling_is_named():
    text = problems(check_conv_model(masked_conv_plain_max))
    assert "'plain_max' (GlobalMaxPooling1D) destroys the mask: use helpers.layers.MaskedGlobalMaxPooling1D" in text


def test_conv_model_not_a_model():
    assert "expected a keras.Model" in problems(check_conv_model(lambda vocab_size: "model"))
