"""Every chapter's solutions, put into its student notebook, get full marks from the grader.

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

from helpers.grading.edition import student_edition
from helpers.grading.exercises import find_exercises, with_solutions
from helpers.grading.sandbox import bwrap

pytestmark = pytest.mark.skipif(not bwrap() and os.environ.get("CI") != "true",
                                reason="bubblewrap (bwrap) is not installed: `make sandbox`")
WITH_EXERCISES = [p for p in chapter_paths() if find_exercises(nbformat.read(p, as_version=4))]


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


@pytest.mark.parametrize("chapter", WITH_EXERCISES, ids=[p.stem for p in WITH_EXERCISES])
def test_the_books_solutions_get_full_marks(graded, chapter):
    result, records = graded
    record = records[chapter.stem]
    assert record["points"] == record["max_points"] > 0, json.dumps(record, indent=1)
    assert {e["status"] for e in record["exercises"]} == {"passed"}
    assert [e["label"] for e in record["exercises"]] == [e.label for e in find_exercises(
        nbformat.read(chapter, as_version=4))]


def test_the_batch_exits_cleanly(graded):
    result, _ = graded
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stderr
