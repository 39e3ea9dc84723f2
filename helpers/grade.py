"""Grade filled-in student notebooks of the book.

    python -m helpers.grade SUBMISSION.ipynb [more ...] [--json FILE] [--csv FILE] [--timeout SECONDS]

For each submission:

1. the notebook is executed in a fresh kernel (nbclient), in a temporary folder, with a
   time limit; how that went is reported (``execution``), but the grade does not rest
   on it: nothing the notebook printed or checked is trusted;
2. each exercise of its chapter (matched by the exercises' ``:label:``) is checked in a
   process of its own (:mod:`helpers.grading.checker`) that imports the helpers fresh,
   takes the book's own check function, and only then runs the student's code of that
   exercise (the code cells under it that define something, or import), restores the
   helpers, and calls the check on the objects it defined.

Each exercise gets one of ``passed``, ``failed`` (with the check's feedback), ``not
attempted`` (the stub still raises NotImplementedError, or the name is missing),
``error`` or ``timeout``; the score is the number passed. ``--json`` writes one record
(a list for several submissions); ``--csv`` one row per submission and exercise.
The exit status is 0 when grading finished, whatever the scores, and 2 when a file
cannot be read or is not a notebook of the book (the others are still graded).

Example:
    python -m helpers.grade alice/03_making_masks.ipynb bob/03_making_masks.ipynb --csv grades.csv
"""

import argparse
import ast
import csv
import json
import os
import pathlib
import secrets
import select
import subprocess
import sys
import tempfile
import time

from helpers.grading.execute import _kill_group, child_env, run_notebook
from helpers.grading.exercises import find_exercises, make_stub, raises_not_implemented, top_level_imports

ROOT = pathlib.Path(__file__).resolve().parent.parent
STARTUP_S = 300  # for a checker to import the helpers and TensorFlow on a busy machine
STATUSES = ("passed", "failed", "not attempted", "error", "timeout")


class SubmissionError(Exception):
    """A submission that cannot be graded (unreadable, or not a notebook of the book)."""


def _read(path):
    import nbformat

    try:
        return nbformat.read(str(path), as_version=4)
    except FileNotFoundError:
        raise SubmissionError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SubmissionError(f"{path}: cannot be read ({exc.__class__.__name__}: {exc})") from None
    except Exception as exc:  # noqa: BLE001 - nbformat raises several kinds for a non-notebook
        raise SubmissionError(f"{path}: not a Jupyter notebook ({exc.__class__.__name__})") from None


class Book:
    """The book's own chapters (trusted): label -> (chapter notebook, Exercise)."""

    def __init__(self, chapters=ROOT / "chapters"):
        import nbformat

        self.chapters = {}
        self.labels = {}
        for path in sorted(pathlib.Path(chapters).glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            exercises = find_exercises(nb)
            if exercises:
                self.chapters[path.stem] = (nb, exercises)
                for exercise in exercises:
                    self.labels[exercise.label] = path.stem

    def chapter_of(self, nb):
        """The name of the chapter a submission belongs to, from its exercise labels."""
        counts = {}
        for exercise in find_exercises(nb):
            chapter = self.labels.get(exercise.label)
            if chapter:
                counts[chapter] = counts.get(chapter, 0) + 1
        return max(counts, key=counts.get) if counts else None


def _normal(source):
    try:
        return ast.dump(ast.parse(source))
    except SyntaxError:
        return source


def _needed(imports, answer):
    """The chapter's import statements that bind a name the answer or the check cell
    uses (so that a checker imports TensorFlow only when the answer needs it)."""
    try:
        used = {n.id for n in ast.walk(ast.parse(answer)) if isinstance(n, ast.Name)}
    except SyntaxError:
        return []
    needed = []
    for source in imports:
        for node in ast.parse(source).body:
            bound = {(a.asname or a.name).split(".")[0] for a in node.names}
            if bound & used or "*" in bound:
                needed.append(ast.unparse(node))
    return needed


def _jobs(book_nb, book_exercises, nb):
    """(label, job or a ready outcome) for each exercise of the chapter."""
    submitted = {e.label: e for e in find_exercises(nb)}
    for exercise in book_exercises:
        imports = [top_level_imports(c.source) for c in book_nb.cells[:exercise.cell] if c.cell_type == "code"]
        checks = "\n".join(book_nb.cells[i].source for i in exercise.check_cells)
        stub = "\n".join(c if raises_not_implemented(c) else make_stub(c)
                         for c in (book_nb.cells[i].source for i in exercise.answer_cells))
        mine = submitted.get(exercise.label)
        if mine is None:
            yield exercise.label, {"status": "not attempted", "feedback": "the exercise is missing from the notebook"}
            continue
        book_others = {_normal(book_nb.cells[i].source) for i in exercise.other_cells}
        cells = sorted(mine.answer_cells + [i for i in mine.other_cells
                                            if _normal(nb.cells[i].source) not in book_others])
        answer = "\n\n".join(nb.cells[i].source for i in cells)
        if not answer.strip() or _normal(answer) == _normal(stub):
            yield exercise.label, {"status": "not attempted", "feedback": "the stub is unchanged"}
            continue
        yield exercise.label, {"setup": _needed(imports, answer + "\n" + checks), "checks": checks, "answer": answer}


def _read_verdict(fd, timeout):
    """Read the checker's two lines: "ready NONCE" once the helpers are imported (that
    start-up, TensorFlow included, gets STARTUP_S), then the verdict within ``timeout``
    seconds. Returns (bytes read, timed out)."""
    data, deadline = b"", time.monotonic() + max(STARTUP_S, timeout)
    ready = False
    while True:
        if not ready and b"\n" in data:
            ready, deadline = True, time.monotonic() + timeout
        if data.count(b"\n") >= 2:
            return data, False
        left = deadline - time.monotonic()
        if left <= 0:
            return data, True
        if not select.select([fd], [], [], left)[0]:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return data, False
        data += chunk


def run_check(job, timeout):
    """Run one job in a fresh checker process; returns {"status", "feedback"}."""
    nonce = secrets.token_hex(16)
    read_end, write_end = os.pipe()
    with tempfile.TemporaryDirectory(prefix="grade-check-") as work:
        process = subprocess.Popen([sys.executable, "-m", "helpers.grading.checker", str(write_end)],
                                   cwd=work, env=child_env(), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, pass_fds=(write_end,), start_new_session=True)
        os.close(write_end)
        try:
            process.stdin.write(json.dumps(dict(job, nonce=nonce)).encode())
            process.stdin.close()
        except BrokenPipeError:
            pass
        data, timed_out = _read_verdict(read_end, timeout)
        _kill_group(process)
    os.close(read_end)
    if timed_out:
        return {"status": "timeout", "feedback": f"your code and the check did not finish within {timeout:g} s"}
    lines = data.decode(errors="replace").splitlines()
    try:
        outcome = json.loads(lines[1]) if lines[:1] == [f"ready {nonce}"] else None
    except (ValueError, IndexError):
        outcome = None
    if not isinstance(outcome, dict) or outcome.get("nonce") != nonce or outcome.get("status") not in STATUSES:
        code = process.returncode
        how = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
        return {"status": "error", "feedback": f"the check process ended without a verdict ({how})"}
    return {"status": outcome["status"], "feedback": outcome.get("feedback", "")}


def grade_notebook(path, book, timeout=300):
    """Grade one submission; returns its record (see the module docstring)."""
    nb = _read(path)
    chapter = book.chapter_of(nb)
    if chapter is None:
        raise SubmissionError(f"{path}: no exercise of the book in it (no known :label:)")
    execution = run_notebook(path, timeout)
    book_nb, book_exercises = book.chapters[chapter]
    exercises = []
    for label, job in _jobs(book_nb, book_exercises, nb):
        outcome = job if "status" in job else run_check(job, timeout)
        exercises.append({"label": label, **outcome})
    score = sum(e["status"] == "passed" for e in exercises)
    return {"notebook": str(path), "chapter": chapter, "execution": execution,
            "exercises": exercises, "score": score, "max_score": len(exercises)}


def write_csv(records, target):
    with open(target, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["notebook", "chapter", "label", "status", "feedback", "score", "max_score"])
        for record in records:
            for exercise in record["exercises"]:
                writer.writerow([record["notebook"], record["chapter"], exercise["label"], exercise["status"],
                                 exercise["feedback"], record["score"], record["max_score"]])


def summary(record):
    """The text report of one graded submission."""
    lines = [f"{record['notebook']} (chapter {record['chapter']}): {record['score']}/{record['max_score']}"
             f"  [execution: {record['execution']['status']}]"]
    for exercise in record["exercises"]:
        feedback = f": {exercise['feedback'][:200]}" if exercise["feedback"] else ""
        lines.append(f"  {exercise['label']:<28} {exercise['status']}{feedback}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m helpers.grade", description=__doc__.splitlines()[0])
    parser.add_argument("submissions", nargs="+", metavar="SUBMISSION.ipynb")
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON")
    parser.add_argument("--csv", metavar="FILE", help="write one row per submission and exercise")
    parser.add_argument("--timeout", type=float, default=300, metavar="SECONDS",
                        help="time limit of a notebook's execution, and of each exercise's check (default 300)")
    parser.add_argument("--chapters", default=str(ROOT / "chapters"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error(f"--timeout must be positive, got {args.timeout:g}")
    book = Book(args.chapters)
    if not book.chapters:
        print(f"grade: no chapter with exercises in {args.chapters}: run the grader from a clone of the book's "
              "repository (it takes the checks and the exercises from the chapters)", file=sys.stderr)
        return 2
    records, unreadable = [], []
    for path in args.submissions:
        try:
            record = grade_notebook(path, book, timeout=args.timeout)
        except SubmissionError as exc:
            print(f"grade: {exc}", file=sys.stderr)
            unreadable.append(path)
            continue
        records.append(record)
        print(summary(record), flush=True)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(records[0] if len(args.submissions) == 1 and records
                                                      else records, indent=2, ensure_ascii=False) + "\n")
    if args.csv:
        write_csv(records, args.csv)
    return 2 if unreadable else 0


if __name__ == "__main__":
    sys.exit(main())
