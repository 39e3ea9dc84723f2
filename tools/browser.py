"""Find (and on CI install) the headless Chromium the site tests drive.

    python tools/browser.py ensure    print the browser's path; install Debian's
                                      `chromium` when it is missing and we are root

The site tests need Debian's `chromium` package (a test tool's own browser
download does not work offline). Elsewhere install it with your package manager,
e.g. `sudo apt-get install chromium`, or set CHROMIUM=/path/to/chrome.
"""

import os
import shutil
import subprocess
import sys

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
    if path:
        print(f"browser: {path}")
        return 0
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        print("browser: installing Debian's chromium package ...", flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        path = find_chromium()
        if path:
            print(f"browser: {path}")
            return 0
    message = ("browser: Chromium not found. Install it (Debian/Ubuntu: `sudo apt-get install chromium`) "
               "or set CHROMIUM=/path/to/chromium.")
    if os.environ.get("CI") == "true":
        print(message + " On CI this is a failure.", file=sys.stderr)
        return 1
    print(message + " The browser tests will be skipped.")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] != ["ensure"]:
        sys.exit(__doc__)
    sys.exit(ensure())
