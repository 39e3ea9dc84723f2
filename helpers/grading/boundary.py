"""Record a check's calls into the student's code, and replay them in the judge.

A check (``check_encode(encode)``, ``check_double(Double)``, ...) calls the student's
object with inputs it makes, and compares what comes back. The grader runs it twice:

1. in the **student process** (sandboxed, :mod:`helpers.grading.runner`), with each of
   the student's objects wrapped in a proxy that *records*: every call and every
   attribute read on it is performed on the real object, and what came back is
   turned into plain data (:mod:`helpers.grading.plain`); the check is handed the
   value rebuilt from that data, exactly what the judge will see. A value that is not
   data (an instance of the student's own class, a bound method) becomes a new
   node whose own calls are recorded in turn; an exception becomes its type name
   and message; the warnings a call raised are recorded and raised again;
2. in the **judge** (:mod:`helpers.grading.judge`), which never runs student code, with
   proxies that *replay*: each call is answered from the log, node by node and in
   order, after checking that its arguments match the recorded ones (a mismatch
   ends the check with :class:`ReplayMismatch`, which the judge reports as an error).

So any check written in the book's style works unchanged: it calls the student's
function, class or model factory, and compares results. A Keras model made of Keras's
and the book's layers crosses as its config and weights; a layer of the student's own
class crosses as an :class:`~helpers.grading.bridge.AnswerLayer`, a stand-in whose calls
are recorded and replayed, so a check may also call it, build a model around it or
clone a model with it.

What a check must do to cross (no registration is needed):

- get everything from the student's code through calls, attribute reads and the
  values they return (not through the identity of objects, nor through arguments the
  student's code changes in place: pass copies, as the book's checks do);
- make the same calls with the same arguments every time (seed what it draws);
- and the book's solution must run on its own, after the chapter's imports: the judge
  runs it to count the test cases. ``tests/test_grade_boundary.py`` tries every
  exercise of every chapter this way. What a student's code does
in its own process (patching NumPy, the check or ``CheckResult``, walking the stack,
returning an object whose ``__eq__`` is always true) cannot reach the judge: only
plain data does, and the judge's check decides.

Used by the grader's student process and its judge.

Example:
    >>> recorder = Session(record=True)
    >>> twice = recorder.root("twice", lambda x: 2 * x)
    >>> twice(3), twice(4)
    (6, 8)
    >>> judge = Session(record=False, log=recorder.data())
    >>> replayed = judge.root("twice")
    >>> replayed(3), replayed(4)
    (6, 8)
"""

import builtins
import warnings

from helpers.grading.plain import BRIDGE, NotPlain, fingerprint, from_plain, to_plain

MAX_OPS = 20_000
MESSAGE_CHARS = 2000


class ReplayMismatch(BaseException):
    """The judge's check asked the student's code something its run did not record.

    A BaseException: a check's ``except Exception`` (which turns the student's errors
    into feedback) does not catch it.
    """


def rebuilt_exception(name, message):
    """An exception of the student's code, rebuilt from its type name and message: the
    built-in exception of that name when it is one (``ValueError``), else a new class
    of that name derived from Exception (``SystemExit`` included: it is feedback)."""
    name = str(name)[:100] or "Exception"
    cls = getattr(builtins, name, None)
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        cls = type(name, (Exception,), {"__module__": "answer"})
    try:
        return cls(str(message)[:MESSAGE_CHARS])
    except Exception:  # noqa: BLE001 - an exception class whose constructor wants more arguments
        return type(name, (Exception,), {"__module__": "answer"})(str(message)[:MESSAGE_CHARS])


def _warn(recorded):
    for category, message in recorded:
        cls = getattr(builtins, str(category), None)
        if not (isinstance(cls, type) and issubclass(cls, Warning)):
            cls = UserWarning
        warnings.warn(str(message), cls, stacklevel=3)


class _ObjectProxy:
    """A student's object (or one of its results that is not data), seen through a session."""

    __slots__ = ("_session", "_node", "_name")

    def __init__(self, session, node, name):
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_node", node)
        object.__setattr__(self, "_name", name)

    def __call__(self, *args, **kwargs):
        real = self._session.real(self._node)
        return self._session.op(self._node, "call", fingerprint((args, kwargs)),
                                lambda: real(*args, **kwargs))

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        real = self._session.real(self._node)
        return self._session.op(self._node, "getattr", name, lambda: getattr(real, name))

    def __repr__(self):
        return f"<{self._name} object>"


def _class_proxy(session, node, name):
    """A class standing for the student's class: calling it makes an instance (recorded)."""

    class _Meta(type):
        def __call__(cls, *args, **kwargs):
            real = session.real(node)
            return session.op(node, "call", fingerprint((args, kwargs)), lambda: real(*args, **kwargs))

        def __getattr__(cls, attribute):
            if attribute.startswith("__"):
                raise AttributeError(attribute)
            real = session.real(node)
            return session.op(node, "getattr", attribute, lambda: getattr(real, attribute))

    return _Meta(str(name)[:100] or "Answer", (), {"__module__": "answer"})


class Session:
    """One run of a check, recording (student process) or replaying (judge).

    Args:
        record: bool, whether to run the real objects and record (else replay ``log``).
        log: the recorded data (:meth:`data`) when replaying.
        on_root_call: called before each call of a root object (the judge counts the
            check's test cases with it).
    """

    def __init__(self, record, log=None, on_root_call=None):
        self.recording = record
        self.nodes = {} if record else {int(k): v for k, v in dict(log["nodes"]).items()}
        self.roots = {} if record else dict(log["roots"])
        self.reals = {}
        self.cursor = {}
        self.count = 0
        self.on_root_call = on_root_call

    def data(self):
        """The log as plain data (JSON-ready)."""
        return {"nodes": {str(k): v for k, v in self.nodes.items()}, "roots": self.roots}

    def real(self, node):
        return self.reals.get(node)

    def _new_node(self, value):
        node = len(self.nodes)
        kind = "class" if isinstance(value, type) else "object"
        name = getattr(value, "__name__", None) if kind == "class" else type(value).__name__
        self.nodes[node] = {"kind": kind, "name": str(name)[:100], "ops": []}
        self.reals[node] = value
        return node

    def _proxy(self, node):
        description = self.nodes[node]
        if description["kind"] == "class":
            return _class_proxy(self, node, description["name"])
        return _ObjectProxy(self, node, description["name"])

    def _record_value(self, value):
        """(data recorded, value the check gets)."""
        BRIDGE["node_of"] = self._new_node
        try:
            data = to_plain(value)
        except NotPlain:
            node = self._new_node(value)
            return {"node": node}, self._proxy(node)
        finally:
            BRIDGE["node_of"] = None
        return {"value": data}, self._rebuilt(data)

    def _rebuilt(self, data):
        """The value the check gets for recorded data (Keras objects: their AnswerLayers belong here)."""
        if isinstance(data, dict) and data.get("t") == "keras":
            from helpers.grading import bridge

            bridge.creating(self)
        return from_plain(data)

    def _replay_value(self, recorded):
        if "node" in recorded:
            node = int(recorded["node"])
            if node not in self.nodes:
                raise ReplayMismatch(f"the log refers to an unknown object {node}")
            return self._proxy(node)
        return self._rebuilt(recorded["value"])

    def root(self, name, value=None):
        """The object the check gets for the student's ``name`` (a proxy, or plain data)."""
        if self.recording:
            recorded, shown = self._record_value(value)
            self.roots[name] = recorded
        else:
            if name not in self.roots:
                raise ReplayMismatch(f"{name} was not recorded")
            shown = self._replay_value(self.roots[name])
        return shown

    def _is_root(self, node):
        return any(r.get("node") == node for r in self.roots.values())

    #: How a call's arguments are keyed in the log (plain.py's; the stand-in layers use it too).
    fingerprint = staticmethod(fingerprint)

    def op(self, node, kind, key, thunk):
        if self.on_root_call and kind == "call" and self._is_root(node):
            self.on_root_call()
        self.count += 1
        if self.count > MAX_OPS:
            raise ReplayMismatch(f"more than {MAX_OPS} calls into the answer")
        if self.recording:
            return self._record_op(node, kind, key, thunk)
        return self._replay_op(node, kind, key)

    def _record_op(self, node, kind, key, thunk):
        entry = {"op": kind, "key": key}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                value = thunk()
            except BaseException as exc:  # noqa: BLE001 - SystemExit and all: the check gets it as feedback
                entry["raised"] = [type(exc).__name__, str(exc)[:MESSAGE_CHARS]]
        entry["warnings"] = [[w.category.__name__, str(w.message)[:MESSAGE_CHARS]] for w in caught[:50]]
        if "raised" not in entry:
            entry["value"], shown = self._record_value(value)
        self.nodes[node]["ops"].append(entry)
        return self._finish(entry, shown if "raised" not in entry else None)

    def _finish(self, entry, shown):
        _warn(entry.get("warnings", []))
        if "raised" in entry:
            raise rebuilt_exception(*entry["raised"][:2])
        return shown

    def _replay_op(self, node, kind, key):
        ops = self.nodes[node]["ops"]
        position = self.cursor.get(node, 0)
        if position >= len(ops):
            raise ReplayMismatch(f"the check made a {kind} ({key}) that the student's run did not record")
        entry = dict(ops[position])
        self.cursor[node] = position + 1
        if entry.get("op") != kind or entry.get("key") != key:
            raise ReplayMismatch(f"the check made a {kind} ({str(key)[:200]}) where the student's run recorded "
                                 f"a {entry.get('op')} ({str(entry.get('key'))[:200]})")
        shown = None if "raised" in entry else self._replay_value(entry["value"])
        return self._finish(entry, shown)
