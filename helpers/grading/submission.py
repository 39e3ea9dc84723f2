"""Read a submission as data, match it to the book, and make one job per exercise.

A submission is read with :func:`read_submission`, never executed here: a file that
is not JSON, too large, or whose cells hold odd sources (a number, a dict, null) is
read as far as it can be, and what was odd is noted, so that it is marked, not a crash.
:class:`Book` holds the book's own chapters (trusted): their exercises, checks and
solutions. :func:`exercise_jobs` pairs each exercise of the chapter with the student's
code for it (the code cells under its heading that are not the book's own).

Used by the grader (:mod:`helpers.grade`).

Example:
    >>> book = Book()
    >>> nb, notes = read_submission("student/01_why_padding.ipynb")
    >>> book.chapter_of(nb), notes
    ('01_why_padding', [])
"""

import ast
import json
import pathlib
import re

import nbformat

from helpers.grading.exercises import find_exercises, make_stub, raises_not_implemented, top_level_imports

ROOT = pathlib.Path(__file__).resolve().parents[2]
MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024
MAX_CELLS = 5000


class SubmissionError(Exception):
    """A submission that cannot be graded (unreadable, or not a notebook of the book)."""


def _source(value):
    if isinstance(value, str):
        return value, None
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        return "".join(value), None
    return "", f"a source of type {type(value).__name__}"


def read_submission(path):
    """(notebook, notes): the notebook at ``path`` as an nbformat node, every cell's source
    a string (an odd one read as empty, and noted). Raises SubmissionError."""
    path = pathlib.Path(path)
    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            raise SubmissionError(f"{path}: larger than {MAX_NOTEBOOK_BYTES // 2**20} MiB")
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise SubmissionError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise SubmissionError(f"{path}: not a Jupyter notebook ({exc.__class__.__name__})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise SubmissionError(f"{path}: not a Jupyter notebook (no list of cells)")
    notes, cells = [], []
    for index, cell in enumerate(data["cells"][:MAX_CELLS]):
        kind = cell.get("cell_type") if isinstance(cell, dict) else None
        if kind not in ("code", "markdown", "raw"):
            notes.append(f"cell {index} is not a notebook cell; ignored")
            cells.append(nbformat.v4.new_raw_cell(""))
            continue
        source, odd = _source(cell.get("source"))
        if odd:
            notes.append(f"cell {index} has {odd}; read as empty")
        metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        make = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell,
                "raw": nbformat.v4.new_raw_cell}[kind]
        cells.append(make(source, metadata=_plain_metadata(metadata)))
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    return nbformat.v4.new_notebook(cells=cells, metadata=_plain_metadata(metadata)), notes


def _plain_metadata(metadata):
    """The metadata keys the grader reads (the book's own), as plain strings."""
    mine = metadata.get("padding_and_masking")
    if not isinstance(mine, dict):
        return {}
    return {"padding_and_masking": {k: v for k, v in mine.items() if isinstance(k, str) and isinstance(v, str)}}


def student_id(path, nb, chapter):
    """The student's id: the notebook's ``padding_and_masking.student`` metadata, else the
    file's name without the chapter's (``alice_01_why_padding.ipynb`` -> ``alice``), else
    the name of its folder (``alice/01_why_padding.ipynb`` -> ``alice``)."""
    path = pathlib.Path(path)
    given = nb.metadata.get("padding_and_masking", {}).get("student", "")
    name = given or path.stem
    if chapter and not given:
        name = name.replace(chapter, "").strip(" _-.") or path.parent.name
    name = re.sub(r"[^\w@.\- ]", "_", name)[:100] or "unknown"
    return ("'" + name) if name[0] in "=+-@" else name


class Book:
    """The book's own chapters (trusted): label -> chapter; chapter -> (notebook, exercises)."""

    def __init__(self, chapters=ROOT / "chapters"):
        self.chapters, self.labels = {}, {}
        for path in sorted(pathlib.Path(chapters).glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            exercises = find_exercises(nb)
            if exercises:
                self.chapters[path.stem] = (nb, exercises)
                for exercise in exercises:
                    self.labels[exercise.label] = path.stem

    def chapter_of(self, nb):
        """The chapter a submission belongs to, from its exercises' labels (or None)."""
        counts = {}
        for exercise in find_exercises(nb):
            chapter = self.labels.get(exercise.label)
            if chapter:
                counts[chapter] = counts.get(chapter, 0) + 1
        return max(counts, key=counts.get) if counts else None


def _normal(source):
    try:
        return ast.dump(ast.parse(source))
    except (SyntaxError, ValueError, RecursionError):
        return source


def needed_imports(imports, code):
    """The chapter's import statements that bind a name ``code`` uses (so that a process
    imports TensorFlow only when the code needs it)."""
    try:
        used = {n.id for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Name)}
    except (SyntaxError, ValueError, RecursionError):
        used = set()
    needed = []
    for source in imports:
        for node in ast.parse(source).body:
            bound = {(a.asname or a.name).split(".")[0] for a in node.names}
            if bound & used or "*" in bound:
                needed.append(ast.unparse(node))
    return needed


def exercise_jobs(book_nb, book_exercises, nb):
    """(label, book's part, student's part) for each exercise of the chapter.

    The book's part (trusted): ``setup`` and ``judge_setup`` (the chapter's imports the
    answer or the solution and the check use), ``checks``, ``check_imports``,
    ``solution``, ``names``. The student's part: ``{"answer": code}``, or an outcome
    (``status`` ``not attempted`` and ``feedback``) when the exercise is missing or
    its stub untouched.
    """
    submitted = {e.label: e for e in find_exercises(nb)}
    for exercise in book_exercises:
        imports = [top_level_imports(c.source) for c in book_nb.cells[:exercise.cell] if c.cell_type == "code"]
        checks = "\n".join(book_nb.cells[i].source for i in exercise.check_cells)
        stub = "\n".join(c if raises_not_implemented(c) else make_stub(c)
                         for c in (book_nb.cells[i].source for i in exercise.answer_cells))
        book = {"label": exercise.label, "checks": checks, "check_imports": top_level_imports(checks),
                "solution": exercise.solution, "names": exercise.names,
                "judge_setup": needed_imports(imports, exercise.solution + "\n" + checks)}
        mine = submitted.get(exercise.label)
        if mine is None:
            yield exercise.label, book, {"status": "not attempted",
                                         "feedback": "the exercise is missing from the notebook"}
            continue
        book_others = {_normal(book_nb.cells[i].source) for i in exercise.other_cells}
        cells = sorted(mine.answer_cells + [i for i in mine.other_cells
                                            if _normal(nb.cells[i].source) not in book_others])
        answer = "\n\n".join(nb.cells[i].source for i in cells)
        if not answer.strip() or _normal(answer) == _normal(stub):
            yield exercise.label, book, {"status": "not attempted", "feedback": "the stub is unchanged"}
            continue
        yield exercise.label, book, {"answer": answer, "setup": needed_imports(imports, answer + "\n" + checks)}
