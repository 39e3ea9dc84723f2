"""Every chapter's solutions cross the grader's data boundary and get full marks.

First in one process (no sandbox, fast to read when it fails): every exercise's check,
run on the book's solution through a recording session, passes, and so does its replay
from the record after a JSON round trip. A new check that needs something of the answer
that is neither data nor a call fails here, with the check's message.

Then through the grader, every chapter's solutions put into its student notebook get
full marks.

One `python -m helpers.grade` run over every chapter with exercises (``--jobs 2``: the
grader runs two submissions at a time), in its sandbox: each exercise's answer runs in
a student process, the judge replays every check on what it recorded and on the book's
own solution. A check that cannot cross the data boundary (it needs something of the
student's object that is neither data nor a call) shows up here as an error. Slow: a
few minutes on 2 cores (listed in UNIT_SLOW).
"""

import json
import os
import subprocess
import sys

import nbformat
import pytest
from nbtools import chapter_paths

from helpers.grading import judge
from helpers.grading.boundary import Session
from helpers.grading.edition import student_edition
from helpers.grading.exercises import find_exercises, with_solutions
from helpers.grading.sandbox import bwrap
from helpers.grading.submission import Book, exercise_jobs

SANDBOX = pytest.mark.skipif(not bwrap() and os.environ.get("CI") != "true",
                             reason="bubblewrap (bwrap) is not installed: `make sandbox`")
WITH_EXERCISES = [p for p in chapter_paths() if find_exercises(nbformat.read(p, as_version=4))]


EXERCISES = []
for _path in chapter_paths():
    EXERCISES += [(_path.stem, e.label) for e in find_exercises(nbformat.read(_path, as_version=4))]


@pytest.fixture(scope="module")
def book():
    judge._track_results()
    return Book()


@pytest.mark.parametrize("chapter,label", EXERCISES, ids=[label for _, label in EXERCISES])
def test_every_exercise_crosses_the_boundary(book, chapter, label):
    book_nb, book_exercises = book.chapters[chapter]
    part = [b for name, b, _ in exercise_jobs(book_nb, book_exercises, book_nb) if name == label][0]
    checks, namespace = judge._checks(part)
    solution = judge._solution(part, namespace)
    recorder = Session(record=True)
    objects = {name: recorder.root(name, value) for name, value in solution.items()}
    problems, _ = judge._run_checks(checks, objects)
    assert problems == [], f"the book's solution, recorded: {problems[:3]}"
    record = {"status": "ran", "log": json.loads(json.dumps(recorder.data()))}
    replayed, cases, calls = judge._replay(checks, record)
    assert replayed == [] and calls >= 1, f"replayed: {replayed[:3]}"



@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("solved")
    for path in WITH_EXERCISES:
        chapter = nbformat.read(path, as_version=4)
        # the student edition made now (student/ may lag behind a chapter being written)
        nbformat.write(with_solutions(chapter, student_edition(chapter, chapter=path.stem)), folder / path.name)
    command = [sys.executable, "-m", "helpers.grade", *[p.name for p in WITH_EXERCISES], "--json", "out.json",
               "--jobs", "2", "--timeout", "300"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=folder, timeout=3600)
    records = json.loads((folder / "out.json").read_text())
    return result, {r["chapter"]: r for r in records}


@SANDBOX
@pytest.mark.parametrize("chapter", WITH_EXERCISES, ids=[p.stem for p in WITH_EXERCISES])
def test_the_books_solutions_get_full_marks(graded, chapter):
    result, records = graded
    record = records[chapter.stem]
    assert record["points"] == record["max_points"] > 0, json.dumps(record, indent=1)
    assert {e["status"] for e in record["exercises"]} == {"passed"}
    assert [e["label"] for e in record["exercises"]] == [e.label for e in find_exercises(
        nbformat.read(chapter, as_version=4))]


@SANDBOX
def test_the_batch_exits_cleanly(graded):
    result, _ = graded
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stderr
