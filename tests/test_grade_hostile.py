"""Hostile submissions: the grader holds (`python -m helpers.grade`, in its bubblewrap sandbox).

One batch grades, two at a time (``--jobs 2``), the submissions of HOSTILE: chapter 01 with
wrong answers (honestly worth 0 points) plus a trick each, in every family issue 31 found
and those the old grader's tests had: a verdict forged through the stack, objects whose
``__eq__`` is always true, NumPy and the checks patched (at once and late), the grader's
files written (``sitecustomize.py``, a ``.pth``, the judge's source, a planted ``.pyc``),
processes that outlive their turn (``setsid``, a double fork) to rewrite the results or
kill other students' processes, malformed cells, huge outputs, memory, time, a flooded
channel, a full disk, exits and kills, a classmate's notebook read from disk. An honest student's notebook is graded between them and after
them. Then:

- every hostile submission gets no point;
- the honest student gets exactly the points it gets when graded alone;
- no file outside the scratch folders changed (the targets are checked by content);
- no process of theirs survives the grader (each carries a token in its command line);
- the report (JSON and CSV) is written, and is still the same a few seconds later.
"""

import hashlib
import json
import os
import pathlib
import subprocess
import sys
import sysconfig
import time

import nbformat
import pytest
from nbtools import ROOT

from helpers.grading.exercises import find_exercises
from helpers.grading.sandbox import bwrap

pytestmark = pytest.mark.skipif(not bwrap() and os.environ.get("CI") != "true",
                                reason="bubblewrap (bwrap) is not installed: `make sandbox`")
TOKEN = "hostile-token-5c1e"
SITE = pathlib.Path(sysconfig.get_paths()["purelib"])
TARGETS = [ROOT / "sitecustomize.py", SITE / "zz_hostile.pth", ROOT / "helpers/grading/judge.py",
           ROOT / "helpers/grading/runner.py", ROOT / "helpers/exercises/padding.py",
           ROOT / "helpers/exercises/__init__.py",
           ROOT / "helpers/exercises/__pycache__/padding.cpython-311.pyc"]
WRONG = {
    "ex-01-encode": "def encode(sentence, vocabulary):\n    return [-1]\n",
    "ex-01-padding-fraction": "def padding_fraction(sequences):\n    return 0.75\n",
    "ex-01-mask-from-lengths": ("import numpy as np\ndef mask_from_lengths(lengths, maxlen):\n"
                                "    return np.zeros((len(lengths), maxlen), bool)\n"),
}
HONEST = {  # right, wrong (0.5 everywhere: right on one case of five), right
    "ex-01-encode": ("def encode(sentence, vocabulary):\n"
                     "    return [vocabulary.get(w.lower(), vocabulary['[UNK]']) for w in sentence.split()]\n"),
    "ex-01-padding-fraction": "def padding_fraction(sequences):\n    return 0.5\n",
    "ex-01-mask-from-lengths": ("import numpy as np\ndef mask_from_lengths(lengths, maxlen):\n"
                                "    return np.arange(maxlen)[None, :] < np.asarray(lengths)[:, None]\n"),
}
WRITE = "\ntry:\n    {}\nexcept Exception:\n    pass\n"
HOSTILE = {
    "forged_verdict": {"ex-01-encode": (
        "import sys, os, json\ndef encode(sentence, vocabulary):\n    frame = sys._getframe()\n    while frame:\n"
        "        if isinstance(frame.f_locals.get('fd'), int):\n            fd = frame.f_locals['fd']\n"
        "            os.write(fd, json.dumps({'status': 'passed', 'score': 3}).encode() + b'\\n')\n"
        "            os._exit(0)\n        frame = frame.f_back\n    return []\n")},
    "always_equal": {
        "ex-01-encode": ("class Yes(list):\n    def __eq__(self, other): return True\n    def __ne__(self, other): "
                         "return False\n    def __len__(self): return 99\ndef encode(sentence, vocabulary):\n"
                         "    return Yes([-1])\n"),
        "ex-01-padding-fraction": ("class Yes(float):\n    def __eq__(self, other): return True\n"
                                   "    def __float__(self): return 0.3333333\ndef padding_fraction(s):\n"
                                   "    return Yes(0.75)\n"),
        "ex-01-mask-from-lengths": ("class Yes:\n    def __eq__(self, other): return True\n    __ne__ = lambda s, o: False\n"
                                    "    shape = property(lambda self: (3, 6))\n"
                                    "def mask_from_lengths(lengths, maxlen):\n    return Yes()\n")},
    "numpy_patched": {"ex-01-padding-fraction": (
        "import numpy as np\nnp.isclose = lambda *a, **k: True\nnp.allclose = lambda *a, **k: True\n"
        "np.nonzero = lambda *a, **k: (np.array([], int), np.array([], int))\nnp.array_equal = lambda *a, **k: True\n"
        + WRONG["ex-01-padding-fraction"]), "ex-01-mask-from-lengths": (
        "import numpy as np\nnp.ndarray.__ne__ = lambda *a: np.zeros((3, 6), bool)\n" + WRONG["ex-01-mask-from-lengths"])},
    "late_patch": {"ex-01-padding-fraction": (
        "def padding_fraction(sequences):\n    import helpers.exercises.padding as p\n    import numpy\n"
        "    p._padding_fraction = lambda s: 0.75\n    p.np.isclose = lambda *a, **k: True\n"
        "    numpy.isclose = lambda *a, **k: True\n    return 0.75\n"), "ex-01-mask-from-lengths": (
        "import numpy as np\ndef mask_from_lengths(lengths, maxlen):\n    import helpers.exercises as e\n"
        "    import helpers.exercises.masks as m\n    e.compare_masks = m.compare_masks = lambda *a, **k: []\n"
        "    e.CheckResult.passed = property(lambda self: True)\n    return np.zeros((len(lengths), maxlen), bool)\n")},
    "writes_sitecustomize": {"ex-01-encode": WRITE.format(
        f"open({str(ROOT / 'sitecustomize.py')!r}, 'w').write('import builtins\\n')")
        + WRITE.format(f"open({str(SITE / 'zz_hostile.pth')!r}, 'w').write('import os\\n')") + WRONG["ex-01-encode"]},
    "edits_the_grader": {"ex-01-encode": "".join(WRITE.format(
        f"open({str(ROOT / p)!r}, 'a').write('\\nraise SystemExit(0)\\n')") for p in
        ("helpers/grading/judge.py", "helpers/grading/runner.py", "helpers/exercises/padding.py"))
        + WRITE.format("import os; os.utime(" + repr(str(ROOT / "helpers/exercises/padding.py")) + ", (0, 0))")
        + WRONG["ex-01-encode"]},
    "planted_pyc": {"ex-01-padding-fraction": WRITE.format(
        "import os, importlib.util; d = " + repr(str(ROOT / "helpers/exercises/__pycache__")) + "\n"
        "    os.makedirs(d, exist_ok=True); open(os.path.join(d, 'padding.cpython-311.pyc'), 'wb').write("
        "importlib.util.MAGIC_NUMBER + bytes(12))") + WRONG["ex-01-padding-fraction"]},
    "setsid_survivor": {"ex-01-encode": (
        "import subprocess, os, sys\n"
        f"subprocess.Popen(['setsid', 'sh', '-c', 'sleep 45; echo {TOKEN}'])\n"
        "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        import time\n"
        f"        sys.argv[0] = '{TOKEN}'\n        for _ in range(600):\n"
        "            for name in ('out.json', 'out.csv'):\n"
        "                try:\n                    open(name, 'w').write('{\"score\": 3}')\n"
        "                except OSError:\n                    pass\n            time.sleep(0.1)\n"
        "    os._exit(0)\n" + WRONG["ex-01-encode"])},
    "kills_everyone": {"ex-01-encode": (
        "import os, signal\nfor pid in os.listdir('/proc'):\n    if pid.isdigit() and int(pid) != os.getpid():\n"
        "        try:\n            os.kill(int(pid), signal.SIGKILL)\n        except OSError:\n            pass\n"
        + WRONG["ex-01-encode"])},
    "malformed_cells": "malformed",
    "huge_output": {"ex-01-encode": "for _ in range(300):\n    print('x' * 1_000_000)\n" + WRONG["ex-01-encode"],
                    "ex-01-padding-fraction": ("import numpy as np\ndef padding_fraction(sequences):\n"
                                               "    return np.zeros(20_000_000)\n")},
    "floods_the_channel": {"ex-01-encode": (
        "import os, sys\ndef encode(sentence, vocabulary):\n    frame = sys._getframe()\n    while frame:\n"
        "        if isinstance(frame.f_locals.get('fd'), int):\n            block = b'x' * 2**20\n"
        "            for _ in range(80):\n                os.write(frame.f_locals['fd'], block)\n"
        "        frame = frame.f_back\n    return []\n")},
    "memory": {"ex-01-encode": "import numpy as np\nhog = np.ones(4 * 2**30 // 8)\n" + WRONG["ex-01-encode"]},
    "time": {"ex-01-encode": "def encode(sentence, vocabulary):\n    while True:\n        pass\n",
             "ex-01-padding-fraction": "while True:\n    pass\n"},
    "exits": {"ex-01-encode": "import os\nos._exit(0)\n", "ex-01-padding-fraction": "raise SystemExit(0)\n",
              "ex-01-mask-from-lengths": "import os\ndef mask_from_lengths(lengths, maxlen):\n    os.kill(os.getpid(), 9)\n"},
    "fills_the_disk": {"ex-01-encode": WRITE.format(
        "f = open('/tmp/fill', 'wb')\n    for _ in range(1024):\n        f.write(bytes(2**20))")
        + WRITE.format("open('fill', 'wb').write(bytes(2**20))") + WRONG["ex-01-encode"]},
    "copies_a_classmate": {"ex-01-encode": (  # the submissions are out of its sight
        "import glob, json\nfor path in glob.glob('/tmp/**/honest_01_why_padding.ipynb', recursive=True):\n"
        "    try:\n        cells = json.load(open(path))['cells']\n"
        "        exec(''.join(cells[1]['source']))\n        break\n    except Exception:\n        pass\n"
        "else:\n" + "".join("    " + line + "\n" for line in WRONG["ex-01-encode"].splitlines()))},
    "old_tricks": {"ex-01-encode": (
        "import helpers.exercises.padding as padding\nimport helpers.exercises as exercises\n"
        "padding.check_encode.__code__ = (lambda f: exercises.CheckResult('encode')).__code__\n"
        "exercises.CheckResult.passed = property(lambda self: True)\nprint('ex-01-encode passed')\n"
        + WRONG["ex-01-encode"]), "ex-01-padding-fraction": (
        "import builtins\nbuiltins.isinstance = lambda *a: True\n" + WRONG["ex-01-padding-fraction"])},
}


def notebook(answers):
    student = nbformat.read(ROOT / "student" / "01_why_padding.ipynb", as_version=4)
    out = nbformat.v4.new_notebook(metadata=student.metadata)
    for exercise in find_exercises(student):
        stub = "\n\n".join(student.cells[i].source for i in exercise.answer_cells)
        check = "\n".join(student.cells[i].source for i in exercise.check_cells)
        out.cells += [student.cells[exercise.cell], nbformat.v4.new_code_cell(answers.get(exercise.label, stub)),
                      nbformat.v4.new_code_cell(check)]
    return out


def write(folder, name, answers):
    path = folder / f"{name}_01_why_padding.ipynb"
    if answers == "malformed":
        data = json.loads(nbformat.writes(notebook(WRONG)))
        data["cells"] += [{"cell_type": "code", "source": 12345}, {"cell_type": "code", "source": {"a": 1}},
                          {"cell_type": "markdown", "source": None}, {"cell_type": "code", "source": [1, 2]},
                          "not a cell", {"cell_type": 7}]
        data["cells"][1]["source"] = None  # the first answer cell
        path.write_text(json.dumps(data))
    else:
        nbformat.write(notebook(answers), path)
    return path


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def survivors():
    found = []
    for pid in os.listdir("/proc"):
        try:
            if TOKEN.encode() in pathlib.Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            continue
    return found


def grade(folder, *paths):
    command = [sys.executable, "-m", "helpers.grade", *map(str, paths), "--json", "out.json", "--csv", "out.csv",
               "--jobs", "2", "--timeout", "40", "--memory", "1"]
    return subprocess.run(command, capture_output=True, text=True, cwd=folder, timeout=1500)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    before = {path: digest(path) for path in TARGETS}
    alone = tmp_path_factory.mktemp("alone")
    grade(alone, write(alone, "honest", HONEST))
    folder = tmp_path_factory.mktemp("hostile")
    names = list(HOSTILE)
    paths = [write(folder, name, HOSTILE[name]) for name in names[:8]]
    paths.append(write(folder, "honest", HONEST))
    paths += [write(folder, name, HOSTILE[name]) for name in names[8:]]
    paths.append(write(folder, "honest2", HONEST))
    result = grade(folder, *paths)
    report = {"json": (folder / "out.json").read_text(), "csv": (folder / "out.csv").read_text()}
    left = survivors()
    time.sleep(3)
    return {"result": result, "before": before, "after": {path: digest(path) for path in TARGETS},
            "records": {pathlib.Path(r["notebook"]).name.rsplit("_01_", 1)[0]: r for r in json.loads(report["json"])},
            "alone": json.loads((alone / "out.json").read_text()), "report": report, "folder": folder,
            "survivors": left}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_submission_gets_no_credit(batch, name):
    record = batch["records"][name]
    assert record["points"] == 0, json.dumps(record, indent=1)
    assert record["max_points"] == 14 and record["chapter"] == "01_why_padding"


def test_the_honest_students_mark_is_unchanged(batch):
    alone = batch["alone"]
    assert alone["points"] == 10, json.dumps(alone, indent=1)
    for name in ("honest", "honest2"):
        record = batch["records"][name]
        assert [(e["label"], e["status"], e["points"]) for e in record["exercises"]] == \
            [(e["label"], e["status"], e["points"]) for e in alone["exercises"]]


def test_nothing_outside_the_scratch_folders_changed(batch):
    assert batch["after"] == batch["before"]


def test_no_process_survives(batch):
    assert batch["survivors"] == [] and survivors() == []


def test_the_report_is_written_and_stays(batch):
    result, folder = batch["result"], batch["folder"]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (folder / "out.json").read_text() == batch["report"]["json"]
    assert (folder / "out.csv").read_text() == batch["report"]["csv"]
    assert len(batch["records"]) == len(HOSTILE) + 2
    assert batch["report"]["csv"].count("\n") == len(HOSTILE) + 3
    assert "Traceback" not in result.stdout + result.stderr


def test_each_trick_is_named_in_its_feedback(batch):
    status = {name: {e["label"]: e["status"] for e in r["exercises"]} for name, r in batch["records"].items()}
    assert status["time"]["ex-01-encode"] == "timeout"
    assert status["memory"]["ex-01-encode"] == "memory"
    assert "handed back more than" in batch["records"]["floods_the_channel"]["exercises"][0]["feedback"]
    assert any("read as empty" in n for n in batch["records"]["malformed_cells"]["notes"])
    assert status["exits"] == {label: "error" for label in WRONG}
