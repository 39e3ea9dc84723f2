"""Hygiene of the chapters as stored: the checks nbval cannot make.

nbval re-runs every chapter and compares outputs with the stored ones; this file
checks the stored notebooks themselves, so that what nbval compares against is
clean: listed in the table of contents, executed top to bottom in one kernel,
the standard first cell, no errors, no stderr, nothing machine- or run-specific
in an output, no warning the text does not discuss, and exercises with solutions.

Each check is a function taking a notebook (and its chapter name) and returning a
list of problems, so it can be called on any notebook
(tests/test_hygiene_catch_breakage.py feeds it broken ones).

Timings are not asserted: the timing report (conftest.py) prints nbval's seconds per chapter
and marks any chapter over its 60 s budget; a slow or busy machine never fails the suite.
"""

import pathlib
import re

import nbformat
import pytest
import yaml
from nbtools import CHAPTERS, ROOT, chapter_paths

from helpers.notebook import FIRST_CELL

# --------------------------------------------------------------------------- the checks

#: Paths of the machine that ran a notebook (POSIX homes and temp, site-packages, Windows drives).
MACHINE_PATH = re.compile(r"/tmp/|/root/|/home/|/Users/|/work/|site-packages|dist-packages|\b[A-Za-z]:\\")
MEMORY_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,}\b|\bat 0x[0-9a-fA-F]+")
#: A duration: "1.2 s", "35ms", "3 seconds", "2 min", "1:05 elapsed", a tqdm rate "9.5it/s".
#: (A bare "0s" or "3 s" is not taken for a duration: "a row of 1s and 0s" is a mask.)
TIMING = re.compile(
    r"\b\d+\.\d+\s?(?:s|sec|secs)\b|\b\d+(?:\.\d+)?\s?(?:ns|us|µs|ms|seconds?|minutes?)\b"
    r"|\b\d+(?:\.\d+)?\s?(?:it/s|s/it)\b|\bwall time\b|\bCPU times\b",
    re.I,
)
#: A Keras progress-bar line once ANSI codes are removed (the sanitizer masks its timings).
KERAS_PROGRESS = re.compile(
    r"^\s*\d+/(?:\d+|Unknown)\s(?:━+\s)?.*\d+(?:us|ms|s)/(?:step|sample|epoch)\b"
    r"|^\s*\d+/\d+ - \d+s - \d+(?:us|ms|s)/(?:step|sample|epoch)\b"
)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: helpers.notebook.printed_warnings prints "Warning (UserWarning): message".
PRINTED_WARNING = re.compile(r"^Warning \((?P<category>\w+)\): (?P<message>.*)$")
#: Python's own warning format ("...: UserWarning: message") and logging-style warnings.
RAW_WARNING = re.compile(r"\b(?P<category>[A-Z]\w*Warning): (?P<message>.*)$")
LOG_NOISE = re.compile(
    r"^(?:WARNING|ERROR|INFO):(?:absl|tensorflow|root)|^[IWEF]\d{4} \d\d:\d\d:\d\d"
    r"|All log messages before absl::InitializeLog|oneDNN custom operations|cuda drivers|rebuild TensorFlow"
)
#: nbval markers that would exempt a cell's output from comparison (or accept an exception).
NBVAL_MARKERS = re.compile(r"#\s*NBVAL_(?:IGNORE_OUTPUT|SKIP|RAISES_EXCEPTION)")
NBVAL_TAGS = {"nbval-ignore-output", "nbval-skip", "nbval-raises-exception", "raises-exception"}
#: A cell tagged so prints timings read from committed benchmark results (benchmarks/):
#: they are the same on every run, so only the timing rule is lifted for it (nbval still
#: compares its output, and every other rule applies).
STORED_TIMINGS_TAG = "stored-timings"
#: The key phrase of a warning: this many consecutive words of its message.
KEY_PHRASE_WORDS = 4

_EXERCISE = re.compile(r"^(?P<fence>:{3,}|`{3,})\{exercise\}[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.S | re.M)
_SOLUTION = re.compile(
    r"^(?P<fence>:{3,}|`{3,})\{solution\}[ \t]+(?P<label>\S+)[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.S | re.M
)
_OPTION = re.compile(r"^:(?P<name>[\w-]+):[ \t]*(?P<value>.*)$", re.M)


def code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def markdown_text(nb):
    return "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")


def output_texts(output):
    """Every text an output shows (stream text, each text-like MIME type; never image data)."""
    if output.get("output_type") == "stream":
        yield output.get("text", "")
    elif output.get("output_type") == "error":
        yield f"{output.get('ename')}: {output.get('evalue')}"
        yield "\n".join(output.get("traceback", []))
    for mime, value in output.get("data", {}).items():
        if mime.startswith("image/") and mime != "image/svg+xml":
            continue
        if "widget-view" in mime or "widget-state" in mime:
            continue
        yield value if isinstance(value, str) else str(value)


def check_execution(nb):
    """Every code cell was executed, in order 1..n, in one kernel (no re-runs, no skips)."""
    problems = []
    counts = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if not cell.source.strip():
            problems.append(f"cell {index} is an empty code cell (delete it)")
            continue
        if cell.get("execution_count") is None:
            problems.append(f"cell {index} was never executed")
        counts.append(cell.get("execution_count"))
    executed = [c for c in counts if c is not None]
    if executed and executed != list(range(1, len(executed) + 1)):
        problems.append(
            f"execution counts are {executed}, not 1..{len(executed)}: re-run the chapter top to bottom "
            "in a fresh kernel (tools/execute.py)"
        )
    return problems


def check_first_cell(nb):
    """The first cell is helpers.notebook.FIRST_CELL, verbatim."""
    cells = nb.cells
    if not cells or cells[0].cell_type != "code":
        return ["the first cell is not a code cell (it must be helpers.notebook.FIRST_CELL)"]
    if cells[0].source != FIRST_CELL:
        return ["the first cell differs from helpers.notebook.FIRST_CELL (tools/percent_to_ipynb.py puts it there)"]
    if cells[0].get("outputs"):
        return ["the first cell printed something; it must print nothing"]
    return []


def _words(text):
    return re.findall(r"[a-z0-9_]+", text.lower())


#: Names a warning message mentions: 'quoted' names and CamelCase identifiers (class names).
_NAMED = re.compile(r"'([\w.]+)'|\b([A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+|[A-Z][a-z]+[A-Z]\w*)\b")


def warning_is_discussed(category, message, markdown_cells):
    """Whether the chapter's text discusses a warning shown in an output.

    It does when a markdown cell names the warning's class (e.g. `UserWarning`), or
    quotes a key phrase of it (KEY_PHRASE_WORDS consecutive words, case and punctuation
    ignored; the whole message when shorter), or says "warn..." and names in the same
    cell something the message names (a 'quoted' layer name or a class such as Reshape).
    """
    if isinstance(markdown_cells, str):
        markdown_cells = [markdown_cells]
    markdown = "\n".join(markdown_cells)
    if category and category != "Warning" and re.search(rf"\b{re.escape(category)}\b", markdown):
        return True
    words, text = _words(message), " ".join(_words(markdown))
    if words:
        n = min(KEY_PHRASE_WORDS, len(words))
        if any(" ".join(words[i : i + n]) in text for i in range(len(words) - n + 1)):
            return True
    names = {a or b for a, b in _NAMED.findall(message)} - {category}
    for cell in markdown_cells:
        if re.search(r"\bwarn", cell, re.I) and any(re.search(rf"\b{re.escape(name)}\b", cell) for name in names):
            return True
    return False


def check_outputs(nb):
    """No error, no stderr, no machine path, address, timing, log noise or undiscussed warning."""
    problems = []
    markdown = [cell.source for cell in nb.cells if cell.cell_type == "markdown"]
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = f"cell {index}"
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & NBVAL_TAGS or NBVAL_MARKERS.search(cell.source):
            problems.append(f"{where} carries an nbval marker ({sorted(tags & NBVAL_TAGS) or 'NBVAL_ comment'}) "
                            "that would exempt its output from comparison")
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "error":
                problems.append(f"{where} stores an error: {output.get('ename')}: {output.get('evalue')}"[:300])
                continue
            if kind == "stream" and output.get("name") == "stderr":
                first = output.get("text", "").strip().splitlines()[:1]
                problems.append(f"{where} stores a stderr stream: {first[0] if first else ''!r}"[:300])
                continue
            for text in output_texts(output):
                problems += _check_text(where, ANSI.sub("", text), markdown,
                                        timings_allowed=STORED_TIMINGS_TAG in tags)
    return problems


def _check_text(where, text, markdown, timings_allowed=False):
    problems = []
    for line in text.splitlines():
        shown = line.strip()[:160]
        if MACHINE_PATH.search(line):
            problems.append(f"{where} shows a path of the machine: {shown!r}")
        if MEMORY_ADDRESS.search(line):
            problems.append(f"{where} shows a memory address: {shown!r}")
        if TIMING.search(line) and not KERAS_PROGRESS.search(line) and not timings_allowed:
            problems.append(f"{where} shows a timing (outputs must not depend on the machine's speed; a cell "
                            f"that prints committed benchmark results may carry the tag {STORED_TIMINGS_TAG!r}): "
                            f"{shown!r}")
        if LOG_NOISE.search(line):
            problems.append(f"{where} shows TensorFlow/absl log noise: {shown!r}")
        match = PRINTED_WARNING.match(line.strip()) or RAW_WARNING.search(line)
        if match and not warning_is_discussed(match.group("category"), match.group("message"), markdown):
            problems.append(
                f"{where} shows a warning the text does not discuss (name {match.group('category')} or quote "
                f"{KEY_PHRASE_WORDS} words of it in a markdown cell): {shown!r}"
            )
    return problems


def check_exercises(nb, name=None, minimum=2):
    """At least ``minimum`` `{exercise}` blocks, each labelled and with a `{solution}` dropdown.

    With ``name`` (e.g. "02_padding") labels must read ex-02-<slug>.
    """
    markdown = markdown_text(nb)
    problems = []
    labels = []
    for match in _EXERCISE.finditer(markdown):
        options = dict((m.group("name"), m.group("value").strip()) for m in _OPTION.finditer(match.group("body")))
        label = options.get("label")
        if not label:
            problems.append(f"an exercise has no :label: ({match.group(0).splitlines()[0]!r})")
            continue
        labels.append(label)
        number = name.split("_")[0] if name else None
        if number and not re.fullmatch(rf"ex-{re.escape(number)}-[a-z0-9]+(?:-[a-z0-9]+)*", label):
            problems.append(f"exercise label {label!r} should read ex-{number}-<slug> (lowercase, hyphens)")
    solutions = {}
    for match in _SOLUTION.finditer(markdown):
        options = dict((m.group("name"), m.group("value").strip()) for m in _OPTION.finditer(match.group("body")))
        solutions[match.group("label")] = options
    if len(labels) < minimum:
        problems.append(f"{len(labels)} {{exercise}} block(s); a chapter has at least {minimum}")
    for label in labels:
        if label not in solutions:
            problems.append(f"exercise {label} has no {{solution}} {label} block")
        elif "dropdown" not in solutions[label].get("class", "").split():
            problems.append(f"the solution of {label} is not hidden (add `:class: dropdown`)")
    for label in solutions:
        if label not in labels:
            problems.append(f"{{solution}} {label} belongs to no exercise in this chapter")
    if len(set(labels)) != len(labels):
        problems.append(f"exercise labels repeat: {sorted(labels)}")
    return problems


def check_notebook(nb, name=None):
    """Every hygiene check on one notebook; returns all problems."""
    return check_execution(nb) + check_first_cell(nb) + check_outputs(nb) + check_exercises(nb, name)


def toc_entries(toc_path=ROOT / "_toc.yml"):
    """Every `file:` (and the root) of a Jupyter Book _toc.yml, in reading order."""
    toc = yaml.safe_load(toc_path.read_text())
    entries = [toc["root"]]

    def walk(items):
        for item in items or []:
            if "file" in item:
                entries.append(item["file"])
            walk(item.get("sections"))
            walk(item.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return entries


def check_toc(root=ROOT):
    """Every chapter in chapters/ is in _toc.yml, and every entry there exists."""
    root = pathlib.Path(root)
    entries = toc_entries(root / "_toc.yml")
    problems = []
    for entry in entries:
        if not any((root / f"{entry}{suffix}").exists() for suffix in (".ipynb", ".md", ".rst")):
            problems.append(f"_toc.yml lists {entry}, which does not exist")
    listed = set(entries)
    for path in sorted((root / "chapters").glob("*.ipynb")):
        if f"chapters/{path.stem}" not in listed:
            problems.append(f"chapters/{path.name} is not listed in _toc.yml")
    if len(listed) != len(entries):
        problems.append("_toc.yml lists a file twice")
    return problems


# --------------------------------------------------------------------------- the tests

CHAPTER_NAMES = [path.stem for path in chapter_paths()]


def _read(name):
    return nbformat.read(CHAPTERS / f"{name}.ipynb", as_version=4)


def _report(problems):
    return "\n  ".join([""] + problems)


def test_toc_and_chapters_agree():
    problems = check_toc()
    assert not problems, _report(problems)


def test_there_are_chapters():
    assert CHAPTER_NAMES, "no notebooks in chapters/"


@pytest.mark.parametrize("name", CHAPTER_NAMES)
def test_notebook_is_valid(name):
    nbformat.validate(_read(name))


@pytest.mark.parametrize("name", CHAPTER_NAMES)
def test_executed_in_order(name):
    problems = check_execution(_read(name))
    assert not problems, _report(problems)


@pytest.mark.parametrize("name", CHAPTER_NAMES)
def test_first_cell_is_standard(name):
    problems = check_first_cell(_read(name))
    assert not problems, _report(problems)


@pytest.mark.parametrize("name", CHAPTER_NAMES)
def test_outputs_are_clean(name):
    problems = check_outputs(_read(name))
    assert not problems, _report(problems)


@pytest.mark.parametrize("name", CHAPTER_NAMES)
def test_exercises_have_hidden_solutions(name):
    problems = check_exercises(_read(name), name)
    assert not problems, _report(problems)
