"""Reusable code for the book *Padding and Masking in Keras*.

Importing this package does not import TensorFlow; each submodule imports what
it needs, so the first cell of a chapter can set TensorFlow's environment first.

Submodules:
    notebook           first-cell preparation, ``show_source``, ``show_error``, warning capture
    layers             mask-aware custom layers of Part II
    tutorial_versions  the tutorials' wrong layers, kept to demonstrate the errata
    attention          masked self-attention layers and models of Part III
    data               the toy arithmetic data set, its vocabulary and TFRecord files
    gpu                GPU detection and the cuDNN mask conditions
    tracing            ``trace_masks``: follow a mask through a model
    cost               padding fractions and bucketing (the cost-of-padding chapter)
    plots, attention_plots, widgets   figures and interactive explorers
    exercises          self-checks for the exercises, one module per topic
"""

__version__ = "0.1.0"


def trace_masks(model, inputs):
    """Follow ``inputs`` through ``model`` and report what happens to the mask.

    See :func:`helpers.tracing.trace_masks`.
    """
    from helpers.tracing import trace_masks as _trace_masks

    return _trace_masks(model, inputs)
