"""The hygiene, table-of-contents and browser checks can fail: each is shown catching a broken copy.

- the hygiene checks of test_notebooks.py flag unexecuted cells, out-of-order counts
  and every kind of unclean output;
- the table-of-contents check flags unlisted and missing chapters;
- the browser checks of test_site.py flag a missing figure, a broken link, a console
  error and a stored Traceback.

The nbval, book-build, variant and chapter-claim checks are in test_checks_catch_breakage.py.
"""

import textwrap

import pytest
import test_notebooks as hygiene
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from helpers.notebook import FIRST_CELL

# --------------------------------------------------------------------------- hygiene


def _good_notebook():
    nb = new_notebook()
    nb.cells = [
        new_code_cell(FIRST_CELL, execution_count=1),
        new_markdown_cell("# Demo\n\nKeras raises a `UserWarning` when the mask is dropped."),
        new_code_cell('print("ok")', execution_count=2, outputs=[new_output("stream", name="stdout", text="ok\n")]),
        new_code_cell("model.fit(x, y)", execution_count=3, outputs=[new_output(
            "stream", name="stdout",
            text="Epoch 1/1\n\x1b[1m4/4\x1b[0m \x1b[32m━━━━\x1b[0m \x1b[1m1s\x1b[0m 12ms/step - loss: 0.5000\n")]),
    ]
    for slug in ("one", "two"):
        nb.cells.append(new_markdown_cell(f":::{{exercise}} Task {slug}\n:label: ex-02-{slug}\n\nDo it.\n:::"))
        nb.cells.append(new_markdown_cell(
            f"::::{{solution}} ex-02-{slug}\n:class: dropdown\n\n```python\nx = 1\n```\n::::"))
    return nb


def _stdout(nb, text):
    nb.cells[2].outputs = [new_output("stream", name="stdout", text=text)]


def _mutate(kind):
    nb = _good_notebook()
    if kind == "unexecuted":
        nb.cells[2].execution_count = None
    elif kind == "out of order":
        nb.cells[2].execution_count, nb.cells[3].execution_count = 3, 2
    elif kind == "re-run":
        nb.cells[3].execution_count = 7
    elif kind == "first cell":
        nb.cells[0].source = FIRST_CELL.replace("seed=0", "seed=1")
    elif kind == "stderr":
        nb.cells[2].outputs.append(new_output("stream", name="stderr", text="W0000 something\n"))
    elif kind == "error":
        nb.cells[2].outputs.append(new_output("error", ename="ValueError", evalue="bad", traceback=[]))
    elif kind == "machine path":
        _stdout(nb, "saved to /tmp/tmpab12/model.keras\n")
    elif kind == "site-packages":
        _stdout(nb, 'File ".venv/lib/python3.11/site-packages/keras/src/x.py"\n')
    elif kind == "memory address":
        _stdout(nb, "<keras.src.layers.Dense object at 0x7f3a2b1c0d90>\n")
    elif kind == "timing":
        _stdout(nb, "padded batch: 12.5 ms\n")
    elif kind == "undiscussed warning":
        _stdout(nb, "Warning (RuntimeWarning): invalid value encountered in divide\n")
    elif kind == "log noise":
        _stdout(nb, "WARNING:absl:Compiled the loaded model, but the compiled metrics have yet to be built.\n")
    elif kind == "solution not hidden":
        nb.cells[-1].source = nb.cells[-1].source.replace(":class: dropdown\n", "")
    elif kind == "one exercise":
        nb.cells = nb.cells[:-2]
    elif kind == "missing solution":
        del nb.cells[-1]
    elif kind == "bad label":
        nb.cells[4].source = nb.cells[4].source.replace("ex-02-one", "exercise-one")
        nb.cells[5].source = nb.cells[5].source.replace("ex-02-one", "exercise-one")
    elif kind == "nbval tag":
        nb.cells[2].metadata["tags"] = ["nbval-ignore-output"]
    elif kind == "nbval comment":
        nb.cells[2].source = "# NBVAL_SKIP\n" + nb.cells[2].source
    elif kind == "empty cell":
        nb.cells.insert(3, new_code_cell(""))
    return nb


BREAKAGES = {
    "unexecuted": "never executed",
    "out of order": "not 1..",
    "re-run": "not 1..",
    "first cell": "FIRST_CELL",
    "stderr": "stderr",
    "error": "stores an error",
    "machine path": "path of the machine",
    "site-packages": "path of the machine",
    "memory address": "memory address",
    "timing": "timing",
    "undiscussed warning": "warning the text does not discuss",
    "log noise": "log noise",
    "solution not hidden": "dropdown",
    "one exercise": "at least 2",
    "missing solution": "no {solution}",
    "bad label": "ex-02-<slug>",
    "nbval tag": "nbval marker",
    "nbval comment": "nbval marker",
    "empty cell": "empty code cell",
}


def test_the_good_notebook_passes_every_hygiene_check():
    assert hygiene.check_notebook(_good_notebook(), "02_demo") == []


@pytest.mark.parametrize("kind", sorted(BREAKAGES))
def test_hygiene_checks_catch(kind):
    problems = hygiene.check_notebook(_mutate(kind), "02_demo")
    assert any(BREAKAGES[kind] in problem for problem in problems), f"{kind}: not caught; problems: {problems}"


def test_a_warning_the_text_discusses_is_allowed():
    nb = _good_notebook()
    _stdout(nb, "Warning (UserWarning): Layer 'dense' does not support masking\n")
    assert hygiene.check_outputs(nb) == []
    nb.cells[1].source = "# Demo\n\nNo discussion here."
    assert hygiene.check_outputs(nb), "an undiscussed UserWarning passed"
    nb.cells[1].source = "# Demo\n\nWhy does the layer say it does not support masking?"
    assert hygiene.check_outputs(nb) == [], "a warning quoted by its key phrase was flagged"
    nb.cells[1].source = "# Demo\n\nBuilding it, Keras warns about `dense`: the mask stops there."
    assert hygiene.check_outputs(nb) == [], "a warning the text explains (warns + the layer's name) was flagged"
    nb.cells[1].source = "# Demo\n\nThe layer `dense` maps each step."
    assert hygiene.check_outputs(nb), "naming the layer without discussing any warning passed"


def test_stored_timings_tag_lifts_only_the_timing_rule():
    nb = _good_notebook()
    _stdout(nb, "the benchmark ran in 3.5 minutes\n")
    nb.cells[2].metadata["tags"] = [hygiene.STORED_TIMINGS_TAG]
    assert hygiene.check_outputs(nb) == []
    _stdout(nb, "the benchmark ran in 3.5 minutes, saved to /tmp/x\n")
    assert any("path of the machine" in p for p in hygiene.check_outputs(nb))


def test_toc_check_catches_unlisted_and_missing_chapters(tmp_path):
    (tmp_path / "chapters").mkdir()
    (tmp_path / "intro.md").write_text("# Intro\n")
    (tmp_path / "chapters" / "01_listed.ipynb").write_text("{}")
    (tmp_path / "chapters" / "02_unlisted.ipynb").write_text("{}")
    (tmp_path / "_toc.yml").write_text(textwrap.dedent("""\
        format: jb-book
        root: intro
        parts:
          - caption: Part
            chapters:
              - file: chapters/01_listed
              - file: chapters/03_missing
        """))
    problems = hygiene.check_toc(tmp_path)
    assert any("02_unlisted" in p and "not listed" in p for p in problems), problems
    assert any("03_missing" in p and "does not exist" in p for p in problems), problems


# --------------------------------------------------------------------------- the browser

BROKEN_PAGE = """<!DOCTYPE html><html><head><title>Broken</title>
<script>console.error("boom from the book's own script")</script>
<script src="https://cdn.example.invalid/lib.js"></script></head>
<body><main><h1>A broken page</h1><p>Enough words here to count as main content.</p>
<img src="missing.png" alt="missing"><a href="nope.html">gone</a><a href="#no-such-id">anchor</a>
<div class="cell_output"><pre>Traceback (most recent call last):
  File "x.py", line 1</pre></div></main></body></html>"""


def test_browser_checks_catch_a_broken_page(tmp_path, browser):
    import functools
    import http.server
    import threading

    from test_site import PageWatcher, check_page

    from conftest import _QuietHandler

    (tmp_path / "page.html").write_text(BROKEN_PAGE)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    context = browser.new_context()
    try:
        tab = context.new_page()
        blocked = {}
        watcher = PageWatcher(tab, base, blocked)
        tab.goto(base + "page.html", wait_until="load")
        problems = "\n".join(check_page(tab, watcher, base))
    finally:
        context.close()
        server.shutdown()
        server.server_close()
    for expected in ("figure did not load: missing.png", "boom from the book", "Traceback",
                     "nope.html answers 404", "no element with id 'no-such-id'", "failed to load"):
        assert expected in problems, f"{expected!r} not reported; problems:\n{problems}"
    assert blocked == {"cdn.example.invalid": 1}
