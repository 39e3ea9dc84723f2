"""Debian packages the test suite drives (chromium, bubblewrap): install one, or report it missing.

Used by tools/browser.py (`make browser`) and tools/bubblewrap.py (`make sandbox`).
"""

import os
import shutil
import subprocess
import sys


def as_root():
    """The prefix that runs a command as root: none when root, ``sudo -n`` on CI (GitHub's
    runners allow it), else None (no way to install)."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return []
    if os.environ.get("CI") == "true" and shutil.which("sudo"):
        return ["sudo", "-n"]
    return None


def apt_install(tool, package, root):
    """``apt-get update`` and ``install package`` with the ``root`` prefix; failures are left to
    the caller, which looks for the program afterwards."""
    print(f"{tool}: installing Debian's {package} package ...", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run([*root, "apt-get", "update", "-qq"], check=False, env=env)
    subprocess.run([*root, "apt-get", "install", "-y", "-qq", package], check=False, env=env,
                   stdout=subprocess.DEVNULL)


def report(tool, path, missing, without):
    """The exit status of ``ensure``: 0 with the path when found; when not, ``missing`` (how to
    install it) and 1 on CI (a failure there), else 0 and ``without`` (what is skipped)."""
    if path:
        print(f"{tool}: {path}")
        return 0
    if os.environ.get("CI") == "true":
        print(f"{tool}: {missing} On CI this is a failure.", file=sys.stderr)
        return 1
    print(f"{tool}: {missing} {without}")
    return 0


def main(ensure, doc):
    """``python tools/<name>.py ensure``."""
    if sys.argv[1:] != ["ensure"]:
        sys.exit(doc)
    sys.exit(ensure())
