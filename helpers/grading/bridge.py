"""A layer of the student's own class, carried across the grader's boundary as its calls.

A Keras layer or model made only of Keras's and the book's classes crosses the boundary
as its config and weights (:mod:`helpers.grading.plain`). A layer of the student's own
class cannot (its code must not run in the judge), yet checks use one as a Keras layer:
they call it, put it in a model, clone a model around it. Such a layer crosses as an
:class:`AnswerLayer`: a Keras layer, of the grader's own code, that stands in its place
(in a model's config too, at the same position and with the same name) and whose every
call is an operation of the session (:mod:`helpers.grading.boundary`): in the student
process it runs the student's real layer and records what came back; in the judge it
answers from the record. Keras's own machinery (building the graph, passing masks)
runs on both sides, so both see the same thing.

Used by the grader (:mod:`helpers.grading.plain`).

Example:
    >>> import keras, numpy as np
    >>> from helpers.grading.boundary import Session
    >>> class Twice(keras.layers.Layer):
    ...     def call(self, x):
    ...         return 2 * x
    >>> recorder = Session(record=True)
    >>> layer = recorder.root("Twice", Twice)()
    >>> type(layer).__name__, keras.ops.convert_to_numpy(layer(np.ones((1, 2)))).tolist()
    ('AnswerLayer', [[2.0, 2.0]])
"""

import sys

import keras

_CURRENT = {"session": None}


def creating(session):
    """Make ``session`` the one the AnswerLayers created from now on belong to."""
    _CURRENT["session"] = session


def _symbolic(values):
    return any(isinstance(v, keras.KerasTensor) for v in keras.tree.flatten(values))


@keras.saving.register_keras_serializable(package="grader")
class AnswerLayer(keras.layers.Layer):
    """Stands for the student's layer ``node`` of the current session (see the module docstring).

    Args:
        node: int, the student's layer in the session's record.
        answer_class: str, the name of the student's class (for messages).
        **kwargs: the base layer arguments (``name``, ``dtype``, ...).
    """

    def __init__(self, node, answer_class="", **kwargs):
        super().__init__(**kwargs)
        self.node = int(node)
        self.answer_class = str(answer_class)
        self.supports_masking = True  # the masks come from the record (see compute_mask)
        self._session = _CURRENT["session"]

    def _op(self, kind, args, kwargs, thunk_name):
        real = self._session.real(self.node)

        def thunk():
            return getattr(real, thunk_name)(*args, **kwargs)

        return self._session.op(self.node, kind, self._session.fingerprint((args, kwargs)), thunk)

    def call(self, inputs, *args, **kwargs):
        return self._op("layer", (inputs, *args), kwargs, "__call__")

    def compute_output_spec(self, inputs, *args, **kwargs):
        return self._op("spec", (inputs, *args), kwargs, "compute_output_spec")

    def compute_mask(self, inputs, previous_mask=None):
        if not _symbolic(inputs):
            return None  # an eager call's outputs carry the recorded masks already
        return self._op("mask", (inputs, previous_mask), {}, "compute_mask")

    def get_config(self):
        return {**super().get_config(), "node": self.node, "answer_class": self.answer_class}


TRUSTED = ("keras.", "helpers.", "builtins", "abc", "typing", "tensorflow.", "jax", "torch")


def _trusted(cls):
    """Whether ``cls`` is a class of Keras, the helpers or Python: its module says so, and it
    is what that module holds under its name (a student's class may claim any module)."""
    module = getattr(cls, "__module__", "") or ""
    if not module.startswith(TRUSTED):
        return False
    found = sys.modules.get(module)
    for part in str(getattr(cls, "__qualname__", "")).split("."):
        found = getattr(found, part, None)
    return found is cls


def is_answer(layer):
    """Whether a layer's class (or one it derives from) is the student's, not Keras's or the book's."""
    return not all(_trusted(c) for c in type(layer).__mro__)


def leaves(layer):
    """The layers whose weights cross as data: ``layer`` itself, or for a model the leaves of
    its layers, never looking inside the student's layers (they stay in the student process)."""
    if isinstance(layer, keras.Model) and not is_answer(layer):
        return [leaf for sub in layer.layers for leaf in leaves(sub)]
    return [layer]


def _swap(config, model, node_of):
    """The config of ``model`` with every student layer's entry replaced by an AnswerLayer's."""
    inner = config.get("config", {})
    entries = inner.get("layers") if isinstance(inner, dict) else None
    if not isinstance(entries, list):
        return
    by_name = {layer.name: layer for layer in getattr(model, "layers", [])}
    for index, entry in enumerate(entries):
        name = entry.get("name") or entry.get("config", {}).get("name")
        layer = by_name.get(name)
        if layer is None:
            continue
        if is_answer(layer):
            stand_in = AnswerLayer(node_of(layer), answer_class=type(layer).__name__, name=layer.name)
            swapped = keras.saving.serialize_keras_object(stand_in)
            for key in ("inbound_nodes", "name", "build_config"):
                if key in entry:
                    swapped[key] = entry[key]
            entries[index] = swapped
        else:
            _swap(entry, layer, node_of)


def serialize(obj, node_of):
    """``(config, layers with weights)`` of a Keras layer or model; the student's layers in it
    become AnswerLayers (``node_of(layer)`` gives each its node)."""
    if is_answer(obj):
        stand_in = AnswerLayer(node_of(obj), answer_class=type(obj).__name__, name=obj.name)
        return keras.saving.serialize_keras_object(stand_in), []
    config = keras.saving.serialize_keras_object(obj)
    _swap(config, obj, node_of)
    return config, [layer for layer in leaves(obj) if not is_answer(layer) and layer.weights]
