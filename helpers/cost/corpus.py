"""The synthetic corpus of the cost benchmark: seeded sequences with log-normal lengths.

Used in chapter 18 (The cost of padding).
"""

import numpy as np

from helpers.cost.checks import _check_positive_int
from helpers.validation import received

#: The benchmark's default corpus (the chapter computes its padding fractions live).
CORPUS_DEFAULTS = {
    "n": 1200,
    "median": 60.0,
    "sigma": 0.8,
    "min_len": 4,
    "max_len": 640,
    "vocab_size": 2000,
    "seed": 0,
}


def lognormal_lengths(n, median=60.0, sigma=0.8, min_len=4, max_len=640, seed=0):
    """Sequence lengths with a long tail, as in real text: log-normal, clipped.

    Args:
        n: int, how many lengths.
        median: float, the median length (``exp(mu)`` of the log-normal).
        sigma: float, the standard deviation of ``log(length)``; 0.8 gives a tail
            where about 1 sequence in 160 is longer than 500 tokens.
        min_len: int, shorter draws are raised to this.
        max_len: int, longer draws are truncated to this (as ``pad_sequences(maxlen=...)``
            would truncate them).
        seed: int, seed of the NumPy generator.

    Returns:
        A 1-D int64 array of ``n`` lengths in ``[min_len, max_len]``.

    Example:
        >>> lengths = lognormal_lengths(1000, seed=0)
        >>> bool(50 < np.median(lengths) < 70)
        True
    """
    n = _check_positive_int(n, "n")
    min_len = _check_positive_int(min_len, "min_len")
    max_len = _check_positive_int(max_len, "max_len")
    if min_len > max_len:
        raise ValueError(f"`min_len` must not exceed max_len={max_len}. {received('min_len', min_len)}")
    if not median > 0 or not sigma > 0:
        raise ValueError(f"`median` and `sigma` must be > 0. {received('median', median)}, {received('sigma', sigma)}")
    rng = np.random.default_rng(seed)
    raw = rng.lognormal(mean=np.log(median), sigma=sigma, size=n)
    return np.clip(np.round(raw), min_len, max_len).astype(np.int64)


def synthetic_corpus(n=1200, median=60.0, sigma=0.8, min_len=4, max_len=640, vocab_size=2000, seed=0):
    """A seeded corpus of integer sequences with log-normal lengths, and binary labels.

    The token ids are uniform in ``1 .. vocab_size - 1`` (0 is kept for padding) and
    the labels are random: the corpus exists to measure speed, not accuracy.

    Args:
        n, median, sigma, min_len, max_len: the lengths, see :func:`lognormal_lengths`.
        vocab_size: int, ids are drawn below it; must be at least 2.
        seed: int, seed of every random draw.

    Returns:
        ``(sequences, labels)``: a list of ``n`` 1-D int32 arrays, and an int32 array
        of ``n`` labels in ``{0, 1}``.

    Example:
        >>> sequences, labels = synthetic_corpus(n=4, seed=1)
        >>> len(sequences), labels.shape
        (4, (4,))
    """
    vocab_size = _check_positive_int(vocab_size, "vocab_size")
    if vocab_size < 2:
        raise ValueError(f"`vocab_size` must be at least 2 (id 0 is padding). {received('vocab_size', vocab_size)}")
    lengths = lognormal_lengths(n, median, sigma, min_len, max_len, seed)
    rng = np.random.default_rng(seed + 1)
    flat = rng.integers(1, vocab_size, size=int(lengths.sum()), dtype=np.int32)
    sequences = np.split(flat, np.cumsum(lengths)[:-1])
    labels = rng.integers(0, 2, size=len(lengths), dtype=np.int32)
    return sequences, labels
