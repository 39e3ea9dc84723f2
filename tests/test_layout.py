"""The house's rules: helpers/ laid out by purpose (small modules, each saying what it is for and which
chapter teaches it, all mapped in the package docstring); every Python file and function small; private
Keras only through helpers/keras_internals.py; errors in Keras's dialect."""

import ast
import pathlib
import re

import pytest

import helpers

HELPERS = pathlib.Path(helpers.__file__).parent
MODULES = sorted(p for p in HELPERS.rglob("*.py") if "__pycache__" not in p.parts)
MAX_LINES = 400


def _name(path):
    return path.relative_to(HELPERS.parent).as_posix()


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_module_is_small_and_says_its_purpose(path):
    text = path.read_text()
    lines = text.count("\n")
    assert lines <= MAX_LINES, f"{_name(path)} has {lines} lines (at most {MAX_LINES}): split it by purpose"
    docstring = ast.get_docstring(ast.parse(text))
    assert docstring and docstring.strip(), f"{_name(path)} has no module docstring saying what it is for"
    first = docstring.strip().splitlines()[0]
    assert len(first) >= 20 and first.endswith((".", "?")), f"{_name(path)}: the first docstring line {first!r} is no sentence"


def test_package_docstring_maps_every_module():
    top = {p.stem if p.is_file() else p.name for p in HELPERS.iterdir()
           if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()}
    doc = helpers.__doc__
    missing = sorted(name for name in top if f"    {name} " not in doc)
    assert not missing, f"helpers/__init__.py's docstring does not map: {missing}"


# ----------------------------------------------------------------- every Python file of the project

PROJECT = HELPERS.parent
PY_FILES = sorted(p for folder in ("helpers", "tools", "benchmarks", "tests") for p in (PROJECT / folder).rglob("*.py")
                  if "__pycache__" not in p.parts)
MAX_FUNCTION_LINES = 80


def long_functions(text, limit=MAX_FUNCTION_LINES):
    """(name, lines) of every function or method longer than ``limit`` lines."""
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            if length > limit:
                found.append((node.name, length))
    return found


@pytest.mark.parametrize("path", PY_FILES, ids=lambda p: p.relative_to(PROJECT).as_posix())
def test_every_file_and_function_is_small(path):
    text = path.read_text()
    lines = text.count("\n")
    where = path.relative_to(PROJECT).as_posix()
    assert lines <= MAX_LINES, f"{where} has {lines} lines (at most {MAX_LINES}): split it by purpose"
    long = long_functions(text)
    assert not long, f"{where}: functions over {MAX_FUNCTION_LINES} lines: {long}"


def repeated_module_names(paths, root):
    """File names (``masks.py``) that two or more of ``paths`` share, with where each lies; package
    ``__init__.py`` files and the exercises (named after the chapter topic they check) are left out."""
    seen = {}
    for path in paths:
        where = path.relative_to(root)
        if path.name != "__init__.py" and where.parts[:2] != ("helpers", "exercises"):
            seen.setdefault(path.name, []).append(where.as_posix())
    return {name: places for name, places in seen.items() if len(places) > 1}


def test_module_names_are_unique():
    """One name, one meaning: no two modules of helpers/, tools/ or benchmarks/ share a file name
    (a reader searching for ``masks.py`` finds one file)."""
    paths = [p for p in PY_FILES if p.relative_to(PROJECT).parts[0] != "tests"]
    repeated = repeated_module_names(paths, PROJECT)
    assert not repeated, f"module names used twice: {repeated}"


CHAPTER_NUMBERS = {int(p.name[:2]) for p in (PROJECT / "chapters").glob("[0-9][0-9]_*.ipynb")}


def chapters_named(docstring):
    """The chapter numbers a docstring names: "chapter 15", "chapters 8 and 9", "chapters 4, 5 or 6"."""
    return {int(n) for group in re.findall(r"\b[Cc]hapters?\s+((?:\d{1,2}(?:,\s*|\s+and\s+|\s+or\s+)?)+)", docstring)
            for n in re.findall(r"\d{1,2}", group)}


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_module_names_the_chapters_that_teach_it(path):
    """Like d2l's library, each module says where it is taught: "chapter 15" (or "chapters 8 and 9"),
    and every chapter it names exists. Package __init__ files and the grader's own modules say
    "Used by" instead when no chapter teaches them."""
    docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
    named = chapters_named(docstring)
    if not named:
        assert re.search(r"\b(Used by|used by)\b", docstring), (
            f"{_name(path)}: its docstring names no chapter (\"Taught in chapter N\") and no user (\"Used by ...\")")
    missing = sorted(named - CHAPTER_NUMBERS)
    assert not missing, f"{_name(path)} names chapters that do not exist: {missing}"


def private_keras_uses(code):
    """What ``code`` reaches of Keras's private side: ``._keras_mask`` attributes and ``keras.src``
    imports or attributes (strings and comments that merely name them are not uses)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:  # a notebook cell with IPython syntax
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "_keras_mask":
            found.append("._keras_mask")
        elif isinstance(node, ast.Attribute) and node.attr == "src" and getattr(node.value, "id", "") == "keras":
            found.append("keras.src")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("keras.src"):
            found.append(f"from {node.module}")
        elif isinstance(node, ast.Import) and any(a.name.startswith("keras.src") for a in node.names):
            found.append("import keras.src")
    return found


def test_private_keras_is_reached_only_through_keras_internals():
    """Private Keras (``_keras_mask``, ``keras.src``) is reached through helpers/keras_internals.py
    only; chapter 3 is the one place that teaches the attribute itself."""
    import nbformat

    offenders = []
    for path in MODULES:
        if path.name != "keras_internals.py":
            offenders += [f"{_name(path)}: {use}" for use in private_keras_uses(path.read_text())]
    for path in sorted((PROJECT / "chapters").glob("*.ipynb")):
        if path.name.startswith("03_"):
            continue
        cells = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        for source in cells:
            offenders += [f"{path.name}: {use}" for use in private_keras_uses(source)]
            if "helpers.keras_internals" in source:
                offenders.append(f"{path.name}: imports helpers.keras_internals")
    assert not offenders, "private Keras outside helpers/keras_internals.py:\n" + "\n".join(offenders)


#: Keras's error dialect: "`name` must be .... Received: name=... (of type ...)".
KERAS_DIALECT = re.compile(r"Received:|received\(|positive_int|non_negative_int|integer\(|to_array|check_mask")


def test_every_raise_in_helpers_speaks_keras_dialect():
    """A ValueError/TypeError raised by a helper names the argument, what was received and what is
    expected, the way Keras does (helpers/validation.py makes those messages)."""
    offenders = [f"{_name(path)}:{line}" for path in MODULES for line in raises_off_dialect(path.read_text())]
    assert not offenders, "raises not in Keras's dialect:\n" + "\n".join(offenders)


def raises_off_dialect(text):
    """Line numbers of the ``raise ValueError/TypeError(...)`` in ``text`` not in Keras's dialect."""
    lines = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            name = getattr(node.exc.func, "id", getattr(node.exc.func, "attr", ""))
            if name in ("ValueError", "TypeError"):
                source = ast.get_source_segment(text, node) or ""
                if ", got " in source or not KERAS_DIALECT.search(source + _message_of(text, node)):
                    lines.append(node.lineno)
    return lines


def _message_of(text, node):
    """The source of a variable the raise passes as its message, when it is one assigned just above."""
    if node.exc.args and isinstance(node.exc.args[0], ast.Name):
        name = node.exc.args[0].id
        found = re.findall(rf"(?m)^\s*{name}\s*=\s*(.+)$", text[: sum(len(line) + 1 for line in text.splitlines()[:node.lineno])])
        return found[-1] if found else ""
    return ""


# ----------------------------------------------------------------- imports: no circles in helpers/

def _module_name(path, root):
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root, package="helpers"):
    """``{module: modules of the package it imports}`` for every module under ``root / package``,
    imports inside functions included (a lazy import is still a dependency)."""
    files = {_module_name(p, root): p for p in (root / package).rglob("*.py") if "__pycache__" not in p.parts}
    graph = {}
    for name, path in files.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith(package):
                targets |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in files else node.module
                            for a in node.names}
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name.startswith(package)}
        graph[name] = {target for target in targets if target in files and target != name}
    return graph


def import_circles(graph):
    """The groups of modules that import each other, directly or round a longer loop (the
    strongly connected components of more than one module, by Tarjan's algorithm)."""
    index, low, stack, circles = {}, {}, [], []

    def visit(module):
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in sorted(graph[module]):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while not group or group[-1] != module:
                group.append(stack.pop())
            if len(group) > 1:
                circles.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return circles


def test_helpers_import_no_circle():
    circles = import_circles(import_graph(PROJECT))
    assert not circles, f"modules of helpers/ that import each other: {circles}"
