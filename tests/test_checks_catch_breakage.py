"""The checks can fail: each one is shown catching a deliberately broken copy.

- nbval (with the book's sanitizer) fails on a chapter whose stored output was changed,
  and on a number, an array or a stderr line that differs outside a progress bar, while
  a Keras progress line that differs only in timings and metric values passes;
- the book build fails on a broken `{ref}` and a broken internal link;
- the variants of `make variants` really change what TensorFlow and XLA compute;
- a chapter's claim cell fails when its assert states the wrong behaviour (a padded
  query's attention output on MultiHeadAttention's default path).

The hygiene, table-of-contents and browser checks are in test_hygiene_catch_breakage.py.
"""

import copy
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import nbformat
import pytest
import test_notebooks as hygiene
from nbformat.v4 import new_code_cell, new_notebook, new_output
from nbtools import chapter_paths

from conftest import ROOT, build_book

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


# --------------------------------------------------------------------------- chapter claims

#: (chapter, the claim cell's assert on the default path's padded query, the wrong assert:
#: the zeros of the scores path, i.e. the output projection's bias alone)
DEFAULT_PATH_CLAIMS = [
    ("12_transformer_masks", "assert np.allclose(default_path[0, 4], uniform, atol=1e-5)",
     "assert np.allclose(default_path[0, 4], nothing, atol=1e-5)"),
    ("14_where_masks_vanish", "assert np.allclose(out_default[0, 3:], uniform, atol=1e-5)",
     "assert np.allclose(out_default[0, 3:], bias_only, atol=1e-5)"),
]


def _up_to_claim(stem, claim, replacement=None):
    """The chapter's cells up to and including the cell holding ``claim`` (replaced if asked)."""
    nb = nbformat.read(ROOT / "chapters" / f"{stem}.ipynb", as_version=4)
    index = next(i for i, cell in enumerate(nb.cells) if claim in cell.source)
    nb.cells = nb.cells[:index + 1]
    if replacement is not None:
        nb.cells[index].source = nb.cells[index].source.replace(claim, replacement)
    return nb, sum(cell.cell_type == "code" for cell in nb.cells) - 1


def test_default_path_claims_fail_when_they_assert_zeros(tmp_path):
    """A padded query's output on MultiHeadAttention's default path is a uniform average of all
    the values, not the zeros of the scores path: the chapters' claim cells pass as stored
    and fail (AssertionError) when their assert says zeros."""
    notebooks, claim_cells = [], {}
    for stem, claim, wrong in DEFAULT_PATH_CLAIMS:
        for suffix, replacement in (("", None), ("_zeros", wrong)):
            nb, cell = _up_to_claim(stem, claim, replacement)
            path = tmp_path / f"{stem}{suffix}.ipynb"
            nbformat.write(nb, path)
            notebooks.append(path)
            claim_cells[path.stem] = cell
    outcomes = run_nbval(notebooks, tmp_path)
    for stem, _, _ in DEFAULT_PATH_CLAIMS:
        assert _cell_outcome(outcomes, stem, claim_cells[stem]) is None, f"{stem}: the claim as stored failed"
        failure = _cell_outcome(outcomes, f"{stem}_zeros", claim_cells[f"{stem}_zeros"])
        assert failure is not None and "AssertionError" in failure, f"{stem}: asserting zeros did not fail"
