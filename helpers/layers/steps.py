"""Layers that pass a mask on (``MyActivation``), change it (``TemporalSplit``) or consume it (``TemporalSoftmax``).

Taught in chapters 5 and 6 (Custom layers that make, change and pass on masks; Layers that consume masks).
"""

import keras
from keras import ops

from helpers.layers.package import PACKAGE


@keras.saving.register_keras_serializable(package=PACKAGE)
class MyActivation(keras.layers.Layer):
    """A ReLU that passes the mask on unchanged.

    The layer works step by step and keeps the time axis, so the input's mask is
    still right for its output. Setting ``supports_masking = True`` opts in: Keras's
    default ``compute_mask`` then returns the incoming mask and attaches it to the
    output. Without it Keras 3 warns that the layer destroys the mask.

    Args:
        **kwargs: passed to ``keras.layers.Layer``.

    Input shape:
        any; output has the same shape, and the same mask.

    Example:
        >>> x = keras.layers.Embedding(10, 4, mask_zero=True)(np.array([[5, 2, 0]]))
        >>> from helpers.masks import keras_mask
        >>> keras_mask(MyActivation()(x))
        array([[ True,  True, False]])
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # the opt-in: pass the mask on as it is

    def call(self, inputs):
        return ops.relu(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package=PACKAGE)
class TemporalSplit(keras.layers.Layer):
    """Split a sequence, and its mask, into two halves along the time axis.

    A layer that changes the time axis must change the mask the same way, or the
    next layer would receive a mask that no longer lines up with its input.
    ``call`` splits the inputs; ``compute_mask`` splits the mask. Both return a
    list of two.

    Args:
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``, ...).

    Input shape:
        ``(batch, time, ...)`` with an even ``time``.

    Output shape:
        a list of two tensors of shape ``(batch, time // 2, ...)``; their masks
        are the two halves of the input's mask, shape ``(batch, time // 2)``,
        or None when the input has no mask.

    Raises:
        ValueError: if the input has fewer than 2 dimensions, or its time length
            is odd (at build time when the length is known, otherwise at call time).

    Example:
        >>> ids = np.array([[711, 632, 71, 0, 0, 0], [83, 91, 1, 645, 1253, 927]])
        >>> x = keras.layers.Embedding(2000, 4, mask_zero=True)(ids)
        >>> first, second = TemporalSplit()(x)
        >>> from helpers.masks import keras_mask
        >>> keras_mask(second)
        array([[False, False, False],
               [ True,  True,  True]])
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # The mask is not passed through unchanged: compute_mask below splits it.
        self.supports_masking = True

    @staticmethod
    def _check_shape(shape, when):
        at = f" {when}" if when else ""
        if len(shape) < 2:
            raise ValueError(
                f"TemporalSplit: `inputs` must have shape (batch, time, ...). "
                f"Received: inputs with shape {tuple(shape)}{at}"
            )
        length = shape[1]
        if length is not None and length % 2:
            raise ValueError(
                f"TemporalSplit: `inputs` must have an even number of time steps to split into two equal "
                f"halves; pad the sequences to an even length. "
                f"Received: inputs with shape {tuple(shape)} (odd length {length}){at}"
            )

    def build(self, input_shape):
        self._check_shape(input_shape, "at build time")
        self.built = True

    def call(self, inputs):
        self._check_shape(tuple(inputs.shape), "at call time")
        return ops.split(inputs, 2, axis=1)

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        if len(mask.shape) != 2:
            raise ValueError(f"TemporalSplit: `mask` must have shape (batch, time). "
                             f"Received: mask with shape {tuple(mask.shape)}")
        return ops.split(mask, 2, axis=1)

    def compute_output_shape(self, input_shape):
        self._check_shape(input_shape, "")
        length = None if input_shape[1] is None else input_shape[1] // 2
        half = (input_shape[0], length) + tuple(input_shape[2:])
        return [half, half]

    def get_config(self):
        return super().get_config()


@keras.saving.register_keras_serializable(package=PACKAGE)
class TemporalSoftmax(keras.layers.Layer):
    """Softmax over the time axis that gives masked steps exactly zero weight.

    For inputs of shape ``(batch, time, features)`` and a mask ``(batch, time)``,
    each feature of each row becomes a distribution over that row's unmasked steps:
    they sum to 1, masked steps get 0. The maximum over the unmasked steps is
    subtracted before ``exp`` so large inputs do not overflow. A row masked at every
    step has nothing to distribute over: it returns zeros (a naive version divides
    0 by 0 and returns NaN).

    The layer consumes the mask: ``compute_mask`` returns None.

    Args:
        **kwargs: passed to ``keras.layers.Layer``.

    Call arguments:
        inputs: float tensor ``(batch, time, features)``.
        mask: boolean tensor ``(batch, time)``, True for steps to keep. Required.

    Raises:
        ValueError: if the inputs are not 3-D, if no mask is given, or if the mask's
            shape is not the inputs' ``(batch, time)``.

    Example:
        >>> x = np.array([[[1.0], [2.0], [9.0]]])
        >>> keras.ops.convert_to_numpy(TemporalSoftmax()(x, mask=np.array([[True, True, False]])))[..., 0]
        array([[0.269, 0.731, 0.   ]], dtype=float32)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # it accepts a mask (and consumes it)

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(
                f"TemporalSoftmax: `inputs` must have shape (batch, time, features). "
                f"Received: inputs with shape {tuple(input_shape)}"
            )
        self.built = True

    def call(self, inputs, mask=None):
        shape = tuple(inputs.shape)
        if len(shape) != 3:
            raise ValueError(f"TemporalSoftmax: `inputs` must have shape (batch, time, features). "
                             f"Received: inputs with shape {shape}")
        if mask is None:
            raise ValueError(
                "TemporalSoftmax: `mask` must be a boolean tensor (batch, time): the layer needs a mask. Put a "
                "layer that makes one before it (Embedding(mask_zero=True), Masking) or call it with `mask=`. "
                "Received: mask=None"
            )
        mask_shape = tuple(mask.shape)
        if len(mask_shape) != 2 or any(
            m is not None and s is not None and m != s for m, s in zip(mask_shape, shape[:2])
        ):
            raise ValueError(
                f"TemporalSoftmax: `mask` must have the inputs' (batch, time) = {shape[:2]}. "
                f"Received: mask with shape {mask_shape}"
            )
        keep = ops.expand_dims(ops.cast(mask, "bool"), -1)  # (batch, time, 1)
        zeros = ops.zeros_like(inputs)
        # Largest unmasked value per row and feature (0 for a row masked everywhere).
        lowest = ops.full_like(inputs, float("-inf"))
        row_max = ops.max(ops.where(keep, inputs, lowest), axis=1, keepdims=True)
        row_max = ops.where(ops.isfinite(row_max), row_max, ops.zeros_like(row_max))
        # exp only where kept: masked steps are 0 and never overflow.
        exps = ops.where(keep, ops.exp(ops.where(keep, inputs - row_max, zeros)), zeros)
        total = ops.sum(exps, axis=1, keepdims=True)
        # Each kept row has total >= 1 (its maximum gives exp(0)); an empty row has total 0.
        return exps / ops.where(total > 0, total, ops.ones_like(total))

    def compute_mask(self, inputs, mask=None):
        return None  # the mask has been used up: the weights already encode it

    # No compute_output_shape on purpose: Keras then infers shapes by tracing call()
    # on symbolic tensors, so a model built without a mask fails when it is built,
    # with the error above, not later when it first runs.

    def get_config(self):
        return super().get_config()
