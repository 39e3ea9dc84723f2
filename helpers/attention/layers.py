"""The masked self-attention layers: ``PadMasking``, ``Embed``, ``Reflect`` and ``KeyPaddingMask``.

Taught in chapter 10 (Masked self-attention).
"""

import math

import keras
from keras import ops

from helpers.layers.package import PACKAGE
from helpers.validation import positive_int, received


def _large_negative(dtype):
    """A score that the softmax turns into weight 0, finite in ``dtype``."""
    return -3e4 if keras.backend.standardize_dtype(dtype) in ("float16", "bfloat16") else -1e9


def _check_ids_shape(layer, shape):
    if len(shape) != 2:
        raise ValueError(
            f"{layer}: `inputs` must be integer ids of shape (batch, time). "
            f"Received: inputs with shape {tuple(shape)}"
        )


def _check_integer(layer, dtype):
    dtype = keras.backend.standardize_dtype(dtype)
    if "int" not in dtype:
        raise TypeError(f"{layer}: `inputs` must be integer token ids. Received: inputs with dtype {dtype}")


@keras.saving.register_keras_serializable(package=PACKAGE)
class PadMasking(keras.layers.Layer):
    """Makes the padding mask of a batch of token ids; returns the ids unchanged.

    The mask is ``ids != 0`` (id 0 is padding): True for a real token, False for
    a padded step. Keras attaches it to the output and hands it to the next
    layers' ``call(mask=...)``.

    Input shape:
        integer ids ``(batch, time)``.

    Output shape:
        the same ids, ``(batch, time)``, with the mask ``(batch, time)`` attached.

    Example:
        >>> layer = PadMasking()
        >>> ids = np.array([[3, 5, 13, 0]])
        >>> keras.ops.convert_to_numpy(layer.compute_mask(ids))
        array([[ True,  True,  True, False]])
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def build(self, input_shape):
        _check_ids_shape("PadMasking", input_shape)
        self.built = True

    def call(self, inputs):
        _check_integer("PadMasking", inputs.dtype)
        return inputs

    def compute_mask(self, inputs, mask=None):
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package=PACKAGE)
class Embed(keras.layers.Layer):
    """Looks up a vector per token id, and sets the vectors of padded steps to exactly 0.

    Unlike ``keras.layers.Embedding(mask_zero=True)`` (which still returns row 0
    of its table for padding), this layer multiplies the looked-up vectors by
    the mask it receives, so layers that cannot read a mask (``Reshape``,
    ``Dense``) see zeros at padded steps. It does not make a mask: put a
    :class:`PadMasking` before it. The mask is passed on unchanged.

    Args:
        input_dim: int, size of the vocabulary (largest id + 1).
        output_dim: int, size of each vector.
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``, ...).

    Input shape:
        integer ids ``(batch, time)``; optional boolean mask ``(batch, time)``.

    Output shape:
        ``(batch, time, output_dim)``; zero vectors where the mask is False.

    Example:
        >>> embed = Embed(20, 15)
        >>> ids = np.array([[3, 5, 13, 0]])
        >>> out = embed(ids, mask=ids != 0)
        >>> float(keras.ops.max(keras.ops.abs(out[0, 3])))     # the padded step
        0.0
    """

    def __init__(self, input_dim, output_dim, **kwargs):
        super().__init__(**kwargs)
        self.input_dim = positive_int(input_dim, "input_dim", owner="Embed")
        self.output_dim = positive_int(output_dim, "output_dim", owner="Embed")
        self.supports_masking = True

    def build(self, input_shape):
        _check_ids_shape("Embed", input_shape)
        self.embeddings = self.add_weight(
            shape=(self.input_dim, self.output_dim),
            initializer="random_normal",
            name="embeddings",
        )
        self.built = True

    def call(self, inputs, mask=None):
        _check_integer("Embed", inputs.dtype)
        vectors = ops.take(self.embeddings, inputs, axis=0)
        if mask is not None:
            if tuple(mask.shape) != tuple(inputs.shape) and None not in mask.shape + inputs.shape:
                raise ValueError(
                    f"Embed: `mask` must have the ids' shape {tuple(inputs.shape)}. "
                    f"Received: mask with shape {tuple(mask.shape)}"
                )
            vectors = vectors * ops.expand_dims(ops.cast(mask, vectors.dtype), -1)
        return vectors

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        config = super().get_config()
        config.update({"input_dim": self.input_dim, "output_dim": self.output_dim})
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class Reflect(keras.layers.Layer):
    """Single-head self-attention with a key-padding mask.

    With ``x`` of shape ``(batch, time, d)``: ``q = x Wq``, ``k = x Wk``,
    ``v = x Wv`` (three ``(d, d)`` matrices, no bias); scores
    ``q k^T / sqrt(d)`` of shape ``(batch, query, key)``; a softmax over the key
    axis; output ``weights @ v``, shape ``(batch, time, d)``.

    Masking. The mask ``(batch, time)`` says which steps are real. A padded step
    must not be *attended to*, so the mask is applied along the key axis:
    ``mask[:, None, :]``, the same for every query. Padded keys get a score of
    -1e9 (-3e4 in float16), so their weight is exactly 0 and the outputs at
    real steps do not depend on what sits in padded steps. The mask is passed
    on unchanged; rows of padded *queries* still attend to the real keys (their
    outputs are what a mask-aware layer downstream would skip).

    A row whose keys are all masked (a sequence that is padding only) would
    give a uniform softmax over padding; this layer returns weight 0 on every
    key instead, hence an output of zeros, never NaN (Keras's own ``Softmax``
    does the same for fully masked rows).

    ``mask_axis="query"`` reproduces the defect of the blog post: the -1e9 is
    broadcast along the query axis (``mask[:, :, None]``). That shifts every
    score of a padded query's row by the same amount, which a softmax over keys
    ignores: padded keys keep their weight. Use it only to see the defect.

    Args:
        mask_axis: ``"key"`` (default, correct) or ``"query"`` (the blog's defect).
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``, ...).

    Call arguments:
        inputs: float tensor ``(batch, time, d)``.
        mask: optional boolean tensor ``(batch, time)``, True for real steps.
        return_attention_scores: bool; if True, return ``(outputs, weights)``
            with the softmax weights of shape ``(batch, query, key)``.

    Example:
        >>> reflect = Reflect()
        >>> x = np.random.normal(size=(2, 5, 15)).astype("float32")
        >>> mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)
        >>> out, w = reflect(x, mask=mask, return_attention_scores=True)
        >>> tuple(out.shape), tuple(w.shape)
        ((2, 5, 15), (2, 5, 5))
        >>> float(keras.ops.max(w[0, :, 3:]))   # padded keys of row 0
        0.0
    """

    MASK_AXES = ("key", "query")

    def __init__(self, mask_axis="key", **kwargs):
        super().__init__(**kwargs)
        if mask_axis not in self.MASK_AXES:
            raise ValueError(f"Reflect: `mask_axis` must be 'key' or 'query'. {received('mask_axis', mask_axis)}")
        self.mask_axis = mask_axis
        self.supports_masking = True

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(
                f"Reflect: `inputs` must be vectors of shape (batch, time, d) with d known. "
                f"Received: inputs with shape {tuple(input_shape)}"
            )
        d = input_shape[-1]
        self.wq = self.add_weight(shape=(d, d), initializer="glorot_uniform", name="query")
        self.wk = self.add_weight(shape=(d, d), initializer="glorot_uniform", name="key")
        self.wv = self.add_weight(shape=(d, d), initializer="glorot_uniform", name="value")
        self.built = True

    def call(self, inputs, mask=None, return_attention_scores=False):
        d = inputs.shape[-1]
        q = ops.matmul(inputs, self.wq)
        k = ops.matmul(inputs, self.wk)
        v = ops.matmul(inputs, self.wv)
        scores = ops.matmul(q, ops.transpose(k, (0, 2, 1))) / math.sqrt(d)  # (batch, query, key)
        allowed = None
        if mask is not None:
            if len(mask.shape) != 2 or (
                None not in tuple(mask.shape[1:]) + tuple(inputs.shape[1:2])
                and mask.shape[1] != inputs.shape[1]
            ):
                raise ValueError(
                    f"Reflect: `mask` must have shape (batch, time) = (batch, {inputs.shape[1]}). "
                    f"Received: mask with shape {tuple(mask.shape)}"
                )
            mask = ops.cast(mask, "bool")
            if self.mask_axis == "key":
                allowed = ops.expand_dims(mask, 1)  # (batch, 1, key): same for every query
            else:
                allowed = ops.expand_dims(mask, 2)  # (batch, query, 1): the blog's defect
            penalty = ops.cast(ops.logical_not(allowed), scores.dtype) * _large_negative(scores.dtype)
            scores = scores + penalty
        weights = ops.softmax(scores, axis=-1)
        if allowed is not None and self.mask_axis == "key":
            # Exactly 0 on masked keys; a row with no real key gets 0 everywhere, not a
            # uniform softmax over padding.
            weights = ops.where(allowed, weights, ops.zeros_like(weights))
        outputs = ops.matmul(weights, v)
        if return_attention_scores:
            return outputs, weights
        return outputs

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"mask_axis": self.mask_axis})
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class KeyPaddingMask(keras.layers.Layer):
    """Turns token ids into a key-padding attention mask ``(batch, query, key)``.

    ``out[b, i, j]`` is True when query ``i`` may attend to key ``j``, that is
    when step ``j`` of row ``b`` is a real token (``ids[b, j] != 0``); it is the
    same for every query ``i``. This is the ``attention_mask`` that
    ``keras.layers.MultiHeadAttention`` expects (True = may attend).

    Input shape:
        integer ids ``(batch, time)``.

    Output shape:
        boolean ``(batch, time, time)``. No Keras mask is attached.

    Example:
        >>> keras.ops.convert_to_numpy(KeyPaddingMask()(np.array([[7, 0]])))[0]
        array([[ True, False],
               [ True, False]])
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = False

    def build(self, input_shape):
        _check_ids_shape("KeyPaddingMask", input_shape)
        self.built = True

    def call(self, inputs):
        _check_integer("KeyPaddingMask", inputs.dtype)
        keys = ops.expand_dims(ops.not_equal(inputs, 0), 1)  # (batch, 1, key)
        time = ops.shape(inputs)[1]
        return ops.broadcast_to(keys, (ops.shape(inputs)[0], time, time))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], input_shape[1])

    def compute_output_spec(self, inputs):
        shape = self.compute_output_shape(inputs.shape)
        return keras.KerasTensor(shape, dtype="bool")
