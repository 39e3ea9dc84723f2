"""Follow a batch through a Keras model and report what each layer does to the mask.

Taught in chapter 4 (How masks propagate); used again in chapters 5, 6 and 7.

``trace_masks(model, inputs)`` runs ``inputs`` through ``model`` one layer at a
time, eagerly, and reads the mask Keras attaches to every tensor on the way
(Keras's mask attribute, or its side table). It returns a :class:`MaskTrace`: one
:class:`MaskRecord` per layer call, each with an *event*:

=========== =============================================================
event       meaning
=========== =============================================================
created     no mask came in, a mask goes out (``Embedding(mask_zero=True)``,
            ``Masking``)
passed      a mask came in and the same mask goes out (``Dense``, ``Dropout``,
            ``LSTM(return_sequences=True)``)
changed     a mask came in and a different one goes out: other values or
            another shape (a layer that splits or crops the time axis)
destroyed   a mask came in, none goes out, and the layer never looked at it:
            its ``call()`` has no ``mask`` argument (``Flatten``, a plain
            ``Lambda``, arithmetic written with operators on symbolic tensors)
consumed    a mask came in, none goes out, and the layer used it: its
            ``call()`` takes ``mask`` (``LSTM`` without ``return_sequences``,
            ``GlobalAveragePooling1D``, a masked softmax over time)
none        no mask came in and none goes out
=========== =============================================================

Example:
    >>> model = keras.Sequential([
    ...     keras.Input(shape=(None,), dtype="int32"),
    ...     keras.layers.Embedding(100, 4, mask_zero=True, name="embedding"),
    ...     keras.layers.LSTM(8, name="lstm"),
    ... ])
    >>> trace = trace_masks(model, np.array([[5, 3, 0], [7, 0, 0]]))
    >>> trace.events
    {'embedding': 'created', 'lstm': 'consumed'}
    >>> print(trace)           # trace.plot() draws it
    #  layer      class      output shape  mask in          mask out         event
    -  ---------  ---------  ------------  ---------------  ---------------  --------
    0  embedding  Embedding  (2, 3, 4)     -                (2, 3) 3/6 kept  created
    1  lstm       LSTM       (2, 8)        (2, 3) 3/6 kept  -                consumed

Submodules: ``trace`` (the walk through the model), ``records`` (``MaskRecord``,
``MaskTrace`` and its tables), ``figure`` (``plot_trace``, behind ``MaskTrace.plot``),
``events`` (the events and their colours, shared by the records and the figure).
"""

from helpers.tracing.events import EVENT_COLORS, EVENTS
from helpers.tracing.figure import plot_trace
from helpers.tracing.records import MaskRecord, MaskTrace
from helpers.tracing.trace import trace_masks

__all__ = ["EVENTS", "EVENT_COLORS", "MaskRecord", "MaskTrace", "plot_trace", "trace_masks"]
