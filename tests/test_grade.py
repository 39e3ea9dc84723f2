"""The grader, `python -m helpers.grade`, run as a teacher runs it (a subprocess).

Each notebook execution loads a kernel (and, for whole chapters, TensorFlow), so the
cases share two grader calls:

- the book's own solutions put into the student notebook's stub cells get full marks
  (the whole of chapter 01; the exercise cells of chapter 05, whose answers are
  Keras layers), and an untouched student notebook gets none;
- hostile submissions (exercise cells only, to keep it quick) are graded correctly in
  one call, beside a file that is not a notebook (exit status 2, a message, no
  traceback, the others still graded): redefining and monkeypatching the checks and
  CheckResult, printing "passed" (in the answer and in place of the check cell),
  SystemExit, killing the kernel and the check process, looping forever at the top
  level and inside the function.
"""

import csv
import json
import subprocess
import sys

import nbformat
import pytest
from nbtools import ROOT

from helpers.grading.exercises import find_exercises, with_solutions

STUDENT = ROOT / "student"
CHAPTERS = ROOT / "chapters"


def grade(*arguments, cwd):
    command = [sys.executable, "-m", "helpers.grade", *map(str, arguments)]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=1800)


def solved(name):
    return with_solutions(nbformat.read(CHAPTERS / f"{name}.ipynb", as_version=4),
                          nbformat.read(STUDENT / f"{name}.ipynb", as_version=4))


def exercise_cells_only(nb, answers=None, checks=None):
    """A notebook holding only the exercises of ``nb``: directive, answer, check cell each;
    ``answers`` / ``checks`` (label -> code) replace the answer / the check cell."""
    answers, checks = answers or {}, checks or {}
    out = nbformat.v4.new_notebook(metadata=nb.metadata)
    for exercise in find_exercises(nb):
        answer = "\n\n".join(nb.cells[i].source for i in exercise.answer_cells)
        check = "\n".join(nb.cells[i].source for i in exercise.check_cells)
        out.cells += [nb.cells[exercise.cell], nbformat.v4.new_code_cell(answers.get(exercise.label, answer)),
                      nbformat.v4.new_code_cell(checks.get(exercise.label, check))]
    return out


def statuses(record):
    return {e["label"]: e["status"] for e in record["exercises"]}


@pytest.fixture(scope="module")
def book_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("book")
    nbformat.write(solved("01_why_padding"), folder / "solved_01.ipynb")
    nbformat.write(exercise_cells_only(solved("05_custom_layers")), folder / "solved_05.ipynb")
    untouched = folder / "untouched_01.ipynb"
    untouched.write_bytes((STUDENT / "01_why_padding.ipynb").read_bytes())
    result = grade(folder / "solved_01.ipynb", folder / "solved_05.ipynb", untouched,
                   "--json", folder / "out.json", "--csv", folder / "out.csv", "--timeout", "120", cwd=folder)
    return result, folder


def test_the_books_solutions_get_full_marks(book_run):
    result, folder = book_run
    assert result.returncode == 0, result.stdout + result.stderr
    records = json.loads((folder / "out.json").read_text())
    assert [r["chapter"] for r in records] == ["01_why_padding", "05_custom_layers", "01_why_padding"]
    for record in records[:2]:
        assert set(statuses(record).values()) == {"passed"}, json.dumps(record, indent=1)
        assert record["score"] == record["max_score"] == 3
    assert records[0]["execution"]["status"] == "ok"


def test_an_untouched_student_notebook_gets_none(book_run):
    result, folder = book_run
    record = json.loads((folder / "out.json").read_text())[2]
    assert record["score"] == 0 and record["max_score"] == 3
    assert set(statuses(record).values()) == {"not attempted"}
    rows = list(csv.DictReader((folder / "out.csv").open()))
    assert len(rows) == 9
    assert {r["status"] for r in rows if r["notebook"].endswith("untouched_01.ipynb")} == {"not attempted"}
    assert "untouched_01.ipynb (chapter 01_why_padding): 0/3" in result.stdout


WRONG_ENCODE = "def encode(sentence, vocabulary):\n    return []\n"
RIGHT_FRACTION = ("def padding_fraction(sequences):\n    lengths = [len(s) for s in sequences]\n"
                  "    cells = len(lengths) * max(lengths)\n    return (cells - sum(lengths)) / cells if cells else 0.0\n")
HOSTILE = {
    "patches": ({  # a wrong answer, with the check, its module and CheckResult patched to pass
        "ex-01-encode": (
            "import helpers.exercises.padding as padding\nimport helpers.exercises as exercises\n"
            "padding.check_encode.__code__ = (lambda f: exercises.CheckResult('encode')).__code__\n"
            "def check_encode(f):\n    return exercises.CheckResult('encode')\n"
            "padding.check_encode = check_encode\nexercises.CheckResult.passed = property(lambda self: True)\n"
            + WRONG_ENCODE),
        "ex-01-padding-fraction": ("def padding_fraction(sequences):\n    print('passed')\n"
                                   "    print('✅ padding_fraction: correct, every test case passes.')\n    return 0.5\n"),
        "ex-01-mask-from-lengths": "import sys\nsys.exit(0)\n",
    }, {"ex-01-encode": "print('ex-01-encode passed')", "ex-01-padding-fraction": "print('passed')"}),
    "kills": ({
        "ex-01-encode": "import os\nos.kill(os.getpid(), 9)\n",
        "ex-01-padding-fraction": RIGHT_FRACTION,
        "ex-01-mask-from-lengths": "import os\ndef mask_from_lengths(lengths, maxlen):\n    os._exit(0)\n",
    }, {}),
    "loops": ({
        "ex-01-encode": "while True:\n    pass\n",
        "ex-01-padding-fraction": "def padding_fraction(sequences):\n    while True:\n        pass\n",
        "ex-01-mask-from-lengths": "raise SystemExit('done')\n",
    }, {}),
}
EXPECTED = {
    "patches": {"ex-01-encode": "failed", "ex-01-padding-fraction": "failed", "ex-01-mask-from-lengths": "error"},
    "kills": {"ex-01-encode": "error", "ex-01-padding-fraction": "passed", "ex-01-mask-from-lengths": "error"},
    "loops": {"ex-01-encode": "timeout", "ex-01-padding-fraction": "timeout", "ex-01-mask-from-lengths": "error"},
}


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    student = nbformat.read(STUDENT / "01_why_padding.ipynb", as_version=4)
    paths = []
    for name, (answers, checks) in HOSTILE.items():
        paths.append(folder / f"{name}.ipynb")
        nbformat.write(exercise_cells_only(student, answers, checks), paths[-1])
    (folder / "broken.ipynb").write_text("{ this is not a notebook")
    result = grade(*paths, folder / "broken.ipynb", folder / "missing.ipynb", "--json", folder / "out.json",
                   "--timeout", "15", cwd=folder)
    return result, json.loads((folder / "out.json").read_text())


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_submission_is_graded_correctly(hostile_run, name):
    result, records = hostile_run
    record = {r["notebook"].rsplit("/", 1)[-1]: r for r in records}[f"{name}.ipynb"]
    assert statuses(record) == EXPECTED[name], json.dumps(record, indent=1)
    assert record["score"] == list(EXPECTED[name].values()).count("passed")


def test_hostile_notebooks_stop_their_own_run_only(hostile_run):
    result, records = hostile_run
    executions = {r["notebook"].rsplit("/", 1)[-1]: r["execution"]["status"] for r in records}
    assert executions == {"patches.ipynb": "errors", "kills.ipynb": "kernel died", "loops.ipynb": "timeout"}
    feedback = {e["label"]: e["feedback"] for e in records[0]["exercises"]}
    assert "returned 0 ids" in feedback["ex-01-encode"]
    assert "SystemExit" in feedback["ex-01-mask-from-lengths"]


def test_an_unreadable_file_is_a_message_and_exit_status_2(hostile_run):
    result, records = hostile_run
    assert result.returncode == 2, result.stdout + result.stderr
    assert len(records) == 3
    assert "broken.ipynb: not a Jupyter notebook" in result.stderr
    assert "missing.ipynb: no such file" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_notebook_of_no_chapter_is_refused(tmp_path):
    path = tmp_path / "other.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), path)
    result = grade(path, cwd=tmp_path)
    assert result.returncode == 2
    assert "no exercise of the book in it" in result.stderr and "Traceback" not in result.stderr
