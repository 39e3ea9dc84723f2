"""A small encoder-decoder Transformer whose masks are explicit, and its toy task.

Chapter 13 trains it to reverse digit sequences. The layers pass their masks to
``MultiHeadAttention`` as an explicit ``attention_mask`` built with
:func:`helpers.attention.mha_mask.attention_mask`, so nothing depends on which Keras
masks happen to be attached to which tensor (chapter 12):

| layer            | what it does with the mask                                       |
|------------------|------------------------------------------------------------------|
| TokenAndPosition | makes one (``ids != 0``) and attaches it to the embedded vectors |
| EncoderBlock     | self-attention: padding on the queries and the keys; passes it on |
| DecoderBlock     | self-attention: padding AND causal; cross-attention: the         |
|                  | decoder's padding on the queries, the encoder's on the keys;     |
|                  | passes the decoder's mask on (to the logits and the loss)        |

Token ids of the task: 0 padding, 1 start, 2 end, ``3 + d`` for the digit ``d``.
"""

import keras
import numpy as np
from keras import ops

from helpers.attention.mha_mask import attention_mask
from helpers.validation import positive_int, received

PACKAGE = "padding_masking"

#: Ids of the special tokens of the reversal task; the digit d has id DIGIT_BASE + d.
PAD, START, END, DIGIT_BASE = 0, 1, 2, 3
#: Vocabulary size of the reversal task: padding, start, end and ten digits.
REVERSAL_VOCABULARY = 13


def make_reversal_arrays(num_examples, seed=0, min_digits=2, max_digits=6, length=None):
    """The reversal task: digit sequences and their reverse, padded with 0.

    Args:
        num_examples: int, how many sequences.
        seed: int, seed of the NumPy generator (same seed, same data).
        min_digits, max_digits: ints, the range of sequence lengths (inclusive).
        length: int, the padded length of the three arrays; at least
            ``max_digits + 1`` (the target ends with the end token). Default
            ``max_digits + 1``.

    Returns:
        ``(source, decoder_input, target)``, int32 arrays ``(num_examples, length)``:
        ``source`` the digits; ``target`` the reversed digits then END;
        ``decoder_input`` START then the reversed digits, without END (teacher
        forcing: step ``i`` sees the target up to ``i - 1``); it has the same
        padding as ``target``.

    Example:
        >>> source, decoder_input, target = make_reversal_arrays(1, seed=0, max_digits=3)
        >>> source.tolist(), decoder_input.tolist(), target.tolist()
        ([[9, 8, 5, 0]], [[1, 5, 8, 9]], [[5, 8, 9, 2]])
    """
    positive_int(num_examples, "num_examples", owner="make_reversal_arrays")
    positive_int(min_digits, "min_digits", owner="make_reversal_arrays")
    positive_int(max_digits, "max_digits", owner="make_reversal_arrays")
    if min_digits > max_digits:
        raise ValueError(f"make_reversal_arrays: `min_digits` must be at most max_digits={max_digits}. "
                         f"{received('min_digits', min_digits)}")
    length = max_digits + 1 if length is None else positive_int(length, "length", owner="make_reversal_arrays")
    if length < max_digits + 1:
        raise ValueError(f"make_reversal_arrays: `length` must be at least {max_digits + 1}, room for "
                         f"{max_digits} digits and the end token. {received('length', length)}")
    rng = np.random.default_rng(seed)
    source = np.zeros((num_examples, length), np.int32)
    target = np.zeros((num_examples, length), np.int32)
    for row, n in enumerate(rng.integers(min_digits, max_digits + 1, size=num_examples)):
        digits = rng.integers(0, 10, size=n) + DIGIT_BASE
        source[row, :n] = digits
        target[row, :n] = digits[::-1]
        target[row, n] = END
    decoder_input = np.concatenate([np.full((num_examples, 1), START, np.int32), target[:, :-1]], axis=1)
    # The end token is never an input (nothing follows it): the decoder input has the
    # same real steps as the target, so one mask serves both.
    decoder_input[decoder_input == END] = PAD
    return source, decoder_input, target


@keras.saving.register_keras_serializable(package=PACKAGE)
class TokenAndPosition(keras.layers.Layer):
    """Token embedding plus a learned position embedding; makes the padding mask ``ids != 0``.

    Args:
        vocabulary: int, number of token ids.
        max_length: int, the longest sequence it can embed.
        dim: int, size of the vectors.

    Input shape: integer ids ``(batch, time)``, 0 = padding, ``time <= max_length``.
    Output shape: ``(batch, time, dim)``, with the mask ``(batch, time)`` attached.

    Example:
        >>> layer = TokenAndPosition(13, 8, 4)
        >>> keras.ops.convert_to_numpy(layer.compute_mask(np.array([[4, 5, 0]])))
        array([[ True,  True, False]])
    """

    def __init__(self, vocabulary, max_length, dim, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary = positive_int(vocabulary, "vocabulary", owner="TokenAndPosition")
        self.max_length = positive_int(max_length, "max_length", owner="TokenAndPosition")
        self.dim = positive_int(dim, "dim", owner="TokenAndPosition")
        self.tokens = keras.layers.Embedding(vocabulary, dim, name="tokens")
        self.positions = keras.layers.Embedding(max_length, dim, name="positions")
        self.supports_masking = True

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"TokenAndPosition: `ids` must have shape (batch, time). "
                             f"Received: ids with shape {tuple(input_shape)}")
        if input_shape[1] is not None and input_shape[1] > self.max_length:
            raise ValueError(f"TokenAndPosition: `ids` must have at most max_length={self.max_length} steps. "
                             f"Received: ids with shape {tuple(input_shape)}")
        self.tokens.build(input_shape)
        self.positions.build((input_shape[1],))
        self.built = True

    def call(self, ids):
        steps = ops.arange(ops.shape(ids)[1])
        return self.tokens(ids) + self.positions(steps)[None]

    def compute_mask(self, ids, mask=None):
        return ops.not_equal(ids, PAD)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.dim,)

    def get_config(self):
        return {**super().get_config(), "vocabulary": self.vocabulary, "max_length": self.max_length,
                "dim": self.dim}


class _Block(keras.layers.Layer):
    """What the encoder and decoder blocks share: their arguments, attention layers, a
    feed-forward network and one LayerNormalization per residual (post-norm)."""

    attention_names = ()  # names of the MultiHeadAttention layers (and attributes), one residual each

    def __init__(self, dim, heads, hidden, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.dim = positive_int(dim, "dim", owner=owner)
        self.heads = positive_int(heads, "heads", owner=owner)
        self.hidden = positive_int(hidden, "hidden", owner=owner)
        for name in self.attention_names:
            setattr(self, name, keras.layers.MultiHeadAttention(heads, dim // heads, name=name))
        self.feed_forward = keras.Sequential(
            [keras.layers.Dense(hidden, activation="relu"), keras.layers.Dense(dim)], name="feed_forward")
        for i in range(1, len(self.attention_names) + 2):
            setattr(self, f"norm_{i}", keras.layers.LayerNormalization(name=f"norm_{i}"))
        self.supports_masking = True

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "heads": self.heads, "hidden": self.hidden}


@keras.saving.register_keras_serializable(package=PACKAGE)
class EncoderBlock(_Block):
    """Self-attention over real steps only, then a feed-forward network (post-norm residuals).

    Args:
        dim: int, size of the vectors.
        heads: int, number of attention heads.
        hidden: int, width of the feed-forward network.

    Call arguments:
        inputs: ``(batch, S, dim)``.
        mask: boolean ``(batch, S)``, True at real steps (Keras passes it from the
            previous layer), or None (every step is real).

    The mask is passed on unchanged. Example:
        >>> block = EncoderBlock(8, 2, 16)
        >>> tuple(block(np.zeros((1, 3, 8), "float32"), mask=np.array([[True, True, False]])).shape)
        (1, 3, 8)
    """

    attention_names = ("self_attention",)

    def build(self, input_shape):
        # Built explicitly: Keras would otherwise build by running call() on the first
        # input, and MultiHeadAttention clears the Keras mask of the tensors it is given.
        self.self_attention.build(input_shape, input_shape)
        self.norm_1.build(input_shape)
        self.feed_forward.build(input_shape)
        self.norm_2.build(input_shape)
        self.built = True

    def call(self, inputs, mask=None):
        allowed = None if mask is None else attention_mask(mask, mask)
        attended = self.self_attention(inputs, inputs, attention_mask=allowed)
        x = self.norm_1(inputs + attended)
        return self.norm_2(x + self.feed_forward(x))

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


@keras.saving.register_keras_serializable(package=PACKAGE)
class DecoderBlock(_Block):
    """Causal self-attention, cross-attention to the encoder, then a feed-forward network.

    Args:
        dim: int, size of the vectors.
        heads: int, number of attention heads.
        hidden: int, width of the feed-forward network.

    Call arguments:
        inputs: the decoder's vectors ``(batch, T, dim)``.
        encoder_outputs: ``(batch, S, dim)``.
        inputs_mask: boolean ``(batch, T)`` or None. Keras fills it with the mask
            attached to ``inputs`` (a layer with two tensor arguments gets
            ``<argument>_mask``, not ``mask``).
        encoder_outputs_mask: boolean ``(batch, S)`` or None, filled the same way.

    Masks: self-attention gets ``attention_mask(inputs_mask, inputs_mask,
    causal=True)``; cross-attention ``attention_mask(inputs_mask,
    encoder_outputs_mask)``: the decoder's padding on the queries, the encoder's on
    the keys, no causal mask. The output carries ``inputs_mask``.

    Example:
        >>> block = DecoderBlock(8, 2, 16)
        >>> x, memory = np.zeros((1, 4, 8), "float32"), np.zeros((1, 3, 8), "float32")
        >>> tuple(block(x, memory, inputs_mask=np.array([[True, True, True, False]])).shape)
        (1, 4, 8)
    """

    attention_names = ("self_attention", "cross_attention")

    def build(self, inputs_shape, encoder_outputs_shape):
        # Built explicitly, as EncoderBlock is (MultiHeadAttention clears input masks).
        self.self_attention.build(inputs_shape, inputs_shape)
        self.cross_attention.build(inputs_shape, encoder_outputs_shape)
        for layer in (self.norm_1, self.norm_2, self.feed_forward, self.norm_3):
            layer.build(inputs_shape)
        self.built = True

    def call(self, inputs, encoder_outputs, inputs_mask=None, encoder_outputs_mask=None):
        t, s = ops.shape(inputs)[1], ops.shape(encoder_outputs)[1]
        self_mask = attention_mask(inputs_mask, inputs_mask, causal=True,
                                   query_length=None if inputs_mask is not None else t,
                                   key_length=None if inputs_mask is not None else t)
        cross_mask = None
        if inputs_mask is not None or encoder_outputs_mask is not None:
            cross_mask = attention_mask(inputs_mask, encoder_outputs_mask,
                                        query_length=None if inputs_mask is not None else t,
                                        key_length=None if encoder_outputs_mask is not None else s)
        x = self.norm_1(inputs + self.self_attention(inputs, inputs, attention_mask=self_mask))
        x = self.norm_2(x + self.cross_attention(x, encoder_outputs, attention_mask=cross_mask))
        return self.norm_3(x + self.feed_forward(x))

    def compute_mask(self, inputs, mask=None):
        # Keras calls compute_mask(first tensor argument, its mask): the decoder's mask.
        return mask

    def compute_output_shape(self, inputs_shape, encoder_outputs_shape=None):
        return tuple(inputs_shape)


def build_encoder_decoder(vocabulary=REVERSAL_VOCABULARY, max_length=16, dim=32, heads=2, hidden=64):
    """The chapter 13 model: ``[source ids, decoder input ids] -> logits (batch, T, vocabulary)``.

    One encoder block and one decoder block; the logits carry the decoder's padding
    mask, so a compiled loss averages over the real target steps (chapter 09).

    Args:
        vocabulary: int, number of token ids (13 for the reversal task).
        max_length: int, the longest source or target sequence (for the position
            embeddings).
        dim, heads, hidden: ints, vector size, attention heads, feed-forward width.

    Returns:
        a ``keras.Model`` with layers named ``source_embedding``, ``encoder``,
        ``target_embedding``, ``decoder`` and ``logits``.
    """
    source = keras.Input((None,), dtype="int32", name="source")
    target_in = keras.Input((None,), dtype="int32", name="decoder_input")
    memory = EncoderBlock(dim, heads, hidden, name="encoder")(
        TokenAndPosition(vocabulary, max_length, dim, name="source_embedding")(source))
    x = TokenAndPosition(vocabulary, max_length, dim, name="target_embedding")(target_in)
    x = DecoderBlock(dim, heads, hidden, name="decoder")(x, memory)
    logits = keras.layers.Dense(vocabulary, name="logits")(x)
    return keras.Model([source, target_in], logits, name="encoder_decoder")
