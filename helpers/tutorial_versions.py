"""Layers as the public tutorials wrote them: deliberately WRONG or incomplete.

Chapters 05 and 06 use these to show, with numbers, what goes wrong and why.
Do not use them in a model. The correct layers are in :mod:`helpers.layers`.

| name                   | what is wrong                                             |
|------------------------|-----------------------------------------------------------|
| GuideTemporalSoftmax   | divides by the sum of the masked *inputs*, not of exps    |
| RTemporalSoftmax       | sums the exps over the feature axis instead of time       |
| NaiveTemporalSoftmax   | right axes, but a row masked everywhere gives 0/0 = NaN   |
| ActivationWithoutOptIn | a ReLU without ``supports_masking``: Keras drops the mask |

The arithmetic in each ``call`` is the tutorial's, translated to ``keras.ops``.
One thing is added to the three softmax versions: ``compute_mask`` returning None,
which tells Keras 3 that they consume the mask. The tutorials' versions lack it,
so Keras 3 would also warn that they destroy the mask (see chapter 05, C4);
without the addition that warning would repeat on every call in chapter 06.
"""

import keras
from keras import ops

PACKAGE = "padding_masking_tutorial_versions"


class _WrongOnPurpose(keras.layers.Layer):
    """Base of the wrong softmax versions: takes a mask, emits none."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return None  # added (see the module docstring); not in the tutorials

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return super().get_config()


@keras.saving.register_keras_serializable(package=PACKAGE)
class GuideTemporalSoftmax(_WrongOnPurpose):
    """WRONG: the TensorFlow guide's first ``TemporalSoftmax``.

    It exponentiates the masked inputs, then divides by the sum over time of the
    masked *inputs* (not of the exponentials). The result is not a distribution:
    rows do not sum to 1, and where that sum of inputs is negative every weight in
    the row is negative.

    Example:
        >>> x = np.array([[[-1.0], [-2.0], [5.0]]])
        >>> keras.ops.convert_to_numpy(GuideTemporalSoftmax()(x, mask=np.array([[True, True, False]])))[..., 0]
        array([[-0.123, -0.045, -0.   ]], dtype=float32)
    """

    def call(self, inputs, mask=None):
        float_mask = ops.expand_dims(ops.cast(mask, "float32"), -1)
        inputs_exp = ops.exp(inputs) * float_mask
        inputs_sum = ops.sum(inputs * float_mask, axis=1, keepdims=True)  # the bug: inputs, not exps
        return inputs_exp / inputs_sum


@keras.saving.register_keras_serializable(package=PACKAGE)
class RTemporalSoftmax(_WrongOnPurpose):
    """WRONG: the later guide's and the R guide's ``TemporalSoftmax``.

    It sums the masked exponentials over the last axis (the features) instead of
    the time axis. With one feature each unmasked step is divided by itself and
    gets weight 1; each masked step is 0 / 0 = NaN.

    Example:
        >>> x = np.array([[[1.0], [2.0], [9.0]]])
        >>> keras.ops.convert_to_numpy(RTemporalSoftmax()(x, mask=np.array([[True, True, False]])))[..., 0]
        array([[ 1.,  1., nan]], dtype=float32)
    """

    def call(self, inputs, mask=None):
        float_mask = ops.expand_dims(ops.cast(mask, "float32"), -1)
        inputs_exp = ops.exp(inputs) * float_mask
        inputs_sum = ops.sum(inputs_exp * float_mask, axis=-1, keepdims=True)  # the bug: axis=-1
        return inputs_exp / inputs_sum


@keras.saving.register_keras_serializable(package=PACKAGE)
class NaiveTemporalSoftmax(_WrongOnPurpose):
    """INCOMPLETE: the softmax over time with the right sum, and no guard.

    Correct for rows with at least one unmasked step (apart from overflow: it does
    not subtract the maximum, so inputs above about 88 give inf / inf = NaN in
    float32). A row masked at every step divides 0 by 0: NaN.

    Example:
        >>> x = np.array([[[1.0], [2.0]], [[1.0], [2.0]]])
        >>> mask = np.array([[True, False], [False, False]])
        >>> keras.ops.convert_to_numpy(NaiveTemporalSoftmax()(x, mask=mask))[..., 0]
        array([[ 1.,  0.],
               [nan, nan]], dtype=float32)
    """

    def call(self, inputs, mask=None):
        float_mask = ops.expand_dims(ops.cast(mask, "float32"), -1)
        inputs_exp = ops.exp(inputs) * float_mask
        inputs_sum = ops.sum(inputs_exp, axis=1, keepdims=True)  # 0 for a fully masked row
        return inputs_exp / inputs_sum


@keras.saving.register_keras_serializable(package=PACKAGE)
class ActivationWithoutOptIn(keras.layers.Layer):
    """INCOMPLETE: ``MyActivation`` without the line ``supports_masking = True``.

    A custom layer does not pass masks on unless it says so. In Keras 3, when this
    layer receives a masked input, it warns that it destroys the mask, and its
    output carries no mask: the layers after it process the padded steps as data.

    Example:
        >>> x = keras.layers.Embedding(10, 4, mask_zero=True)(np.array([[5, 2, 0]]))
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     y = ActivationWithoutOptIn()(x)
        >>> "will therefore destroy the mask" in str(caught[0].message)
        True
    """

    def call(self, inputs):
        return ops.relu(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape
