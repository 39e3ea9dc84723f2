"""Every model the book builds from its helpers, with a padded batch for each: the audit's clean bench.

Taught in chapter 15 (Audit your own model), which audits each of them and asserts that
none leaks.

:func:`book_models` returns ``{name: (model, inputs)}``. Two helpers' layers are left
out on purpose: ``TemporalSplit`` (chapter 05) cuts the time axis in two halves, so
which steps fall in each half depends on the padded length by design, and ``Reflect``
with ``mask_axis="query"`` is the blog post's defective variant (chapter 10).
"""

import keras

from helpers.audit.examples import make_ids
from helpers.validation import non_negative_int


def _sequential(name, *layers):
    return keras.Sequential([keras.Input((None,), dtype="int32", name="ids"), *layers], name=name)


def _layer_models():
    """Small models around the layers of :mod:`helpers.layers` (chapters 05 to 07)."""
    from helpers import layers

    models = {
        "CustomEmbedding + MyActivation + LSTM": _sequential(
            "custom_embedding_lstm", layers.CustomEmbedding(20, 4, mask_zero=True, name="embedding"),
            layers.MyActivation(name="activation"), keras.layers.LSTM(4, name="lstm")),
        "EmbeddingLSTM": _sequential("embedding_lstm", layers.EmbeddingLSTM(20, 4, 4, name="embedding_lstm")),
        "TemporalSoftmax": _sequential(
            "temporal_softmax", keras.layers.Embedding(20, 4, mask_zero=True, name="embedding"),
            keras.layers.Dense(1, name="score"), layers.TemporalSoftmax(name="softmax")),
        "MaskedConv1D + MaskedGlobalMaxPooling1D": _sequential(
            "masked_conv_max", keras.layers.Embedding(20, 4, mask_zero=True, name="embedding"),
            layers.MaskedConv1D(4, 3, name="conv"), layers.MaskedGlobalMaxPooling1D(name="max")),
    }
    question = keras.Input((None,), dtype="int32", name="question")
    answer = keras.Input((None,), dtype="int32", name="answer")
    pooled = layers.PairedMaskedMean(name="paired_mean")(
        keras.layers.Embedding(20, 3, mask_zero=True, name="question_embedding")(question),
        keras.layers.Embedding(20, 4, mask_zero=True, name="answer_embedding")(answer))
    models["PairedMaskedMean"] = keras.Model([question, answer], pooled, name="paired_masked_mean")
    return models


def book_models(batch=6, seed=0):
    """``{name: (model, inputs)}``: every model the book's helpers build, each with padded inputs.

    Args:
        batch: int, rows per batch.
        seed: int, seeds the weights and the ids.

    Returns:
        dict in the order the book teaches them.

    Example:
        >>> sorted(book_models())[:2]
        ['CustomEmbedding + MyActivation + LSTM', 'EmbeddingLSTM']
    """
    from helpers.attention.reflect_models import build_mha_model, build_reflect_model
    from helpers.attention.stacked import build_stacked_attention_model
    from helpers.attention.transformer import build_encoder_decoder, make_reversal_arrays
    from helpers.cost.classifiers import build_attention_classifier, build_lstm_classifier

    seed = non_negative_int(seed, "seed", owner="book_models")
    keras.utils.set_random_seed(seed)
    ids = make_ids(batch=batch, max_length=10, seed=seed)
    fixed = make_ids(batch=batch, min_length=3, max_length=20, seed=seed)
    pairs = [make_ids(batch=batch, max_length=7, seed=seed), make_ids(batch=batch, max_length=9, seed=seed + 1)]
    models = {name: (model, pairs if name == "PairedMaskedMean" else ids) for name, model in _layer_models().items()}
    models["reflect model (chapter 10)"] = (build_reflect_model(), fixed)
    models["MultiHeadAttention model (chapter 10)"] = (build_mha_model(), fixed)
    source, decoder_input, _ = make_reversal_arrays(batch, seed=seed)
    models["encoder-decoder (chapter 13)"] = (build_encoder_decoder(), [source, decoder_input])
    for fix in ("attention_mask", "carry_mask"):
        models[f"stacked attention, fix={fix!r} (chapter 14)"] = (build_stacked_attention_model(fix=fix), ids)
    models["masked LSTM classifier (chapter 18)"] = (build_lstm_classifier(vocab_size=20, seed=seed), ids)
    models["masked self-attention classifier (chapter 18)"] = (build_attention_classifier(vocab_size=20, seed=seed),
                                                               ids)
    return models
