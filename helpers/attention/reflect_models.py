"""The models of the self-attention chapter: the blog's Reflect model and its MultiHeadAttention twin.

Taught in chapter 10 (Masked self-attention).
"""

import keras

from helpers.attention.layers import Embed, KeyPaddingMask, PadMasking, Reflect


def build_reflect_model(mask_axis="key", vocab_size=20, hidden=15, len_max_input=20, dense_units=150):
    """The model of the blog post: ids -> masking -> Embed -> Reflect -> Reshape -> Dense -> Dense.

    With the defaults its layers hold 300 (Embed), 675 (Reflect), 45,150 (Dense
    150) and 3,020 (output) parameters: 49,145 in all. The output is 20 logits,
    one per token of the vocabulary (use ``from_logits=True`` in the loss).
    Layer names are fixed so the summary is the same on every run.

    ``Reshape`` cannot carry a per-step mask; Keras warns that the mask stops
    there. The Dense layers see exact zeros at padded steps of the embedding,
    and Reflect's key mask keeps padding out of every real step's output.

    Args:
        mask_axis: passed to :class:`Reflect` (``"query"`` builds the blog's
            defective variant).
        vocab_size, hidden, len_max_input, dense_units: ints, the sizes.

    Returns:
        an uncompiled ``keras.Model`` named ``"reflect_model"``.
    """
    inputs = keras.Input(shape=(len_max_input,), dtype="int32", name="ids")
    x = PadMasking(name="pad_masking")(inputs)
    x = Embed(vocab_size, hidden, name="embed")(x)
    x = Reflect(mask_axis=mask_axis, name="reflect")(x)
    x = keras.layers.Reshape((len_max_input * hidden,), name="flatten")(x)
    x = keras.layers.Dense(dense_units, activation="relu", name="hidden")(x)
    outputs = keras.layers.Dense(vocab_size, name="logits")(x)
    return keras.Model(inputs, outputs, name="reflect_model")


def build_mha_model(vocab_size=20, hidden=15, len_max_input=20, dense_units=150):
    """The same model with ``keras.layers.MultiHeadAttention(num_heads=1)`` instead of Reflect.

    The attention mask ``(batch, 20, 20)`` comes from :class:`KeyPaddingMask`.
    Because the embedding also carries the padding mask, MultiHeadAttention
    combines it (query mask AND key mask) with the ``attention_mask``: a padded
    query's row is masked everywhere. Its weights are 0 on the path that returns
    the scores; this model (``dropout=0``) takes the default path,
    ``keras.ops.dot_product_attention``, where that row's output is a uniform
    average over all the values, padding included (chapter 14).

    Returns:
        an uncompiled ``keras.Model`` named ``"mha_model"``.
    """
    inputs = keras.Input(shape=(len_max_input,), dtype="int32", name="ids")
    x = PadMasking(name="pad_masking")(inputs)
    x = Embed(vocab_size, hidden, name="embed")(x)
    attention_mask = KeyPaddingMask(name="key_padding_mask")(inputs)
    x = keras.layers.MultiHeadAttention(num_heads=1, key_dim=hidden, name="attention")(
        x, x, attention_mask=attention_mask
    )
    x = keras.layers.Reshape((len_max_input * hidden,), name="flatten")(x)
    x = keras.layers.Dense(dense_units, activation="relu", name="hidden")(x)
    outputs = keras.layers.Dense(vocab_size, name="logits")(x)
    return keras.Model(inputs, outputs, name="mha_model")
