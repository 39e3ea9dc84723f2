"""Find (and on CI install) the headless Chromium the site tests drive.

    python tools/browser.py ensure    print the browser's path; install Debian's
                                      `chromium` when it is missing and we are root

The site tests need Debian's `chromium` package (a test tool's own browser
download does not work offline). Elsewhere install it with your package manager,
e.g. `sudo apt-get install chromium`, or set CHROMIUM=/path/to/chrome.
"""

import os
import pathlib
import shutil
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import debian_package  # noqa: E402

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def _runs(path):
    """Whether ``path --version`` answers (Ubuntu's chromium-browser can be a snap stub that fails)."""
    try:
        result = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def find_chromium():
    """Return the path of a working Chromium (or Chrome) executable, or None.

    CHROMIUM=/path/to/chromium wins; otherwise the first of CANDIDATES on PATH that runs.
    """
    explicit = os.environ.get("CHROMIUM")
    if explicit and os.access(explicit, os.X_OK):
        return explicit
    for name in CANDIDATES:
        path = shutil.which(name)
        if path and _runs(path):
            return path
    return None


def ensure():
    path = find_chromium()
    root = debian_package.as_root()
    if not path and root == [] and shutil.which("apt-get"):
        debian_package.apt_install("browser", "chromium", root)
        path = find_chromium()
    return debian_package.report(
        "browser", path, "Chromium not found. Install it (Debian/Ubuntu: `sudo apt-get install chromium`) "
        "or set CHROMIUM=/path/to/chromium.", "The browser tests will be skipped.")


if __name__ == "__main__":
    debian_package.main(ensure, __doc__)
