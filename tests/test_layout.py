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
    assert not long_functions(text), f"{where}: functions over {MAX_FUNCTION_LINES} lines: {long_functions(text)}"


CHAPTER_NUMBERS = {int(p.name[:2]) for p in (PROJECT / "chapters").glob("[0-9][0-9]_*.ipynb")}


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_module_names_the_chapters_that_teach_it(path):
    """Like d2l's library, each module says where it is taught: "chapter 15" (or "chapters 8 and 9"),
    and every chapter it names exists. Package __init__ files and the grader's own modules say
    "Used by" instead when no chapter teaches them."""
    docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
    named = {int(n) for n in re.findall(r"\b[Cc]hapters?\s+((?:\d{1,2}(?:,\s*|\s+and\s+|\s+or\s+)?)+)", docstring)
             for n in re.findall(r"\d{1,2}", n)}
    if not named:
        assert re.search(r"\b(Used by|used by)\b", docstring), (
            f"{_name(path)}: its docstring names no chapter (\"Taught in chapter N\") and no user (\"Used by ...\")")
    missing = sorted(named - CHAPTER_NUMBERS)
    assert not missing, f"{_name(path)} names chapters that do not exist: {missing}"


PRIVATE_KERAS = re.compile(r"\bkeras\.src\b|\b_keras_mask\b|from keras\.src")


def test_private_keras_is_reached_only_through_keras_internals():
    offenders = []
    for path in [*MODULES, *sorted((PROJECT / "chapters").glob("*.ipynb"))]:
        if path.name == "keras_internals.py":
            continue
        text = path.read_text()
        if path.suffix == ".ipynb":
            import nbformat

            text = "\n".join(c.source for c in nbformat.reads(text, as_version=4).cells if c.cell_type == "code")
            if "helpers.keras_internals" in text and path.stem[:2] != "03":
                offenders.append(f"{path.name}: imports helpers.keras_internals")
        code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
        if PRIVATE_KERAS.search(code):
            offenders.append(f"{path.relative_to(PROJECT)}: {PRIVATE_KERAS.search(code).group(0)}")
    assert not offenders, "private Keras outside helpers/keras_internals.py:\n" + "\n".join(offenders)


#: Keras's error dialect: "`name` must be .... Received: name=... (of type ...)".
KERAS_DIALECT = re.compile(r"Received:|received\(|positive_int|non_negative_int|integer\(|to_array|check_mask")


def test_every_raise_in_helpers_speaks_keras_dialect():
    """A ValueError/TypeError raised by a helper names the argument, what was received and what is
    expected, the way Keras does (helpers/validation.py makes those messages)."""
    offenders = []
    for path in MODULES:
        text = path.read_text()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                name = getattr(node.exc.func, "id", getattr(node.exc.func, "attr", ""))
                if name in ("ValueError", "TypeError"):
                    source = ast.get_source_segment(text, node) or ""
                    if ", got " in source or not KERAS_DIALECT.search(source + _message_of(text, node)):
                        offenders.append(f"{_name(path)}:{node.lineno}")
    assert not offenders, f"raises not in Keras's dialect ({len(offenders)}):\n" + "\n".join(offenders)


def _message_of(text, node):
    """The source of a variable the raise passes as its message, when it is one assigned just above."""
    if node.exc.args and isinstance(node.exc.args[0], ast.Name):
        name = node.exc.args[0].id
        found = re.findall(rf"(?m)^\s*{name}\s*=\s*(.+)$", text[: sum(len(line) + 1 for line in text.splitlines()[:node.lineno])])
        return found[-1] if found else ""
    return ""
