"""The token mean across accumulation steps, replicas and devices: weights, pipelines, a metric.

Taught in chapter 20 (Masks at scale). Every public name is importable from here:

- ``weights``: :func:`accumulation_sample_weights`, :func:`replica_sample_weights`;
- ``pipeline``: :func:`accumulation_batches` (a generator for ``fit``),
  :func:`accumulation_dataset` (the same as ``tf.data``);
- ``metrics``: :class:`TokenMean`, a metric from running sums and counts;
- ``experiments``: the chapter's measurements (a tiny model, updates, errors, and
  child processes with simulated devices).

Example:
    >>> masks = [np.array([[True, True, True]]), np.array([[True, False, False]])]
    >>> [w.tolist() for w in accumulation_sample_weights(masks, output_mask=True)]
    [[[1.5, 1.5, 1.5]], [[0.5, 0.0, 0.0]]]
"""

from helpers.scale.metrics import TokenMean
from helpers.scale.pipeline import accumulation_batches, accumulation_dataset
from helpers.scale.weights import accumulation_sample_weights, replica_sample_weights

__all__ = [
    "TokenMean",
    "accumulation_batches",
    "accumulation_dataset",
    "accumulation_sample_weights",
    "replica_sample_weights",
]
