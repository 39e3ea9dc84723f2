"""Interactive explorers (ipywidgets) for padding, mask propagation and attention masks.

Taught in chapter 21 (Interactive explorers).

Three explorers, each in two layers:

* a **pure computation** that takes plain arguments and returns a *view*: an
  object holding the numbers, a text summary (``str(view)``) and a matplotlib
  figure (``view.figure()``). It needs no browser and no widget, so tests and
  chapters call it directly:

  ===========================  ============================================
  :func:`padding_view`         ``keras.utils.pad_sequences`` on your lists,
                               the padded matrix and its mask
  :func:`tracer_view`          :func:`helpers.tracing.trace_masks` on one of
                               :data:`TRACER_MODELS`
  :func:`attention_view`       attention weights of
                               :class:`helpers.attention.Reflect` with the
                               mask on the key axis (correct) and on the
                               query axis (the blog post's defect)
  ===========================  ============================================

* an **explorer** (:class:`PaddingExplorer`, :class:`TracerExplorer`,
  :class:`AttentionExplorer`) that puts ipywidgets controls above that view.
  Displaying one shows three outputs: the controls, the text summary and the
  figure. The summary and the figure are ordinary outputs (text and PNG), so
  the static website, which has no kernel and no widget JavaScript, shows the
  explorer's default state. In a live kernel, moving a control recomputes the
  view and replaces those two outputs in place (IPython display handles).

  The controls are published as a widget view *only*, without the usual
  ``text/plain`` fallback. nbval ignores the widget-view MIME type (model ids
  are random), so a stored notebook compares equal whatever ids its widgets got.

Example:
    >>> view = padding_view([[711, 632, 71], [73, 8, 3215, 55, 927]], padding="post")
    >>> view.padded
    array([[ 711,  632,   71,    0,    0],
           [  73,    8, 3215,   55,  927]], dtype=int32)

    In a notebook, an explorer as a cell's last line shows its controls, summary and figure:

    .. code-block:: python

        PaddingExplorer()
"""

from helpers.widgets.attention_explorer import (
    DEFAULT_PROBLEM,
    MASK_PLACEMENTS,
    AttentionExplorer,
    AttentionView,
    attention_view,
)
from helpers.widgets.display import FigureOutput, TextOutput
from helpers.widgets.padding_explorer import (
    DEFAULT_SEQUENCES,
    DEFAULT_TEXT,
    PADDING_SIDES,
    PaddingExplorer,
    PaddingView,
    padding_view,
    parse_sequences,
)
from helpers.widgets.tracer import TRACER_MODELS, TracerExplorer, TracerView, tracer_inputs, tracer_model, tracer_view

__all__ = [
    "DEFAULT_PROBLEM", "DEFAULT_SEQUENCES", "DEFAULT_TEXT", "MASK_PLACEMENTS", "PADDING_SIDES", "TRACER_MODELS",
    "AttentionExplorer", "AttentionView", "FigureOutput", "PaddingExplorer", "PaddingView", "TextOutput",
    "TracerExplorer", "TracerView", "attention_view", "padding_view", "parse_sequences", "tracer_inputs",
    "tracer_model", "tracer_view",
]
