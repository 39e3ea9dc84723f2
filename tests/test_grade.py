"""The grader, `python -m helpers.grade`, run as a teacher runs it (a subprocess).

- the book's solutions in the student notebook's stub cells get full marks (the whole of
  chapter 01, in the student edition's Markdown headings; the exercise cells of chapter 05,
  whose answers are Keras layer classes), an untouched notebook gets "not attempted",
  wrong answers get the check's specific feedback and partial credit (a point per test
  case), and the CSV has a row per student with points per exercise;
- files that are not notebooks, or of no chapter, are a line of the report, not a crash;
- without a sandbox the grader refuses, unless --unsafe, where a submission that changes
  a file the grader loads is flagged and stops the batch;
- hidden cases (--hidden, --seed) are drawn at grading time and compared with the book's
  solution: an answer that only knows the public cases loses them.

tests/test_grade_hostile.py has the hostile submissions; tests/test_grade_book.py grades
every chapter's solutions.
"""

import csv
import json
import os
import subprocess
import sys

import nbformat
import pytest
from nbtools import ROOT

from helpers.grading.exercises import find_exercises, with_solutions
from helpers.grading.sandbox import bwrap

STUDENT = ROOT / "student"
CHAPTERS = ROOT / "chapters"
SANDBOX = pytest.mark.skipif(not bwrap() and os.environ.get("CI") != "true",
                             reason="bubblewrap (bwrap) is not installed: `make sandbox`")


def grade(*arguments, cwd, env=None):
    command = [sys.executable, "-m", "helpers.grade", *map(str, arguments)]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=1800, env=env)


def solved(name):
    return with_solutions(nbformat.read(CHAPTERS / f"{name}.ipynb", as_version=4),
                          nbformat.read(STUDENT / f"{name}.ipynb", as_version=4))


def exercise_cells_only(nb, answers=None):
    """A notebook holding only the exercises of ``nb`` (heading, answer, check cell each);
    ``answers`` (label -> code) replace the answer cells."""
    answers = answers or {}
    out = nbformat.v4.new_notebook(metadata=nb.metadata)
    for exercise in find_exercises(nb):
        answer = "\n\n".join(nb.cells[i].source for i in exercise.answer_cells)
        check = "\n".join(nb.cells[i].source for i in exercise.check_cells)
        out.cells += [nb.cells[exercise.cell], nbformat.v4.new_code_cell(answers.get(exercise.label, answer)),
                      nbformat.v4.new_code_cell(check)]
    return out


def statuses(record):
    return {e["label"]: e["status"] for e in record["exercises"]}


WRONG = {
    "ex-01-encode": "def encode(sentence, vocabulary):\n    return []\n",
    "ex-01-padding-fraction": "def padding_fraction(sequences):\n    return 0.5\n",
}


@pytest.fixture(scope="module")
def book_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("book")
    nbformat.write(solved("01_why_padding"), folder / "alice_01_why_padding.ipynb")
    nbformat.write(exercise_cells_only(solved("05_custom_layers")), folder / "alice_05_custom_layers.ipynb")
    (folder / "bob").mkdir()
    (folder / "bob" / "01_why_padding.ipynb").write_bytes((STUDENT / "01_why_padding.ipynb").read_bytes())
    wrong = exercise_cells_only(nbformat.read(STUDENT / "01_why_padding.ipynb", as_version=4), WRONG)
    wrong.metadata["padding_and_masking"]["student"] = "carol"
    nbformat.write(wrong, folder / "c.ipynb")
    (folder / "broken.ipynb").write_text("{ this is not a notebook")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), folder / "other.ipynb")
    result = grade("alice_01_why_padding.ipynb", "alice_05_custom_layers.ipynb", "bob/01_why_padding.ipynb",
                   "c.ipynb", "broken.ipynb", "missing.ipynb", "other.ipynb", "--json", "out.json", "--csv", "out.csv",
                   "--timeout", "120", "--jobs", "2", cwd=folder)
    records = {r["notebook"]: r for r in json.loads((folder / "out.json").read_text())}
    return result, records, list(csv.DictReader((folder / "out.csv").open()))


@SANDBOX
def test_the_books_solutions_get_full_marks(book_run):
    result, records, _ = book_run
    for name, chapter, points in (("alice_01_why_padding.ipynb", "01_why_padding", 14),
                                  ("alice_05_custom_layers.ipynb", "05_custom_layers", 8)):
        record = records[name]
        assert record["chapter"] == chapter
        assert set(statuses(record).values()) == {"passed"}, json.dumps(record, indent=1)
        assert record["points"] == record["max_points"] == points and record["score"] == 3


@SANDBOX
def test_an_untouched_notebook_is_not_attempted(book_run):
    result, records, rows = book_run
    record = records["bob/01_why_padding.ipynb"]
    assert record["student"] == "bob" and record["points"] == 0 and record["max_points"] == 14
    assert set(statuses(record).values()) == {"not attempted"}
    assert "bob/01_why_padding.ipynb (bob, chapter 01_why_padding): 0/14 points" in result.stdout


@SANDBOX
def test_wrong_answers_get_specific_feedback_and_partial_credit(book_run):
    _, records, _ = book_run
    record = records["c.ipynb"]
    feedback = {e["label"]: e["feedback"] for e in record["exercises"]}
    points = {e["label"]: e["points"] for e in record["exercises"]}
    assert record["student"] == "carol"
    assert statuses(record) == {"ex-01-encode": "failed", "ex-01-padding-fraction": "failed",
                                "ex-01-mask-from-lengths": "not attempted"}
    assert "returned 0 ids, expected 6" in feedback["ex-01-encode"]
    assert "for lengths [3, 5, 6]: got 0.500, expected 0.222" in feedback["ex-01-padding-fraction"]
    # encode(""): 0 ids is right (1 of 5 cases); 0.5 is right for lengths [2, 0] (1 of 5)
    assert points == {"ex-01-encode": 1, "ex-01-padding-fraction": 1, "ex-01-mask-from-lengths": 0}


@SANDBOX
def test_the_csv_has_a_row_per_student_with_points_per_exercise(book_run):
    _, _, rows = book_run
    alice = [r for r in rows if r["student"] == "alice" and r["chapter"] == "01_why_padding"][0]
    assert {k: alice[k] for k in ("ex-01-encode", "ex-01-padding-fraction", "total", "max_points", "status")} == \
        {"ex-01-encode": "5", "ex-01-padding-fraction": "5", "total": "14", "max_points": "14", "status": "graded"}
    assert [r["student"] for r in rows] == ["alice", "alice", "bob", "carol", "broken", "missing", "other"]
    assert {r["status"] for r in rows[4:]} == {"unreadable"}


@SANDBOX
def test_files_that_are_not_submissions_are_reported_not_crashed(book_run):
    result, records, _ = book_run
    assert result.returncode == 2, result.stdout + result.stderr
    assert "broken.ipynb: not a Jupyter notebook" in result.stderr
    assert "missing.ipynb: no such file" in result.stderr
    assert "other.ipynb: no exercise of the book in it" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert records["broken.ipynb"]["points"] == 0


def test_without_a_sandbox_the_grader_refuses(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))  # no bwrap on it
    result = grade(STUDENT / "01_why_padding.ipynb", "--json", "out.json", cwd=tmp_path, env=env)
    assert result.returncode == 4, result.stdout + result.stderr
    assert "no working bubblewrap" in result.stderr and "--unsafe" in result.stderr
    assert not (tmp_path / "out.json").exists()


@SANDBOX
def test_the_sandbox_hides_the_submissions():
    from helpers.grading.sandbox import sandboxed

    readme = ROOT / "README.md"
    shown = subprocess.run(sandboxed(["cat", str(readme)]), capture_output=True, text=True)
    hidden = subprocess.run(sandboxed(["cat", str(readme)], hidden=[readme]), capture_output=True, text=True)
    assert shown.stdout == readme.read_text() and hidden.stdout == ""
    touched = subprocess.run(sandboxed(["touch", str(ROOT / "zz_sandbox_probe")]), capture_output=True, text=True)
    assert touched.returncode != 0 and "Read-only file system" in touched.stderr
    assert not (ROOT / "zz_sandbox_probe").exists()


PLANTED = ROOT / "helpers" / "exercises" / "__pycache__" / "zz_planted_by_test_grade.cpython-311.pyc"


def test_unsafe_mode_flags_a_submission_that_writes_the_graders_files_and_stops(tmp_path):
    student = nbformat.read(STUDENT / "01_why_padding.ipynb", as_version=4)
    plant = (f"import os\nos.makedirs({str(PLANTED.parent)!r}, exist_ok=True)\n"
             f"open({str(PLANTED)!r}, 'wb').write(b'planted')\n" + WRONG["ex-01-encode"])
    nbformat.write(exercise_cells_only(student, {"ex-01-encode": plant}), tmp_path / "mallory.ipynb")
    nbformat.write(solved("01_why_padding"), tmp_path / "alice.ipynb")
    try:
        result = grade("mallory.ipynb", "alice.ipynb", "--unsafe", "--json", "out.json", "--csv", "out.csv",
                       "--timeout", "120", cwd=tmp_path)
    finally:
        PLANTED.unlink(missing_ok=True)
    assert result.returncode == 3, result.stdout + result.stderr
    records = json.loads((tmp_path / "out.json").read_text())
    assert records[0]["tampered"] and "zz_planted_by_test_grade" in records[0]["error"]
    assert records[0]["points"] == 0
    assert records[1]["error"].startswith("not graded: the batch stopped")
    assert "stopped:" in result.stderr


HIDDEN = '''
def cases(label, rng):
    if label != "ex-01-padding-fraction":
        return None
    return [([[list(range(int(n))) for n in rng.integers(0, 7, size=4)]], {}) for _ in range(3)]
'''
LOOKUP = ("def padding_fraction(sequences):\n    known = {(3, 5, 6): 7 / 18, (2, 2): 0.0, (1, 4): 3 / 8, (2, 0): 0.5,"
          " (3,): 0.0}\n    return known.get(tuple(len(s) for s in sequences), 0.25)\n")


@SANDBOX
def test_hidden_cases_are_drawn_at_grading_time(tmp_path):
    (tmp_path / "hidden.py").write_text(HIDDEN)
    student = nbformat.read(STUDENT / "01_why_padding.ipynb", as_version=4)
    nbformat.write(exercise_cells_only(solved("01_why_padding")), tmp_path / "alice.ipynb")
    nbformat.write(exercise_cells_only(student, {"ex-01-padding-fraction": LOOKUP}), tmp_path / "eve.ipynb")
    result = grade("alice.ipynb", "eve.ipynb", "--hidden", "hidden.py", "--seed", "7", "--json", "out.json",
                   "--timeout", "120", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    alice, eve = json.loads((tmp_path / "out.json").read_text())
    fraction = {r["student"]: [e for e in r["exercises"] if e["label"] == "ex-01-padding-fraction"][0]
                for r in (alice, eve)}
    assert fraction["alice"]["points"] == fraction["alice"]["max_points"] == 8
    assert fraction["eve"]["max_points"] == 8 and fraction["eve"]["points"] == 5
    assert "hidden case 1:" in fraction["eve"]["feedback"]
    assert "--seed 7" in result.stdout
