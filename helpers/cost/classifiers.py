"""The masked classifiers the cost benchmark trains: an LSTM, self-attention, and self-attention on packed rows.

Taught in chapter 18 (The cost of padding); the packed one in chapter 19 (Packing).
"""


def _seeded(kind, seed):
    import keras

    if seed is None:
        return kind
    return {"glorot": keras.initializers.GlorotUniform, "orthogonal": keras.initializers.Orthogonal,
            "uniform": keras.initializers.RandomUniform}[kind](seed=seed)


def masked_embedding(vocab_size, embed_dim, seed, ragged_input):
    """The int32 ids input and its ``Embedding(mask_zero=True)``: both models start so."""
    import keras

    inputs = keras.Input(shape=(None,), dtype="int32", ragged=ragged_input, name="ids")
    x = keras.layers.Embedding(vocab_size, embed_dim, mask_zero=True,
                               embeddings_initializer=_seeded("uniform", seed), name="embedding")(inputs)
    return inputs, x


def _compiled(inputs, outputs, name):
    """The model, compiled as both are: Adam, cross-entropy on logits, no XLA."""
    import keras

    model = keras.Model(inputs, outputs, name=name)
    model.compile(optimizer="adam", jit_compile=False,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def build_lstm_classifier(vocab_size=2000, embed_dim=32, units=32, num_classes=2, seed=0, ragged_input=False):
    """A masked LSTM classifier: ``Embedding(mask_zero=True)`` -> ``LSTM`` -> ``Dense``.

    The embedding makes the mask (``ids != 0``); the LSTM skips masked steps and returns
    the state after each sequence's last real token. Compiled with Adam and sparse
    categorical cross-entropy on logits, ``jit_compile=False`` (so a new batch width
    never triggers an XLA compilation).

    Args:
        vocab_size: int, number of ids (0 is padding).
        embed_dim: int, embedding width.
        units: int, LSTM units.
        num_classes: int, output logits.
        seed: int or None, seed of every initializer (same seed, same weights).
        ragged_input: bool, build on ``keras.Input(ragged=True)`` (the benchmark uses it
            to check whether the model accepts ``tf.RaggedTensor`` batches).

    Returns:
        A compiled ``keras.Model`` taking ``(batch, time)`` int32 ids.

    Example:
        >>> model = build_lstm_classifier(vocab_size=50, embed_dim=4, units=4)
        >>> model.output_shape
        (None, 2)
    """
    import keras

    inputs, x = masked_embedding(vocab_size, embed_dim, seed, ragged_input)
    x = keras.layers.LSTM(units, kernel_initializer=_seeded("glorot", seed),
                          recurrent_initializer=_seeded("orthogonal", seed), name="lstm")(x)
    outputs = keras.layers.Dense(num_classes, kernel_initializer=_seeded("glorot", seed), name="logits")(x)
    return _compiled(inputs, outputs, "masked_lstm")


def build_attention_classifier(vocab_size=2000, embed_dim=32, num_heads=2, key_dim=16, num_classes=2, seed=0,
                               ragged_input=False):
    """A masked self-attention classifier.

    ``Embedding(mask_zero=True)`` -> ``MultiHeadAttention`` (self-attention; Keras turns
    the embedding's mask into a key-padding mask) plus a residual connection ->
    ``GlobalAveragePooling1D`` (averages real steps only) -> ``Dense``. Compiled like
    :func:`build_lstm_classifier`.

    Args:
        vocab_size: int, number of ids (0 is padding).
        embed_dim: int, embedding width.
        num_heads: int, attention heads.
        key_dim: int, size of each head.
        num_classes: int, output logits.
        seed: int or None, seed of every initializer.
        ragged_input: bool, as in :func:`build_lstm_classifier`.

    Returns:
        A compiled ``keras.Model`` taking ``(batch, time)`` int32 ids.

    Example:
        >>> model = build_attention_classifier(vocab_size=50, embed_dim=8, key_dim=4)
        >>> model.output_shape
        (None, 2)
    """
    import keras

    inputs, x = masked_embedding(vocab_size, embed_dim, seed, ragged_input)
    attended = keras.layers.MultiHeadAttention(num_heads, key_dim, kernel_initializer=_seeded("glorot", seed),
                                               name="self_attention")(x, x)
    x = keras.layers.Add(name="residual")([x, attended])
    x = keras.layers.GlobalAveragePooling1D(name="mean_over_real_steps")(x)
    outputs = keras.layers.Dense(num_classes, kernel_initializer=_seeded("glorot", seed), name="logits")(x)
    return _compiled(inputs, outputs, "masked_self_attention")


def build_packed_attention_classifier(max_segments, vocab_size=2000, embed_dim=32, num_heads=2, key_dim=16,
                                      num_classes=2, seed=0):
    """:func:`build_attention_classifier` for packed rows: one prediction per sequence of a row.

    Inputs ``ids`` and ``segment_ids`` ``(rows, T)`` (from :func:`helpers.packing.pack`);
    self-attention under :func:`helpers.packing.segment_attention_mask`, the residual,
    :class:`helpers.packing.SegmentMeanPool` (each sequence's mean), ``Dense``: logits
    ``(rows, max_segments, num_classes)``. With the same seed it has the same weights as
    :func:`build_attention_classifier`, and each sequence's logits equal that model's
    on the sequence alone. Train it with labels ``(rows, max_segments)`` and a
    ``sample_weight`` of 1 for real segments and 0 for empty slots.

    Args:
        max_segments: int, the most sequences a row holds.
        vocab_size, embed_dim, num_heads, key_dim, num_classes, seed: as
            :func:`build_attention_classifier`.

    Returns:
        A compiled ``keras.Model`` taking ``{"ids": ..., "segment_ids": ...}``.

    Example:
        >>> model = build_packed_attention_classifier(4, vocab_size=50, embed_dim=8, key_dim=4)
        >>> model.output_shape
        (None, 4, 2)
    """
    import keras

    from helpers.packing import SegmentMeanPool, segment_attention_mask

    ids = keras.Input(shape=(None,), dtype="int32", name="ids")
    segment_ids = keras.Input(shape=(None,), dtype="int32", name="segment_ids")
    x = keras.layers.Embedding(vocab_size, embed_dim, embeddings_initializer=_seeded("uniform", seed),
                               name="embedding")(ids)
    attended = keras.layers.MultiHeadAttention(num_heads, key_dim, kernel_initializer=_seeded("glorot", seed),
                                               name="self_attention")(
        x, x, attention_mask=segment_attention_mask(segment_ids))
    x = keras.layers.Add(name="residual")([x, attended])
    x = SegmentMeanPool(max_segments, name="mean_per_sequence")(x, segment_ids)
    outputs = keras.layers.Dense(num_classes, kernel_initializer=_seeded("glorot", seed), name="logits")(x)
    return _compiled({"ids": ids, "segment_ids": segment_ids}, outputs, "packed_self_attention")


#: The models the benchmark compares, by name.
MODEL_BUILDERS = {"lstm": build_lstm_classifier, "attention": build_attention_classifier}

#: A human name for each model.
MODEL_NAMES = {"lstm": "masked LSTM", "attention": "masked self-attention"}
