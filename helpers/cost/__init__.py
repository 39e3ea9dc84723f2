"""What padding costs: a synthetic corpus, batching strategies, padding fractions, plots.

Used by the benchmark (``benchmarks/padding_cost.py``) and by the chapter "The cost
of padding", so both see the same corpus, the same batches and the same models.

The four ways to batch sequences of different lengths, by name:

- ``"global_max"``: every sequence padded to the longest sequence of the corpus;
- ``"batch_max"``: each batch padded to its own longest sequence;
- ``"bucketed"``: sequences grouped by length (``tf.data.Dataset.bucket_by_sequence_length``)
  so that each batch holds similar lengths, then padded to the batch's longest;
- ``"ragged"``: no padding at all, a ``tf.RaggedTensor`` per batch (only where the
  model accepts it).

Padding is id 0 everywhere; real tokens have ids ``1 .. vocab_size - 1``.
"""

import json

import numpy as np

#: The batching strategies, in the order the book reports them.
STRATEGIES = ("global_max", "batch_max", "bucketed", "ragged")

#: A short human name for each strategy (plots and tables).
STRATEGY_NAMES = {
    "global_max": "pad to global max",
    "batch_max": "pad to batch max",
    "bucketed": "bucketing",
    "ragged": "ragged",
    "ideal": "ideal (no padding)",
}

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

#: The benchmark's default bucket boundaries: ratio 1.15 between neighbours, 8 .. 641.
#: A length ``L`` goes to bucket ``i`` when ``boundaries[i-1] <= L < boundaries[i]``.
DEFAULT_BOUNDARY_RATIO = 1.15


def _check_lengths(lengths, name="lengths"):
    lengths = np.asarray(lengths)
    if lengths.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of ints, got shape {lengths.shape}")
    if lengths.size and not np.issubdtype(lengths.dtype, np.integer):
        raise TypeError(f"{name} must hold integers, got dtype {lengths.dtype}")
    if lengths.size and lengths.min() < 1:
        raise ValueError(f"{name} must be >= 1 (a sequence has at least one token), got {lengths.min()}")
    return lengths.astype(np.int64)


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


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
        >>> 50 < np.median(lengths) < 70
        True
    """
    n = _check_positive_int(n, "n")
    min_len = _check_positive_int(min_len, "min_len")
    max_len = _check_positive_int(max_len, "max_len")
    if min_len > max_len:
        raise ValueError(f"min_len ({min_len}) must not exceed max_len ({max_len})")
    if not median > 0 or not sigma > 0:
        raise ValueError(f"median and sigma must be > 0, got median={median}, sigma={sigma}")
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
        raise ValueError(f"vocab_size must be at least 2 (id 0 is padding), got {vocab_size}")
    lengths = lognormal_lengths(n, median, sigma, min_len, max_len, seed)
    rng = np.random.default_rng(seed + 1)
    flat = rng.integers(1, vocab_size, size=int(lengths.sum()), dtype=np.int32)
    sequences = np.split(flat, np.cumsum(lengths)[:-1])
    labels = rng.integers(0, 2, size=len(lengths), dtype=np.int32)
    return sequences, labels


def geometric_boundaries(min_len, max_len, ratio=DEFAULT_BOUNDARY_RATIO):
    """Bucket boundaries that grow by ``ratio``, covering lengths ``min_len .. max_len``.

    Boundaries grow geometrically so that every bucket spans about the same *relative*
    range of lengths: the padding inside a bucket stays below ``1 - 1/ratio``.

    Args:
        min_len: int, the first boundary (shorter sequences share bucket 0).
        max_len: int, the longest length; the last boundary is ``max_len + 1`` so that
            every length falls below it.
        ratio: float > 1, the growth from one boundary to the next.

    Returns:
        A list of strictly increasing ints.

    Example:
        >>> geometric_boundaries(8, 20, ratio=1.5)
        [8, 12, 18, 21]
    """
    min_len = _check_positive_int(min_len, "min_len")
    max_len = _check_positive_int(max_len, "max_len")
    if not ratio > 1:
        raise ValueError(f"ratio must be > 1 for the boundaries to grow, got {ratio}")
    if min_len > max_len:
        raise ValueError(f"min_len ({min_len}) must not exceed max_len ({max_len})")
    boundaries = [min_len]
    while boundaries[-1] <= max_len:
        boundaries.append(max(boundaries[-1] + 1, int(round(boundaries[-1] * ratio))))
    boundaries[-1] = min(boundaries[-1], max_len + 1)
    return boundaries


def _check_boundaries(boundaries):
    boundaries = np.asarray(boundaries)
    if boundaries.ndim != 1 or boundaries.size == 0:
        raise ValueError(f"boundaries must be a non-empty 1-D list of ints, got shape {boundaries.shape}")
    if not np.issubdtype(boundaries.dtype, np.integer):
        raise TypeError(f"boundaries must hold integers, got dtype {boundaries.dtype}")
    if np.any(np.diff(boundaries) <= 0):
        raise ValueError(f"boundaries must be strictly increasing, got {boundaries.tolist()}")
    return boundaries


def bucket_index(lengths, boundaries):
    """The bucket of each length, with the rule of ``bucket_by_sequence_length``.

    Bucket 0 holds lengths below ``boundaries[0]``; bucket ``i`` holds
    ``boundaries[i-1] <= length < boundaries[i]``; the last bucket, ``len(boundaries)``,
    holds lengths ``>= boundaries[-1]``. A length equal to a boundary starts the next bucket.

    Args:
        lengths: 1-D ints, the sequence lengths.
        boundaries: 1-D strictly increasing ints.

    Returns:
        A 1-D int64 array of bucket indices, ``0 .. len(boundaries)``.

    Example:
        >>> bucket_index([3, 8, 9, 16, 40], [8, 16, 32])
        array([0, 1, 1, 2, 3])
    """
    lengths = _check_lengths(lengths)
    boundaries = _check_boundaries(boundaries)
    return np.searchsorted(boundaries, lengths, side="right").astype(np.int64)


def bucket_batches(lengths, boundaries, batch_size):
    """Group sequence indices into batches by bucket, as ``bucket_by_sequence_length`` does.

    Sequences are read in order; each goes to its bucket (see :func:`bucket_index`);
    a bucket that holds ``batch_size`` sequences is emitted as a batch and starts
    again empty. At the end, every non-empty bucket is emitted as a last, smaller batch.

    Args:
        lengths: 1-D ints, the sequence lengths, in corpus order.
        boundaries: 1-D strictly increasing ints.
        batch_size: int, the size of a full batch.

    Returns:
        A list of batches, each a list of indices into ``lengths``.

    Example:
        >>> bucket_batches([3, 30, 4, 31, 5], [10], batch_size=2)
        [[0, 2], [1, 3], [4]]
    """
    batch_size = _check_positive_int(batch_size, "batch_size")
    buckets = bucket_index(lengths, boundaries)
    open_batches, batches = {}, []
    for i, b in enumerate(buckets.tolist()):
        open_batches.setdefault(b, []).append(i)
        if len(open_batches[b]) == batch_size:
            batches.append(open_batches.pop(b))
    batches.extend(open_batches[b] for b in sorted(open_batches))
    return batches


def padding_fraction(batches):
    """The fraction of processed timesteps that are padding, over a whole epoch.

    Every cell of every padded batch is a processed timestep; the cells that hold
    id 0 are padding. The fraction is taken over all cells together, so a big
    batch weighs more than a small one.

    Args:
        batches: a list of 2-D integer arrays (batch, time), 0 = padding.

    Returns:
        float in ``[0, 1)``.

    Example:
        >>> padding_fraction([np.array([[5, 0, 0], [6, 7, 0]]), np.array([[8]])])
        0.42857142857142855
    """
    total, pads = 0, 0
    for i, batch in enumerate(batches):
        batch = np.asarray(batch)
        if batch.ndim != 2:
            raise ValueError(f"batch {i} must be 2-D (batch, time), got shape {batch.shape}")
        total += batch.size
        pads += int(np.count_nonzero(batch == 0))
    if total == 0:
        raise ValueError("padding_fraction needs at least one non-empty batch")
    return pads / total


def batch_stats(batches):
    """Counts that describe one epoch of padded batches.

    Args:
        batches: a list of 2-D integer arrays (batch, time), 0 = padding.

    Returns:
        dict with ``batches``, ``sequences``, ``real_tokens``, ``processed_timesteps``,
        ``padding_fraction``, ``distinct_widths`` (how many different time lengths,
        i.e. shapes, the model sees), ``max_width`` and ``sequential_steps`` (the sum of
        the batch widths: how many steps a recurrent layer's loop runs in the epoch).
    """
    widths = [int(np.shape(b)[1]) for b in batches]
    processed = int(sum(int(np.size(b)) for b in batches))
    fraction = padding_fraction(batches)
    return {
        "batches": len(batches),
        "sequences": int(sum(int(np.shape(b)[0]) for b in batches)),
        "real_tokens": int(round(processed * (1 - fraction))),
        "processed_timesteps": processed,
        "padding_fraction": fraction,
        "distinct_widths": len(set(widths)),
        "max_width": max(widths),
        "sequential_steps": int(sum(widths)),
    }


def make_dataset(sequences, labels, strategy, batch_size=32, boundaries=None):
    """A ``tf.data.Dataset`` of ``(ids, labels)`` batches, batched by ``strategy``.

    Batches are formed in corpus order and are the same at every epoch (no
    shuffling), so that repeated timings measure identical work.

    Args:
        sequences: list of 1-D int arrays (ids ``>= 1``).
        labels: 1-D int array, one label per sequence.
        strategy: one of :data:`STRATEGIES`.
        batch_size: int, sequences per batch (``"bucketed"``: per full batch).
        boundaries: bucket boundaries for ``"bucketed"`` (default:
            :func:`geometric_boundaries` from 8 to the longest sequence).

    Returns:
        A dataset whose ids are ``(batch, time)`` int32 tensors padded with 0, or
        ``tf.RaggedTensor`` for ``"ragged"``.

    Example:
        >>> ds = make_dataset([np.array([3, 4]), np.array([5])], np.array([0, 1]), "batch_max")
        >>> next(iter(ds))[0].numpy().tolist()
        [[3, 4], [5, 0]]
    """
    import tensorflow as tf

    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    batch_size = _check_positive_int(batch_size, "batch_size")
    lengths = _check_lengths([len(s) for s in sequences], "the sequence lengths")
    labels = np.asarray(labels, dtype=np.int32)
    if labels.shape != (len(lengths),):
        raise ValueError(f"labels must have shape ({len(lengths)},), one per sequence; got {labels.shape}")
    flat = np.concatenate([np.asarray(s, dtype=np.int32) for s in sequences])
    if flat.min() < 1:
        raise ValueError("sequences must not contain id 0: it is reserved for padding")
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

    def generate():
        yield from batches

    spec = (tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None,), tf.int32))
    return tf.data.Dataset.from_generator(generate, output_signature=spec)


def dataset_batches(dataset):
    """The ids of every batch of ``dataset`` as NumPy arrays (labels dropped)."""
    return [np.asarray(ids) for ids, _ in dataset.as_numpy_iterator()]


def _seeded(kind, seed):
    import keras

    if seed is None:
        return kind
    return {"glorot": keras.initializers.GlorotUniform, "orthogonal": keras.initializers.Orthogonal,
            "uniform": keras.initializers.RandomUniform}[kind](seed=seed)


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

    inputs = keras.Input(shape=(None,), dtype="int32", ragged=ragged_input, name="ids")
    x = keras.layers.Embedding(vocab_size, embed_dim, mask_zero=True,
                               embeddings_initializer=_seeded("uniform", seed), name="embedding")(inputs)
    x = keras.layers.LSTM(units, kernel_initializer=_seeded("glorot", seed),
                          recurrent_initializer=_seeded("orthogonal", seed), name="lstm")(x)
    outputs = keras.layers.Dense(num_classes, kernel_initializer=_seeded("glorot", seed), name="logits")(x)
    model = keras.Model(inputs, outputs, name="masked_lstm")
    model.compile(optimizer="adam", jit_compile=False,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def build_attention_classifier(vocab_size=2000, embed_dim=32, num_heads=2, key_dim=16, num_classes=2, seed=0, ragged_input=False):
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

    inputs = keras.Input(shape=(None,), dtype="int32", ragged=ragged_input, name="ids")
    x = keras.layers.Embedding(vocab_size, embed_dim, mask_zero=True,
                               embeddings_initializer=_seeded("uniform", seed), name="embedding")(inputs)
    attended = keras.layers.MultiHeadAttention(num_heads, key_dim, kernel_initializer=_seeded("glorot", seed),
                                               name="self_attention")(x, x)
    x = keras.layers.Add(name="residual")([x, attended])
    x = keras.layers.GlobalAveragePooling1D(name="mean_over_real_steps")(x)
    outputs = keras.layers.Dense(num_classes, kernel_initializer=_seeded("glorot", seed), name="logits")(x)
    model = keras.Model(inputs, outputs, name="masked_self_attention")
    model.compile(optimizer="adam", jit_compile=False,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


#: The models the benchmark compares, by name.
MODEL_BUILDERS = {"lstm": build_lstm_classifier, "attention": build_attention_classifier}

#: A human name for each model.
MODEL_NAMES = {"lstm": "masked LSTM", "attention": "masked self-attention"}


# ---------------------------------------------------------------- stored results

#: The stored results of the full benchmark run on CPU (``make benchmark`` rewrites it).
RESULTS_FILE = "benchmarks/results/padding_cost_cpu.json"


def results_path(name=RESULTS_FILE):
    """The path of a stored results file: in this checkout, else fetched from the release.

    In a clone of the book's repository the file is read where ``make benchmark`` wrote
    it. Where the helpers were installed without the repository (Colab), the file is
    downloaded once from the book's release on GitHub into a temporary directory.

    Raises:
        FileNotFoundError: if the file is neither here nor downloadable.
    """
    import pathlib

    local = pathlib.Path(__file__).resolve().parents[2] / name
    if local.exists():
        return local
    import tempfile
    import urllib.request

    from helpers.notebook import RELEASE, REPOSITORY

    url = REPOSITORY.replace("https://github.com/", "https://raw.githubusercontent.com/") + f"/{RELEASE}/{name}"
    target = pathlib.Path(tempfile.gettempdir()) / "padding_masking_results" / pathlib.Path(name).name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            urllib.request.urlretrieve(url, target)  # noqa: S310 - fixed https URL
        except OSError as exc:
            raise FileNotFoundError(f"no {name} in this checkout and it could not be fetched from {url}: "
                                    f"{exc}; run `make benchmark` to make one") from exc
    return target


def load_results(path):
    """Read a results file written by ``benchmarks/padding_cost.py`` and check its shape.

    Raises:
        ValueError: if the file lacks the sections the book reads.
    """
    with open(path, encoding="utf-8") as f:
        results = json.load(f)
    for key in ("machine", "versions", "settings", "models", "date"):
        if key not in results:
            raise ValueError(f"{path} is not a padding-cost results file: it has no {key!r} section")
    for model, entry in results["models"].items():
        missing = [s for s in STRATEGIES if s not in entry.get("strategies", {})]
        if missing or "ideal" not in entry:
            raise ValueError(f"results for model {model!r} lack strategies {missing or ['ideal']}")
    return results


def results_rows(results):
    """One row per (model, strategy) of a results dict, with the ratio to pad-to-global-max.

    Returns:
        A list of dicts with ``model``, ``strategy``, ``supported``, ``padding_fraction``,
        ``real_tokens_per_s``, ``median_step_ms``, ``speedup`` (real tokens per second
        divided by that of ``"global_max"`` for the same model; None where not supported),
        ``spread`` ((slowest - fastest) / median epoch) and ``cpu_speedup`` (the same ratio
        measured in CPU seconds, where the file has it).
        Each model ends with a row for ``"ideal"``.
    """
    rows = []
    for model, entry in results["models"].items():
        base = entry["strategies"]["global_max"]["real_tokens_per_s"]
        for name in STRATEGIES + ("ideal",):
            s = entry["ideal"] if name == "ideal" else entry["strategies"][name]
            ok = s.get("supported", True)
            rows.append({
                "model": model,
                "strategy": name,
                "supported": ok,
                "padding_fraction": s.get("padding_fraction") if ok else None,
                "real_tokens_per_s": s.get("real_tokens_per_s") if ok else None,
                "median_step_ms": s.get("median_step_ms") if ok else None,
                "speedup": s["real_tokens_per_s"] / base if ok else None,
                "reason": None if ok else s.get("reason"),
                "spread": s.get("spread") if ok else None,
                "cpu_speedup": s.get("cpu_speedup_vs_global_max") if ok else None,
            })
    return rows


def plot_length_histogram(lengths, boundaries=None, figsize=(8, 2.8)):
    """A histogram of sequence lengths (log-spaced bins), with bucket boundaries if given.

    Args:
        lengths: 1-D ints.
        boundaries: optional bucket boundaries, drawn as thin vertical lines.

    Returns:
        The matplotlib ``Figure`` (closed: a notebook shows it when a cell returns it).
    """
    import matplotlib.pyplot as plt

    lengths = _check_lengths(lengths)
    fig, ax = plt.subplots(figsize=figsize, constrained_layout=True)
    bins = np.geomspace(max(1, lengths.min()), lengths.max() + 1, 40)
    ax.hist(lengths, bins=bins, color="tab:blue", alpha=0.8)
    ax.set_xscale("log")
    ax.axvline(np.median(lengths), color="black", linewidth=1.5, label=f"median {np.median(lengths):.0f}")
    ax.axvline(lengths.max(), color="tab:red", linewidth=1.5, label=f"longest {lengths.max()}")
    if boundaries is not None:
        for b in _check_boundaries(boundaries):
            ax.axvline(b, color="gray", linewidth=0.5, alpha=0.6)
    ax.set_xlabel("sequence length (tokens, log scale)" + ("; grey: bucket boundaries" if boundaries else ""))
    ax.set_ylabel("sequences")
    ax.legend(fontsize=8)
    plt.close(fig)  # shown once, by the notebook displaying the returned figure
    return fig


def plot_results(results, figsize=(10, 3.6)):
    """Two panels from a results dict: padding fraction, and real tokens per second.

    The left panel shows the fraction of processed timesteps that are padding for each
    strategy; the right one the training throughput of each model per strategy, with
    its ratio to padding to the global maximum, and the ideal (no padding processed) as
    a dashed line. Unsupported strategies are marked "not supported".

    Returns:
        The matplotlib ``Figure`` (closed: a notebook shows it when a cell returns it).
    """
    import matplotlib.pyplot as plt

    rows = results_rows(results)
    models = list(results["models"])
    strategies = [s for s in STRATEGIES]
    fig, (ax_pad, ax_tps) = plt.subplots(1, 2, figsize=figsize, constrained_layout=True)
    labels = [STRATEGY_NAMES[s] for s in strategies]
    first = [r for r in rows if r["model"] == models[0] and r["strategy"] in strategies]
    fractions = [r["padding_fraction"] if r["supported"] else 0 for r in first]
    bars = ax_pad.bar(labels, [100 * f for f in fractions], color="tab:gray")
    for bar, r in zip(bars, first):
        text = f"{100 * r['padding_fraction']:.0f}%" if r["supported"] else "not\nsupported"
        ax_pad.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=8)
    ax_pad.set_ylabel("padding timesteps (% of processed)")
    ax_pad.set_ylim(0, 105)
    ax_pad.set_title("How much of the work is padding")
    ax_pad.tick_params(axis="x", labelrotation=20)

    width = 0.8 / len(models)
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:red"]
    for m, model in enumerate(models):
        mrows = {r["strategy"]: r for r in rows if r["model"] == model}
        xs = np.arange(len(strategies)) + (m - (len(models) - 1) / 2) * width
        values = [mrows[s]["real_tokens_per_s"] or 0 for s in strategies]
        ax_tps.bar(xs, values, width, label=MODEL_NAMES.get(model, model), color=colours[m % 4])
        for x, s, v in zip(xs, strategies, values):
            if mrows[s]["supported"]:
                ax_tps.annotate(f"{mrows[s]['speedup']:.1f}x", (x, v), ha="center", va="bottom", fontsize=8)
        ax_tps.axhline(mrows["ideal"]["real_tokens_per_s"], color=colours[m % 4], linestyle="--", linewidth=1)
    for i, s in enumerate(strategies):
        if not any(r["supported"] for r in rows if r["strategy"] == s):
            ax_tps.text(i, 0.02, "not\nsupported", ha="center", va="bottom", fontsize=8,
                        transform=ax_tps.get_xaxis_transform())
    ax_tps.set_xticks(np.arange(len(strategies)), labels, rotation=20)
    ax_tps.yaxis.set_major_formatter(lambda y, _: f"{y / 1000:.0f}k")
    ax_tps.set_ylabel("real tokens per second (training)")
    ax_tps.set_title("Throughput (dashed: ideal, no padding)")
    ax_tps.legend(fontsize=8, loc="upper left")
    plt.close(fig)  # shown once, by the notebook displaying the returned figure
    return fig
