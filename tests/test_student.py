"""The student edition (student/, written by `make student` = tools/student.py).

- student/ is what tools/student.py makes of the chapters now (regenerated in a
  temporary folder and compared): after editing a chapter, run `make student`;
- every exercise of every chapter is there, with its label (in the heading cell's
  metadata), its stub (raising NotImplementedError), its check, no output, and no
  trace of its solution;
- it reads as plain Markdown in Jupyter and Colab: "### Exercise 7.2: Title" headings,
  no `:::` fences, `:label:` lines or MyST roles left;
- the transformation handles the other forms a chapter may use: a worked answer in
  the exercise's code cell, a backtick-fenced solution, a gated solution
  (`{solution-start}` ... `{solution-end}`) spanning cells.
"""

import nbformat
import pytest
from nbtools import ROOT, chapter_paths

from conftest import tool
from helpers.grading.edition import plain_markdown, student_edition
from helpers.grading.exercises import SOLUTION, find_exercises, make_stub, metadata_label, raises_not_implemented

STUDENT = ROOT / "student"
WITH_EXERCISES = [p for p in chapter_paths() if find_exercises(nbformat.read(p, as_version=4))]


def test_student_edition_is_up_to_date(tmp_path):
    written = tool("student").write_student_edition(chapter_paths(), tmp_path)
    fresh = {p.name: p.read_bytes() for p in written}
    committed = {p.name: p.read_bytes() for p in STUDENT.glob("*.ipynb")}
    assert sorted(fresh) == sorted(committed), "student/ lists other notebooks than the chapters give: run `make student`"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"student/ is out of date with the chapters ({', '.join(stale)}): run `make student`"


def test_every_chapter_with_exercises_has_a_student_edition():
    assert len(WITH_EXERCISES) >= 12
    assert sorted(p.name for p in STUDENT.glob("*.ipynb")) == sorted(p.name for p in WITH_EXERCISES)


@pytest.mark.parametrize("chapter", WITH_EXERCISES, ids=[p.stem for p in WITH_EXERCISES])
def test_every_exercise_has_its_stub_and_no_solution(chapter):
    book = nbformat.read(chapter, as_version=4)
    student = nbformat.read(STUDENT / chapter.name, as_version=4)
    text = "\n".join(cell.source for cell in student.cells)
    assert "{solution" not in text, "a solution directive is left"
    book_exercises = find_exercises(book)
    # the chapter's text outside its solutions: a line of a solution found there is no leak
    elsewhere = "\n".join(SOLUTION.sub("", c.source) for c in book.cells)
    exercises = find_exercises(student)
    assert [e.label for e in exercises] == [e.label for e in book_exercises]
    assert student.metadata["padding_and_masking"]["chapter"] == chapter.stem
    number = int(chapter.stem[:2])
    for index, (mine, theirs) in enumerate(zip(exercises, book_exercises), 1):
        assert metadata_label(student.cells[mine.cell]) == mine.label
        assert f"\n### Exercise {number}.{index}: {theirs.title}\n" in "\n" + student.cells[mine.cell].source
        assert mine.answer_cells, f"{mine.label}: no code cell for the answer"
        assert mine.check_cells, f"{mine.label}: no self-check cell"
        assert mine.names == theirs.names
        for index in mine.answer_cells:
            assert raises_not_implemented(student.cells[index].source), f"{mine.label}: the stub is not a stub"
        for index in mine.answer_cells + mine.check_cells + mine.other_cells:
            assert student.cells[index].outputs == [], f"{mine.label}: cell {index} keeps its outputs"
        assert theirs.solution.strip(), f"{theirs.label}: the chapter's solution has no code"
        for line in theirs.solution.splitlines():
            line = line.strip()
            if len(line) > 20 and line not in elsewhere and not line.startswith(("import ", "from ", "class ", "def ")):
                assert line not in text, f"{mine.label}: a line of its solution is in the student edition: {line}"


@pytest.mark.parametrize("chapter", WITH_EXERCISES, ids=[p.stem for p in WITH_EXERCISES])
def test_the_student_edition_is_plain_markdown(chapter):
    student = nbformat.read(STUDENT / chapter.name, as_version=4)
    for cell in student.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            assert not line.startswith((":::", "```{", ":label:", ":class:")), f"MyST left: {line}"
        assert "{ref}`" not in cell.source and "{doc}`" not in cell.source, cell.source[:200]


def test_plain_markdown_turns_admonitions_and_roles_into_text():
    text = "(ch01-x)=\n## A\n\n::::{admonition} Errata\n:class: warning\nSee {ref}`the fix <ch02-fix>` and {doc}`02_padding`.\n::::"
    assert plain_markdown(text) == "## A\n\n> **Errata.** See the fix and 02_padding."


def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(c[3:]) if c.startswith("md:") else nbformat.v4.new_code_cell(c)
                for c in cells]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", text="out\n")]
            cell.execution_count = 1
    return nb


EXERCISE = "md::::{exercise} Twice\n:label: ex-99-twice\nWrite `twice(x)`.\n:::"
WORKED = 'def twice(x):\n    """Two times x."""\n    y = x + x\n    return y\n'


def test_a_worked_answer_becomes_the_stub_and_each_solution_form_goes():
    nb = _nb(
        EXERCISE, WORKED, "check_twice(twice)",
        "md:::::{solution} ex-99-twice\n:class: dropdown\n```python\nreturn 2 * x\n```\n::::\n\nMore text.",
        "md:```{exercise} Halve\n:label: ex-99-halve\n```", "class Halve:\n    def __call__(self, x):\n        return x / 2\n",
        "check_halve(Halve)", "md:````{solution} ex-99-halve\n```python\nx / 2\n```\n````",
        "md::::{exercise} Gated\n:label: ex-99-gated\n:::", "def gated():\n    raise NotImplementedError\n",
        "check_gated(gated)", "md::::{solution-start} ex-99-gated\n:::", "def gated():\n    return 3\n",
        "md::::{solution-end}\n:::", "md:The end.",
    )
    student = student_edition(nb)
    text = "\n".join(c.source for c in student.cells)
    assert "{solution" not in text and "return 3" not in text and "2 * x" not in text and "x / 2" not in text
    assert "More text." in text and "The end." in text
    labels = {e.label: e for e in find_exercises(student)}
    assert list(labels) == ["ex-99-twice", "ex-99-halve", "ex-99-gated"]
    assert [student.cells[e.cell].source.split("\n")[0] for e in labels.values()] == [
        "### Exercise 99.1: Twice", "### Exercise 99.2: Halve", "### Exercise 99.3: Gated"]
    assert "Write `twice(x)`." in text and ":label:" not in text
    twice = student.cells[labels["ex-99-twice"].answer_cells[0]].source
    assert twice == 'def twice(x):\n    """Two times x."""\n    raise NotImplementedError("your code here")'
    halve = student.cells[labels["ex-99-halve"].answer_cells[0]].source
    assert "def __call__(self, x):" in halve and "x / 2" not in halve and raises_not_implemented(halve)
    assert all(student.cells[i].outputs == [] for e in labels.values() for i in e.answer_cells + e.check_cells)
    assert find_exercises(nb)[2].solution.strip() == "def gated():\n    return 3"


def test_an_exercise_without_a_check_is_refused():
    with pytest.raises(ValueError, match="ex-99-twice"):
        student_edition(_nb(EXERCISE, WORKED))


def test_make_stub_keeps_imports_and_refuses_bad_code():
    stub = make_stub("import numpy as np\nX = 3\n\ndef f(a, b=2):\n    return a\n")
    assert stub == 'import numpy as np\n\n\ndef f(a, b=2):\n    raise NotImplementedError("your code here")'
    with pytest.raises(ValueError, match="source"):
        make_stub("def f(:\n")


def test_the_teachers_guide_links_every_student_notebook():
    import yaml

    guide = (ROOT / "reference" / "teachers_guide.md").read_text()
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repository = config["repository"]["url"].rstrip("/").removeprefix("https://github.com/")
    branch = config["repository"].get("branch", "main")
    for chapter in WITH_EXERCISES:
        colab = f"https://colab.research.google.com/github/{repository}/blob/{branch}/student/{chapter.name}"
        assert colab in guide, f"the teacher's guide has no Colab link {colab}"
        assert f"{{doc}}`../chapters/{chapter.stem}`" in guide, f"the guide does not describe {chapter.stem}"
        for exercise in find_exercises(nbformat.read(chapter, as_version=4)):
            assert exercise.label in guide, f"the guide does not mention {exercise.label}"
