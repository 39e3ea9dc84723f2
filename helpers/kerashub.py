"""KerasHub's explicit ``padding_mask`` next to Keras's attached mask, and batched generation.

Taught in chapter 16 (KerasHub's masks). KerasHub models take ``{"token_ids",
"padding_mask"}`` and its Transformer layers take ``padding_mask=`` arguments, while
core Keras attaches a mask to a tensor (chapter 3). These tools convert one into the
other and run the small greedy loop the chapter uses to show why a causal language
model is left-padded for batched generation.

=================================  ===========================================================
:func:`check_padding_mask`         a ``padding_mask`` checked against its ``token_ids``
:class:`PaddingMaskToKerasMask`    ``[x, padding_mask]`` -> ``x`` carrying it as a Keras mask
:class:`KerasMaskToPaddingMask`    a tensor's attached Keras mask -> a boolean ``padding_mask``
:func:`left_pad`                   ragged token lists -> left-padded ``token_ids`` and mask
:func:`greedy_generate`            the appending greedy loop over a left-padded batch
:func:`set_numpy_weights`          the same random weights on every backend, from NumPy
:func:`kerashub_warnings`          KerasHub's absl log warnings printed to stdout
:func:`quote_source`               the lines of a function's source that hold given strings
=================================  ===========================================================

:func:`merge_padding_and_attention_mask` returns KerasHub's own (private) merging function.

Example:
    >>> left_pad([[5, 6, 7], [8]])[0]
    array([[5, 6, 7],
           [0, 0, 8]], dtype=int32)
"""

import contextlib
import logging

import keras
import numpy as np
from keras import ops

from helpers.layers.package import PACKAGE
from helpers.validation import integer, non_negative_int, positive_int, received, to_array


def check_padding_mask(padding_mask, token_ids=None, name="padding_mask", owner=None):
    """A ``padding_mask`` as a boolean NumPy array, checked against ``token_ids``.

    KerasHub's masks are ``(batch, sequence_length)``, True for a real token. Integer
    masks of 0 and 1 (KerasHub's backbones declare their ``padding_mask`` input as
    int32) are accepted and converted.

    Args:
        padding_mask: tensor, array or nested list of shape ``(batch, sequence_length)``.
        token_ids: optional, the ids it masks; the shapes must be equal.
        name: str, the argument's name in messages.
        owner: optional str, the caller, prefixed to messages.

    Returns:
        a NumPy array of dtype bool.

    Raises:
        TypeError: the mask is None, or neither boolean nor 0/1 integers.
        ValueError: the mask is not 2-D, or its shape differs from ``token_ids``'s.

    Example:
        >>> check_padding_mask([[1, 1, 0]], token_ids=[[4, 5, 0]])
        array([[ True,  True, False]])
        >>> check_padding_mask([[True, False]], token_ids=[[4, 5, 0]])
        Traceback (most recent call last):
            ...
        ValueError: `padding_mask` must have the shape of `token_ids`, (1, 3). Received: padding_mask=...
    """
    prefix = f"{owner}: " if owner else ""
    mask = to_array(padding_mask, name, owner)
    if mask.ndim != 2:
        raise ValueError(f"{prefix}`{name}` must have shape (batch, sequence_length); its shape is {mask.shape}. "
                         f"{received(name, padding_mask)}")
    if token_ids is not None:
        shape = to_array(token_ids, "token_ids", owner).shape
        if mask.shape != shape:
            raise ValueError(f"{prefix}`{name}` must have the shape of `token_ids`, {shape}. "
                             f"{received(name, padding_mask)}")
    if mask.dtype == bool:
        return mask
    if mask.dtype.kind in "iu" and np.isin(mask, (0, 1)).all():
        return mask.astype(bool)
    raise TypeError(f"{prefix}`{name}` must be boolean (True = a real token) or 0/1 integers; its dtype is "
                    f"{mask.dtype}. {received(name, padding_mask)}")


@keras.saving.register_keras_serializable(package=PACKAGE)
class PaddingMaskToKerasMask(keras.layers.Layer):
    """Attach an explicit ``padding_mask`` to a tensor as its Keras mask.

    KerasHub's backbones carry the mask as a second input; a core Keras layer after
    them (``LSTM``, ``GlobalAveragePooling1D``) reads the attached mask instead. This
    layer takes ``[x, padding_mask]`` and returns a copy of ``x`` whose Keras mask is
    ``padding_mask`` (replacing any mask ``x`` carried).

    Args:
        **kwargs: passed to ``keras.layers.Layer``.

    Input shape:
        a list ``[x, padding_mask]``: ``x`` of shape ``(batch, time, ...)``,
        ``padding_mask`` of shape ``(batch, time)``, boolean or 0/1.

    Output shape:
        the shape of ``x``; its mask is ``padding_mask`` as booleans.

    Example:
        >>> x = np.ones((1, 3, 2), "float32")
        >>> from helpers.masks import keras_mask
        >>> keras_mask(PaddingMaskToKerasMask()([x, np.array([[1, 1, 0]])]))
        array([[ True,  True, False]])
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # compute_mask below makes the output's mask

    @staticmethod
    def _split(inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError("PaddingMaskToKerasMask expects a list [x, padding_mask]. "
                             f"{received('inputs', inputs)}")
        x, padding_mask = inputs
        if len(padding_mask.shape) != 2 or len(x.shape) < 2 or tuple(padding_mask.shape) != tuple(x.shape[:2]):
            raise ValueError("PaddingMaskToKerasMask: `padding_mask` must have shape (batch, time) matching the "
                             f"first two axes of x, {tuple(x.shape[:2])}. Received: padding_mask with shape "
                             f"{tuple(padding_mask.shape)}")
        return x, padding_mask

    def call(self, inputs):
        x, _ = self._split(inputs)
        return ops.copy(x)  # a new tensor: the mask is attached to it, not to the input

    def compute_mask(self, inputs, mask=None):
        _, padding_mask = self._split(inputs)
        return ops.cast(padding_mask, "bool")

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        return super().get_config()


@keras.saving.register_keras_serializable(package=PACKAGE)
class KerasMaskToPaddingMask(keras.layers.Layer):
    """Turn the Keras mask attached to a tensor into an explicit boolean ``padding_mask``.

    The other direction: an ``Embedding(mask_zero=True)`` attaches a mask; a KerasHub
    layer or backbone called with ``padding_mask=`` wants it as a tensor. The output
    is the mask itself, shape ``(batch, time)``, dtype bool, and carries no mask.

    Args:
        **kwargs: passed to ``keras.layers.Layer``.

    Raises:
        ValueError: when called on a tensor that carries no Keras mask.

    Example:
        >>> x = keras.layers.Embedding(10, 2, mask_zero=True)(np.array([[4, 5, 0]]))
        >>> keras.ops.convert_to_numpy(KerasMaskToPaddingMask()(x))
        array([[ True,  True, False]])
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # it reads the mask; compute_mask says it emits none

    def call(self, inputs, mask=None):
        if mask is None:
            raise ValueError("KerasMaskToPaddingMask: `inputs` carries no Keras mask, so there is no padding_mask "
                             "to return; make the mask first (Embedding(mask_zero=True), Masking) or pass "
                             f"padding_mask yourself. Received: inputs with shape {tuple(inputs.shape)}")
        return ops.cast(mask, "bool")

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:2])

    def compute_output_spec(self, inputs, mask=None):
        return keras.KerasTensor(tuple(inputs.shape[:2]), dtype="bool")

    def get_config(self):
        return super().get_config()


def left_pad(sequences, padding_value=0, length=None):
    """Left-pad ragged token lists: ``(token_ids, padding_mask)``, the real tokens at the end.

    The mask comes from each row's length, not from the ids, so a real token equal
    to ``padding_value`` is still marked real.

    Args:
        sequences: a list of lists of int token ids (each non-empty).
        padding_value: int, the id written into padded positions.
        length: optional int, the width; default the longest row. Longer rows raise.

    Returns:
        ``(token_ids, padding_mask)``: NumPy arrays, int32 and bool, ``(batch, length)``.

    Raises:
        TypeError: ``sequences`` is not a list of lists of ints.
        ValueError: ``sequences`` is empty, has an empty row, or a row longer than ``length``.

    Example:
        >>> left_pad([[3, 0], [4]], length=3)[1]
        array([[False,  True,  True],
               [False, False,  True]])
    """
    if not isinstance(sequences, (list, tuple)) or not all(isinstance(s, (list, tuple)) for s in sequences):
        raise TypeError(f"`sequences` must be a list of lists of token ids. {received('sequences', sequences)}")
    if not sequences or not all(sequences):
        raise ValueError(f"`sequences` must hold at least one row, each with at least one token. "
                         f"{received('sequences', sequences)}")
    rows = [[integer(t, "token id", "left_pad") for t in s] for s in sequences]
    padding_value = integer(padding_value, "padding_value", "left_pad")
    longest = max(len(r) for r in rows)
    length = longest if length is None else positive_int(length, "length", "left_pad")
    if longest > length:
        raise ValueError(f"left_pad: a row has {longest} tokens, more than `length`. Received: length={length}")
    token_ids = np.full((len(rows), length), padding_value, dtype="int32")
    padding_mask = np.zeros((len(rows), length), dtype=bool)
    for i, row in enumerate(rows):
        token_ids[i, length - len(row):] = row
        padding_mask[i, length - len(row):] = True
    return token_ids, padding_mask


def _right_padding_rows(padding_mask):
    """Rows whose last position is padding while an earlier one is real."""
    return [i for i, row in enumerate(padding_mask) if row.any() and not row[-1]]


def greedy_generate(causal_lm, token_ids, padding_mask, steps, require_left_padding=True):
    """Greedy decoding that appends one token per step to every row of a batch.

    Each step runs the model on the whole buffer (no cache: clear, not fast), takes
    the argmax of the logits at the last filled column and writes it into the next
    column, marked real in the mask. The buffer has a fixed width (prompt + ``steps``),
    so the model sees one shape and compiles once; the empty columns to the right are
    never seen by earlier positions (causal attention). Every row's next token is read
    from the *same* column: that is why the batch must be left-padded.

    Args:
        causal_lm: a KerasHub ``CausalLM`` (or any model mapping
            ``{"token_ids", "padding_mask"}`` to logits ``(batch, time, vocabulary)``).
        token_ids: int array ``(batch, prompt_length)``.
        padding_mask: boolean or 0/1 array of the same shape.
        steps: int >= 1, how many tokens to generate.
        require_left_padding: bool; if True (default), a row that ends in padding raises.

    Returns:
        a NumPy int32 array ``(batch, steps)``: the generated tokens.

    Raises:
        ValueError: bad shapes, ``steps`` < 1, or right padding when it is refused.
        TypeError: ``causal_lm`` has no ``predict_on_batch``.

    Example:
        >>> ids, mask = left_pad([[5, 6], [7]])
        >>> greedy_generate(lm, ids, mask, steps=3).shape  # doctest: +SKIP
        (2, 3)
    """
    if not hasattr(causal_lm, "predict_on_batch"):
        raise TypeError(f"greedy_generate: `causal_lm` must be a Keras model. {received('causal_lm', causal_lm)}")
    ids = to_array(token_ids, "token_ids", "greedy_generate")
    if ids.ndim != 2 or ids.dtype.kind not in "iu":
        raise ValueError(f"greedy_generate: `token_ids` must be integers of shape (batch, prompt_length). "
                         f"{received('token_ids', token_ids)}")
    mask = check_padding_mask(padding_mask, ids, owner="greedy_generate")
    steps = positive_int(steps, "steps", "greedy_generate")
    late = _right_padding_rows(mask)
    if require_left_padding and late:
        raise ValueError(f"greedy_generate: rows {late} end in padding; the loop reads every row's next token "
                         "from the last column, so pad on the left (left_pad, or StartEndPacker(padding_side="
                         f"'left')). Received: padding_mask={mask.astype(int).tolist()}")
    batch, width = ids.shape
    ids = np.concatenate([ids.astype("int32"), np.zeros((batch, steps), "int32")], axis=1)
    mask = np.concatenate([mask, np.zeros((batch, steps), bool)], axis=1)
    # JAX runs eager calls op by op, compiling each op per shape: one compiled call is faster there.
    forward = causal_lm.predict_on_batch if keras.backend.backend() == "jax" else causal_lm
    for column in range(width - 1, width - 1 + steps):
        logits = forward({"token_ids": ids, "padding_mask": mask})
        ids[:, column + 1] = np.argmax(ops.convert_to_numpy(logits)[:, column], axis=-1)
        mask[:, column + 1] = True
    return ids[:, width:]


def set_numpy_weights(model, seed=0, stddev=0.5):
    """Give every weight of ``model`` values drawn from NumPy: the same model on every backend.

    Keras's initializers draw from each backend's own generator, so one seed gives
    different weights on TensorFlow, JAX and PyTorch; a chapter whose stored outputs
    show generated tokens needs the same numbers everywhere.

    Args:
        model: a built ``keras.Model`` or layer.
        seed: int >= 0, the NumPy seed.
        stddev: float > 0, the standard deviation of the normal draws.

    Returns:
        the model (for chaining).

    Example:
        >>> layer = keras.layers.Dense(2)
        >>> layer.build((None, 3))
        >>> float(np.round(set_numpy_weights(layer).get_weights()[0][0, 0], 3))
        0.063
    """
    seed = non_negative_int(seed, "seed", "set_numpy_weights")
    if isinstance(stddev, bool) or not isinstance(stddev, (int, float)) or not stddev > 0:
        raise ValueError(f"set_numpy_weights: `stddev` must be a positive number. {received('stddev', stddev)}")
    if not getattr(model, "built", False):
        raise ValueError(f"set_numpy_weights: build the model first (call it once). {received('model', model)}")
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0.0, stddev, w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


class _PrintHandler(logging.Handler):
    def emit(self, record):
        print(f"KerasHub logs ({record.levelname}): {record.getMessage()}")


@contextlib.contextmanager
def kerashub_warnings():
    """Print what KerasHub logs at WARNING level in the block, to stdout.

    KerasHub warns through ``absl.logging``, which writes to stderr (kept out of the
    book's outputs; the first cell sets absl to ERROR). Inside the block absl's
    level is WARNING and its messages are printed as ``KerasHub logs (WARNING): ...``.

    Example:
        >>> import absl.logging
        >>> with kerashub_warnings():
        ...     absl.logging.warning("the built-in mask is ignored")
        KerasHub logs (WARNING): the built-in mask is ignored
    """
    import absl.logging

    logger, handler = absl.logging.get_absl_logger(), _PrintHandler(level=logging.WARNING)
    saved = absl.logging.get_verbosity(), logger.propagate, list(logger.handlers)
    absl.logging.set_verbosity(absl.logging.WARNING)
    logger.handlers, logger.propagate = [handler], False
    try:
        yield
    finally:
        absl.logging.set_verbosity(saved[0])
        logger.propagate, logger.handlers = saved[1], saved[2]


def merge_padding_and_attention_mask():
    """KerasHub's ``merge_padding_and_attention_mask`` (private: ``keras_hub.src``), read in one place.

    Every KerasHub Transformer layer builds its attention mask with it; chapter 16
    shows its source. Raises ImportError naming the installed KerasHub if it moved.
    """
    import importlib

    import keras_hub

    try:
        module = importlib.import_module("keras_hub.src.layers.modeling.transformer_layer_utils")
        return module.merge_padding_and_attention_mask
    except (ImportError, AttributeError) as exc:
        raise ImportError(f"KerasHub {keras_hub.__version__} has no merge_padding_and_attention_mask where "
                          "KerasHub 0.32.0 had it; adapt helpers/kerashub.py") from exc


def quote_source(obj, *needles):
    """The lines of ``obj``'s source that contain any of ``needles``, numbered, as one string.

    A chapter quotes a library's code this way, so that the quotation is read from
    the installed version and the cell fails when a quoted line disappears.

    Args:
        obj: a function, method or class.
        *needles: str, each must occur in the source.

    Returns:
        str, ``"<line number>: <line>"`` per matching line (numbers within ``obj``).

    Raises:
        ValueError: no needle given, or one of them is not in the source.

    Example:
        >>> quote_source(left_pad, "token_ids[i").split(":", 1)[1].strip()
        'token_ids[i, length - len(row):] = row'
    """
    import inspect

    if not needles:
        raise ValueError("quote_source: give at least one string to look for. Received: needles=()")
    lines = inspect.getsource(obj).splitlines()
    for needle in needles:
        if not isinstance(needle, str) or not any(needle in line for line in lines):
            raise ValueError(f"quote_source: {needle!r} is not in the source of {getattr(obj, '__qualname__', obj)}. "
                             f"{received('needle', needle)}")
    return "\n".join(f"{number}: {line}" for number, line in enumerate(lines, 1) if any(n in line for n in needles))
