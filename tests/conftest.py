"""Shared pytest set-up.

- quiets TensorFlow before any test imports it, and fixes Python's string hashing
  for the kernels nbval starts (so a printed set of strings has one order);
- `site`: the website, built once per session with warnings as errors;
- `site_server`: that site served on 127.0.0.1 in a thread;
- `browser`: headless Chromium driven by Playwright (skipped, or on CI failed,
  when no Chromium is installed);
- a timing report at the end of every run: how long each stage took (unit tests,
  notebook hygiene, nbval per chapter, the site build, the browser, actionlint);
- the report lists nbval's seconds per chapter and marks those over the per-chapter
  budget (BOOK_CHAPTER_BUDGET_S, 60 s): a figure to read, never a failure (a busy machine
  is not a bug). `make test` runs nbval in a pytest of its own on both cores
  (pytest-xdist, `-n 2 --dist loadfile`: one chapter per worker at a time). Under xdist
  the hooks below run in the controller, which hears every worker's reports.
"""

import functools
import http.server
import importlib.util
import json
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("PYTHONHASHSEED", "0")  # inherited by the kernels nbval starts
sys.path.insert(0, os.path.dirname(__file__))

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "tests" / "screenshots"
ON_CI = os.environ.get("CI", "").lower() == "true"

# What the terminal summary reports; filled by the hooks and fixtures below.
_DURATIONS = defaultdict(float)  # file part of a node id -> seconds (setup + call + teardown)
_COUNTS = defaultdict(int)  # file part of a node id -> number of tests
_NBVAL = {}  # chapter path -> seconds, nbval items only
_NBVAL_SPAN = []  # [first start, last stop] of nbval's reports (epoch seconds): its wall-clock time
_EXTRA = {}  # "site build" -> (seconds, node id of the test whose set-up paid for it)
SITE_REPORT = {"blocked": defaultdict(int), "pages": 0, "screenshots": None}
_SESSION_START = [time.perf_counter()]


def tool(name):
    """Import tools/<name>.py (the tools folder is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"book_tools_{name}", ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def missing(what, how):
    """Skip a test for want of a tool; on CI (CI=true) fail instead."""
    if ON_CI:
        pytest.fail(f"{what} is missing, and on CI (CI=true) that is a failure. {how}", pytrace=False)
    pytest.skip(f"{what} is missing: {how}")


# --------------------------------------------------------------------------- the site


class Site:
    """A built copy of the website."""

    def __init__(self, command, returncode, log, html):
        self.command = command
        self.returncode = returncode
        self.log = log
        self.html = html

    def warnings(self):
        return [line for line in self.log.splitlines() if "WARNING" in line or "ERROR" in line]


def build_book(source, output, timeout=900):
    """Build the book in ``source`` into ``output``/_build/html with warnings as errors.

    Returns a :class:`Site`; the caller decides what a failure means.
    """
    jupyter_book = pathlib.Path(sys.executable).with_name("jupyter-book")
    command = [str(jupyter_book), "build", str(source), "--path-output", str(output),
               "--warningiserror", "--nitpick", "--keep-going"]
    env = dict(os.environ, NO_COLOR="1", TERM="dumb")
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, cwd=source)
    return Site(command, result.returncode, result.stdout + result.stderr,
                pathlib.Path(output) / "_build" / "html")


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """The book built once per session (into a temporary folder, not _build/)."""
    start = time.perf_counter()
    built = build_book(ROOT, tmp_path_factory.mktemp("site"))
    _EXTRA["site build"] = (time.perf_counter() - start, os.environ.get("PYTEST_CURRENT_TEST", ""))
    return built


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002  (the base class's name)
        pass


@pytest.fixture(scope="session")
def site_server(site):
    """Serve the built site on 127.0.0.1 (a free port); yields its base URL ending in /."""
    if not (site.html / "index.html").exists():
        pytest.fail(f"the book build produced no index.html:\n{site.log[-3000:]}", pytrace=False)
    handler = functools.partial(_QuietHandler, directory=str(site.html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (Debian's package, found by tools/browser.py) under Playwright."""
    how = ("install Debian's chromium (`make browser` does it as root, or `sudo apt-get install "
           "chromium`) or set CHROMIUM=/path/to/chromium")
    executable = tool("browser").find_chromium()
    if not executable:
        missing("Chromium", how)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright package", "pip install -r requirements.txt")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def screenshots():
    """tests/screenshots/, emptied of last run's pictures."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    SITE_REPORT["screenshots"] = SCREENSHOTS
    return SCREENSHOTS


@pytest.fixture(scope="session")
def site_report():
    """What the browser tests report at the end of the run (blocked requests, pages)."""
    return SITE_REPORT


# --------------------------------------------------------------------------- timings


def _is_chapter(path):
    return path.startswith("chapters/") and path.endswith(".ipynb")


def chapter_budget_seconds():
    """The per-chapter nbval budget the timing report marks (BOOK_CHAPTER_BUDGET_S, default 60)."""
    return float(os.environ.get("BOOK_CHAPTER_BUDGET_S", "60"))


def pytest_sessionstart(session):
    _SESSION_START[0] = time.perf_counter()


class _Durations:
    """Adds up every test's duration by file. Registered as a plugin of its own: a hook in
    this conftest would only hear of tests under tests/, not of nbval's chapter cells."""

    def pytest_runtest_logreport(self, report):
        path = report.nodeid.split("::")[0]
        _DURATIONS[path] += report.duration
        if report.when == "call":
            _COUNTS[path] += 1
        if _is_chapter(path):
            _NBVAL[path] = _NBVAL.get(path, 0.0) + report.duration
            start, stop = getattr(report, "start", None), getattr(report, "stop", None)
            if start is not None and stop is not None:
                if not _NBVAL_SPAN:
                    _NBVAL_SPAN.extend([start, stop])
                _NBVAL_SPAN[0], _NBVAL_SPAN[1] = min(_NBVAL_SPAN[0], start), max(_NBVAL_SPAN[1], stop)


def pytest_configure(config):
    if not config.pluginmanager.has_plugin("book-durations"):
        config.pluginmanager.register(_Durations(), "book-durations")


_STAGES = {
    "tests/test_notebooks.py": "notebook hygiene",
    "tests/test_build.py": "site build",
    "tests/test_site.py": "browser",
    "tests/test_workflows.py": "actionlint",
    "tests/test_checks_catch_breakage.py": "breakage checks",
    "tests/test_hygiene_catch_breakage.py": "breakage checks",
}


def _stage(path):
    if _is_chapter(path):
        return "nbval"
    return _STAGES.get(path, "unit tests")


def _nbval_wall():
    return _NBVAL_SPAN[1] - _NBVAL_SPAN[0] if _NBVAL_SPAN else None


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _DURATIONS:
        return
    durations = dict(_DURATIONS)
    stages = defaultdict(float)
    files = defaultdict(list)
    for path, seconds in durations.items():
        stages[_stage(path)] += seconds
        files[_stage(path)].append((path, seconds))
    build = _EXTRA.get("site build")
    if build:
        seconds, paid_by = build
        payer = paid_by.split("::")[0]
        if payer in durations and _stage(payer) != "site build":
            stages[_stage(payer)] -= seconds
            stages["site build"] += seconds
    write = terminalreporter.write_line
    terminalreporter.write_sep("=", "timing report (seconds)")
    order = ["unit tests", "notebook hygiene", "nbval", "site build", "browser", "actionlint", "breakage checks"]
    for stage in order:
        if stage not in stages:
            continue
        note = ""
        if stage == "nbval":
            note = f"  ({len(_NBVAL)} chapters, summed; chapters over the {chapter_budget_seconds():.0f} s budget are marked)"
        elif stage == "site build" and build:
            note = f"  (jupyter-book build -W --nitpick, once: {build[0]:.1f} s)"
        elif stage == "browser" and SITE_REPORT["screenshots"]:
            shots = len(list(SITE_REPORT["screenshots"].glob("*.png")))
            note = f"  ({shots} screenshots in {SITE_REPORT['screenshots'].relative_to(ROOT)}/)"
        write(f"{stage:<22}{stages[stage]:8.1f}{note}")
        entries = sorted(files[stage])
        if stage == "nbval" or len(entries) > 1:
            for path, seconds in entries:
                count = f"  ({_COUNTS[path]} cells)" if stage == "nbval" else f"  ({_COUNTS[path]} tests)"
                if stage == "nbval" and seconds > chapter_budget_seconds():
                    count += "  OVER BUDGET (a figure, not a failure: was the machine busy?)"
                write(f"    {path:<48}{seconds:8.1f}{count}")
    if _NBVAL and _nbval_wall() is not None:
        wall, total = _nbval_wall(), sum(_NBVAL.values())
        workers = getattr(config.option, "numprocesses", None) or 1
        write(f"nbval wall-clock {wall:.1f} s, sum of the chapters' own times {total:.1f} s, "
              f"ratio {wall / total:.2f} (workers: {workers}; goal with 2 workers: <= 0.60)")
    write(f"{'whole session':<22}{time.perf_counter() - _SESSION_START[0]:8.1f}")
    if SITE_REPORT["blocked"]:
        hosts = ", ".join(f"{host} ({n})" for host, n in sorted(SITE_REPORT["blocked"].items()))
        write(f"browser: requests to other hosts were blocked (no network): {hosts}")


# --------------------------------------------------------------------------- the public index


@pytest.fixture(scope="session")
def public_pip(tmp_path_factory):
    """Resolve requirements as a reader's pip would: no local wheel folder, no mirror, PyPI only
    (skipped, on CI failed, when PyPI cannot be reached)."""
    try:
        socket.create_connection(("pypi.org", 443), timeout=10).close()
    except OSError as error:
        missing("a connection to pypi.org", f"the public index cannot be reached here ({error})")
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1")
    folder = tmp_path_factory.mktemp("pip")

    def resolve(*args):
        """What pip would install for ``args``, with a clean configuration and PyPI only: {name: version}."""
        report = folder / "report.json"
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                   "--index-url", "https://pypi.org/simple", "--report", str(report), *args]
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, f"pip could not resolve {args} from the public index:\n{result.stderr[-3000:]}"
        return {item["metadata"]["name"].lower(): item["metadata"]["version"]
                for item in json.loads(report.read_text())["install"]}

    return resolve
