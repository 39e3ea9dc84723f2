"""The mask tracer explorer: :func:`helpers.tracing.trace_masks` on a choice of small models.

Taught in chapter 21 (Interactive explorers).
"""

import functools
import warnings
from dataclasses import dataclass

import numpy as np

from helpers.validation import received
from helpers.widgets.display import FigureOutput, TextOutput, _Explorer
from helpers.widgets.padding_explorer import DEFAULT_SEQUENCES, PADDING_SIDES


def _sequential(name, layers):
    import keras

    return keras.Sequential([keras.Input(shape=(6,), dtype="int32", name="ids"), *layers], name=name)


def _embedding():
    import keras

    return keras.layers.Embedding(5000, 8, mask_zero=True, name="embedding")


def _model_dense_lstm():
    import keras

    return _sequential("dense_lstm",
                       [_embedding(), keras.layers.Dense(8, name="dense"), keras.layers.LSTM(4, name="lstm")])


def _model_flatten_dense():
    import keras

    return _sequential("flatten_dense",
                       [_embedding(), keras.layers.Flatten(name="flatten"), keras.layers.Dense(1, name="dense")])


def _model_temporal_softmax():
    import keras

    from helpers.layers import TemporalSoftmax

    return _sequential(
        "dense_temporal_softmax",
        [_embedding(), keras.layers.Dense(1, name="dense"), TemporalSoftmax(name="temporal_softmax")],
    )


def _model_activation_opt_in():
    import keras

    from helpers.layers import MyActivation

    return _sequential(
        "my_activation_lstm",
        [_embedding(), MyActivation(name="my_activation"), keras.layers.LSTM(4, return_sequences=True, name="lstm")],
    )


def _model_activation_no_opt_in():
    import keras

    from helpers.tutorial_versions import ActivationWithoutOptIn

    return _sequential(
        "activation_without_opt_in",
        [_embedding(), ActivationWithoutOptIn(name="activation"), keras.layers.LSTM(4, name="lstm")],
    )


def _model_temporal_split():
    import keras

    from helpers.layers import TemporalSplit

    ids = keras.Input(shape=(6,), dtype="int32", name="ids")
    first, second = TemporalSplit(name="temporal_split")(_embedding()(ids))
    outputs = keras.layers.LSTM(4, name="lstm")(second)
    return keras.Model(ids, outputs, name="temporal_split_lstm")


#: The tracer's models: a name (as the dropdown shows it) -> a function that builds it.
#: Each takes the guide's padded batch, ids of shape (3, 6), and starts with
#: ``Embedding(5000, 8, mask_zero=True)``.
TRACER_MODELS = {
    "Embedding → Dense → LSTM": _model_dense_lstm,
    "Embedding → Flatten → Dense": _model_flatten_dense,
    "Embedding → Dense → TemporalSoftmax": _model_temporal_softmax,
    "Embedding → MyActivation → LSTM(return_sequences=True)": _model_activation_opt_in,
    "Embedding → ActivationWithoutOptIn → LSTM": _model_activation_no_opt_in,
    "Embedding → TemporalSplit → LSTM (second half)": _model_temporal_split,
}


def tracer_inputs(padding="post"):
    """The batch every tracer model is traced on: the guide's three sequences padded to 6 steps."""
    import keras

    if padding not in PADDING_SIDES:
        raise ValueError(f"`padding` must be 'pre' or 'post'. {received('padding', padding)}")
    return keras.utils.pad_sequences([list(s) for s in DEFAULT_SEQUENCES], padding=padding)


@functools.lru_cache(maxsize=None)
def tracer_model(name):
    """Build (once) the tracer model called ``name``, one of :data:`TRACER_MODELS`.

    Keras's warnings while building (a layer that will destroy the mask) are
    caught here; the trace records them again for the layer that caused them.
    """
    if name not in TRACER_MODELS:
        raise ValueError(f"`name` must be a tracer model, one of: {'; '.join(TRACER_MODELS)}. {received('name', name)}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TRACER_MODELS[name]()


@dataclass
class TracerView:
    """The result of :func:`tracer_view`.

    Attributes:
        name: str, the model's name in :data:`TRACER_MODELS`.
        padding: "pre" or "post", how the traced batch was padded.
        inputs: int array (3, 6), the traced batch.
        trace: the :class:`helpers.tracing.MaskTrace`.
    """

    name: str
    padding: str
    inputs: np.ndarray
    trace: object

    @property
    def events(self):
        return self.trace.events

    def __str__(self):
        lines = [f"model: {self.name}",
                 f"inputs: the guide's padded batch ({self.padding}-padded), shape {self.inputs.shape}", ""]
        lines.append(str(self.trace))
        for record in self.trace:
            for message in record.warnings:
                lines.append(f"Keras warned at {record.layer!r}: {message}")
        return "\n".join(lines)

    def _repr_html_(self):
        from html import escape

        warned = "".join(
            f"<p><small>Keras warned at <code>{escape(r.layer)}</code>: {escape(m)}</small></p>"
            for r in self.trace
            for m in r.warnings
        )
        return (
            f"<p><b>{escape(self.name)}</b> on the guide's padded batch "
            f"({escape(self.padding)}-padded), shape {self.inputs.shape}</p>"
            + self.trace._repr_html_()
            + warned
        )

    def figure(self):
        return self.trace.plot(title=self.name)

    def describe(self):
        steps = ", ".join(f"{layer}: {event}" for layer, event in self.events.items())
        return f"the mask after each layer of {self.name} ({steps})"


class _HTMLOutput(TextOutput):
    def __init__(self, text, html):
        super().__init__(text)
        self.html = html

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/plain": self.text, "text/html": self.html}


def tracer_view(name="Embedding → Dense → LSTM", padding="post"):
    """Trace the mask through one of :data:`TRACER_MODELS` on the guide's padded batch.

    Args:
        name: str, a key of :data:`TRACER_MODELS`.
        padding: "pre" or "post", how the batch is padded.

    Returns:
        a :class:`TracerView`; ``view.trace`` is the :class:`helpers.tracing.MaskTrace`.

    Example:
        >>> tracer_view("Embedding → Flatten → Dense").events
        {'embedding': 'created', 'flatten': 'destroyed', 'dense': 'none'}
    """
    from helpers.tracing import trace_masks

    model = tracer_model(name)
    inputs = tracer_inputs(padding)
    return TracerView(name=name, padding=padding, inputs=inputs, trace=trace_masks(model, inputs))


class TracerExplorer(_Explorer):
    """Controls for :func:`tracer_view`: a model to trace and the padding side.

    Example:
        >>> explorer = TracerExplorer()
        >>> explorer.update(name="Embedding → Flatten → Dense").events["flatten"]
        'destroyed'
    """

    def __init__(self, name="Embedding → Dense → LSTM", padding="post"):
        super().__init__(name=name, padding=padding)

    def _compute(self, **values):
        return tracer_view(**values)

    def _outputs(self, view):
        return [_HTMLOutput(str(view), view._repr_html_()), FigureOutput(view.figure(), view.describe())]

    def _make_controls(self):
        import ipywidgets as w

        return {
            "name": w.Dropdown(
                options=list(TRACER_MODELS), value=self._values["name"], description="model",
                layout=w.Layout(width="32em"),
            ),
            "padding": w.ToggleButtons(options=list(PADDING_SIDES), value=self._values["padding"],
                                       description="padding"),
        }

