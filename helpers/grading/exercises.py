"""Find the exercises of a chapter notebook (or of its student edition).

A chapter writes an exercise as a sphinx-exercise directive in a markdown cell::

    :::{exercise} Title
    :label: ex-01-encode
    ...
    :::

followed by code cells: the *answer* cell (a stub whose body raises
``NotImplementedError``), and the *check* cell, which calls a ``check_*`` function
of ``helpers.exercises``. The worked answer is in a ``{solution} <label>`` block
(a colon or backtick fence in a markdown cell, possibly sharing the cell with other
text), or between ``{solution-start} <label>`` and ``{solution-end}`` directives,
which may enclose whole cells. Everything here is driven by those cell contents
and labels, so new chapters need no registration. The student edition
(:mod:`helpers.grading.edition`) turns each directive into a plain Markdown heading
and keeps the label in the cell's metadata, where :func:`find_exercises` finds it too.

Used by the grader, the student edition and the tests.

Example:
    >>> import nbformat
    >>> nb = nbformat.read("chapters/01_why_padding.ipynb", as_version=4)
    >>> [e.label for e in find_exercises(nb)][:1]
    ['ex-01-encode']
"""

import ast
import copy
import re
from dataclasses import dataclass, field

STUB_LINE = 'raise NotImplementedError("your code here")'
#: Where the student edition keeps an exercise's label: the heading cell's metadata.
METADATA_KEY = "padding_and_masking"

_FENCED = r"^(?P<fence>:{3,}|`{3,})\{%s\}[ \t]*(?P<arg>[^\n]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$\n?"
EXERCISE = re.compile(_FENCED % "exercise", re.S | re.M)
SOLUTION = re.compile(_FENCED % "solution", re.S | re.M)
SOLUTION_START = re.compile(_FENCED % "solution-start", re.S | re.M)
SOLUTION_END = re.compile(_FENCED % "solution-end", re.S | re.M)
LABEL = re.compile(r"^:label:[ \t]*(\S+)", re.M)
PYTHON_BLOCK = re.compile(r"^```(?:python|ipython3?|\{code-cell\}[^\n]*)\n(?P<code>.*?)^```", re.S | re.M)


@dataclass
class Exercise:
    """One exercise of a notebook.

    Attributes:
        label: the exercise's ``:label:``.
        title: its title.
        cell: index of the markdown cell holding the directive.
        answer_cells: indices of the code cells where the reader writes the answer.
        check_cells: indices of the code cells that call a ``check_*`` function.
        other_cells: indices of the other code cells of the exercise (e.g. a print).
        solution: the Python code of its solution (empty when there is none).
        names: the names the answer must define (from the check call's arguments,
            else from the answer cell's definitions).
    """

    label: str
    title: str
    cell: int
    answer_cells: list = field(default_factory=list)
    check_cells: list = field(default_factory=list)
    other_cells: list = field(default_factory=list)
    solution: str = ""
    names: list = field(default_factory=list)


def _parse(source):
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


def check_calls(source):
    """The ``check_*(...)`` calls of a code cell: list of (function name, argument names)."""
    tree = _parse(source)
    if tree is None:
        return []
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id.startswith("check_"):
            args = [a.id for a in node.args if isinstance(a, ast.Name)]
            calls.append((node.func.id, args))
    return calls


def defined_names(source):
    """Names a code cell defines at top level (functions, classes, assignments)."""
    tree = _parse(source)
    if tree is None:
        return []
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return names


def is_import_only(source):
    """Whether a code cell holds only import statements (and comments)."""
    tree = _parse(source)
    return bool(tree and tree.body) and all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in tree.body)


def top_level_imports(source):
    """The import statements at the top level of a code cell, as source (empty if none)."""
    tree = _parse(source)
    if tree is None:
        return ""
    lines = source.splitlines()
    return "\n".join("\n".join(lines[n.lineno - 1:n.end_lineno]) for n in tree.body
                     if isinstance(n, (ast.Import, ast.ImportFrom)) and n.col_offset == 0)


def raises_not_implemented(source):
    """Whether the code contains ``raise NotImplementedError`` (the stub's mark)."""
    tree = _parse(source)
    if tree is None:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                return True
    return False


def _events(source):
    """(position, kind, label) of the exercise / solution directives of a markdown text."""
    events = []
    for match in EXERCISE.finditer(source):
        label = LABEL.search(match.group("body"))
        events.append((match.start(), "exercise", label.group(1) if label else None, match.group("arg").strip()))
    for match in SOLUTION.finditer(source):
        events.append((match.start(), "solution", match.group("arg").strip(), ""))
    for match in SOLUTION_START.finditer(source):
        events.append((match.start(), "solution-start", match.group("arg").strip(), ""))
    for match in SOLUTION_END.finditer(source):
        events.append((match.start(), "solution-end", None, ""))
    return sorted(events)


def _solutions(nb):
    """label -> Python code of its solution (every python block of the solution, joined)."""
    found = {}
    gated, gated_label = [], None
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for match in SOLUTION.finditer(cell.source):
                blocks = [m.group("code") for m in PYTHON_BLOCK.finditer(match.group("body"))]
                found[match.group("arg").strip()] = "\n".join(blocks)
            start = SOLUTION_START.search(cell.source)
            if start:
                gated_label, gated = start.group("arg").strip(), []
                gated += [m.group("code") for m in PYTHON_BLOCK.finditer(cell.source[start.end():])]
            elif gated_label and SOLUTION_END.search(cell.source):
                found[gated_label] = "\n".join(gated)
                gated_label = None
            elif gated_label:
                gated += [m.group("code") for m in PYTHON_BLOCK.finditer(cell.source)]
        elif gated_label:
            gated.append(cell.source)
    return found


def solution_cells(nb):
    """Indices of the cells inside ``{solution-start}`` ... ``{solution-end}`` (both included)."""
    inside, cells = False, set()
    for index, cell in enumerate(nb.cells):
        source = cell.source if cell.cell_type == "markdown" else ""
        if SOLUTION_START.search(source):
            inside = True
        if inside:
            cells.add(index)
        if inside and SOLUTION_END.search(source) and not SOLUTION_START.search(source.split("{solution-end}")[-1]):
            inside = False
    return cells


def metadata_label(cell):
    """The exercise label a student edition's heading cell carries in its metadata, or None."""
    mine = cell.get("metadata", {}).get(METADATA_KEY)
    label = mine.get("exercise") if isinstance(mine, dict) else None
    return label if isinstance(label, str) and label else None


def _heading_title(source):
    match = re.search(r"^#+ *Exercise [\d.]+: *(.*)$", source, re.M)
    return match.group(1).strip() if match else ""


def find_exercises(nb):
    """The exercises of a notebook (an ``nbformat`` NotebookNode), in order: from the
    chapters' ``{exercise}`` directives, or from the student edition's headings (the
    label in the cell's metadata, see :func:`metadata_label`)."""
    exercises, current = [], None
    hidden = solution_cells(nb)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            label = metadata_label(cell)
            if label:
                current = Exercise(label=label, title=_heading_title(cell.source), cell=index)
                exercises.append(current)
            for _, kind, label, title in _events(cell.source):
                if kind == "exercise" and label:
                    current = Exercise(label=label, title=title, cell=index)
                    exercises.append(current)
                elif kind in ("solution", "solution-start"):
                    current = None
            continue
        if cell.cell_type != "code" or current is None or index in hidden:
            continue
        if check_calls(cell.source):
            current.check_cells.append(index)
        elif defined_names(cell.source) and not is_import_only(cell.source):
            current.answer_cells.append(index)
        else:
            current.other_cells.append(index)
    solutions = _solutions(nb)
    for exercise in exercises:
        exercise.solution = solutions.get(exercise.label, "")
        called = [name for i in exercise.check_cells for _, args in check_calls(nb.cells[i].source) for name in args]
        defined = [name for i in exercise.answer_cells for name in defined_names(nb.cells[i].source)]
        exercise.names = [n for n in called if n in defined] or called or defined
    return exercises


def make_stub(source):
    """A stub of ``source``: each top-level function, and each method of each class, keeps
    its signature and docstring and raises ``NotImplementedError("your code here")``.
    Imports are kept; any other statement is dropped.

    Example:
        >>> print(make_stub("def f(x):\\n    '''Twice x.'''\\n    return 2 * x\\n"))
        def f(x):
            '''Twice x.'''
            raise NotImplementedError("your code here")
    """
    tree = _parse(source)
    if tree is None:
        raise ValueError(f"`source` must be Python code that parses. Received: source={source!r:.200}")
    lines = source.splitlines()

    def header(node):
        first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
        return lines[first - 1:node.body[0].lineno - 1]

    def stub_def(node, indent):
        out = header(node)
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                and isinstance(body[0].value.value, str):
            out += lines[body[0].lineno - 1:body[0].end_lineno]
        out.append(" " * indent + STUB_LINE)
        return out

    out = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out += lines[node.lineno - 1:node.end_lineno]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out += (["", ""] if out else []) + stub_def(node, node.col_offset + 4)
        elif isinstance(node, ast.ClassDef):
            out += (["", ""] if out else []) + header(node)
            members = [n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
            doc = node.body[0]
            if isinstance(doc, ast.Expr) and isinstance(getattr(doc, "value", None), ast.Constant):
                out += lines[doc.lineno - 1:doc.end_lineno]
            for i, member in enumerate(members):
                out += ([""] if i or len(out) > 1 else []) + stub_def(member, member.col_offset + 4)
            if not members:
                out.append(" " * (node.col_offset + 4) + STUB_LINE)
    return "\n".join(out).strip("\n")


def with_solutions(chapter_nb, student_nb):
    """A copy of the student notebook with each exercise answered by the book's solution
    (from ``chapter_nb``): what a perfect submission looks like. Used to test the grader.
    """
    solutions = {e.label: e.solution for e in find_exercises(chapter_nb)}
    out = copy.deepcopy(student_nb)
    for exercise in find_exercises(out):
        code = solutions.get(exercise.label)
        if code and exercise.answer_cells:
            out.cells[exercise.answer_cells[0]].source = code.strip("\n")
            for index in exercise.answer_cells[1:]:
                out.cells[index].source = ""
    return out
