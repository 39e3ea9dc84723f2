"""Run one exercise's check on a student's code, in a process of its own.

The grader (:mod:`helpers.grade`) starts ``python -m helpers.grading.checker FD`` for
each exercise of each submission and writes a job to its standard input (JSON):

- ``setup``: the book's own import cells of the chapter (trusted);
- ``checks``: the book's own check cell of the exercise (trusted): its imports are run
  and the check functions taken *before* any of the student's code runs;
- ``answer``: the student's code of the exercise (the code cells under it);
- ``nonce``: a random string the result must carry back.

The student's code then runs; afterwards every ``helpers`` module (and ``builtins``)
is put back as it was, so that redefining or monkeypatching a check, or the
``CheckResult`` class, has no effect; the check functions taken beforehand are
called on the student's objects and their verdict is written, as one JSON line, to
the file descriptor FD. Standard output and error are not read: printing "passed"
does nothing. A process that exits early, is killed or runs out of time gives no
result, which the grader reports as ``error`` or ``timeout``.
"""

import ast
import builtins
import json
import os
import sys
import types

FEEDBACK_CHARS = 4000


def _snapshot():
    """What the student's code could change in the helpers: module dicts, functions' code,
    classes' attributes, sys.modules entries, builtins."""
    modules = {name: module for name, module in sys.modules.items()
               if name == "helpers" or name.startswith("helpers.")}
    saved = {"modules": modules, "dicts": {}, "functions": [], "classes": [],
             "builtins": dict(builtins.__dict__)}
    for name, module in modules.items():
        if not isinstance(module, types.ModuleType):
            continue
        saved["dicts"][name] = dict(module.__dict__)
        for value in module.__dict__.values():
            if isinstance(value, types.FunctionType):
                saved["functions"].append((value, value.__code__, value.__defaults__, value.__kwdefaults__))
            elif isinstance(value, type) and getattr(value, "__module__", "").startswith("helpers"):
                saved["classes"].append((value, dict(value.__dict__)))
    return saved


def _restore(saved):
    for name in [n for n in sys.modules if n == "helpers" or n.startswith("helpers.")]:
        if name not in saved["modules"]:
            del sys.modules[name]
    sys.modules.update(saved["modules"])
    for name, contents in saved["dicts"].items():
        module = saved["modules"][name]
        module.__dict__.clear()
        module.__dict__.update(contents)
    for function, code, defaults, kwdefaults in saved["functions"]:
        function.__code__, function.__defaults__, function.__kwdefaults__ = code, defaults, kwdefaults
    for cls, contents in saved["classes"]:
        for key in [k for k in list(cls.__dict__) if k not in contents]:
            try:
                delattr(cls, key)
            except (AttributeError, TypeError):
                pass
        for key, value in contents.items():
            if key not in ("__dict__", "__weakref__") and cls.__dict__.get(key) is not value:
                try:
                    setattr(cls, key, value)
                except (AttributeError, TypeError):
                    pass
    builtins.__dict__.clear()
    builtins.__dict__.update(saved["builtins"])


def _calls(source):
    """(check function name, argument names) of each ``check_*(...)`` call of the check cell."""
    calls = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id.startswith("check_"):
            calls.append((node.func.id, [a.id for a in node.args if isinstance(a, ast.Name)]))
    return calls


def _imports(source):
    tree = ast.parse(source)
    tree.body = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    return compile(tree, "<check imports>", "exec")


def grade(job, ready=lambda: None):
    """Run the job (see the module docstring); return {"status": ..., "feedback": ...}."""
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    for index, source in enumerate(job["setup"]):
        exec(compile(source, f"<setup {index}>", "exec"), namespace)  # noqa: S102 - the book's own cells
    exec(_imports(job["checks"]), namespace)  # noqa: S102 - the book's own check cell
    calls = _calls(job["checks"])
    if not calls:
        return {"status": "error", "feedback": "the exercise has no check call (a problem of the book, not yours)"}
    checks = {name: namespace[name] for name, _ in calls}
    from helpers.exercises import CheckResult

    saved = _snapshot()
    ready()
    try:
        exec(compile(job["answer"], "<your answer>", "exec"), namespace)  # noqa: S102 - the student's code
    except NotImplementedError:
        return {"status": "not attempted", "feedback": "the code raises NotImplementedError"}
    except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt included
        _restore(saved)
        return {"status": "error", "feedback": f"running your code raised {type(exc).__name__}: {exc}"}
    _restore(saved)
    problems = []
    for name, arguments in calls:
        missing = [a for a in arguments if a not in namespace]
        if missing:
            return {"status": "not attempted", "feedback": f"{', '.join(missing)} is not defined"}
        try:
            result = checks[name](*[namespace[a] for a in arguments])
        except BaseException as exc:  # noqa: BLE001
            return {"status": "error", "feedback": f"the check raised {type(exc).__name__}: {exc}"}
        _restore(saved)
        if type(result) is not CheckResult:
            return {"status": "error", "feedback": f"the check returned a {type(result).__name__}"}
        problems += [str(p) for p in list(result.problems)]
    if not problems:
        return {"status": "passed", "feedback": ""}
    if all("NotImplementedError" in p for p in problems):
        return {"status": "not attempted", "feedback": "; ".join(problems)}
    feedback = "; ".join(problems[:6]) + (f"; ... and {len(problems) - 6} more" if len(problems) > 6 else "")
    return {"status": "failed", "feedback": feedback}


def main():
    fd = int(sys.argv[1])
    job = json.loads(sys.stdin.read())
    sys.stdin.close()
    nonce = job.pop("nonce")
    sent = []

    def ready():
        os.write(fd, f"ready {nonce}\n".encode())
        sent.append(True)

    try:
        outcome = grade(job, ready=ready)
    except BaseException as exc:  # noqa: BLE001
        outcome = {"status": "error", "feedback": f"{type(exc).__name__}: {exc}"}
    outcome["feedback"] = str(outcome.get("feedback", ""))[:FEEDBACK_CHARS]
    line = json.dumps({"nonce": nonce, **outcome}) + "\n"
    if not sent:  # the setup failed before the student's code ran
        os.write(fd, f"ready {nonce}\n".encode())
    os.write(fd, line.encode())
    os._exit(0)  # no atexit handler or thread of the student's code runs after the verdict


if __name__ == "__main__":
    main()
