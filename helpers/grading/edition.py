"""The student edition of a chapter: no solutions, and Markdown that Jupyter and Colab show.

The book's site is built from MyST (``:::{exercise}``, ``:label:``, ``{ref}`` roles);
Jupyter and Colab show those lines raw. :func:`student_edition` writes each exercise
as a plain Markdown heading numbered *chapter.exercise*, as the site numbers it
(``### Exercise 7.2: A convolution that ignores padding``), and keeps its label in the
heading cell's metadata (``{"padding_and_masking": {"exercise": "ex-07-conv-model"}}``),
where the grader finds it (:func:`helpers.grading.exercises.find_exercises`).
Admonitions (``{note}``, ``{tip}``, ``{warning}``, ``{admonition}``) become block
quotes, and ``{doc}``/``{ref}`` roles their text. The chapters themselves, and so
the site, are unchanged.

Used by ``tools/student.py`` (``make student``).

Example:
    >>> print(plain_markdown(":::{note}\\nPad at the end.\\n:::"))
    > **Note.** Pad at the end.
"""

import copy
import re

import nbformat

from helpers.grading.exercises import (
    EXERCISE,
    LABEL,
    METADATA_KEY,
    SOLUTION,
    SOLUTION_END,
    SOLUTION_START,
    find_exercises,
    make_stub,
    raises_not_implemented,
    solution_cells,
)

STUDENT_NOTE = (
    "**Student edition.** This is the chapter without the solutions of its exercises. Write each "
    "answer in the code cell under its exercise, in place of `raise NotImplementedError`, keeping "
    "the names it defines, and run the self-check under it. Keep the exercises' cells where they "
    "are: a grader finds your answers by the exercises' headings."
)
KINDS = "note|tip|warning|important|caution|admonition|hint|seealso"
ADMONITION = re.compile(r"^(?P<fence>:{3,}|`{3,})\{(?P<kind>" + KINDS + r")\}"
                        r"[ \t]*(?P<arg>[^\n]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$\n?", re.S | re.M)
OPTION = re.compile(r"^:[\w-]+:.*(\n|$)", re.M)
TARGET = re.compile(r"^\([\w.-]+\)=[ \t]*\n?", re.M)
ROLE = re.compile(r"\{(?:doc|ref|numref|eq)\}`(?P<text>[^`<]*?)\s*(?:<(?P<target>[^`>]*)>)?`")


def _options_off(body):
    """A directive's body without its leading ``:option:`` lines."""
    lines = body.split("\n")
    while lines and OPTION.match(lines[0]):
        lines.pop(0)
    return "\n".join(lines).strip("\n")


def _role(match):
    text, target = match.group("text").strip(), match.group("target")
    if text:
        return text
    return (target or "").rsplit("/", 1)[-1]


def plain_markdown(source):
    """``source`` with its admonitions as block quotes and its roles as their text."""
    def quote(match):
        title = match.group("arg").strip() or match.group("kind").capitalize()
        body = plain_markdown(_options_off(match.group("body")))
        lines = f"**{title}.** {body}".split("\n")
        return "\n".join("> " + line if line else ">" for line in lines) + "\n"

    source = ADMONITION.sub(quote, source)
    source = TARGET.sub("", source)
    return ROLE.sub(_role, source).strip("\n")


def _chapter_number(chapter, label):
    for text in (chapter or "", label.removeprefix("ex-")):
        match = re.match(r"(\d+)", text)
        if match:
            return int(match.group(1))
    return 0


def _heading(cell, chapter, numbers):
    """Turn the exercise directive(s) of a markdown cell into headings; label to metadata."""
    def replace(match):
        label = LABEL.search(match.group("body"))
        if not label:
            return match.group(0)
        label = label.group(1)
        cell.metadata[METADATA_KEY] = {"exercise": label}
        number = f"{_chapter_number(chapter, label)}.{numbers[label]}"
        body = plain_markdown(_options_off(match.group("body")))
        return f"### Exercise {number}: {match.group('arg').strip()}\n\n{body}\n"

    cell.source = EXERCISE.sub(replace, cell.source)


def _strip_solutions(source):
    """The markdown text without its ``{solution}`` blocks (and gated directives)."""
    for pattern in (SOLUTION, SOLUTION_START, SOLUTION_END):
        source = pattern.sub("", source)
    return re.sub(r"\n{3,}", "\n\n", source).strip("\n")


def student_edition(nb, chapter=None):
    """A copy of notebook ``nb`` for students.

    Every solution is removed (its block, its gated cells, a cell left empty); each
    exercise's answer cell that holds a worked answer instead of a stub becomes the stub
    (:func:`make_stub`); the outputs and execution counts of every exercise cell are
    cleared; exercise headings and admonitions become plain Markdown, the labels going
    to the cells' metadata. Stubs and checks stay, so a submission can be graded
    (``python -m helpers.grade``). ``chapter`` goes into the notebook's metadata.

    Raises:
        ValueError: if an exercise has no answer cell or no check cell.
    """
    exercises = find_exercises(nb)
    numbers = {e.label: i for i, e in enumerate(exercises, 1)}
    out = copy.deepcopy(nb)
    hidden = solution_cells(nb)
    for exercise in exercises:
        if not exercise.answer_cells or not exercise.check_cells:
            raise ValueError(f"`nb`: exercise {exercise.label} must have an answer (stub) cell and a check cell "
                             f"after it. Received: answer cells {exercise.answer_cells}, "
                             f"check cells {exercise.check_cells}")
        for index in exercise.answer_cells:
            cell = out.cells[index]
            if not raises_not_implemented(cell.source):
                cell.source = make_stub(cell.source)
        for index in exercise.answer_cells + exercise.check_cells + exercise.other_cells:
            out.cells[index].outputs = []
            out.cells[index].execution_count = None
    kept = []
    for index, cell in enumerate(out.cells):
        if index in hidden:
            continue
        if cell.cell_type == "markdown":
            cell.source = _strip_solutions(cell.source) if SOLUTION.search(cell.source) else cell.source
            _heading(cell, chapter, numbers)
            cell.source = plain_markdown(cell.source)
            if not cell.source.strip():
                continue
        kept.append(cell)
    out.cells = kept
    note = nbformat.v4.new_markdown_cell(STUDENT_NOTE)
    note.id = "student-edition"  # a fixed id: `make student` writes the same file twice
    note.metadata["tags"] = ["student-edition"]
    out.cells.insert(0, note)
    if chapter:
        out.metadata[METADATA_KEY] = {"edition": "student", "chapter": chapter}
    return out
