"""The toy arithmetic data set of the self-attention chapters, and its vocabulary.

Taught in chapter 10 (Masked self-attention).

Each example is a short text that defines two variables and then asks for an
operation on them::

    x=37,y=5:x*y        ->  result 185, target "1" (the first token of "185")
    y=8,x=120:|x-y|     ->  result 112, target "1"
    x=4,y=61:x-y        ->  result -57, target "-"

Format: two definitions ``x=<int>`` and ``y=<int>`` in random order, joined by
``,``; then the separator ``:``; then one operation from :data:`OPERATIONS`
(``x+y``, ``x-y``, ``y-x``, ``x*y``, ``|x-y|``, where ``|...|`` is the absolute
value). Each number has 1, 2 or 3 digits (chosen uniformly, then a value
uniformly among the numbers with that many digits, so 0-9, 10-99 or 100-999).
The target is the first token of the result written in decimal: a digit, or
``-`` for a negative result. Texts are 11 to 17 tokens long and are padded with
id 0 (the space) to ``LEN_MAX_INPUT = 20``.

The three parts of each text (first definition, second definition, operation)
are encoded separately, as ragged ``tf.RaggedTensor`` rows, joined with the
``,`` and ``:`` tokens, and only then padded to a dense ``(batch, 20)`` array.
:func:`write_tfrecords` stores the unpadded rows in sharded TFRecord files;
:func:`read_tfrecords` reads them back with ``tf.data``, padded (``(batch, 20)``
ids and ``(batch, 1)`` targets) or ragged.

Everything is generated locally from a seed: no download.
"""

import os

import numpy as np

from helpers.validation import non_negative_int, positive_int, received, to_array

#: The 20 tokens. The space is id 0 and doubles as padding.
VOCABULARY = (" ", ":", "|", "x", "y", "=", ",", "+", "-", "*") + tuple("0123456789")
#: token -> id.
TOKEN_TO_ID = {token: i for i, token in enumerate(VOCABULARY)}
#: id of the padding token (the space).
PAD_ID = 0
#: Length every input is padded to.
LEN_MAX_INPUT = 20
#: The operations a problem can ask for.
OPERATIONS = ("x+y", "x-y", "y-x", "x*y", "|x-y|")

_RESULTS = {
    "x+y": lambda x, y: x + y,
    "x-y": lambda x, y: x - y,
    "y-x": lambda x, y: y - x,
    "x*y": lambda x, y: x * y,
    "|x-y|": lambda x, y: abs(x - y),
}


def encode(text, len_max_input=None):
    """Turn a text into token ids, optionally padded with 0 to ``len_max_input``.

    Args:
        text: str made of tokens of :data:`VOCABULARY` other than the space
            (the space is id 0, reserved for padding).
        len_max_input: int or None. If given, the ids are padded at the end with
            0 to this length; a longer text raises ``ValueError``.

    Returns:
        1-D int32 NumPy array.

    Example:
        >>> encode("x=3,y=5:x*y", len_max_input=12)
        array([ 3,  5, 13,  6,  4,  5, 15,  1,  3,  9,  4,  0], dtype=int32)
    """
    if not isinstance(text, str):
        raise TypeError(f"encode: `text` must be a str. {received('text', text)}")
    ids = []
    for position, token in enumerate(text):
        if token == " ":
            raise ValueError(
                f"encode: `text` must not contain a space: the space at position {position} is the padding "
                f"token (id 0) and cannot appear inside a text. {received('text', text)}"
            )
        if token not in TOKEN_TO_ID:
            raise ValueError(
                f"encode: `text` must hold only tokens of the vocabulary {''.join(VOCABULARY[1:])!r} (and ' ' "
                f"for padding): unknown token {token!r} at position {position}. {received('text', text)}"
            )
        ids.append(TOKEN_TO_ID[token])
    if len_max_input is not None:
        len_max_input = positive_int(len_max_input, "len_max_input")
        if len(ids) > len_max_input:
            raise ValueError(
                f"encode: `text` must have at most len_max_input={len_max_input} tokens; it has {len(ids)}. "
                f"{received('text', text)}"
            )
        ids += [PAD_ID] * (len_max_input - len(ids))
    return np.asarray(ids, dtype=np.int32)


def decode(ids):
    """Turn token ids back into text; padding (id 0) is dropped.

    Args:
        ids: 1-D or 2-D array-like of ints in ``[0, 20)``, or a ``tf.RaggedTensor``.

    Returns:
        str for a 1-D input, list of str for a 2-D input (one per row).

    Example:
        >>> decode([3, 5, 13, 0, 0])
        'x=3'
    """
    if hasattr(ids, "to_list"):  # tf.RaggedTensor
        return [decode(row) for row in ids.to_list()]
    array = to_array(ids, "ids", owner="decode")
    if array.dtype.kind not in "iu":
        raise TypeError(f"decode: `ids` must be integers. {received('ids', ids)} with dtype {array.dtype}")
    if array.ndim == 2:
        return [decode(row) for row in array]
    if array.ndim != 1:
        raise ValueError(f"decode: `ids` must have rank 1 or 2. {received('ids', ids)} with shape {array.shape}")
    bad = np.nonzero((array < 0) | (array >= len(VOCABULARY)))[0]
    if bad.size:
        raise ValueError(f"decode: `ids` must be in the vocabulary (ids go from 0 to {len(VOCABULARY) - 1}); id "
                         f"{int(array[bad[0]])} at position {int(bad[0])} is not. {received('ids', ids)}")
    return "".join(VOCABULARY[i] for i in array if i != PAD_ID)


def generate_problems(num_examples, seed=0):
    """Draw arithmetic problems, deterministically for a given seed.

    Args:
        num_examples: int, how many problems.
        seed: int, seed of the NumPy random generator.

    Returns:
        dict of lists, each of length ``num_examples``: ``"first"`` and
        ``"second"`` (the two definitions, e.g. ``"x=37"``, in the order they are
        written), ``"operation"`` (e.g. ``"x*y"``), ``"result"`` (int) and
        ``"target"`` (the first token of the result, e.g. ``"1"`` or ``"-"``).

    Example:
        >>> p = generate_problems(1, seed=0)
        >>> p["first"][0] + "," + p["second"][0] + ":" + p["operation"][0], p["target"][0]
        ('x=673,y=34:x+y', '7')
    """
    num_examples = positive_int(num_examples, "num_examples")
    seed = non_negative_int(seed, "seed", owner="generate_problems")
    rng = np.random.default_rng(seed)

    def numbers():
        digits = rng.integers(1, 4, size=num_examples)  # 1, 2 or 3 digits
        low = np.where(digits == 1, 0, 10 ** (digits - 1))
        return rng.integers(low, 10**digits)  # high is exclusive

    xs, ys = numbers(), numbers()
    x_first = rng.random(num_examples) < 0.5
    operations = rng.integers(0, len(OPERATIONS), size=num_examples)
    problems = {"first": [], "second": [], "operation": [], "result": [], "target": []}
    for x, y, xf, op in zip(xs.tolist(), ys.tolist(), x_first.tolist(), operations.tolist()):
        x_def, y_def = f"x={x}", f"y={y}"
        operation = OPERATIONS[op]
        result = _RESULTS[operation](x, y)
        problems["first"].append(x_def if xf else y_def)
        problems["second"].append(y_def if xf else x_def)
        problems["operation"].append(operation)
        problems["result"].append(result)
        problems["target"].append(str(result)[0])
    return problems


def _ragged_ids(texts):
    """Encode a list of texts as one ``tf.RaggedTensor`` of shape (n, None), int32."""
    import tensorflow as tf

    encoded = [encode(t) for t in texts]
    lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
    return tf.RaggedTensor.from_row_lengths(np.concatenate(encoded), lengths)


def join_parts(problems):
    """Join each problem's parts, as ragged token ids, with the ``,`` and ``:`` tokens.

    Args:
        problems: the dict returned by :func:`generate_problems`.

    Returns:
        ``tf.RaggedTensor`` of int32 ids, shape ``(num_examples, None)``: row i is
        ``first , second : operation`` of problem i, unpadded.
    """
    import tensorflow as tf

    for key in ("first", "second", "operation"):
        if key not in problems:
            raise ValueError(f"join_parts: `problems` must be the dict of generate_problems; key {key!r} is missing. "
                             f"{received('problems', problems)}")
    n = len(problems["operation"])
    comma = tf.fill([n, 1], np.int32(TOKEN_TO_ID[","]))
    colon = tf.fill([n, 1], np.int32(TOKEN_TO_ID[":"]))
    parts = [
        _ragged_ids(problems["first"]),
        comma,
        _ragged_ids(problems["second"]),
        colon,
        _ragged_ids(problems["operation"]),
    ]
    return tf.concat(parts, axis=1)  # ragged concatenation: each row keeps its own length


def pad_ragged(ragged_ids, len_max_input=LEN_MAX_INPUT):
    """Pad ragged ids with 0 at the end to a dense ``(batch, len_max_input)`` int32 array.

    Raises ``ValueError`` if a row is longer than ``len_max_input`` (it would be
    cut silently by ``RaggedTensor.to_tensor``).
    """
    len_max_input = positive_int(len_max_input, "len_max_input")
    lengths = np.asarray(ragged_ids.row_lengths())
    if lengths.size and lengths.max() > len_max_input:
        row = int(np.argmax(lengths))
        raise ValueError(
            f"pad_ragged: rows must have at most len_max_input={len_max_input} tokens; row {row} has "
            f"{int(lengths[row])}. {received('len_max_input', len_max_input)}"
        )
    return np.asarray(ragged_ids.to_tensor(default_value=PAD_ID, shape=[None, len_max_input]), dtype=np.int32)


def make_targets(problems):
    """The target ids ``(num_examples, 1)`` int32 of the problems of :func:`generate_problems`."""
    if "target" not in problems:
        raise ValueError(f"make_targets: `problems` must be the dict of generate_problems; key 'target' is missing. "
                         f"{received('problems', problems)}")
    return np.asarray([[TOKEN_TO_ID[t]] for t in problems["target"]], dtype=np.int32).reshape(-1, 1)


def make_ragged(num_examples, seed=0):
    """Generate the data set unpadded: ``(ragged_ids, targets)``.

    ``ragged_ids`` is a ``tf.RaggedTensor`` of int32 ids, shape ``(num_examples, None)``;
    ``targets`` an int32 array ``(num_examples, 1)``. Same seed, same examples as
    :func:`make_arrays` (which pads these rows).
    """
    problems = generate_problems(num_examples, seed)
    return join_parts(problems), make_targets(problems)


def make_arrays(num_examples, seed=0, len_max_input=LEN_MAX_INPUT):
    """Generate the data set as padded NumPy arrays.

    Args:
        num_examples: int, number of examples.
        seed: int, random seed (same seed, same data).
        len_max_input: int, length the inputs are padded to (20).

    Returns:
        ``(ids, targets)``: int32 arrays of shapes ``(num_examples, len_max_input)``
        and ``(num_examples, 1)``.

    Example:
        >>> ids, targets = make_arrays(4, seed=0)
        >>> ids.shape, targets.shape
        ((4, 20), (4, 1))
    """
    len_max_input = positive_int(len_max_input, "len_max_input")
    problems = generate_problems(num_examples, seed)
    # The rows of join_parts, made with NumPy so that no TensorFlow is needed.
    texts = [f"{first},{second}:{operation}"
             for first, second, operation in zip(problems["first"], problems["second"], problems["operation"])]
    ids = np.full((len(texts), len_max_input), PAD_ID, dtype=np.int32)
    for row, text in enumerate(texts):
        encoded = encode(text)
        if len(encoded) > len_max_input:
            raise ValueError(
                f"make_arrays: rows must have at most len_max_input={len_max_input} tokens; row {row} has "
                f"{len(encoded)}. {received('len_max_input', len_max_input)}"
            )
        ids[row, :len(encoded)] = encoded
    return ids, make_targets(problems)


def shard_names(num_shards, prefix="arithmetic"):
    """File names of the shards: ``<prefix>-00000-of-00004.tfrecord``, ..."""
    num_shards = positive_int(num_shards, "num_shards")
    return [f"{prefix}-{i:05d}-of-{num_shards:05d}.tfrecord" for i in range(num_shards)]


def write_tfrecords(directory, ids, targets, num_shards=4, prefix="arithmetic"):
    """Write examples to sharded TFRecord files, one ``tf.train.Example`` each.

    Each record holds the example's token ids *without* padding (feature
    ``"ids"``, a variable-length int64 list) and its target (feature ``"target"``).
    Shard i holds a contiguous slice of the examples, so reading the shards in
    order gives the examples back in order.

    Args:
        directory: existing directory to write to.
        ids: padded int ids ``(n, time)`` (trailing zeros are dropped) or a
            ``tf.RaggedTensor`` ``(n, None)``.
        targets: int ids of shape ``(n, 1)``.
        num_shards: int, number of files, at most ``n``.
        prefix: str, start of the file names.

    Returns:
        list of the file names written (names only, relative to ``directory``).
    """
    import tensorflow as tf

    if not os.path.isdir(directory):
        raise ValueError(f"write_tfrecords: `directory` must exist. {received('directory', directory)}")
    if hasattr(ids, "to_list"):
        rows = [np.asarray(r, dtype=np.int64) for r in ids.to_list()]
    else:
        array = to_array(ids, "ids", owner="write_tfrecords")
        if array.ndim != 2 or array.dtype.kind not in "iu":
            raise ValueError(
                f"write_tfrecords: `ids` must be integer ids of shape (n, time). {received('ids', ids)} "
                f"with dtype {array.dtype} and shape {array.shape}"
            )
        rows = []
        for r in array.astype(np.int64):
            nonpad = np.nonzero(r != PAD_ID)[0]
            rows.append(r[: nonpad[-1] + 1] if nonpad.size else r[:0])
    targets = np.asarray(targets)
    if targets.shape != (len(rows), 1) or targets.dtype.kind not in "iu":
        raise ValueError(
            f"write_tfrecords: `targets` must be integer ids of shape ({len(rows)}, 1). "
            f"{received('targets', targets)} with dtype {targets.dtype} and shape {targets.shape}"
        )
    num_shards = positive_int(num_shards, "num_shards")
    if num_shards > len(rows):
        raise ValueError(f"write_tfrecords: `num_shards` must be at most the {len(rows)} examples. "
                         f"{received('num_shards', num_shards)}")
    names = shard_names(num_shards, prefix)
    bounds = np.linspace(0, len(rows), num_shards + 1).astype(int)
    for name, start, stop in zip(names, bounds[:-1], bounds[1:]):
        with tf.io.TFRecordWriter(os.path.join(directory, name)) as writer:
            for row, target in zip(rows[start:stop], targets[start:stop, 0]):
                example = tf.train.Example(
                    features=tf.train.Features(
                        feature={
                            "ids": tf.train.Feature(int64_list=tf.train.Int64List(value=row.tolist())),
                            "target": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(target)])),
                        }
                    )
                )
                writer.write(example.SerializeToString())
    return names


def read_tfrecords(directory, batch_size=64, ragged=False, len_max_input=LEN_MAX_INPUT,
                   prefix="arithmetic", shuffle_seed=None):
    """Read the shards written by :func:`write_tfrecords` as a batched ``tf.data.Dataset``.

    Args:
        directory: the directory holding the shards.
        batch_size: int, examples per batch.
        ragged: bool. False (default): ids are padded with 0 to
            ``(batch, len_max_input)`` by ``padded_batch``. True: ids stay a
            ``tf.RaggedTensor`` of shape ``(batch, None)`` (``ragged_batch``).
        len_max_input: int, padded length (ignored when ``ragged=True``).
        prefix: str, start of the shard file names.
        shuffle_seed: int or None. If an int, the examples are shuffled (a
            buffer of 10,000) with this seed, reshuffled each epoch.

    Returns:
        ``tf.data.Dataset`` of ``(ids, targets)``; ids int32, targets int32 of
        shape ``(batch, 1)``. Its cardinality (number of batches) is known.
    """
    import tensorflow as tf

    if not os.path.isdir(directory):
        raise ValueError(f"read_tfrecords: `directory` must exist. {received('directory', directory)}")
    batch_size = positive_int(batch_size, "batch_size")
    len_max_input = positive_int(len_max_input, "len_max_input")
    files = sorted(f for f in os.listdir(directory) if f.startswith(prefix + "-") and f.endswith(".tfrecord"))
    if not files:
        raise ValueError(f"read_tfrecords: `directory` must hold {prefix}-*.tfrecord shards; it holds none. "
                         f"{received('directory', directory)}")
    features = {
        "ids": tf.io.RaggedFeature(tf.int64),
        "target": tf.io.FixedLenFeature([1], tf.int64),
    }

    def parse(record):
        example = tf.io.parse_single_example(record, features)
        return tf.cast(example["ids"], tf.int32), tf.cast(example["target"], tf.int32)

    dataset = tf.data.TFRecordDataset([os.path.join(directory, f) for f in files])
    # A TFRecord file does not say how many records it holds; count them once, so that
    # Keras knows how many batches an epoch has (and does not warn that the data ran out).
    num_records = int(dataset.reduce(np.int64(0), lambda count, _: count + 1))
    dataset = dataset.map(parse).apply(tf.data.experimental.assert_cardinality(num_records))
    if shuffle_seed is not None:
        dataset = dataset.shuffle(10_000, seed=int(shuffle_seed), reshuffle_each_iteration=True)
    if ragged:
        dataset = dataset.ragged_batch(batch_size)
    else:
        dataset = dataset.padded_batch(
            batch_size, padded_shapes=([len_max_input], [1]), padding_values=(PAD_ID, 0)
        )
    return dataset.prefetch(tf.data.AUTOTUNE)
