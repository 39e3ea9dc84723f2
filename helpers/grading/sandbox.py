"""Run a grading process in a sandbox, with caps, and make sure nothing of it survives.

The student process runs under Debian's ``bubblewrap`` (``bwrap``) when it works here:
the whole file system read-only (``--ro-bind / /``), a private ``/tmp`` of at most
``SCRATCH_BYTES`` as its only writable scratch folder (a tmpfs: it vanishes with the
sandbox), fresh ``/dev`` and ``/proc``, no network and no other process in sight
(``--unshare-all``), in a session of its own (``--new-session``), killed when its
parent dies (``--die-with-parent``); when the sandbox's first process ends, the kernel
ends every other process of its PID namespace. Install it with ``apt-get install
bubblewrap`` (``make sandbox`` does so as root; ``python tools/bubblewrap.py ensure``).

Without it, the grader refuses to grade unless the teacher passes ``--unsafe``; then
each process runs in a session of its own under the grader, which is a child
subreaper (orphans come back to it) and kills every process that is left, and
:func:`file_state` hashes what the judge loads before and after each submission.

Every process gets a wall-clock limit (a start-up allowance, then ``timeout`` after
it says ``ready``), a memory cap (the resident memory of all its processes, polled)
and a cap on what it may hand back (``MAX_OUTPUT``). :func:`run` returns what came
back and why it stopped; it never raises for what the process did. Used by the grader
(:mod:`helpers.grade`) and ``tools/bubblewrap.py``.
"""

import ctypes
import hashlib
import os
import pathlib
import select
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time

MAX_OUTPUT = 64 * 1024 * 1024
SCRATCH_BYTES = 256 * 1024 * 1024
MEMORY_BYTES = 6 * 1024 ** 3
POLL_S = 0.2
PAGE = os.sysconf("SC_PAGE_SIZE")
_LOCK = threading.RLock()
_KNOWN = set()  # pids of the processes the grader started and still waits for
_BWRAP = {}


def bwrap():
    """The path of a working ``bwrap``, or None (tried once per process)."""
    if "path" not in _BWRAP:
        path = shutil.which("bwrap")
        if path:
            try:
                probe = subprocess.run([path, *_BWRAP_ARGS, "--", "true"], capture_output=True, timeout=60)
                path = path if probe.returncode == 0 else None
            except (OSError, subprocess.TimeoutExpired):
                path = None
        _BWRAP["path"] = path
    return _BWRAP["path"]


_BWRAP_ARGS = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--size", str(SCRATCH_BYTES),
               "--tmpfs", "/tmp", "--unshare-all", "--die-with-parent", "--new-session", "--chdir", "/tmp"]


#: Folders the student process needs that may lie under /tmp, which the private /tmp hides:
#: the checkout (helpers/, chapters/) and the Python environment (a clone made in /tmp).
_NEEDED = [pathlib.Path(__file__).resolve().parents[2], pathlib.Path(sys.prefix).resolve()]


def sandboxed(command, read_only=(), hidden=()):
    """``command`` inside bubblewrap; ``read_only`` folders under /tmp are bound back, read-only,
    and so are the checkout and the environment when they lie there; each of the ``hidden``
    files (the submissions, the hidden cases) reads as empty there."""
    under_tmp = [folder for folder in _NEEDED if folder.parts[:2] == ("/", "tmp")]
    binds = [arg for folder in [*under_tmp, *read_only] for arg in ("--ro-bind", str(folder), str(folder))]
    for path in hidden:
        if os.path.isfile(path):
            binds += ["--ro-bind", "/dev/null", os.path.realpath(path)]
    return [bwrap(), *_BWRAP_ARGS, *binds, "--setenv", "HOME", "/tmp", "--", *command]


def become_subreaper():
    """Make this process the child subreaper of its descendants (Linux), so that an orphan
    (a double fork, a ``setsid`` child) is re-parented to it and can be ended."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def _processes():
    """pid -> (parent pid, start time) of every process."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            table[int(entry)] = (int(fields[1]), int(fields[19]))
        except (OSError, IndexError, ValueError):
            continue
    return table


def _tree(root, table):
    """The processes descending from ``root`` (itself included): {pid: start time}."""
    children = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, stack = {}, [root]
    while stack:
        pid = stack.pop()
        if pid in table and pid not in found:
            found[pid] = table[pid][1]
            stack += children.get(pid, [])
    return found


def _resident(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as handle:
                total += int(handle.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


def _kill(pids):
    """SIGKILL each (pid, start time) still alive as that same process; returns those alive."""
    table = _processes()
    alive = [pid for pid, start in pids.items() if pid in table and table[pid][1] == start]
    for pid in alive:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return alive


def sweep_orphans():
    """Kill and reap the grader's children it did not start (orphans re-parented to it)."""
    for _ in range(100):
        with _LOCK:
            me = os.getpid()
            strays = {pid: start for pid, (parent, start) in _processes().items()
                      if parent == me and pid not in _KNOWN}
            _kill(strays)
        for pid in strays:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        if not strays:
            return


class _Reader:
    """Reads a file descriptor up to a cap; notes the ``ready`` line."""

    def __init__(self, fd, cap):
        self.fd, self.cap, self.data, self.closed, self.ready_at = fd, cap, bytearray(), False, None

    def poll(self, wait):
        """Wait up to ``wait`` seconds for data, then read all there is (up to the cap)."""
        if self.closed:
            time.sleep(wait)
            return
        while len(self.data) <= self.cap and select.select([self.fd], [], [], wait)[0]:
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                self.closed = True
                break
            self.data += chunk
            if self.ready_at is None and b"\n" in self.data:
                self.ready_at = time.monotonic()
            wait = 0


def _feed(pipe, data):
    try:
        pipe.write(data)
        pipe.close()
    except (BrokenPipeError, OSError, ValueError):
        pass


def run(command, stdin=b"", timeout=60.0, startup=300.0, memory=MEMORY_BYTES, output=MAX_OUTPUT,
        channel="fd", env=None, cwd=None):
    """Run ``command`` (``{fd}`` in it stands for the channel's file descriptor when
    ``channel="fd"``; else the channel is its standard output) and collect the channel.

    Returns a dict: ``stop`` (``exited``, ``timeout``, ``memory`` or ``output``),
    ``data`` (bytes read), ``returncode``, ``survivors`` (processes that had to be
    killed after it ended: none may be left when this returns).
    """
    read_end, write_end = os.pipe()
    if channel == "fd":
        command = [part.replace("{fd}", str(write_end)) for part in command]
    with _LOCK:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, cwd=cwd, env=env, start_new_session=True,
                                   stdout=write_end if channel == "stdout" else subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, pass_fds=(write_end,) if channel == "fd" else ())
        _KNOWN.add(process.pid)
    os.close(write_end)
    threading.Thread(target=_feed, args=(process.stdin, stdin), daemon=True).start()
    reader, seen, stop = _Reader(read_end, output), {}, "exited"
    started = time.monotonic()
    try:
        while True:
            reader.poll(POLL_S)
            tree = _tree(process.pid, _processes())
            seen.update(tree)
            ready = reader.ready_at if channel == "fd" else None
            limit = ready + timeout if ready else started + startup + timeout
            if len(reader.data) > output:
                stop = "output"
            elif _resident(tree) > memory:
                stop = "memory"
            elif time.monotonic() > limit:
                stop = "timeout"
            elif reader.closed and process.poll() is not None:
                break
            else:
                continue
            break
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        _kill(seen)
        process.wait()
        os.close(read_end)
        with _LOCK:
            _KNOWN.discard(process.pid)
    survivors = _kill(seen)
    sweep_orphans()
    deadline = time.monotonic() + 10
    while _kill(seen) and time.monotonic() < deadline:
        time.sleep(0.05)
    return {"stop": stop, "data": bytes(reader.data[:output]), "returncode": process.returncode,
            "survivors": len(survivors), "seconds": time.monotonic() - started}


def watched_folders(root):
    """The folders whose files the judge may load: the checkout, the interpreter's
    standard library and site-packages (where ``.pth`` and ``sitecustomize`` live)."""
    paths = sysconfig.get_paths()
    folders = {pathlib.Path(root).resolve()}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        if key in paths and os.path.isdir(paths[key]):
            folders.add(pathlib.Path(paths[key]).resolve())
    return sorted(folders)


def file_state(folders, skip=(".git", "_build", "node_modules")):
    """{path: (size, mtime, ctime, inode)} of every file under ``folders`` (ctime cannot be
    set back by a process of the same user, so an edit is seen even if mtime is restored)."""
    state = {}
    for folder in folders:
        for directory, subfolders, files in os.walk(folder):
            subfolders[:] = [d for d in subfolders if d not in skip]
            for name in files:
                path = os.path.join(directory, name)
                try:
                    info = os.lstat(path)
                except OSError:
                    continue
                state[path] = (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)
    return state


def changed(before, after):
    """The paths added, removed or changed between two :func:`file_state` results."""
    return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))


def tree_digest(folder):
    """A SHA-256 of every file under ``folder`` (names and contents)."""
    digest = hashlib.sha256()
    for path in sorted(pathlib.Path(folder).rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def python_command(*arguments):
    """The interpreter in isolated mode, writing no bytecode."""
    return [sys.executable, "-I", "-B", *arguments]
