"""Reusable code for the book *Padding and Masking in Keras*.

Importing this package does not import TensorFlow; each submodule imports what
it needs, so the first cell of a chapter can set TensorFlow's environment first.

Every module's docstring opens with its one purpose; here is the map.

Chapters' tools:
    notebook           first-cell preparation, ``show_source``, ``show_error``, warning capture

Layers and models:
    layers             mask-aware custom layers of Part II
                       (``embeddings``: make a mask; ``steps``: pass, change or consume it)
                       (``convolution``: masked Conv1D, max pooling, a two-input layer)
    tutorial_versions  the tutorials' wrong layers, kept to demonstrate the errata
    attention          masked self-attention layers (``layers``) and models (``models``) of Part III
    kerashub           KerasHub's ``padding_mask`` next to Keras's mask, and batched generation

Data and devices:
    data               the toy arithmetic data set, its vocabulary and TFRecord files
    gpu                GPU detection and the cuDNN mask conditions
    cost               padding fractions and bucketing (the cost-of-padding chapter)
    packing            whole sequences in rows, the segment mask, packed layers (the packing chapter)
    scale              the token mean across accumulation steps and replicas: weights, a pipeline,
                       a sums-and-counts metric (the masks-at-scale chapter)

Masks:
    masks              read the Keras mask attached to a tensor, on every backend
    audit              a padding audit of your own model: where its outputs depend on the padding
    tracing            ``trace_masks``: follow a mask through a model
                       (``trace``: the walk; ``records``: its table; ``figure``: its plot;
                       ``roles``: tables of what built-in layers do with a mask)

Backends:
    backends           run probes under TensorFlow, JAX and PyTorch, one process each
    backend_probes     the probes: mask storage, one model on every backend, cuDNN checks

Figures and explorers:
    plots              figures: padded batches and masks (``batches``), the one attention
                       heatmap style and loss curves (``attention``)
    widgets            interactive explorers (``display``: shared machinery; ``padding``,
                       ``tracer``, ``attention``: one explorer each)

Exercises and the classroom:
    exercises          self-checks for the exercises, one module per topic
    grade              ``python -m helpers.grade``: grade student notebooks with those checks
    grading            the grader's parts (``exercises``/``edition``: find them, the student
                       edition; ``runner``/``judge``: the sandboxed student process and
                       the process that decides; ``plain``/``boundary``: the data between)

Shared plumbing (used by all of the above):
    validation         argument checks: integers, arrays, masks, with Keras-style messages
    keras_internals    the one adapter for Keras's private internals (its ``src`` modules)
"""

__version__ = "0.2.0"


def trace_masks(model, inputs):
    """Follow ``inputs`` through ``model`` and report what happens to the mask.

    See :func:`helpers.tracing.trace_masks`.
    """
    from helpers.tracing import trace_masks as _trace_masks

    return _trace_masks(model, inputs)
