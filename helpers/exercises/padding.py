"""Self-checks for the exercises of chapters 01 (why padding) and 02 (padding).

Chapter 01:
    check_encode(encode)                        ex-01-encode
    check_padding_fraction(padding_fraction)    ex-01-padding-fraction
Chapter 02:
    check_pad_right(pad_right)                  ex-02-pad-right
    check_truncate_and_pad(truncate_and_pad)    ex-02-truncate-and-pad
    check_unpad(unpad)                          ex-02-unpad

Each check runs the student's function on several cases, compares with the
expected answer and says precisely what differs. Positions are 0-based.
"""

import numpy as np

from helpers.exercises import CheckResult, call_student, to_numpy

#: The vocabulary the chapter 01 exercise uses: 0 pads, 1 stands for unknown words.
VOCABULARY = {"[PAD]": 0, "[UNK]": 1, "the": 2, "cat": 3, "sat": 4, "on": 5, "mat": 6, "a": 7, "dog": 8}

#: The tutorials' three sentences as ids (lengths 3, 5 and 6).
RAW = [[711, 632, 71], [73, 8, 3215, 55, 927], [83, 91, 1, 645, 1253, 927]]


def _encode(sentence, vocabulary):
    return [vocabulary.get(word.lower(), vocabulary["[UNK]"]) for word in sentence.split()]


def check_encode(encode):
    """Check ``encode(sentence, vocabulary) -> list of int`` (ex-01-encode).

    Words are separated by whitespace and compared in lower case; a word that is
    not in the vocabulary becomes the id of ``"[UNK]"``.
    """
    result = CheckResult("encode")
    cases = ["the cat sat on the mat", "A dog sat", "the cat  sat\ton a hat", "The zebra", ""]
    for sentence in cases:
        expected = _encode(sentence, VOCABULARY)
        got, problem = call_student(encode, sentence, dict(VOCABULARY))
        if problem:
            result.problems.append(f"encode({sentence!r}, vocabulary): {problem}")
            break
        if not isinstance(got, (list, tuple)) and to_numpy(got) is not None and to_numpy(got).ndim == 1:
            got = to_numpy(got).tolist()
        if not isinstance(got, (list, tuple)):
            result.problems.append(
                f"encode({sentence!r}, ...) returned a {type(got).__name__}; expected a list of ints"
            )
            continue
        got = list(got)
        if len(got) != len(expected):
            result.problems.append(
                f"encode({sentence!r}, ...) returned {len(got)} ids, expected {len(expected)} "
                f"(one per word: {sentence.split()})"
            )
            continue
        words = sentence.split()
        for i, (g, e) in enumerate(zip(got, expected)):
            if g != e:
                hint = " (an unknown word becomes the id of '[UNK]')" if words[i].lower() not in VOCABULARY else ""
                if words[i] != words[i].lower() and words[i].lower() in VOCABULARY and g == VOCABULARY["[UNK]"]:
                    hint = " (compare words in lower case)"
                result.problems.append(
                    f"encode({sentence!r}, ...): word {i} ({words[i]!r}) should be {e}, got {g!r}{hint}"
                )
    return result


def _padding_fraction(sequences):
    lengths = [len(s) for s in sequences]
    cells = len(lengths) * max(lengths)
    return (cells - sum(lengths)) / cells if cells else 0.0


def check_padding_fraction(padding_fraction):
    """Check ``padding_fraction(sequences) -> float`` (ex-01-padding-fraction).

    The fraction of the cells of the batch padded to its longest sequence that
    are padding.
    """
    result = CheckResult("padding_fraction")
    cases = [RAW, [[1, 2], [3, 4]], [[5], [6, 7, 8, 9]], [[1, 2], []], [[4, 4, 4]]]
    for sequences in cases:
        expected = _padding_fraction(sequences)
        got, problem = call_student(padding_fraction, [list(s) for s in sequences])
        lengths = [len(s) for s in sequences]
        if problem:
            result.problems.append(f"for lengths {lengths}: {problem}")
            break
        try:
            value = float(got)
        except (TypeError, ValueError):
            result.problems.append(f"for lengths {lengths}: returned {got!r}; expected a number between 0 and 1")
            continue
        if not np.isclose(value, expected, atol=1e-6):
            cells = len(lengths) * max(lengths)
            hint = ""
            if np.isclose(value, 1 - expected, atol=1e-6) and expected != 0.5:
                hint = " (that is the fraction of real tokens)"
            elif cells and np.isclose(value, cells - sum(lengths)):
                hint = " (that is the number of padding cells; divide by the number of cells)"
            result.problems.append(
                f"for lengths {lengths}: got {value:.3f}, expected {expected:.3f} "
                f"({cells - sum(lengths)} of {cells} cells are padding){hint}"
            )
    return result


def _pad(sequences, maxlen=None, padding="post", truncating="post", value=0, dtype="int32"):
    maxlen = max((len(s) for s in sequences), default=0) if maxlen is None else maxlen
    out = np.full((len(sequences), maxlen), value, dtype=dtype)
    for i, seq in enumerate(sequences):
        seq = list(seq)
        if len(seq) > maxlen:
            seq = seq[-maxlen:] if truncating == "pre" else seq[:maxlen]
        if not seq:
            continue
        if padding == "post":
            out[i, : len(seq)] = seq
        else:
            out[i, maxlen - len(seq) :] = seq
    return out


def _check_padded(result, got, expected, case, diagnoses=()):
    """Append problems about a padded array: type, shape, dtype, then the wrong cells.

    ``diagnoses`` are ``(wrong array, message)`` pairs: when the answer equals a known
    wrong array, its message replaces the list of wrong cells.
    """
    array = to_numpy(got)
    if array is None or array.dtype == object or array.ndim != 2:
        result.problems.append(f"{case}: returned {type(got).__name__}; expected a 2-D NumPy array")
        return
    if array.shape != expected.shape:
        result.problems.append(
            f"{case}: the array has shape {array.shape}, expected {expected.shape} "
            f"({expected.shape[0]} rows, {expected.shape[1]} steps)"
        )
        return
    if array.dtype != expected.dtype:
        result.problems.append(f"{case}: the array has dtype {array.dtype}, expected {expected.dtype}")
    if np.array_equal(array, expected):
        return
    for wrong, message in diagnoses:
        if np.array_equal(array, wrong):
            result.problems.append(f"{case}: {message}")
            return
    cells = list(zip(*np.nonzero(array != expected)))
    for row, step in cells[:3]:
        result.problems.append(
            f"{case}: row {row}, step {step} is {array[row, step].item()!r}, expected {expected[row, step].item()!r}"
        )
    if len(cells) > 3:
        result.problems.append(f"{case}: ... and {len(cells) - 3} more cells differ")


def check_pad_right(pad_right):
    """Check ``pad_right(sequences, value=0) -> int32 array`` (ex-02-pad-right).

    Post-padding to the longest sequence: each row starts with its sequence and
    is filled up with ``value``.
    """
    result = CheckResult("pad_right")
    cases = [
        ("the tutorial's three sentences", RAW, {}),
        ("padding with value=-1", RAW, {"value": -1}),
        ("a batch with an empty sequence", [[5, 6], [], [7]], {}),
        ("rows of equal length", [[1, 2], [3, 4]], {}),
    ]
    for case, sequences, kwargs in cases:
        expected = _pad(sequences, value=kwargs.get("value", 0))
        got, problem = call_student(pad_right, [list(s) for s in sequences], **kwargs)
        if problem:
            result.problems.append(f"{case}: {problem}")
            break
        value = kwargs.get("value", 0)
        _check_padded(result, got, expected, case, diagnoses=[
            (_pad(sequences, padding="pre", value=value),
             "the padding is at the start of the rows; pad_right pads at the end"),
            (_pad(sequences), f"the padding should be value={value}, not 0"),
        ])
    return result


def check_truncate_and_pad(truncate_and_pad):
    """Check ``truncate_and_pad(sequences, maxlen, truncating="pre") -> int32 array`` (ex-02-truncate-and-pad).

    Every row gets exactly ``maxlen`` steps: longer sequences lose steps at the
    start (``truncating="pre"``) or at the end (``"post"``); shorter ones are
    padded with 0 at the end.
    """
    result = CheckResult("truncate_and_pad")
    cases = [
        ("maxlen=4, truncating='pre'", RAW, 4, "pre"),
        ("maxlen=4, truncating='post'", RAW, 4, "post"),
        ("maxlen=8 (longer than every sequence)", RAW, 8, "pre"),
        ("maxlen=2 with an empty sequence", [[1, 2, 3], []], 2, "post"),
    ]
    for case, sequences, maxlen, truncating in cases:
        expected = _pad(sequences, maxlen=maxlen, truncating=truncating)
        got, problem = call_student(truncate_and_pad, [list(s) for s in sequences], maxlen, truncating=truncating)
        if problem:
            result.problems.append(f"{case}: {problem}")
            break
        other = "post" if truncating == "pre" else "pre"
        kept = "last" if truncating == "pre" else "first"
        _check_padded(result, got, expected, case, diagnoses=[
            (_pad(sequences, maxlen=maxlen, truncating=other),
             f"the long rows were cut at the wrong end: truncating={truncating!r} keeps the {kept} {maxlen} ids"),
            (_pad(sequences, maxlen=maxlen, truncating=truncating, padding="pre"),
             "the short rows are padded at the start; pad them at the end (post-padding)"),
        ])
    return result


def check_unpad(unpad):
    """Check ``unpad(padded, lengths, padding="post") -> list of lists`` (ex-02-unpad).

    The inverse of padding: row ``i`` gives back its first ``lengths[i]`` ids
    (``padding="post"``) or its last ``lengths[i]`` ids (``"pre"``), as Python ints.
    """
    result = CheckResult("unpad")
    cases = [
        ("post-padded", RAW, "post"),
        ("pre-padded", RAW, "pre"),
        ("with an empty row", [[4, 7, 9], [], [3]], "post"),
        ("pre-padded with an empty row", [[4, 7, 9], []], "pre"),
    ]
    for case, sequences, padding in cases:
        padded = _pad(sequences, padding=padding)
        lengths = [len(s) for s in sequences]
        got, problem = call_student(unpad, padded.copy(), list(lengths), padding=padding)
        if problem:
            result.problems.append(f"{case}: {problem}")
            break
        if not isinstance(got, (list, tuple)):
            result.problems.append(f"{case}: returned {type(got).__name__}; expected a list of lists")
            continue
        if len(got) != len(sequences):
            result.problems.append(f"{case}: returned {len(got)} sequences, expected {len(sequences)}")
            continue
        for i, (g, e) in enumerate(zip(got, sequences)):
            g_np = to_numpy(g)
            if g_np is None or g_np.ndim != 1 or g_np.dtype == object:
                result.problems.append(f"{case}: row {i} is {g!r}; expected a list of ids")
                continue
            g_list = g_np.tolist()
            if list(g_list) != list(e):
                hint = ""
                if len(g_list) == padded.shape[1] and len(e) < padded.shape[1]:
                    hint = " (the padding is still there)"
                elif list(g_list) == list(padded[i, : len(e)]) and padding == "pre":
                    hint = " (pre-padding puts the ids at the end of the row)"
                result.problems.append(f"{case}: row {i} should be {list(e)}, got {list(g_list)}{hint}")
    return result
