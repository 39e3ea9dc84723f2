"""The student process: run one exercise's answer and record what it answers.

``python -I -B -m helpers.grading.runner FD`` is started by the grader for each exercise
of each submission, inside the sandbox (:mod:`helpers.grading.sandbox`). It reads a job
(JSON) from its standard input:

- ``setup``: the chapter's own import statements the answer and the check use;
- ``checks``: the book's check cell (``check_encode(encode)``);
- ``answer``: the student's code of the exercise;
- ``names``: the names the answer must define;
- ``hidden``: inputs of hidden test cases (plain data), or an empty list.

Its standard output and error go nowhere. It writes two lines to the file
descriptor FD: ``ready`` once the imports are done (the grader then starts the
exercise's clock), then one JSON object: ``status`` (``ran``, ``not attempted`` or
``error``), ``feedback``, the recorded ``log`` (:mod:`helpers.grading.boundary`) and
the answers to the hidden cases. Nothing in it is a verdict: the judge
(:mod:`helpers.grading.judge`) replays the check on it. A student's code may write
anything to FD, or nothing: that only changes its own record, which the judge reads
as data. Used by the grader (:mod:`helpers.grade`).
"""

import ast
import json
import os
import sys

from helpers.grading.boundary import Session
from helpers.grading.exercises import check_calls
from helpers.grading.plain import NotPlain, from_plain, to_plain


def _imports_only(source):
    tree = ast.parse(source)
    tree.body = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    return compile(tree, "<check imports>", "exec")


def _quiet():
    """Standard input, output and error to /dev/null (file descriptors 0, 1, 2)."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def _hidden_answers(session, name, hidden):
    answers = []
    for case in hidden:
        args, kwargs = from_plain(case["args"]), from_plain(case["kwargs"])
        try:
            function = session.reals.get(session.roots.get(name, {}).get("node"))
            if function is None:
                raise TypeError(f"`{name}` must be a function. Received: {name} of another kind")
            value = function(*args, **kwargs)
            answers.append({"value": to_plain(value)})
        except NotPlain as exc:
            answers.append({"raised": ["TypeError", f"the answer is not data: {exc}"]})
        except BaseException as exc:  # noqa: BLE001 - the student's error is this case's feedback
            answers.append({"raised": [type(exc).__name__, str(exc)[:2000]]})
    return answers


def run(job, ready):
    """Run a job (see the module docstring); returns the JSON-ready record."""
    namespace = {"__name__": "__main__"}
    for index, source in enumerate(job["setup"]):
        exec(compile(source, f"<setup {index}>", "exec"), namespace)  # noqa: S102 - the book's own imports
    exec(_imports_only(job["checks"]), namespace)  # noqa: S102 - the book's own check cell
    calls = check_calls(job["checks"])
    checks = [(namespace[name], arguments) for name, arguments in calls]
    ready()
    try:
        exec(compile(job["answer"], "<your answer>", "exec"), namespace)  # noqa: S102 - the student's code
    except NotImplementedError:
        return {"status": "not attempted", "feedback": "the code raises NotImplementedError"}
    except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt included
        return {"status": "error", "feedback": f"running your code raised {type(exc).__name__}: {exc}"}
    missing = [a for _, arguments in calls for a in arguments if a not in namespace]
    if missing:
        return {"status": "not attempted", "feedback": f"{', '.join(missing)} is not defined"}
    session = Session(record=True)
    shown = {name: session.root(name, namespace[name]) for _, arguments in calls for name in arguments}
    outcome = {"status": "ran", "feedback": ""}
    for check, arguments in checks:
        try:
            check(*[shown[a] for a in arguments])
        except BaseException as exc:  # noqa: BLE001 - the judge's run will say what went wrong
            outcome["feedback"] = f"the check stopped in your process: {type(exc).__name__}: {exc}"[:2000]
    outcome["log"] = session.data()
    names = [a for _, arguments in calls for a in arguments]
    outcome["hidden"] = _hidden_answers(session, names[0], job.get("hidden") or []) if names else []
    return outcome


def main():
    fd = int(sys.argv[1])
    job = json.loads(sys.stdin.read())
    _quiet()
    sent = []

    def ready():
        os.write(fd, b"ready\n")
        sent.append(True)

    try:
        record = run(job, ready)
    except BaseException as exc:  # noqa: BLE001
        record = {"status": "error", "feedback": f"{type(exc).__name__}: {exc}"[:2000]}
    try:
        line = json.dumps(record, allow_nan=True) + "\n"
    except (TypeError, ValueError) as exc:
        line = json.dumps({"status": "error", "feedback": f"the record could not be written: {exc}"}) + "\n"
    if not sent:
        os.write(fd, b"ready\n")
    data = line.encode()
    while data:
        data = data[os.write(fd, data):]
    os._exit(0)  # no atexit handler or thread of the student's code runs after the record


if __name__ == "__main__":
    main()
