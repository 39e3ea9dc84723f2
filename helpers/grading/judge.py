"""The judge: decide each exercise of a submission from its student process's record.

The grader starts the judge as ``python -I -B`` (isolated: no ``PYTHONPATH``, no
user site, no script folder on ``sys.path``) with ``sys.path`` starting at a private
copy of ``helpers/`` the grader took, and hashed, before any student code ran. It reads
one JSON job from standard input: for each exercise the chapter's imports, the check
cell, the book's solution, the names, the hidden cases, and the student's record
(:mod:`helpers.grading.runner`) as text. No student code runs here: the record is
plain data.

For each exercise the judge

1. runs the check on the book's own solution (trusted), counting the check's calls
   into the answer: the exercise's test cases (one point each), and computes the
   solution's answers to the hidden cases;
2. replays the check on the student's record (:mod:`helpers.grading.boundary`): every
   problem the check reports is charged to the test case (call) it came after, a
   problem before the first call to all of them;
3. compares the student's answers to the hidden cases with the solution's.

It writes one JSON object to standard output: a result per exercise (``status``,
``feedback``, ``points``, ``max_points``) and ``loaded``, the files of every module it
imported (the grader hashes them in ``--unsafe`` mode). Used by the grader (:mod:`helpers.grade`).
"""

import json
import sys
import warnings

import numpy as np

from helpers.grading.boundary import ReplayMismatch, Session
from helpers.grading.exercises import check_calls
from helpers.grading.plain import from_plain

FEEDBACK = 6


class _Cases:
    """Which test case (call into the answer) the check is at; problems charged to it."""

    current = 0

    @classmethod
    def next(cls):
        cls.current += 1


class Tracked(list):
    """``CheckResult.problems`` in the judge: remembers the case each problem came after."""

    def __init__(self, items=()):
        super().__init__(items)
        self.cases = [_Cases.current] * len(self)

    def append(self, item):
        super().append(item)
        self.cases.append(_Cases.current)

    def extend(self, items):
        items = list(items)
        super().extend(items)
        self.cases += [_Cases.current] * len(items)

    def __iadd__(self, items):
        self.extend(items)
        return self

    def insert(self, index, item):
        super().insert(index, item)
        self.cases.insert(index, _Cases.current)


def _track_results():
    """Make every CheckResult's problems a :class:`Tracked` list (in this process only)."""
    from helpers.exercises import CheckResult

    original = CheckResult.__init__
    if getattr(original, "_tracked", False):
        return

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.problems = Tracked(self.problems)

    __init__._tracked = True
    CheckResult.__init__ = __init__


def _checks(exercise):
    namespace = {"__name__": "__judge__"}
    for source in exercise["judge_setup"]:
        exec(compile(source, "<setup>", "exec"), namespace)  # noqa: S102 - the book's own imports
    tree = compile(exercise["check_imports"], "<check imports>", "exec")
    exec(tree, namespace)  # noqa: S102 - the book's own check cell's imports
    return [(namespace[name], arguments) for name, arguments in check_calls(exercise["checks"])], namespace


def _run_checks(checks, objects):
    """Run the checks on ``objects``; returns (all problems, their cases)."""
    problems, cases = [], []
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for check, arguments in checks:
            result = check(*[objects[a] for a in arguments])
            found = list(result.problems)
            problems += [str(p) for p in found]
            cases += list(getattr(result.problems, "cases", [0] * len(found)))
    return problems, cases


def _solution(exercise, namespace):
    """The book's solution's objects, and the number of its calls (test cases) in the check."""
    space = dict(namespace)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(exercise["solution"], "<the book's solution>", "exec"), space)  # noqa: S102 - the book's code
    return {name: space[name] for name in exercise["names"] if name in space}


def _calibrate(checks, solution):
    _Cases.current = 0
    session = Session(record=True, on_root_call=_Cases.next)
    objects = {name: session.root(name, value) for name, value in solution.items()}
    problems, _ = _run_checks(checks, objects)
    return max(_Cases.current, 1), problems


def _replay(checks, record):
    _Cases.current = 0
    session = Session(record=False, log=record["log"], on_root_call=_Cases.next)
    objects = {name: session.root(name) for name in record["log"]["roots"]}
    problems, cases = _run_checks(checks, objects)
    return problems, cases, _Cases.current


def same(got, expected, what="the answer"):
    """A message saying how ``got`` differs from ``expected`` (plain data), or ''."""
    if isinstance(expected, (np.ndarray, np.generic)) or isinstance(got, (np.ndarray, np.generic)):
        try:
            a, b = np.asarray(got), np.asarray(expected)
        except Exception:  # noqa: BLE001
            return f"{what} is not an array"
        if a.shape != b.shape:
            return f"{what} has shape {a.shape}, expected {b.shape}"
        if b.dtype.kind in "fc" and a.dtype.kind in "biufc":
            return "" if np.allclose(a.astype(float), b.astype(float), atol=1e-5, equal_nan=False) else \
                f"{what} differs from the expected values"
        return "" if a.dtype.kind in "biufcU" and np.array_equal(a, b) else f"{what} differs from the expected values"
    if isinstance(expected, (list, tuple)):
        if not isinstance(got, (list, tuple)) or len(got) != len(expected):
            return f"{what} should be a sequence of {len(expected)} items"
        for i, (g, e) in enumerate(zip(got, expected)):
            message = same(g, e, f"{what}[{i}]")
            if message:
                return message
        return ""
    if isinstance(expected, dict):
        if not isinstance(got, dict) or set(got) != set(expected):
            return f"{what} should be a dict with keys {sorted(map(str, expected))}"
        return next((m for k in expected if (m := same(got[k], expected[k], f"{what}[{k!r}]"))), "")
    if isinstance(expected, float) and not isinstance(expected, bool):
        ok = isinstance(got, (int, float)) and not isinstance(got, bool) and np.isclose(got, expected, atol=1e-6)
        return "" if ok else f"{what} is {got!r:.40}, expected a number close to the right one"
    return "" if type(got) is type(expected) and got == expected else f"{what} differs from the expected one"


def _hidden(exercise, solution, record):
    """(points, messages) of the hidden cases."""
    cases = exercise.get("hidden") or []
    answers = record.get("hidden") or []
    function = solution.get(exercise["names"][0]) if exercise["names"] else None
    points, messages = 0, []
    for index, case in enumerate(cases, 1):
        args, kwargs = from_plain(case["args"]), from_plain(case["kwargs"])
        expected = function(*args, **kwargs)
        answer = answers[index - 1] if index <= len(answers) and isinstance(answers[index - 1], dict) else {}
        if "raised" in answer:
            messages.append(f"hidden case {index}: your function raised {str(answer['raised'][0])[:80]}")
            continue
        try:
            got = from_plain(answer.get("value"))
        except Exception as exc:  # noqa: BLE001 - a malformed record is a wrong answer
            messages.append(f"hidden case {index}: the answer could not be read ({exc})")
            continue
        message = same(got, from_plain(_plainly(expected)))
        if message:
            messages.append(f"hidden case {index}: {message}")
        else:
            points += 1
    return points, messages


def _plainly(value):
    from helpers.grading.plain import to_plain

    return to_plain(value)


def judge_exercise(exercise):
    """The result of one exercise (see the module docstring)."""
    record = exercise.get("record")
    if record is None:
        try:
            record = json.loads(exercise["record_text"])
        except (ValueError, TypeError, RecursionError):
            record = {"status": "error", "feedback": "your process's record is not JSON"}
    if not isinstance(record, dict) or (record.get("status") == "ran" and not isinstance(record.get("log"), dict)):
        record = {"status": "error", "feedback": "your process's record is malformed"}
    hidden_max = len(exercise.get("hidden") or [])
    checks, namespace = _checks(exercise)
    solution = _solution(exercise, namespace)
    total, book_problems = _calibrate(checks, solution)
    result = {"label": exercise["label"], "points": 0, "max_points": total + hidden_max, "cases": total}
    if book_problems:
        return {**result, "status": "error", "feedback": "the book's own solution fails this check here "
                f"(a problem of the book, not yours): {book_problems[0]}"}
    if record.get("status") != "ran":  # what the student process says counts only against it
        status = record.get("status") if record.get("status") in ("not attempted", "timeout", "memory") else "error"
        return {**result, "status": status, "feedback": str(record.get("feedback", ""))[:4000]}
    try:
        problems, cases, calls = _replay(checks, record)
    except ReplayMismatch as exc:
        return {**result, "status": "error", "feedback": "your answer did not answer the grader's second run as "
                f"it answered the first: {exc}"}
    except Exception as exc:  # noqa: BLE001 - a malformed record, or a check that cannot run on it
        return {**result, "status": "error", "feedback": f"the record of your run could not be judged: "
                f"{type(exc).__name__}: {str(exc)[:300]}"}
    if not problems:
        public = total
    elif 0 in cases:
        public = 0
    else:
        failed = (set(cases) | set(range(calls + 1, total + 1))) & set(range(1, total + 1))
        public = total - len(failed)
    hidden_points, hidden_messages = _hidden(exercise, solution, record)
    problems += hidden_messages
    points = public + hidden_points
    feedback = "; ".join(problems[:FEEDBACK]) + (f"; ... and {len(problems) - FEEDBACK} more"
                                                 if len(problems) > FEEDBACK else "")
    if not problems:
        return {**result, "status": "passed", "points": points, "feedback": ""}
    if all("(it raises NotImplementedError)" in p for p in problems):
        return {**result, "status": "not attempted", "points": 0, "feedback": feedback[:4000]}
    return {**result, "status": "failed", "points": points, "feedback": feedback[:4000]}


def loaded_files():
    return sorted({getattr(m, "__file__", None) for m in list(sys.modules.values())} - {None})


def main():
    job = json.loads(sys.stdin.read())
    _track_results()
    results = []
    for exercise in job["exercises"]:
        try:
            results.append(judge_exercise(exercise))
        except Exception as exc:  # noqa: BLE001 - the judge reports, never crashes
            results.append({"label": exercise.get("label"), "status": "error", "points": 0, "max_points": 0,
                            "feedback": f"the grader could not judge this exercise: {type(exc).__name__}: {exc}"})
    sys.stdout.write(json.dumps({"results": results, "loaded": loaded_files()}) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
