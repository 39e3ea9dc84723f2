"""The batches of every batching strategy: as tf.data pipelines, and as NumPy arrays.

``make_dataset`` builds the ``tf.data`` pipeline of a strategy (TensorFlow needed, on
any Keras backend); ``strategy_batches`` forms the same batches with NumPy alone, for
installs without TensorFlow; ``ideal_batches`` / ``ideal_batch_ids`` are the
no-padding reference. Taught in chapter 18 (The cost of padding).
"""

import numpy as np

from helpers.cost.bucketing import geometric_boundaries
from helpers.cost.checks import _check_boundaries, _check_lengths, _check_positive_int, _check_seed
from helpers.cost.strategies import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_POOL_BATCHES,
    STRATEGIES,
    length_grouped_batches,
    token_budget_batches,
)
from helpers.validation import received


def _check_corpus(sequences, labels):
    lengths = _check_lengths([len(s) for s in sequences], "the sequence lengths")
    if lengths.size == 0:
        raise ValueError(f"`sequences` must hold at least one sequence. {received('sequences', sequences)}")
    labels = np.asarray(labels, dtype=np.int32)
    if labels.shape != (len(lengths),):
        raise ValueError(f"`labels` must have shape ({len(lengths)},), one per sequence. "
                         f"{received('labels', labels)} with shape {labels.shape}")
    flat = np.concatenate([np.asarray(s, dtype=np.int32) for s in sequences])
    if flat.min() < 1:
        raise ValueError(f"`sequences` must not contain id 0: it is reserved for padding. "
                         f"{received('sequences', sequences)}")
    return lengths, labels, flat


def _shuffled_dataset(flat, lengths, labels, batches_of_epoch, epoch):
    """Batches drawn anew at every pass over the dataset (epoch 0, 1, ...), or always ``epoch``."""
    import tensorflow as tf

    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    passes = [0]

    def generate():
        current = passes[0] if epoch is None else epoch
        passes[0] += 1
        for index in batches_of_epoch(current):
            ids = np.zeros((index.size, int(lengths[index].max())), dtype=np.int32)
            for row, i in enumerate(index.tolist()):
                ids[row, :lengths[i]] = flat[starts[i]:starts[i] + lengths[i]]
            yield ids, labels[index]

    spec = (tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None,), tf.int32))
    return tf.data.Dataset.from_generator(generate, output_signature=spec)


#: The strategy each strategy-specific argument of :func:`make_dataset` belongs to.
OPTION_STRATEGY = {"max_tokens": "token_budget", "max_batch_size": "token_budget",
                   "pool_batches": "length_grouped", "boundaries": "bucketed"}


def _check_strategy_options(strategy, **options):
    """Each strategy-specific argument (``max_tokens=...``) left None unless ``strategy`` is its strategy."""
    for name, value in options.items():
        owner = OPTION_STRATEGY[name]
        if value is not None and strategy != owner:
            verb = "are" if name == "boundaries" else "is"
            raise ValueError(f"`{name}` {verb} for strategy {owner!r} only; leave it None with "
                             f"strategy={strategy!r}. {received(name, value)}")


def _batches_of_epoch(strategy, lengths, batch_size, seed, max_tokens, max_batch_size, pool_batches):
    """``epoch -> index groups`` of a shuffled strategy (``"token_budget"`` or ``"length_grouped"``)."""
    if strategy == "token_budget":
        max_tokens = DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens
        return lambda epoch: token_budget_batches(lengths, max_tokens, seed, epoch, max_batch_size)
    pool_batches = DEFAULT_POOL_BATCHES if pool_batches is None else pool_batches
    return lambda epoch: length_grouped_batches(lengths, batch_size, pool_batches, seed, epoch)


def corpus_order_dataset(flat, lengths, labels, strategy, batch_size, boundaries):
    """The ``tf.data`` pipeline of ``global_max``, ``batch_max``, ``ragged`` or ``bucketed``: corpus order."""
    import tensorflow as tf

    ragged = tf.RaggedTensor.from_row_lengths(flat, lengths)
    # Slicing a RaggedTensor gives rank-1 ragged elements (ragged_rank 0): plain tensors.
    ds = tf.data.Dataset.from_tensor_slices((ragged, labels)).map(
        lambda ids, label: (tf.convert_to_tensor(ids), label))
    if strategy == "global_max":
        return ds.padded_batch(batch_size, padded_shapes=([int(lengths.max())], []))
    if strategy == "batch_max":
        return ds.padded_batch(batch_size)
    if strategy == "ragged":
        return ds.ragged_batch(batch_size)
    if boundaries is None:
        boundaries = geometric_boundaries(min(8, int(lengths.max())), int(lengths.max()))
    boundaries = [int(b) for b in _check_boundaries(boundaries)]
    return ds.bucket_by_sequence_length(
        element_length_func=lambda ids, label: tf.shape(ids)[0],
        bucket_boundaries=boundaries,
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
    )


def make_dataset(sequences, labels, strategy, batch_size=32, boundaries=None, *, max_tokens=None,
                 max_batch_size=None, pool_batches=None, seed=0, epoch=None):
    """A ``tf.data.Dataset`` of ``(ids, labels)`` batches, batched by ``strategy``.

    ``global_max``, ``batch_max``, ``bucketed`` and ``ragged`` form their batches in
    corpus order, the same at every epoch (no shuffling). ``length_grouped`` and
    ``token_budget`` draw a new order at every pass over the dataset (epoch 0, 1, ...
    from ``seed``; see :mod:`helpers.cost.strategies`), so ``model.fit(ds, epochs=3)``
    sees three different orders.

    Args:
        sequences: list of 1-D int arrays (ids ``>= 1``).
        labels: 1-D int array, one label per sequence.
        strategy: one of :data:`STRATEGIES`.
        batch_size: int, sequences per batch (``"bucketed"``: per full batch;
            ignored by ``"token_budget"``).
        boundaries: bucket boundaries for ``"bucketed"`` (default:
            :func:`geometric_boundaries` from 8 to the longest sequence).
        max_tokens: ``"token_budget"`` only: cells (batch x width) per batch, default
            :data:`DEFAULT_MAX_TOKENS`, at least the longest sequence.
        max_batch_size: ``"token_budget"`` only: optional cap on sequences per batch.
        pool_batches: ``"length_grouped"`` only: batches per sorted pool, default
            :data:`DEFAULT_POOL_BATCHES`.
        seed: int, the shuffled strategies' seed.
        epoch: int or None; for the shuffled strategies, always give this epoch's
            batches instead of counting passes.

    Returns:
        A dataset whose ids are ``(batch, time)`` int32 tensors padded with 0 on the
        right, or ``tf.RaggedTensor`` for ``"ragged"``.

    Example:
        >>> ds = make_dataset([np.array([3, 4]), np.array([5])], np.array([0, 1]), "batch_max")
        >>> dataset_batches(ds)[0].tolist()
        [[3, 4], [5, 0]]
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"`strategy` must be one of {STRATEGIES}. {received('strategy', strategy)}")
    batch_size = _check_positive_int(batch_size, "batch_size")
    seed = _check_seed(seed, "seed")
    if epoch is not None:
        epoch = _check_seed(epoch, "epoch")
    _check_strategy_options(strategy, max_tokens=max_tokens, max_batch_size=max_batch_size,
                            pool_batches=pool_batches, boundaries=boundaries)
    lengths, labels, flat = _check_corpus(sequences, labels)
    if strategy in ("token_budget", "length_grouped"):
        batches_of_epoch = _batches_of_epoch(strategy, lengths, batch_size, seed, max_tokens, max_batch_size,
                                             pool_batches)
        batches_of_epoch(0)  # so that bad arguments fails now, not at the first batch
        return _shuffled_dataset(flat, lengths, labels, batches_of_epoch, epoch)
    return corpus_order_dataset(flat, lengths, labels, strategy, batch_size, boundaries)


def ideal_batch_ids(sequences, labels, batch_size=32):
    """The no-padding reference batches as NumPy ``(ids, labels)`` pairs (see :func:`ideal_batches`).

    Example:
        >>> [ids.tolist() for ids, _ in ideal_batch_ids([np.array([3, 4, 5]), np.array([6])], [0, 1], 2)]
        [[[6], [3]]]
    """
    batch_size = _check_positive_int(batch_size, "batch_size")
    lengths = _check_lengths([len(s) for s in sequences], "the sequence lengths")
    order = np.argsort(lengths, kind="stable")
    labels = np.asarray(labels, dtype=np.int32)
    batches = []
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        width = int(lengths[idx].min())
        ids = np.stack([np.asarray(sequences[i][:width], dtype=np.int32) for i in idx])
        batches.append((ids, labels[idx]))
    return batches


def ideal_batches(sequences, labels, batch_size=32):
    """Reference batches with no padding at all: the limit to compare strategies against.

    Sequences are sorted by length, cut into batches, and each sequence is truncated
    to the shortest length in its batch, so every processed timestep is a real token.
    Truncation drops tokens, so this is not a way to train; it measures how fast the
    model processes timesteps when none is wasted.

    Returns:
        A ``tf.data.Dataset`` of ``(ids, labels)`` with no id 0 anywhere.
    """
    import tensorflow as tf

    batches = ideal_batch_ids(sequences, labels, batch_size)

    def generate():
        yield from batches

    spec = (tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None,), tf.int32))
    return tf.data.Dataset.from_generator(generate, output_signature=spec)


def strategy_batches(sequences, labels, strategy, batch_size=32, boundaries=None, *, max_tokens=None,
                     max_batch_size=None, pool_batches=None, seed=0, epoch=0):
    """The ids of the batches :func:`make_dataset` gives, formed with NumPy (no TensorFlow).

    The same batches in the same order, each padded with 0 on the right to its own
    longest row (to the corpus's longest for ``"global_max"``); for the shuffled
    strategies, those of ``epoch``. Bucketing follows ``bucket_by_sequence_length``
    (:func:`helpers.cost.bucketing.bucket_batches`): full batches as their bucket fills,
    then the partly filled buckets in increasing bucket order. ``"ragged"`` has no NumPy
    form and is refused.

    Args:
        sequences, labels, strategy, batch_size, boundaries, max_tokens, max_batch_size,
        pool_batches, seed: as in :func:`make_dataset`.
        epoch: int, which epoch of a shuffled strategy (default 0).

    Returns:
        A list of 2-D int32 NumPy arrays ``(batch, time)``.

    Example:
        >>> [b.tolist() for b in strategy_batches([np.array([3, 4]), np.array([5])], [0, 1], "batch_max")]
        [[[3, 4], [5, 0]]]
    """
    if strategy == "ragged":
        raise ValueError("`strategy` 'ragged' has no NumPy form (it gives tf.RaggedTensor batches); "
                         f"expected one of {[s for s in STRATEGIES if s != 'ragged']}. Received: strategy='ragged'")
    groups, width = _batch_indices(sequences, labels, strategy, batch_size, boundaries, max_tokens,
                                   max_batch_size, pool_batches, seed, epoch)
    lengths, _, flat = _check_corpus(sequences, labels)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    batches = []
    for index in groups:
        index = np.asarray(index, dtype=np.int64)
        ids = np.zeros((index.size, width or int(lengths[index].max())), dtype=np.int32)
        for row, i in enumerate(index.tolist()):
            ids[row, :lengths[i]] = flat[starts[i]:starts[i] + lengths[i]]
        batches.append(ids)
    return batches


def _batch_indices(sequences, labels, strategy, batch_size, boundaries, max_tokens, max_batch_size,
                   pool_batches, seed, epoch):
    """(index groups, fixed width or None) of :func:`strategy_batches`, arguments checked as make_dataset does."""
    from helpers.cost.bucketing import bucket_batches

    if strategy not in STRATEGIES:
        raise ValueError(f"`strategy` must be one of {STRATEGIES}. {received('strategy', strategy)}")
    batch_size = _check_positive_int(batch_size, "batch_size")
    seed, epoch = _check_seed(seed, "seed"), _check_seed(epoch, "epoch")
    _check_strategy_options(strategy, max_tokens=max_tokens, max_batch_size=max_batch_size,
                            pool_batches=pool_batches, boundaries=boundaries)
    lengths, _, _ = _check_corpus(sequences, labels)
    if strategy in ("token_budget", "length_grouped"):
        return _batches_of_epoch(strategy, lengths, batch_size, seed, max_tokens, max_batch_size,
                                 pool_batches)(epoch), None
    if strategy == "bucketed":
        if boundaries is None:
            boundaries = geometric_boundaries(min(8, int(lengths.max())), int(lengths.max()))
        return bucket_batches(lengths, [int(b) for b in _check_boundaries(boundaries)], batch_size), None
    if strategy not in ("global_max", "batch_max"):
        raise ValueError(f"`strategy` {strategy!r} has no NumPy form here. Received: strategy={strategy!r}")
    groups = [np.arange(start, min(start + batch_size, len(lengths))) for start in range(0, len(lengths), batch_size)]
    return groups, (int(lengths.max()) if strategy == "global_max" else None)


def dataset_batches(dataset):
    """The ids of every batch of ``dataset`` as NumPy arrays (labels dropped)."""
    return [np.asarray(ids) for ids, _ in dataset.as_numpy_iterator()]
