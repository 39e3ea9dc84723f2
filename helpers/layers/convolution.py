"""Mask-aware convolution and max pooling over time, and a layer with two masked inputs.

Taught in chapter 7 (The layer questions readers bring).

``MaskedConv1D`` and ``MaskedGlobalMaxPooling1D`` are the masked counterparts of
``keras.layers.Conv1D`` and ``keras.layers.GlobalMaxPooling1D``, which in Keras 3.15
take no mask: padded steps enter the convolution's windows and the maximum.
``PairedMaskedMean`` takes two sequences, each with its own mask, through the
``a_mask`` / ``b_mask`` arguments Keras fills for a ``call`` with several tensors.
"""

import keras
from keras import ops

from helpers.layers.package import PACKAGE
from helpers.validation import received


def _time_mask(layer, inputs, mask):
    """The mask as a bool tensor ``(batch, time, 1)``, or a ValueError naming the layer."""
    mask_shape, shape = tuple(mask.shape), tuple(inputs.shape)
    if len(mask_shape) != 2 or any(
        m is not None and s is not None and m != s for m, s in zip(mask_shape, shape[:2])
    ):
        raise ValueError(
            f"{layer}: `mask` must have the inputs' (batch, time) = {shape[:2]}; the mask has shape {mask_shape}. "
            f"Received: mask with shape {mask_shape}"
        )
    return ops.expand_dims(ops.cast(mask, "bool"), -1)


def _check_3d(layer, shape, argument="inputs"):
    if len(shape) != 3:
        raise ValueError(
            f"{layer} expects {argument} of shape (batch, time, features): `{argument}` must be 3-D. "
            f"{received(f'{argument}.shape', tuple(shape))}"
        )


@keras.saving.register_keras_serializable(package=PACKAGE)
class MaskedConv1D(keras.layers.Conv1D):
    """A ``Conv1D`` over time that ignores padded steps and passes the mask on.

    Before the convolution, padded steps (mask False) are set to zero, so that
    what sits in the padding never reaches a real step. Zeroed padded steps are
    exactly what ``Conv1D`` itself adds beyond the ends of a sequence with
    ``padding="same"`` or ``"causal"`` (zero inputs), so the output at a real
    step is the same whether the sequence is pre-padded or post-padded and
    however much padding the batch has. After the convolution, padded steps of
    the output are set to zero, and the mask is passed on unchanged: the time
    axis keeps its length, which is why only ``"same"`` and ``"causal"`` padding
    and ``strides=1`` are accepted.

    Without a mask the layer is a plain ``Conv1D``.

    Args:
        filters: int, number of output features.
        kernel_size: int, length of the convolution window.
        padding: ``"same"`` (window centred on the step) or ``"causal"`` (the
            step and the ones before it). Default ``"same"``.
        strides: must be 1 (the time axis keeps its length).
        **kwargs: any other ``keras.layers.Conv1D`` argument (``dilation_rate``,
            ``activation``, ``use_bias``, initializers, ``name``, ...).

    Call arguments:
        inputs: float tensor ``(batch, time, features)``.
        mask: optional boolean tensor ``(batch, time)``, True for real steps.

    Raises:
        ValueError: if ``padding`` is not ``"same"`` or ``"causal"``, if
            ``strides`` is not 1, if ``data_format`` is not ``"channels_last"``,
            or if the mask's shape is not the inputs' ``(batch, time)``.

    Example:
        >>> ids = np.array([[5, 3, 0, 0], [7, 2, 9, 4]])
        >>> x = keras.layers.Embedding(10, 4, mask_zero=True)(ids)
        >>> y = MaskedConv1D(8, 3)(x)
        >>> tuple(y.shape), float(keras.ops.convert_to_numpy(y)[0, 2:].max())
        ((2, 4, 8), 0.0)
    """

    def __init__(self, filters, kernel_size, padding="same", strides=1, **kwargs):
        if padding not in ("same", "causal"):
            raise ValueError(
                f"MaskedConv1D: `padding` must be 'same' or 'causal' so that the time axis keeps its "
                f"length and the mask still fits the output. {received('padding', padding)}"
            )
        if strides not in (1, (1,), [1]):
            raise ValueError(
                f"MaskedConv1D: `strides` must be 1 so that the time axis keeps its length and the mask "
                f"still fits the output. {received('strides', strides)}"
            )
        if kwargs.get("data_format", "channels_last") != "channels_last":
            raise ValueError(
                f"MaskedConv1D: `data_format` must be 'channels_last' (inputs (batch, time, features)). "
                f"{received('data_format', kwargs['data_format'])}"
            )
        super().__init__(filters, kernel_size, strides=1, padding=padding, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        keep = _time_mask("MaskedConv1D", inputs, mask)
        # Padded steps become the zeros Conv1D adds beyond the ends of a sequence.
        outputs = super().call(ops.where(keep, inputs, ops.zeros_like(inputs)))
        return ops.where(keep, outputs, ops.zeros_like(outputs))

    def compute_mask(self, inputs, mask=None):
        return mask  # the time axis keeps its length: the same steps are real

    def get_config(self):
        return super().get_config()  # Conv1D's: filters, kernel_size, padding, ...


@keras.saving.register_keras_serializable(package=PACKAGE)
class MaskedGlobalMaxPooling1D(keras.layers.Layer):
    """The maximum over the real steps of each sequence, per feature.

    ``keras.layers.GlobalMaxPooling1D`` takes no mask in Keras 3.15: padded steps
    take part in its maximum. This layer takes the maximum over the steps whose
    mask is True only. A row with no real step has no maximum: it gives zeros,
    never ``-inf`` or NaN. Without a mask every step counts. The output has no
    time axis, so the layer consumes the mask (``compute_mask`` returns None).

    Args:
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``, ...).

    Call arguments:
        inputs: float tensor ``(batch, time, features)``.
        mask: optional boolean tensor ``(batch, time)``, True for real steps.

    Output shape:
        ``(batch, features)``.

    Raises:
        ValueError: if the inputs are not 3-D, or the mask's shape is not the
            inputs' ``(batch, time)``.

    Example:
        >>> x = np.array([[[1.0], [3.0], [9.0]], [[4.0], [8.0], [8.0]]])
        >>> mask = np.array([[True, True, False], [False, False, False]])
        >>> keras.ops.convert_to_numpy(MaskedGlobalMaxPooling1D()(x, mask=mask))
        array([[3.],
               [0.]], dtype=float32)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # it accepts a mask (and consumes it)

    def build(self, input_shape):
        _check_3d("MaskedGlobalMaxPooling1D", input_shape)
        self.built = True

    def call(self, inputs, mask=None):
        _check_3d("MaskedGlobalMaxPooling1D", tuple(inputs.shape))
        if mask is None:
            return ops.max(inputs, axis=1)
        keep = _time_mask("MaskedGlobalMaxPooling1D", inputs, mask)
        lowest = ops.full_like(inputs, float("-inf"))
        row_max = ops.max(ops.where(keep, inputs, lowest), axis=1)
        any_real = ops.any(keep, axis=1)  # (batch, 1): False for a row of padding only
        return ops.where(any_real, row_max, ops.zeros_like(row_max))

    def compute_mask(self, inputs, mask=None):
        return None  # no time axis left to mask

    def compute_output_shape(self, input_shape):
        _check_3d("MaskedGlobalMaxPooling1D", input_shape)
        return (input_shape[0], input_shape[2])

    def get_config(self):
        return super().get_config()


@keras.saving.register_keras_serializable(package=PACKAGE)
class PairedMaskedMean(keras.layers.Layer):
    """Masked means of two sequences, side by side: ``[mean(a), mean(b)]``.

    ``call`` takes two tensors, so Keras does not fill a ``mask`` argument: it
    fills ``a_mask`` and ``b_mask``, each with the mask of its own input. Each
    sequence is averaged over its real steps; a sequence with no real step gives
    zeros. The output has no time axis: the layer consumes both masks.

    Args:
        **kwargs: passed to ``keras.layers.Layer``.

    Call arguments:
        a: float tensor ``(batch, time_a, features_a)``.
        b: float tensor ``(batch, time_b, features_b)``; the two may differ in length.
        a_mask: optional boolean tensor ``(batch, time_a)``; Keras fills it.
        b_mask: optional boolean tensor ``(batch, time_b)``; Keras fills it.

    Output shape:
        ``(batch, features_a + features_b)``.

    Raises:
        ValueError: if ``a`` or ``b`` is not 3-D, or a mask does not fit its input.

    Example:
        >>> question = keras.layers.Embedding(10, 2, mask_zero=True)(np.array([[4, 0, 0]]))
        >>> answer = keras.layers.Embedding(10, 3, mask_zero=True)(np.array([[5, 6, 7, 0]]))
        >>> PairedMaskedMean()(question, answer).shape
        TensorShape([1, 5])
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # it accepts masks (and consumes them)

    @staticmethod
    def _mean(x, mask, argument):
        _check_3d("PairedMaskedMean", tuple(x.shape), argument)
        if mask is None:
            return ops.mean(x, axis=1)
        weights = ops.cast(_time_mask(f"PairedMaskedMean ({argument}_mask)", x, mask), x.dtype)
        count = ops.sum(weights, axis=1)  # (batch, 1)
        total = ops.sum(x * weights, axis=1)
        return total / ops.maximum(count, ops.ones_like(count))  # no real step: 0 / 1 = 0

    def call(self, a, b, a_mask=None, b_mask=None):
        return ops.concatenate([self._mean(a, a_mask, "a"), self._mean(b, b_mask, "b")], axis=-1)

    def compute_mask(self, a, mask=None):
        # Keras passes only the first input and its mask here; the output has no time axis.
        return None

    def compute_output_shape(self, a_shape, b_shape):
        _check_3d("PairedMaskedMean", a_shape, "a")
        _check_3d("PairedMaskedMean", b_shape, "b")
        features = None if a_shape[2] is None or b_shape[2] is None else a_shape[2] + b_shape[2]
        return (a_shape[0], features)

    def get_config(self):
        return super().get_config()
