"""What padding costs: a synthetic corpus, batching strategies, padding fractions, plots.

Used by the benchmark (``benchmarks/padding_cost.py``) and by the chapter "The cost
of padding", so both see the same corpus, the same batches and the same models.

The ways to batch sequences of different lengths, by name (:data:`STRATEGIES`):

- ``"global_max"``: every sequence padded to the longest sequence of the corpus;
- ``"batch_max"``: each batch padded to its own longest sequence;
- ``"bucketed"``: sequences grouped by length (``tf.data.Dataset.bucket_by_sequence_length``)
  so that each batch holds similar lengths, then padded to the batch's longest;
- ``"length_grouped"``: shuffled, sorted by length within pools of many batches, cut
  into batches, batches shuffled (Hugging Face's ``group_by_length``); new order each epoch;
- ``"token_budget"``: batches of at most ``max_tokens`` cells (batch x width), short
  sequences in big batches, long ones in small (fairseq's ``max_tokens``); new order
  each epoch;
- ``"ragged"``: no padding at all, a ``tf.RaggedTensor`` per batch (only where the
  model accepts it).

Padding is id 0 everywhere; real tokens have ids ``1 .. vocab_size - 1``.

The code is in submodules by purpose; every public name is importable from here:
``checks`` (argument checks), ``corpus`` (the synthetic corpus), ``strategies``
(names, and the maths of the shuffled strategies), ``bucketing`` (bucket and padding
maths), ``pipelines`` (tf.data, and the same batches in NumPy), ``classifiers`` (the two
models), ``results`` (the stored results file), ``plots``.
"""

from helpers.cost.bucketing import (
                                    DEFAULT_BOUNDARY_RATIO,
                                    batch_stats,
                                    bucket_batches,
                                    bucket_index,
                                    geometric_boundaries,
                                    padding_fraction,
)
from helpers.cost.classifiers import (
                                    MODEL_BUILDERS,
                                    MODEL_NAMES,
                                    build_attention_classifier,
                                    build_lstm_classifier,
                                    build_packed_attention_classifier,
                                    masked_embedding,
)
from helpers.cost.corpus import CORPUS_DEFAULTS, lognormal_lengths, synthetic_corpus
from helpers.cost.pipelines import dataset_batches, ideal_batch_ids, ideal_batches, make_dataset, strategy_batches
from helpers.cost.plots import plot_length_histogram, plot_results
from helpers.cost.results import RESULTS_FILE, load_results, results_path, results_rows
from helpers.cost.strategies import (
                                    DEFAULT_MAX_TOKENS,
                                    DEFAULT_POOL_BATCHES,
                                    SHUFFLED,
                                    STRATEGIES,
                                    STRATEGY_NAMES,
                                    epoch_rng,
                                    length_grouped_batches,
                                    packed_batches,
                                    packed_row_lengths,
                                    token_budget_batches,
)

__all__ = [
    "CORPUS_DEFAULTS", "DEFAULT_BOUNDARY_RATIO", "DEFAULT_MAX_TOKENS", "DEFAULT_POOL_BATCHES",
    "MODEL_BUILDERS", "MODEL_NAMES", "RESULTS_FILE", "SHUFFLED", "STRATEGIES", "STRATEGY_NAMES",
    "batch_stats", "bucket_batches", "bucket_index", "build_attention_classifier", "build_lstm_classifier",
    "build_packed_attention_classifier",
    "dataset_batches", "epoch_rng", "geometric_boundaries", "ideal_batch_ids", "ideal_batches",
    "length_grouped_batches", "load_results", "lognormal_lengths", "make_dataset", "masked_embedding",
    "packed_batches", "packed_row_lengths",
    "padding_fraction", "plot_length_histogram", "plot_results", "results_path", "results_rows",
    "strategy_batches", "synthetic_corpus", "token_budget_batches",
]
