"""Self-checks for the exercises: run a student's code on test cases, say what is wrong.

Each chapter's checks live in a module of this package (``helpers.exercises.padding``,
...). They all return a :class:`CheckResult`, which a notebook cell displays as a
short report, and which tests read through ``result.passed``.

Used by the exercises of every chapter, and by the grader.

Positions in feedback are 0-based, as in NumPy: "row 1, step 3" is ``x[1, 3]``.

The grader (``python -m helpers.grade``) runs the same checks across a data boundary:
a check gets everything from the student's code through calls and what they return,
with the same arguments every time, and the chapter's solution runs on its own (see
:mod:`helpers.grading.boundary`; ``tests/test_grade_boundary.py`` tries every exercise).
"""

from dataclasses import dataclass, field

import numpy as np


@dataclass
class CheckResult:
    """The outcome of one self-check.

    Attributes:
        exercise: str, the exercise's name as the book shows it.
        problems: list of str, one specific message per problem found; empty when correct.
    """

    exercise: str
    problems: list = field(default_factory=list)

    @property
    def passed(self):
        return not self.problems

    def __repr__(self):
        if self.passed:
            return f"✅ {self.exercise}: correct, every test case passes."
        lines = [f"❌ {self.exercise}: not yet."]
        lines += [f"  - {p}" for p in self.problems[:6]]
        if len(self.problems) > 6:
            lines.append(f"  - ... and {len(self.problems) - 6} more problems")
        return "\n".join(lines)


def call_student(fn, *args, **kwargs):
    """Call the student's ``fn``; return ``(value, None)`` or ``(None, problem message)``.

    A student's exception becomes feedback, never a traceback in the notebook.
    """
    if not callable(fn):
        return None, f"expected a function, got {type(fn).__name__}"
    try:
        return fn(*args, **kwargs), None
    except NotImplementedError:
        return None, "the function is not written yet (it raises NotImplementedError)"
    except Exception as exc:  # noqa: BLE001 - any error of the student's code is feedback
        return None, f"calling it raised {type(exc).__name__}: {exc}"


def call_quietly(fn, *args, **kwargs):
    """:func:`call_student` with Keras's warnings and NumPy's floating-point notices kept
    quiet (they would reach the notebook's stderr)."""
    import warnings

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return call_student(fn, *args, **kwargs)


def build_student_model(make_model, result, vocab_size=20):
    """``make_model(vocab_size)``, seeded and quiet; the ``keras.Model`` it returns, or None
    with the problem added to ``result.problems`` (it raised, or returned something else)."""
    import keras

    keras.utils.set_random_seed(0)
    model, problem = call_quietly(make_model, vocab_size)
    call = f"{result.exercise}({vocab_size})"
    if problem:
        result.problems.append(f"{call}: {problem}")
        return None
    if not isinstance(model, keras.Model):
        result.problems.append(f"{call} returned a {type(model).__name__}; expected a keras.Model")
        return None
    return model


def to_numpy(value):
    """Convert a tensor, list or array to NumPy, or return None if it cannot be."""
    if value is None:
        return None
    if not isinstance(value, (list, tuple, np.ndarray, np.generic, int, float, bool, str)):
        try:
            import keras

            # A backend tensor: convert_to_numpy also handles torch tensors that require
            # grad, which np.asarray refuses.
            return np.asarray(keras.ops.convert_to_numpy(value))
        except Exception:  # noqa: BLE001 - not a tensor after all: try NumPy's own conversion
            pass
    try:
        return np.asarray(value)
    except Exception:  # noqa: BLE001
        return None


def compare_masks(got, expected, case=""):
    """Messages describing how the boolean mask ``got`` differs from ``expected``.

    Args:
        got: the student's mask (tensor, array or nested list), or None.
        expected: the correct boolean mask, shape (batch, time).
        case: str, a label for the test case, used as a prefix.

    Returns:
        list of str, empty when the masks are equal.
    """
    prefix = f"{case}: " if case else ""
    got_np = to_numpy(got)
    expected = np.asarray(expected, dtype=bool)
    if got_np is None:
        return [f"{prefix}no mask was returned (got None); expected a boolean array of shape {expected.shape}"]
    if got_np.shape != expected.shape:
        return [f"{prefix}the mask has shape {got_np.shape}, expected {expected.shape} (batch, time)"]
    if got_np.dtype != bool:
        return [f"{prefix}the mask has dtype {got_np.dtype}; a Keras mask is boolean (True = keep the step)"]
    problems = []
    for row, step in zip(*np.nonzero(got_np != expected)):
        should = "kept (True)" if expected[row, step] else "masked (False)"
        problems.append(f"{prefix}row {row}, step {step} should be {should}")
    return problems


def compare_arrays(got, expected, what="the result", case="", atol=1e-5):
    """Messages describing how array ``got`` differs from ``expected`` (shape, then values)."""
    prefix = f"{case}: " if case else ""
    got_np = to_numpy(got)
    expected = np.asarray(expected)
    if got_np is None:
        return [f"{prefix}{what} is missing (got None); expected an array of shape {expected.shape}"]
    if got_np.shape != expected.shape:
        return [f"{prefix}{what} has shape {got_np.shape}, expected {expected.shape}"]
    if expected.dtype.kind in "fc":
        if np.isnan(got_np.astype(float)).any():
            return [f"{prefix}{what} contains NaN"]
        wrong = ~np.isclose(got_np.astype(float), expected, atol=atol)
    else:
        wrong = got_np != expected
    problems = []
    for index in zip(*np.nonzero(wrong)):
        index = tuple(int(i) for i in index)
        got_value, expected_value = got_np[index].item(), expected[index].item()
        problems.append(f"{prefix}{what} at {list(index)} is {got_value!r}, expected {expected_value!r}")
    return problems
