"""Sample weights that turn Keras's per-batch token means into one token mean over an update.

Taught in chapter 20 (Masks at scale).

Keras averages a masked loss over the real tokens of *one* batch
(``keras/src/losses/loss.py``, ``apply_mask``), then averages gradients over the
accumulation steps (``keras/src/optimizers/base_optimizer.py``) or over replicas
(``tf.distribute``: each replica's loss is divided by the replica count). The
update is then a mean of per-batch token means, not the mean over every real
token. The weights here undo that: with them, the k micro-batches (or the R
replica slices) make the same update as one step on all of them with the
token-mean loss.

The arithmetic, for micro-batch ``i`` with mask ``m_i`` of shape ``(b_i, t_i)``,
``n_i`` real tokens, ``N = sum(n_i)`` and ``k`` micro-batches (the default
reduction ``"sum_over_batch_size"`` divides by ``b_i * t_i``, or by ``n_i``
when the model's output carries the mask):

- output without a Keras mask: ``w_i = m_i * k * b_i * t_i / N``;
- output carrying the mask: ``w_i = m_i * k * n_i / N``.
"""

import numpy as np

from helpers.validation import check_mask, positive_int, received

_OWNER = "accumulation_sample_weights"


def _checked_masks(masks, owner):
    if not isinstance(masks, (list, tuple)):
        raise TypeError(
            f"{owner}: `masks` must be a list of boolean (batch, time) masks, one per micro-batch. "
            f"{received('masks', masks)}"
        )
    if not masks:
        raise ValueError(
            f"{owner}: `masks` must hold at least one mask (one per micro-batch); got an empty list. "
            f"{received('masks', masks)}"
        )
    checked = []
    for index, mask in enumerate(masks):
        name = f"masks[{index}]"
        array = check_mask(mask, name=name, owner=owner)
        if array.ndim != 2:
            raise ValueError(
                f"{owner}: `{name}` must be a 2-D (batch, time) mask; its shape is {array.shape}. "
                f"{received(name, mask)}"
            )
        checked.append(array)
    if not any(array.any() for array in checked):
        raise ValueError(
            f"{owner}: no micro-batch has a real token (every mask is all False), so there is no "
            f"token mean to take. Received: masks of shapes {[a.shape for a in checked]}"
        )
    return checked


def _weights(masks, output_mask):
    steps = len(masks)
    total = sum(int(mask.sum()) for mask in masks)
    weights = []
    for mask in masks:
        divisor = int(mask.sum()) if output_mask else mask.size
        weights.append((mask * (steps * divisor / total)).astype("float32"))
    return weights


def accumulation_sample_weights(masks, *, output_mask=False):
    """One ``sample_weight`` per micro-batch, so that accumulation gives the token-mean update.

    Train micro-batch ``i`` with ``sample_weight=weights[i]``, the loss's default
    reduction (``"sum_over_batch_size"``) and
    ``optimizer(gradient_accumulation_steps=len(masks))``: the update equals one
    step over all the micro-batches together with the mean over all their real
    tokens. Without the weights, each micro-batch counts as much as the others
    however many real tokens it holds.

    Args:
        masks: list of boolean arrays, one ``(batch, time)`` mask per micro-batch
            (``True`` = a real token); shapes may differ between micro-batches.
        output_mask: bool. ``True`` for a model whose output carries the Keras mask
            (Keras then also applies it and divides by the micro-batch's own token
            count); ``False`` for one whose output does not.

    Returns:
        list of float32 NumPy arrays, shaped like ``masks``: 0 at padding, and all 0
        for a micro-batch without a real token (it adds nothing to the mean).

    Raises:
        TypeError: ``masks`` is not a list, or a mask is not boolean.
        ValueError: ``masks`` is empty, a mask is not 2-D, or no micro-batch has a real token.

    Example:
        >>> masks = [np.array([[True] * 6]), np.array([[True, False, False, False]])]
        >>> [w.round(3).tolist() for w in accumulation_sample_weights(masks)]
        [[[1.714, 1.714, 1.714, 1.714, 1.714, 1.714]], [[1.143, 0.0, 0.0, 0.0]]]
        >>> [w.round(3).tolist() for w in accumulation_sample_weights(masks, output_mask=True)]
        [[[1.714, 1.714, 1.714, 1.714, 1.714, 1.714]], [[0.286, 0.0, 0.0, 0.0]]]
        >>> accumulation_sample_weights([])
        Traceback (most recent call last):
            ...
        ValueError: accumulation_sample_weights: `masks` must hold at least one mask (one per micro-batch); ...
    """
    return _weights(_checked_masks(masks, _OWNER), bool(output_mask))


def replica_sample_weights(mask, num_replicas, *, output_mask=False):
    """``sample_weight`` for a global batch split over replicas, so the update is the global token mean.

    ``tf.distribute`` strategies (``MirroredStrategy``) give each replica a
    contiguous slice of the global batch and divide each replica's loss by the
    number of replicas: the update is the mean of per-replica means, the same
    arithmetic as gradient accumulation over those slices. These weights use the
    global token count. ``keras.distribution.DataParallel`` on JAX computes the
    loss over the global batch and needs no weights when the output carries the
    mask; with ``output_mask=False`` the weights (``mask * batch * time / N``, the
    same for any ``num_replicas``) give the token mean on both.

    To combine replicas with gradient accumulation, pass the replica slices of all
    the micro-batches to :func:`accumulation_sample_weights`.

    Args:
        mask: boolean ``(global_batch, time)`` mask of the global batch.
        num_replicas: positive int that divides ``global_batch``.
        output_mask: bool, as in :func:`accumulation_sample_weights`.

    Returns:
        float32 NumPy array shaped like ``mask``.

    Raises:
        TypeError: the mask is not boolean, or ``num_replicas`` is not an int.
        ValueError: the mask is not 2-D, has no real token, or its batch is not a
            multiple of ``num_replicas``.

    Example:
        >>> mask = np.array([[True, True, True], [True, False, False]])
        >>> replica_sample_weights(mask, 2).round(3).tolist()
        [[1.5, 1.5, 1.5], [1.5, 0.0, 0.0]]
        >>> replica_sample_weights(mask, 2, output_mask=True).round(3).tolist()
        [[1.5, 1.5, 1.5], [0.5, 0.0, 0.0]]
    """
    owner = "replica_sample_weights"
    num_replicas = positive_int(num_replicas, "num_replicas", owner=owner)
    (array,) = _checked_masks([mask], owner)
    if array.shape[0] % num_replicas:
        raise ValueError(
            f"{owner}: the global batch ({array.shape[0]} rows) must be a multiple of `num_replicas`, so that "
            f"every replica gets the same number of rows. Received: num_replicas={num_replicas} (of type int)"
        )
    slices = np.split(array, num_replicas)
    return np.concatenate(_weights(slices, bool(output_mask)))
