"""Small models that leak padding, and their fixes: the padding audit's test bench.

Taught in chapter 15 (Audit your own model).

=================================  ===========================================================
:func:`build_conv_model`           Embedding -> Conv1D -> GlobalAveragePooling1D (``"same"``
                                   reads padding; :class:`~helpers.layers.MaskedConv1D` fixes it)
:class:`LookAhead`                 adds the next step to each step and ignores the mask (leaks)
:class:`MaskedLookAhead`           the same, with the padded steps zeroed first (clean)
:func:`build_look_ahead_model`     Embedding -> (Masked)LookAhead -> GlobalAveragePooling1D
:func:`build_bigru_model`          Embedding -> Bidirectional(GRU) -> Dense (clean)
:class:`MeanOverTime`              a subclassed model that averages over every step, or
                                   (``use_mask=True``) over the real ones
:func:`build_masking_model`        Masking over float steps -> Conv1D or LSTM -> pooling
:class:`CenterOverTime`            subtracts each row's mean over time, padding included (leaks)
:func:`build_mystery_model`        Embedding -> Dense -> CenterOverTime -> LSTM -> Dense: find the leak
:func:`make_ids`                   right- or left-padded ids of random lengths
=================================  ===========================================================

The models are small and seeded (``seed``): their outputs are the same on every run.
"""

import keras
import numpy as np
from keras import ops

from helpers.layers.convolution import MaskedConv1D
from helpers.layers.package import PACKAGE
from helpers.validation import non_negative_int, positive_int


def make_ids(batch=8, min_length=2, max_length=10, vocab_size=20, padding="post", seed=0):
    """Int32 ids ``(batch, max_length)`` of random lengths, padded with 0 (``"post"`` or ``"pre"``).

    Example:
        >>> make_ids(batch=2, max_length=5, seed=1).tolist()
        [[15, 19, 1, 0, 0], [3, 16, 19, 5, 0]]
    """
    positive_int(batch, "batch", owner="make_ids")
    positive_int(max_length, "max_length", owner="make_ids")
    rng = np.random.default_rng(non_negative_int(seed, "seed", owner="make_ids"))
    lengths = rng.integers(min_length, max_length + 1, size=batch)
    rows = [rng.integers(1, vocab_size, size=n).tolist() for n in lengths]
    return keras.utils.pad_sequences(rows, maxlen=max_length, padding=padding, value=0).astype("int32")


def _seeded(seed):
    keras.utils.set_random_seed(non_negative_int(seed, "seed"))


def build_conv_model(conv="same", vocab_size=20, embed_dim=8, filters=8, kernel_size=3, seed=0):
    """Embedding(mask_zero) -> a convolution over time -> GlobalAveragePooling1D.

    Args:
        conv: ``"same"`` or ``"causal"`` (a ``keras.layers.Conv1D`` with that padding, which
            supports no mask: the mask stops there and the pooling averages padded steps too),
            or ``"masked"`` (:class:`helpers.layers.MaskedConv1D`: padded steps zeroed, the mask
            passed on).
        vocab_size, embed_dim, filters, kernel_size: ints, the sizes.
        seed: int, seeds the weights.

    Returns:
        a Sequential model named ``"conv_<conv>"``.
    """
    if conv not in ("same", "causal", "masked"):
        raise ValueError(f"conv must be 'same', 'causal' or 'masked'. Received: conv={conv!r}")
    _seeded(seed)
    layer = (MaskedConv1D(filters, kernel_size, name="conv") if conv == "masked"
             else keras.layers.Conv1D(filters, kernel_size, padding=conv, name="conv"))
    return keras.Sequential([keras.Input((None,), dtype="int32", name="ids"),
                             keras.layers.Embedding(vocab_size, embed_dim, mask_zero=True, name="embedding"),
                             layer, keras.layers.GlobalAveragePooling1D(name="pooling")], name=f"conv_{conv}")


@keras.saving.register_keras_serializable(package=PACKAGE)
class LookAhead(keras.layers.Layer):
    """Adds the next step's vector to each step's: ``y[t] = x[t] + x[t + 1]`` (0 after the last step).

    It opts in to masking (``supports_masking = True``) and passes the mask on, but
    its ``call`` ignores the mask: the last real step of a right-padded row adds the
    first padded step's vector, which a sequence alone at its own length never sees.

    Example:
        >>> x = np.arange(6, dtype="float32").reshape(1, 3, 2)
        >>> keras.ops.convert_to_numpy(LookAhead()(x))[0].tolist()
        [[2.0, 4.0], [6.0, 8.0], [4.0, 5.0]]
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def _ahead(self, inputs):
        return ops.pad(inputs[:, 1:], [[0, 0], [0, 1], [0, 0]])

    def call(self, inputs):
        return inputs + self._ahead(inputs)

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package=PACKAGE)
class MaskedLookAhead(LookAhead):
    """:class:`LookAhead` that zeroes padded steps before looking ahead: what a row alone would see.

    Example:
        >>> x = np.ones((1, 3, 1), "float32")
        >>> keras.ops.convert_to_numpy(MaskedLookAhead()(x, mask=np.array([[True, True, False]])))[0, :, 0].tolist()
        [2.0, 1.0, 0.0]
    """

    def call(self, inputs, mask=None):
        if mask is not None:
            inputs = inputs * ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        return inputs + self._ahead(inputs)


def build_look_ahead_model(masked=False, vocab_size=20, embed_dim=8, seed=0):
    """Embedding(mask_zero) -> :class:`LookAhead` (or :class:`MaskedLookAhead`) -> GlobalAveragePooling1D."""
    _seeded(seed)
    layer = MaskedLookAhead(name="look_ahead") if masked else LookAhead(name="look_ahead")
    return keras.Sequential([keras.Input((None,), dtype="int32", name="ids"),
                             keras.layers.Embedding(vocab_size, embed_dim, mask_zero=True, name="embedding"),
                             layer, keras.layers.GlobalAveragePooling1D(name="pooling")],
                            name="masked_look_ahead" if masked else "look_ahead")


def build_bigru_model(vocab_size=20, embed_dim=8, units=8, seed=0):
    """Embedding(mask_zero) -> Bidirectional(GRU) -> Dense(2): the mask reaches both directions."""
    _seeded(seed)
    inputs = keras.Input((None,), dtype="int32", name="ids")
    x = keras.layers.Embedding(vocab_size, embed_dim, mask_zero=True, name="embedding")(inputs)
    x = keras.layers.Bidirectional(keras.layers.GRU(units), name="bigru")(x)
    return keras.Model(inputs, keras.layers.Dense(2, name="logits")(x), name="bigru")


@keras.saving.register_keras_serializable(package=PACKAGE)
class MeanOverTime(keras.Model):
    """A subclassed model: embed the ids, average over time, project.

    With ``use_mask=False`` it averages over every step, padding included (a leak);
    with ``use_mask=True`` over the real steps only.

    Example:
        >>> model = MeanOverTime(use_mask=True)
        >>> tuple(model(np.array([[3, 4, 0]])).shape)
        (1, 2)
    """

    def __init__(self, use_mask=False, vocab_size=20, embed_dim=8, **kwargs):
        super().__init__(**kwargs)
        self.use_mask = bool(use_mask)
        self.vocab_size, self.embed_dim = vocab_size, embed_dim
        self.embedding = keras.layers.Embedding(vocab_size, embed_dim, mask_zero=True)
        self.head = keras.layers.Dense(2)

    def call(self, ids):
        x = self.embedding(ids)
        if not self.use_mask:
            return self.head(ops.mean(x, axis=1))
        weights = ops.expand_dims(ops.cast(ops.not_equal(ids, 0), x.dtype), -1)
        return self.head(ops.sum(x * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0))

    def get_config(self):
        base_config = super().get_config()
        config = {"use_mask": self.use_mask, "vocab_size": self.vocab_size, "embed_dim": self.embed_dim}
        return {**base_config, **config}


def build_masking_model(kind="lstm", features=3, units=4, seed=0):
    """Float steps ``(batch, time, features)`` padded with 0.0 -> Masking -> ``kind`` -> pooling.

    Args:
        kind: ``"lstm"`` (``LSTM``: the mask reaches it; clean), ``"conv"`` (``Conv1D(padding="same")``
            reads the masked steps; leaks) or ``"masked_conv"`` (:class:`helpers.layers.MaskedConv1D`).
    """
    if kind not in ("lstm", "conv", "masked_conv"):
        raise ValueError(f"kind must be 'lstm', 'conv' or 'masked_conv'. Received: kind={kind!r}")
    _seeded(seed)
    layers = {"lstm": [keras.layers.LSTM(units, name="lstm")],
              "conv": [keras.layers.Conv1D(units, 3, padding="same", name="conv"),
                       keras.layers.GlobalAveragePooling1D(name="pooling")],
              "masked_conv": [MaskedConv1D(units, 3, name="conv"), keras.layers.GlobalAveragePooling1D(name="pooling")]}
    return keras.Sequential([keras.Input((None, features), name="steps"), keras.layers.Masking(0.0, name="masking"),
                             *layers[kind]], name=f"masking_{kind}")


def make_steps(batch=6, max_length=8, features=3, seed=0):
    """Float steps ``(batch, max_length, features)`` of random lengths, right-padded with 0.0."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(batch, max_length, features)).astype("float32")
    lengths = rng.integers(2, max_length + 1, size=batch)
    values[np.arange(max_length)[None, :] >= lengths[:, None]] = 0.0
    return values


@keras.saving.register_keras_serializable(package=PACKAGE)
class CenterOverTime(keras.layers.Layer):
    """Subtracts each row's mean over time from every step; the mean includes the padded steps.

    It passes the mask on (``supports_masking = True``), so the layers after it look
    masked, but its mean changes with the amount of padding.

    Example:
        >>> x = np.array([[[1.0], [3.0], [2.0]]], "float32")
        >>> keras.ops.convert_to_numpy(CenterOverTime()(x))[0, :, 0].tolist()
        [-1.0, 1.0, 0.0]
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return inputs - ops.mean(inputs, axis=1, keepdims=True)

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return input_shape


def build_mystery_model(vocab_size=20, seed=0):
    """Embedding(mask_zero) -> Dense -> :class:`CenterOverTime` -> LSTM -> Dense: one layer leaks; which?"""
    _seeded(seed)
    inputs = keras.Input((None,), dtype="int32", name="ids")
    x = keras.layers.Embedding(vocab_size, 8, mask_zero=True, name="embedding")(inputs)
    x = keras.layers.Dense(8, activation="tanh", name="project")(x)
    x = CenterOverTime(name="center")(x)
    x = keras.layers.LSTM(4, name="lstm")(x)
    return keras.Model(inputs, keras.layers.Dense(2, name="logits")(x), name="mystery")
