"""Data pipelines that group k batches into one accumulated update and attach token-mean weights.

Taught in chapter 20 (Masks at scale), section "A pipeline for fit".

:func:`accumulation_batches` is a Python generator (every backend);
:func:`accumulation_dataset` wraps it in a ``tf.data.Dataset`` (TensorFlow only).
Both yield ``(x, y, sample_weight)``, which ``model.fit`` reads as inputs, targets
and weights; train with ``gradient_accumulation_steps=steps`` so that each group of
``steps`` batches makes one update.
"""

import warnings

import numpy as np

from helpers.scale.weights import accumulation_sample_weights
from helpers.validation import check_mask, positive_int, received, to_array

_OWNER = "accumulation_batches"


def _padding_mask(x, y):
    """The default mask: the tokens of ``x`` that are not padding (id 0)."""
    return x != 0


def _pair(batch, index):
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise ValueError(
            f"{_OWNER}: each batch must be a pair (x, y). Batch {index} is not. {received('batch', batch)}"
        )
    return to_array(batch[0], f"batches[{index}][0]", _OWNER), to_array(batch[1], f"batches[{index}][1]", _OWNER)


def accumulation_batches(batches, steps, *, output_mask=False, mask_fn=None):
    """Yield ``(x, y, sample_weight)``: each group of ``steps`` batches weighted for one token-mean update.

    Args:
        batches: iterable of ``(x, y)`` pairs (arrays or tensors), one per micro-batch;
            shapes may differ between batches.
        steps: int >= 1, the optimizer's ``gradient_accumulation_steps``.
        output_mask: bool, whether the model's output carries the Keras mask (see
            :func:`helpers.scale.accumulation_sample_weights`).
        mask_fn: optional callable ``mask_fn(x, y) -> boolean (batch, time) array``
            of the tokens the loss counts; default ``x != 0``.

    Yields:
        ``(x, y, sample_weight)`` with NumPy arrays, ``sample_weight`` float32 of shape
        ``(batch, time)``. A group with no real token gets zero weights. A last group
        of fewer than ``steps`` batches is dropped, with a warning (it would not make a
        whole update).

    Example:
        >>> x1, x2 = np.array([[3, 4, 5, 6]]), np.array([[2, 0, 0, 0]])
        >>> for x, y, w in accumulation_batches([(x1, x1), (x2, x2)], steps=2):
        ...     print(x.tolist(), w.round(3).tolist())
        [[3, 4, 5, 6]] [[1.6, 1.6, 1.6, 1.6]]
        [[2, 0, 0, 0]] [[1.6, 0.0, 0.0, 0.0]]
    """
    steps = positive_int(steps, "steps", owner=_OWNER)
    mask_fn = _padding_mask if mask_fn is None else mask_fn
    if not callable(mask_fn):
        raise TypeError(f"{_OWNER}: `mask_fn` must be callable or None. {received('mask_fn', mask_fn)}")
    group = []
    for index, batch in enumerate(batches):
        group.append(_pair(batch, index))
        if len(group) < steps:
            continue
        first = index + 1 - steps
        masks = [check_mask(mask_fn(x, y), name=f"mask_fn(x, y) of batch {first + i}", owner=_OWNER)
                 for i, (x, y) in enumerate(group)]
        if all(m.ndim == 2 for m in masks) and not any(m.any() for m in masks):
            weights = [np.zeros(m.shape, "float32") for m in masks]
        else:
            weights = accumulation_sample_weights(masks, output_mask=output_mask)
        for (x, y), weight in zip(group, weights):
            yield x, y, weight
        group = []
    if group:
        warnings.warn(
            f"{_OWNER}: the last {len(group)} batch(es) do not fill a group of steps={steps} and were dropped.",
            stacklevel=2,
        )


def accumulation_dataset(batches, steps, *, output_mask=False, mask_fn=None):
    """:func:`accumulation_batches` as a ``tf.data.Dataset`` (TensorFlow must be installed).

    ``batches`` must be a sequence (a list), read again at every epoch.

    Example:
    ```python
    dataset = accumulation_dataset([(x1, y1), (x2, y2)], steps=2)
    model.fit(dataset, epochs=3)  # model compiled with gradient_accumulation_steps=2
    ```
    """
    import tensorflow as tf

    if not isinstance(batches, (list, tuple)) or not batches:
        raise TypeError(
            f"accumulation_dataset: `batches` must be a non-empty list of (x, y) pairs (it is read at every "
            f"epoch). {received('batches', batches)}"
        )
    x, y = _pair(batches[0], 0)
    signature = (
        tf.TensorSpec((None,) * x.ndim, tf.as_dtype(x.dtype)),
        tf.TensorSpec((None,) * y.ndim, tf.as_dtype(y.dtype)),
        tf.TensorSpec((None, None), tf.float32),
    )
    return tf.data.Dataset.from_generator(
        lambda: accumulation_batches(batches, steps, output_mask=output_mask, mask_fn=mask_fn),
        output_signature=signature,
    )
