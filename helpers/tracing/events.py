"""The events of a mask trace (what a layer did to the mask) and their colours.

Taught in chapter 4 (How masks propagate); shared by the trace's records and its figure.
"""

#: The possible values of :attr:`helpers.tracing.records.MaskRecord.event`, in the order the book explains them.
EVENTS = ("created", "passed", "changed", "destroyed", "consumed", "none")

#: Colours used for events in tables and figures.
EVENT_COLORS = {
    "created": "#1b9e77",
    "passed": "#4575b4",
    "changed": "#d95f02",
    "destroyed": "#d7301f",
    "consumed": "#7570b3",
    "none": "#888888",
}


def as_list(value):
    """A layer's mask(s) as a list: a list stays as it is, anything else becomes ``[value]``.

    Example:
        >>> as_list(None), as_list([1, 2])
        ([None], [1, 2])
    """
    return list(value) if isinstance(value, list) else [value]
