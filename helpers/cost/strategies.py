"""The batching strategies by name, and the NumPy maths of the two shuffled ones.

- ``length_grouped``: shuffle, take pools of many batches, sort each pool by length,
  cut it into batches, shuffle the batches (as Hugging Face's ``group_by_length``);
- ``token_budget``: sort by length (ties in random order), fill each batch while
  ``batch x width`` stays within a budget of cells, shuffle the batches (as fairseq's
  ``max_tokens``): short sequences travel in big batches, long ones in small ones.

and the packed strategy (chapter 19): whole sequences share rows (first-fit decreasing),
rows of one length are batched together (:func:`packed_batches`).

All return lists of index batches for one epoch, drawn from ``(seed, epoch)``: the same
seed and epoch give the same batches, another epoch another order.
"""

import numpy as np

from helpers.cost.checks import _check_lengths, _check_positive_int, _check_seed
from helpers.validation import received

#: The batching strategies, in the order the book reports them.
STRATEGIES = ("global_max", "batch_max", "bucketed", "length_grouped", "token_budget", "ragged")

#: Whether a strategy draws a new order at every epoch (from a seed).
SHUFFLED = {"global_max": False, "batch_max": False, "bucketed": False, "length_grouped": True,
            "token_budget": True, "ragged": False, "ideal": False, "packed": True}

#: A short human name for each strategy (plots and tables).
STRATEGY_NAMES = {
    "global_max": "pad to global max",
    "batch_max": "pad to batch max",
    "bucketed": "bucketing",
    "length_grouped": "length-grouped",
    "token_budget": "token budget",
    "ragged": "ragged",
    "ideal": "ideal (no padding)",
    "packed": "packed rows",
}

#: Batches per sorted pool of ``length_grouped``: Hugging Face's ``mega_batch_mult``.
DEFAULT_POOL_BATCHES = 50

#: Cells (``batch x width``) per batch of ``token_budget``: 32 x 128.
DEFAULT_MAX_TOKENS = 4096


def epoch_rng(seed, epoch):
    """The NumPy generator of one epoch: a function of ``(seed, epoch)`` only."""
    seed = _check_seed(seed, "seed")
    epoch = _check_seed(epoch, "epoch")
    return np.random.default_rng([seed, epoch])


def length_grouped_batches(lengths, batch_size, pool_batches=DEFAULT_POOL_BATCHES, seed=0, epoch=0):
    """One epoch of length-grouped batches, as index lists (Hugging Face's ``group_by_length``).

    The sequences are shuffled, cut into pools of ``pool_batches * batch_size``, each
    pool is sorted by length (longest first) and cut into batches of ``batch_size``,
    and the batches of all pools are shuffled together. Only the last batch of the
    epoch can be smaller than ``batch_size``.

    Args:
        lengths: 1-D ints, the sequence lengths.
        batch_size: int, sequences per batch.
        pool_batches: int, batches per sorted pool; larger pools pad less and mix less.
        seed: int, the seed of the shuffles.
        epoch: int, which epoch (each epoch draws its own order).

    Returns:
        A list of 1-D int64 arrays of indices into ``lengths``; every index appears in
        exactly one of them.

    Example:
        >>> batches = length_grouped_batches([5, 50, 6, 52, 7, 51], batch_size=2, pool_batches=3)
        >>> sorted(sorted(int(i) for i in b) for b in batches)
        [[0, 2], [1, 4], [3, 5]]
    """
    lengths = _check_lengths(lengths)
    batch_size = _check_positive_int(batch_size, "batch_size")
    pool_batches = _check_positive_int(pool_batches, "pool_batches")
    if lengths.size == 0:
        raise ValueError(f"`lengths` must hold at least one sequence. {received('lengths', lengths.tolist())}")
    rng = epoch_rng(seed, epoch)
    order = rng.permutation(lengths.size)
    pool = pool_batches * batch_size
    batches = []
    for start in range(0, order.size, pool):
        chunk = order[start:start + pool]
        chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
        batches.extend(chunk[i:i + batch_size] for i in range(0, chunk.size, batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def token_budget_batches(lengths, max_tokens=DEFAULT_MAX_TOKENS, seed=0, epoch=0, max_batch_size=None):
    """One epoch of token-budget batches, as index lists (fairseq's ``max_tokens``).

    The sequences are put in a random order, then sorted by length (stable: equal
    lengths keep the random order); batches are filled greedily along that order while
    ``(sequences in the batch) x (longest length in the batch) <= max_tokens``, and the
    batches are shuffled. The padded size of every batch, ``batch x width``, so stays
    within the budget: a batch of short sequences holds many, one of long ones few.

    Args:
        lengths: 1-D ints, the sequence lengths.
        max_tokens: int, the most cells (padding included) a batch may have; at least
            the longest length, or that sequence would fit in no batch.
        seed: int, the seed of the shuffles.
        epoch: int, which epoch (each epoch draws its own order).
        max_batch_size: optional int, a cap on sequences per batch as well.

    Returns:
        A list of 1-D int64 arrays of indices into ``lengths``; every index appears in
        exactly one of them.

    Example:
        >>> batches = token_budget_batches([2, 2, 2, 2, 8], max_tokens=8)
        >>> sorted(len(b) for b in batches)
        [1, 4]
    """
    lengths = _check_lengths(lengths)
    max_tokens = _check_positive_int(max_tokens, "max_tokens")
    if max_batch_size is not None:
        max_batch_size = _check_positive_int(max_batch_size, "max_batch_size")
    if lengths.size == 0:
        raise ValueError(f"`lengths` must hold at least one sequence. {received('lengths', lengths.tolist())}")
    if max_tokens < lengths.max():
        raise ValueError(f"`max_tokens` must be at least the longest sequence ({lengths.max()} tokens), "
                         f"or that sequence fits in no batch. {received('max_tokens', max_tokens)}")
    rng = epoch_rng(seed, epoch)
    order = rng.permutation(lengths.size)
    order = order[np.argsort(lengths[order], kind="stable")]
    batches, start, width = [], 0, 0
    for position, index in enumerate(order.tolist()):
        new_width = max(width, int(lengths[index]))
        count = position - start
        if count and (new_width * (count + 1) > max_tokens or (max_batch_size and count == max_batch_size)):
            batches.append(order[start:position])
            start, new_width = position, int(lengths[index])
        width = new_width
    batches.append(order[start:])
    return [batches[i] for i in rng.permutation(len(batches))]


def packed_row_lengths(max_len, shortest=64):
    """Row lengths ``shortest, 2 * shortest, ...`` below ``max_len``, then ``max_len`` itself.

    Example:
        >>> packed_row_lengths(640)
        [64, 128, 256, 512, 640]
    """
    max_len = _check_positive_int(max_len, "max_len")
    sizes = [min(_check_positive_int(shortest, "shortest"), max_len)]
    while sizes[-1] * 2 < max_len:
        sizes.append(sizes[-1] * 2)
    return sizes + ([max_len] if sizes[-1] != max_len else [])


def packed_batches(lengths, row_lengths, max_tokens=DEFAULT_MAX_TOKENS, seed=0, epoch=0):
    """One epoch of packed batches: rows planned by first-fit decreasing, batched by row length.

    Sequences go whole into rows (:func:`helpers.packing.plan_rows`, shuffled from
    ``(seed, epoch)``); a new row takes the shortest of ``row_lengths`` that holds its
    first (longest) sequence, and shorter sequences fill the room left in any row. Rows
    of one length are cut into batches of ``max_tokens // row_length`` rows (at least
    one), and the batches are shuffled.

    Args:
        lengths: 1-D ints, the sequence lengths.
        row_lengths: list of ints, the lengths a row may have; the longest at least the
            longest sequence.
        max_tokens: int, cells (rows x row length) per batch.
        seed, epoch: ints, as in :func:`token_budget_batches`.

    Returns:
        A list of batches, each a list of ``(row_length, [sequence indices])`` rows of one
        row length; every index appears in exactly one row.

    Example:
        >>> batches = packed_batches([5, 3, 2, 6, 2], row_lengths=[8], max_tokens=16)
        >>> sorted(len(b) for b in batches)  # 18 tokens: three rows of 8, two rows per batch
        [1, 2]
        >>> sorted(i for b in batches for _, members in b for i in members)
        [0, 1, 2, 3, 4]
    """
    from helpers.packing import plan_rows

    lengths = _check_lengths(lengths)
    max_tokens = _check_positive_int(max_tokens, "max_tokens")
    rng = epoch_rng(seed, epoch)
    plan = plan_rows(lengths, row_lengths, shuffle=True, seed=int(rng.integers(2**31)))
    batches = []
    for size in sorted({size for size, _ in plan}):
        rows = [row for row in plan if row[0] == size]
        per_batch = max(1, max_tokens // size)
        batches.extend(rows[i:i + per_batch] for i in range(0, len(rows), per_batch))
    return [batches[i] for i in rng.permutation(len(batches))]
