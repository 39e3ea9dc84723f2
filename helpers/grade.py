"""Grade filled-in student notebooks of the book.

    python -m helpers.grade SUBMISSION.ipynb [...] [--json FILE] [--csv FILE] [--jobs N]
        [--timeout SECONDS] [--memory GIB] [--hidden CASES.py] [--seed N] [--unsafe]

Student code never runs in the process that decides. For each exercise of each
submission (found by the exercises' labels: the cell metadata of the student edition,
or the chapters' ``:label:`` lines):

1. a **student process** (:mod:`helpers.grading.runner`) runs the student's code of
   that exercise and the book's check on it, inside a bubblewrap sandbox where it can
   write nothing but its private scratch ``/tmp`` and see no other process
   (:mod:`helpers.grading.sandbox`), with time, memory and output caps; it hands back
   plain data only: what the student's code answered to each of the check's calls;
2. once every process of that submission has ended (none may survive), a **judge**
   (:mod:`helpers.grading.judge`), started in isolated mode from a copy of the
   helpers taken and hashed before any student code ran, replays the check on that
   data, and on the book's own solution to count the test cases.

A test case (a call of the check into the answer) is worth one point, and so is each
hidden case: ``--hidden FILE`` names a Python file, which only the grader reads,
defining ``cases(label, rng)`` -> a list of ``(args, kwargs)`` (plain data) or None; the
inputs are drawn at grading time with ``numpy.random.default_rng(--seed)``, and the
student's answers are compared with the book's solution's.

Without a working ``bwrap`` the grader refuses to grade, unless ``--unsafe`` is given:
then student processes run unconfined, one at a time, and every file the judge may
load (the checkout, the standard library, site-packages) is fingerprinted before and
after each submission; a change marks the submission ``tampered`` and stops the batch.

Each exercise gets ``passed``, ``failed`` (with the check's feedback), ``not attempted``,
``error``, ``timeout`` or ``memory``, and points. ``--json`` writes every record;
``--csv`` one row per submission, for a learning management system: student (from
the notebook's metadata or the file name), chapter, points per exercise, total,
maximum. The report is written whatever happens; the exit status is 0 when every
submission was graded, 2 when one could not be read or is not of the book, 3 when
the batch stopped on tampering, 4 when grading is refused (no sandbox).

Used by teachers (the teacher's guide, ``reference/teachers_guide.md``); no chapter teaches it.

Example:
    python -m helpers.grade alice/03_making_masks.ipynb bob/03_making_masks.ipynb --csv grades.csv --jobs 2
"""

import argparse
import concurrent.futures
import csv
import importlib.util
import json
import os
import pathlib
import secrets
import shutil
import sys
import tempfile

from helpers.grading import sandbox
from helpers.grading.plain import NotPlain, to_plain
from helpers.grading.submission import ROOT, Book, SubmissionError, exercise_jobs, read_submission, student_id

STARTUP_S = 300  # for a process to import the helpers and TensorFlow on a busy machine
JUDGE_PER_EXERCISE_S = 120


def _env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", HOME=env.get("HOME", "/tmp"))
    return env


def _student_run(job, options):
    """Run one exercise's student process; returns its record as text, or an outcome dict."""
    command = sandbox.python_command("-m", "helpers.grading.runner", "{fd}")
    if not options.unsafe:
        command = sandbox.sandboxed(command, hidden=options.private)
    payload = json.dumps({**job, "hidden": options.hidden_for(job["label"])}).encode()
    with tempfile.TemporaryDirectory(prefix="grade-scratch-") as scratch:
        outcome = sandbox.run(command, payload, timeout=options.timeout, startup=STARTUP_S,
                              memory=options.memory, env=_env(), cwd=scratch)
    data = outcome["data"]
    if outcome["stop"] == "timeout":
        return {"status": "timeout", "feedback": f"your code and the check did not finish within {options.timeout:g} s"}
    if outcome["stop"] == "memory":
        return {"status": "memory", "feedback": f"your code used more than {options.memory / 2**30:g} GiB of memory"}
    if outcome["stop"] == "output":
        return {"status": "error", "feedback": f"your process handed back more than {sandbox.MAX_OUTPUT // 2**20} MiB"}
    head, _, rest = data.partition(b"\n")
    if head != b"ready" or not rest.strip():
        code = outcome["returncode"]
        how = f"killed by signal {-code}" if code and code < 0 else f"exit status {code}"
        return {"status": "error", "feedback": f"your process ended without a record ({how})"}
    return rest.decode("utf-8", errors="replace")


def _judge(exercises, options):
    """Run the judge on a submission's exercises; returns its results (a list)."""
    boot = (f"import sys; sys.path.insert(0, {str(options.pristine)!r}); import helpers; "
            f"assert helpers.__file__.startswith({str(options.pristine)!r}), helpers.__file__; "
            "import helpers.grading.judge as judge; judge.main()")
    command = sandbox.python_command("-c", boot)
    if not options.unsafe:
        command = sandbox.sandboxed(command, read_only=[options.pristine])
    payload = json.dumps({"exercises": exercises}).encode()
    outcome = sandbox.run(command, payload, channel="stdout", startup=STARTUP_S, memory=options.memory,
                          timeout=JUDGE_PER_EXERCISE_S * max(1, len(exercises)), env=_env(), cwd=options.pristine)
    try:
        reply = json.loads(outcome["data"])
        options.loaded.update(reply.get("loaded", []))
        return reply["results"]
    except (ValueError, KeyError, TypeError):
        why = {"timeout": "ran out of time", "memory": "ran out of memory"}.get(outcome["stop"], "failed")
        return [{"label": e["label"], "status": "error", "points": 0, "max_points": 0,
                 "feedback": f"the judge {why} (a problem of the grader: tell your teacher)"} for e in exercises]


def grade_submission(path, book, options):
    """Grade one submission; returns its record."""
    record = {"notebook": str(path), "student": None, "chapter": None, "exercises": [], "points": 0,
              "max_points": 0, "score": 0, "max_score": 0, "notes": []}
    try:
        nb, record["notes"] = read_submission(path)
    except SubmissionError as exc:
        return {**record, "student": student_id(path, _empty(), None), "error": str(exc)}
    chapter = book.chapter_of(nb)
    record.update(chapter=chapter, student=student_id(path, nb, chapter))
    if chapter is None:
        return {**record, "error": f"{path}: no exercise of the book in it (no known exercise label)"}
    book_nb, book_exercises = book.chapters[chapter]
    before = options.state() if options.unsafe else None
    exercises = []
    for label, book_part, mine in exercise_jobs(book_nb, book_exercises, nb):
        if "answer" in mine:
            outcome = _student_run({**book_part, **mine}, options)
            mine = {"record_text": outcome} if isinstance(outcome, str) else {"record": outcome}
        else:
            mine = {"record": mine}
        exercises.append({**book_part, **mine, "hidden": options.hidden_for(label)})
    if options.unsafe:
        changes = sandbox.changed(before, options.state())
        if changes or sandbox.tree_digest(options.pristine) != options.digest:
            options.stop = f"{path} changed files the grader loads: {', '.join(changes[:5]) or 'the checks copy'}"
            return {**record, "error": "tampered: " + options.stop, "tampered": True,
                    "exercises": [{"label": e["label"], "status": "tampered", "points": 0, "max_points": 0,
                                   "feedback": "your code changed files of the grader"} for e in exercises]}
    results = _judge(exercises, options)
    return {**record, "exercises": results, "points": sum(r.get("points", 0) for r in results),
            "max_points": sum(r.get("max_points", 0) for r in results),
            "score": sum(r["status"] == "passed" for r in results), "max_score": len(results)}


def _empty():
    import nbformat

    return nbformat.v4.new_notebook()


class Options:
    """What the grading of a batch shares: caps, the hidden cases, the checks' copy."""

    def __init__(self, args, pristine):
        self.timeout, self.unsafe, self.memory = args.timeout, args.unsafe, int(args.memory * 2**30)
        self.pristine, self.digest = pristine, sandbox.tree_digest(pristine)
        self.loaded, self.stop, self.seed = set(), None, args.seed
        self.hidden = _hidden_cases(args.hidden, args.seed) if args.hidden else {}
        self.folders = sandbox.watched_folders(ROOT) if args.unsafe else []
        # what a student process must not read: every submission, and the hidden cases
        self.private = [str(pathlib.Path(p).resolve()) for p in [*args.submissions, args.hidden] if p]

    def hidden_for(self, label):
        return self.hidden.get(label, [])

    def state(self):
        """The fingerprint of every file the judge may load: the watched folders, and the
        folders of any file it did load elsewhere (``--unsafe``)."""
        folders = set(self.folders)
        for path in self.loaded:
            path = pathlib.Path(path)
            if not any(path.is_relative_to(f) for f in self.folders + [self.pristine]):
                folders.add(path.parent)
        return sandbox.file_state(sorted(folders))


def _hidden_cases(path, seed):
    """label -> [{"args", "kwargs"} as plain data], drawn from the teacher's generators."""
    import numpy as np

    from helpers.grading.exercises import find_exercises  # noqa: F401 - the book's labels come from Book

    spec = importlib.util.spec_from_file_location("hidden_cases", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the teacher's own file
    cases = {}
    for label in Book().labels:
        drawn = module.cases(label, np.random.default_rng(seed)) or []
        try:
            cases[label] = [{"args": to_plain(tuple(a)), "kwargs": to_plain(dict(k))} for a, k in drawn]
        except NotPlain as exc:
            raise SystemExit(f"grade: --hidden: the cases of {label} are not plain data ({exc})") from None
    return cases


def _pristine_copy():
    folder = pathlib.Path(tempfile.mkdtemp(prefix="grade-checks-"))
    shutil.copytree(ROOT / "helpers", folder / "helpers", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return folder


def write_csv(records, target):
    """One row per submission: student, notebook, chapter, points per exercise, total, maximum."""
    labels = []
    for record in records:
        labels += [e["label"] for e in record["exercises"] if e["label"] not in labels]
    with open(target, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "notebook", "chapter", *labels, "total", "max_points", "status"])
        for record in records:
            points = {e["label"]: e.get("points", 0) for e in record["exercises"]}
            status = "tampered" if record.get("tampered") else ("unreadable" if record.get("error") else "graded")
            writer.writerow([record["student"], record["notebook"], record["chapter"] or "",
                             *[points.get(label, "") for label in labels], record["points"], record["max_points"],
                             status])


def summary(record):
    """The text report of one graded submission."""
    if record.get("error") and not record["exercises"]:
        return f"{record['notebook']}: not graded: {record['error']}"
    lines = [f"{record['notebook']} ({record['student']}, chapter {record['chapter']}): "
             f"{record['points']}/{record['max_points']} points, {record['score']}/{record['max_score']} exercises"]
    lines += [f"  note: {note}" for note in record["notes"][:5]]
    for exercise in record["exercises"]:
        feedback = f": {exercise['feedback'][:200]}" if exercise.get("feedback") else ""
        points = f"{exercise.get('points', 0)}/{exercise.get('max_points', 0)}"
        lines.append(f"  {exercise['label']:<28} {exercise['status']} ({points}){feedback}")
    return "\n".join(lines)


def _parser():
    parser = argparse.ArgumentParser(prog="python -m helpers.grade", description=__doc__.splitlines()[0])
    parser.add_argument("submissions", nargs="+", metavar="SUBMISSION.ipynb")
    parser.add_argument("--json", metavar="FILE", help="write every record as JSON")
    parser.add_argument("--csv", metavar="FILE", help="write one row per submission (points per exercise)")
    parser.add_argument("--timeout", type=float, default=300, metavar="SECONDS",
                        help="time limit of each exercise's student process, after its imports (default 300)")
    parser.add_argument("--memory", type=float, default=6, metavar="GIB",
                        help="memory cap of each process, all its processes together (default 6)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N", help="grade N submissions at a time")
    parser.add_argument("--hidden", metavar="CASES.py", help="a file of hidden test cases (see above)")
    parser.add_argument("--seed", type=int, default=None, help="the seed of the hidden cases (default: random)")
    parser.add_argument("--unsafe", action="store_true",
                        help="grade without a sandbox (one at a time, files fingerprinted): see the guide")
    parser.add_argument("--chapters", default=str(ROOT / "chapters"), help=argparse.SUPPRESS)
    return parser


def _write(records, args):
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(records[0] if len(args.submissions) == 1 and records
                                                      else records, indent=2, ensure_ascii=False) + "\n")
    if args.csv:
        write_csv(records, args.csv)


def _grade_all(args, book, options):
    records = [None] * len(args.submissions)

    def one(index):
        if options.stop:
            path = args.submissions[index]
            return {"notebook": str(path), "student": None, "chapter": None, "exercises": [], "points": 0,
                    "max_points": 0, "score": 0, "max_score": 0, "notes": [],
                    "error": f"not graded: the batch stopped ({options.stop})"}
        return grade_submission(args.submissions[index], book, options)

    jobs = 1 if args.unsafe else max(1, args.jobs)
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        futures = {pool.submit(one, i): i for i in range(len(records))}
        for future in concurrent.futures.as_completed(futures):
            index = futures[future]
            try:
                records[index] = future.result()
            except Exception as exc:  # noqa: BLE001 - one submission's failure is its own mark
                records[index] = {"notebook": str(args.submissions[index]), "student": None, "chapter": None,
                                  "exercises": [], "points": 0, "max_points": 0, "score": 0, "max_score": 0,
                                  "notes": [], "error": f"the grader failed on it: {type(exc).__name__}: {exc}"}
            print(summary(records[index]), flush=True)
    return records


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.timeout <= 0 or args.memory <= 0 or args.jobs < 1:
        _parser().error("--timeout, --memory and --jobs must be positive")
    if not args.unsafe and not sandbox.bwrap():
        print("grade: no working bubblewrap (bwrap) here, so student code cannot be confined: install it "
              "(Debian/Ubuntu: `sudo apt-get install bubblewrap`; `make sandbox`), or pass --unsafe to grade "
              "without a sandbox (see the teacher's guide)", file=sys.stderr)
        return 4
    book = Book(args.chapters)
    if not book.chapters:
        print(f"grade: no chapter with exercises in {args.chapters}: run the grader from a clone of the book's "
              "repository (it takes the checks and the exercises from the chapters)", file=sys.stderr)
        return 2
    if args.seed is None:
        args.seed = secrets.randbelow(2**31)
    sandbox.become_subreaper()
    pristine = _pristine_copy()
    records, options = [], None
    try:
        options = Options(args, pristine)
        if args.hidden:
            print(f"grade: hidden cases drawn with --seed {args.seed}", flush=True)
        records = _grade_all(args, book, options)
    finally:
        records = [r for r in records if r is not None]
        _write(records, args)
        shutil.rmtree(pristine, ignore_errors=True)
    for record in records:
        if record.get("error") and not record.get("tampered"):
            print(f"grade: {record['error']}", file=sys.stderr)
    if options and options.stop:
        print(f"grade: stopped: {options.stop}", file=sys.stderr)
        return 3
    return 2 if any(r.get("error") for r in records) else 0


if __name__ == "__main__":
    sys.exit(main())
