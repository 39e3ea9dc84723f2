"""Find (and on CI install) the bubblewrap sandbox the grader runs student code in.

    python tools/bubblewrap.py ensure    print bwrap's path; install Debian's `bubblewrap`
                                      package when it is missing and we are root

`python -m helpers.grade` runs every student process under `bwrap` (read-only file
system, a private scratch /tmp, no network, its own PID namespace) and refuses to grade
without it unless `--unsafe` is given. Elsewhere install it with your package manager:
`sudo apt-get install bubblewrap` (Debian, Ubuntu), `sudo dnf install bubblewrap`
(Fedora). On CI (CI=true) a missing or broken bwrap is a failure, not a skip: the
grader's hostile-submission tests need it.
"""

import pathlib
import shutil
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import debian_package  # noqa: E402

from helpers.grading.sandbox import bwrap  # noqa: E402

USERNS = pathlib.Path("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")


def _install(root):
    from helpers.grading import sandbox

    if not shutil.which("bwrap"):
        debian_package.apt_install("sandbox", "bubblewrap", root)
    sandbox._BWRAP.clear()
    if not bwrap() and USERNS.exists() and USERNS.read_text().strip() == "1":
        # Ubuntu 24.04 keeps unprivileged user namespaces (which bwrap needs) behind AppArmor.
        print("sandbox: allowing unprivileged user namespaces (Ubuntu's AppArmor restriction)", flush=True)
        subprocess.run([*root, "sysctl", "-w", "kernel.apparmor_restrict_unprivileged_userns=0"], check=False)
        sandbox._BWRAP.clear()
    return bwrap()


def ensure():
    path = bwrap()
    root = debian_package.as_root()
    if not path and root is not None and shutil.which("apt-get"):
        path = _install(root)
    return debian_package.report(
        "sandbox", path, "no working bubblewrap (bwrap). Install it (Debian/Ubuntu: `sudo apt-get install "
        "bubblewrap`); where unprivileged user namespaces are off, bwrap must be setuid or run as root.",
        "The grader's sandbox tests will be skipped, and the grader needs --unsafe.")


if __name__ == "__main__":
    debian_package.main(ensure, __doc__)
