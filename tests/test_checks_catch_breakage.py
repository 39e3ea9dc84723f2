"""The checks can fail: each one is shown catching a deliberately broken copy.

- nbval (with the book's sanitizer) fails on a chapter whose stored output was changed,
  and on a number, an array or a stderr line that differs outside a progress bar, while
  a Keras progress line that differs only in timings and metric values passes;
- the book build fails on a broken `{ref}` and a broken internal link;
- the hygiene checks of test_notebooks.py flag unexecuted cells, out-of-order counts
  and every kind of unclean output;
- the browser checks of test_site.py flag a missing figure, a broken link, a console
  error and a stored Traceback;
- the variants of `make variants` really change what TensorFlow and XLA compute.
"""

import copy
import os
import re
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

import nbformat
import pytest
import test_notebooks as hygiene
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from nbtools import chapter_paths

from conftest import ROOT, build_book
from helpers.notebook import FIRST_CELL

SANITIZER = ROOT / "tests" / "nbval_sanitize.cfg"


def run_nbval(notebooks, cwd):
    """Run nbval with the book's sanitizer on ``notebooks`` in a subprocess.

    Returns {(notebook stem, cell number): failure text or None for a pass}.
    """
    report = cwd / "report.xml"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(cwd),
               "--nbval", "--nbval-current-env", "--nbval-sanitize-with", str(SANITIZER),
               f"--junitxml={report}", "-q", *[str(nb) for nb in notebooks]]
    env = dict(os.environ, PYTHONHASHSEED="0")
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600, env=env)
    if not report.exists():
        raise AssertionError(f"nbval did not run:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        stem = re.sub(r"\.ipynb$", "", case.get("classname", "")).split("/")[-1]
        number = int(re.search(r"Cell (\d+)", case.get("name")).group(1))
        failure = case.find("failure")
        if failure is None:
            failure = case.find("error")
        outcomes[(stem, number)] = None if failure is None else (failure.get("message", "") + (failure.text or ""))
    return outcomes


def _cell_outcome(outcomes, stem, number):
    matches = [v for (s, n), v in outcomes.items() if n == number and s == stem]
    assert matches, f"nbval reported no Cell {number} for {stem}: {sorted(outcomes)}"
    return matches[0]


# --------------------------------------------------------------------------- nbval


def test_sanitizer_file_parses_every_rule():
    """A rule whose `replace:` line nbval cannot read is silently dropped; none is."""
    from nbval.plugin import get_sanitize_patterns

    text = SANITIZER.read_text()
    regexes = re.findall(r"(?m)^regex: ", text)
    patterns = get_sanitize_patterns(text)
    assert len(patterns) == len(regexes), "a `replace:` line is missing or lost its trailing space"
    for regex, _ in patterns:
        re.compile(regex)


def _first_text_output(nb):
    """Index of the first code cell after the set-up cell with a text output, or None."""
    for index, cell in enumerate(nb.cells[1:], start=1):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stdout" and out.get("text", "").strip():
                return index
            if out.get("output_type") == "execute_result" and "text/plain" in out.get("data", {}):
                return index
    return None


def _corrupt(cell):
    for out in cell.outputs:
        if out.get("output_type") == "stream":
            out["text"] = "CORRUPTED " + out["text"]
            return
        if "text/plain" in out.get("data", {}):
            out["data"]["text/plain"] = "CORRUPTED " + out["data"]["text/plain"]
            return


def test_nbval_fails_on_a_corrupted_chapter_output(tmp_path):
    """A chapter, cut after its first printed output, passes; with that output changed, it fails."""
    candidates = []
    for path in chapter_paths():
        nb = nbformat.read(path, as_version=4)
        index = _first_text_output(nb)
        if index is not None and not hygiene.check_execution(nb):
            cost = sum(1 for cell in nb.cells[: index + 1] if cell.cell_type == "code")
            candidates.append((cost, path.name, index, nb))
    if not candidates:
        pytest.skip("no executed chapter with a printed output yet")
    _, name, index, nb = min(candidates, key=lambda c: c[:2])
    code_number = sum(1 for cell in nb.cells[: index + 1] if cell.cell_type == "code") - 1
    intact = copy.deepcopy(nb)
    intact.cells = intact.cells[: index + 1]
    broken = copy.deepcopy(intact)
    _corrupt(broken.cells[index])
    nbformat.write(intact, tmp_path / "intact.ipynb")
    nbformat.write(broken, tmp_path / "corrupted.ipynb")
    outcomes = run_nbval([tmp_path / "intact.ipynb", tmp_path / "corrupted.ipynb"], tmp_path)
    control = _cell_outcome(outcomes, "intact", code_number)
    assert control is None, f"control: {name} cell {index} fails nbval even unchanged:\n{control[:2000]}"
    failure = _cell_outcome(outcomes, "corrupted", code_number)
    assert failure is not None, f"nbval passed {name} cell {index} with a corrupted stored output"
    assert "CORRUPTED" in failure


PROGRESS = "\x1b[1m4/4\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m \x1b[1m{t}\x1b[0m {s}/step - loss: {v} - mae: {w}{pad}\n"


def _synthetic_notebook():
    """Cells whose fresh output differs from the stored one in ways that must, or must not, fail."""
    cases = [
        # (code, stored stdout, must pass?)
        ('print("Epoch 1/1")\nprint(%r, end="")' % ("\r" + PROGRESS.format(t="0s", s="7ms", v="0.4987", w="0.5", pad="")),
         "Epoch 1/1\n" + PROGRESS.format(t="3s", s="120ms", v="0.5000", w="1.2500e-04", pad="   "), True),
        ('print("final loss: 0.123")', "final loss: 0.124\n", False),
        ('print("epoch 3 - loss: 0.123")', "epoch 3 - loss: 0.124\n", False),
        ("import numpy as np\nprint(np.array([0.1, 0.25]))", "[0.1  0.26]\n", False),
        ('import sys\nprint("ok")\nprint("a notice", file=sys.stderr)', "ok\n", False),
        ('print("<object at 0x7f0123456789>")', "<object at 0x7fabcdef0123>\n", True),
        ('print("mask:", [True, False])', "mask: [True, True]\n", False),
    ]
    nb = new_notebook()
    for number, (code, stored, _) in enumerate(cases, start=1):
        nb.cells.append(new_code_cell(code, execution_count=number,
                                      outputs=[new_output("stream", name="stdout", text=stored)]))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb, [must_pass for _, _, must_pass in cases]


def test_sanitizer_masks_progress_bars_and_nothing_else(tmp_path):
    nb, expected = _synthetic_notebook()
    nbformat.write(nb, tmp_path / "synthetic.ipynb")
    outcomes = run_nbval([tmp_path / "synthetic.ipynb"], tmp_path)
    wrong = []
    for number, must_pass in enumerate(expected):
        failure = _cell_outcome(outcomes, "synthetic", number)
        if must_pass and failure is not None:
            wrong.append(f"cell {number} should pass but failed:\n{failure[:1500]}")
        if not must_pass and failure is None:
            wrong.append(f"cell {number} should fail but passed: {nb.cells[number].source!r}")
    assert not wrong, "\n".join(wrong)
    stderr_failure = _cell_outcome(outcomes, "synthetic", 4)
    assert "stderr" in stderr_failure


# --------------------------------------------------------------------------- the book build

_IGNORE = shutil.ignore_patterns(".git", ".venv", "_build", "node_modules", "__pycache__", "*.egg-info",
                                 "screenshots", ".pytest_cache", ".ipynb_checkpoints")


def test_book_build_fails_on_a_broken_ref_and_link(tmp_path):
    book = tmp_path / "book"
    shutil.copytree(ROOT, book, ignore=_IGNORE)
    root_page = hygiene.toc_entries(book / "_toc.yml")[0]
    page = next(book.glob(f"{root_page}.*"))
    page.write_text(
        page.read_text()
        + "\n\nSee {ref}`no-such-label-xyz` and [a missing chapter](chapters/99_no_such_chapter.ipynb).\n"
    )
    built = build_book(book, tmp_path / "out")
    assert built.returncode != 0, "the build passed with a broken {ref} and a broken link"
    log = built.log
    assert "no-such-label-xyz" in log, f"the broken {{ref}} was not reported:\n{log[-3000:]}"
    assert "99_no_such_chapter" in log, f"the broken link was not reported:\n{log[-3000:]}"


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


# --------------------------------------------------------------------------- the variants

_PROBE = """
import collections, os
import tensorflow as tf
a = tf.random.uniform((256, 256))
_ = tf.matmul(a, a).numpy()
names = collections.Counter(open(f"/proc/self/task/{t}/comm").read().strip() for t in os.listdir("/proc/self/task"))
print("INTER_OP_THREADS", names.get("tf_Compute", 0))
"""


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads through Linux's /proc")
def test_variant_settings_change_what_tensorflow_does():
    """`make variants` sets TF_ENABLE_ONEDNN_OPTS=0 and one thread: TensorFlow obeys both.

    (tf.config.threading.get_*_parallelism_threads() report 0 whatever the variables
    say, so the threads of TensorFlow's inter-op pool are counted instead.)
    """
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0", TF_ENABLE_ONEDNN_OPTS="0", TF_NUM_INTRAOP_THREADS="1",
               TF_NUM_INTEROP_THREADS="1", OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    threads = int(re.search(r"INTER_OP_THREADS (\d+)", result.stdout).group(1))
    assert threads == 1, f"TF_NUM_INTEROP_THREADS=1 ignored: {threads} inter-op threads"
    assert "absl::InitializeLog" in result.stderr or "I0000" in result.stderr, "TensorFlow logged nothing at level 0"
    assert "oneDNN custom operations are on" not in result.stderr, "TF_ENABLE_ONEDNN_OPTS=0 ignored"



_XLA_PROBE = """
import hashlib
import numpy as np
import tensorflow as tf
v = tf.constant(np.random.default_rng(0).uniform(size=(256, 64)).astype("float32"))
out = tf.function(lambda: tf.math.log(v), jit_compile=True)()
print("XLA_LOG", hashlib.sha256(np.asarray(out).tobytes()).hexdigest())
"""


def test_xla_variant_changes_what_xla_computes():
    """`make variants`'s third run sets the XLA_FLAGS the Makefile names: the same
    XLA-compiled logarithm gives other bits with them than without (the other two
    variants do not touch XLA-compiled code)."""
    makefile = (ROOT / "Makefile").read_text()
    flags = re.search(r"^variant-xla-fast-math:.*\n\tXLA_FLAGS=(\S+) \$\(NBVAL\)$", makefile, re.M)
    assert flags, "no `variant-xla-fast-math` target running XLA_FLAGS=... $(NBVAL) in the Makefile"
    assert "variant-xla-fast-math" in re.search(r"^variants:(.*)$", makefile, re.M).group(1)
    digests = []
    for xla_flags in ("", flags.group(1)):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", XLA_FLAGS=xla_flags)
        result = subprocess.run([sys.executable, "-c", _XLA_PROBE], capture_output=True, text=True,
                                timeout=300, env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        digests.append(re.search(r"XLA_LOG (\w+)", result.stdout).group(1))
    assert digests[0] != digests[1], f"XLA_FLAGS={flags.group(1)} left the compiled logarithm bit for bit the same"
