"""Display machinery shared by the explorers: figure and text outputs, the explorer base class.

Taught in chapter 21 (Interactive explorers).
"""

import base64
import functools
import io


def _png(fig):
    """Base64 PNG of a matplotlib figure."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


class FigureOutput:
    """A figure as a notebook output: PNG for the page, a short description as text.

    The text (``text/plain``) is what nbval compares and what a reader without
    images gets; IPython's own ``<Figure size ...>`` would say nothing.

    Args:
        figure: a matplotlib ``Figure``.
        description: str, one line saying what the figure shows.
    """

    def __init__(self, figure, description):
        self.figure = figure
        self.description = description

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"image/png": _png(self.figure), "text/plain": f"[figure] {self.description}"}

    def __repr__(self):
        return f"[figure] {self.description}"


class TextOutput:
    """Plain text as a notebook output (an error message, a placeholder)."""

    def __init__(self, text):
        self.text = text

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/plain": self.text}

    def __repr__(self):
        return self.text


class _Explorer:
    """Base of the explorers: controls above a text summary and a figure.

    Subclasses define ``_make_controls()`` (a dict name -> ipywidgets control),
    ``_compute(**values)`` (returns a view) and ``_outputs(view)`` (the objects to
    display for it).
    """

    def __init__(self, **values):
        self._values = dict(values)
        self._controls = None
        self._handles = None
        self.view = None  # the view currently shown; set by update()
        self.error = None  # the message when the current values are invalid
        self.update(**values)

    # ----- pure part ---------------------------------------------------------
    @property
    def values(self):
        """The current settings, as keyword arguments of the view function."""
        return dict(self._values)

    def update(self, **values):
        """Change settings, recompute the view and refresh the displayed outputs.

        Invalid settings do not raise: the explorer keeps them, sets ``error`` to the
        message and shows it instead of the summary.

        Returns:
            the new view, or None if the settings are invalid.
        """
        self._values.update(values)
        try:
            self.view = self._compute(**self._values)
            self.error = None
        except (ValueError, TypeError) as exc:
            self.view = None
            self.error = f"{type(exc).__name__}: {exc}"
        self._refresh()
        return self.view

    def outputs(self):
        """The objects the explorer shows below its controls: [summary, figure]."""
        if self.view is None:
            return [TextOutput(f"Cannot show this setting. {self.error}"), TextOutput("(no figure)")]
        return self._outputs(self.view)

    # ----- widgets -----------------------------------------------------------
    @property
    def controls(self):
        """The ipywidgets controls, created on first use, as a dict name -> widget."""
        if self._controls is None:
            self._controls = self._make_controls()
            for name, control in self._controls.items():
                control.observe(functools.partial(self._on_change, name), names="value")
        return self._controls

    def widget(self):
        """The controls in one ipywidgets box."""
        import ipywidgets

        return ipywidgets.VBox(list(self.controls.values()))

    def _on_change(self, name, change):
        self.update(**{name: self._from_control(name, change["new"])})

    def _from_control(self, name, value):
        return value

    def _refresh(self):
        if self._handles is None:
            return
        for handle, output in zip(self._handles, self.outputs()):
            handle.update(output)

    def show(self):
        """Display the controls, then the summary and the figure (updated in place)."""
        from IPython.display import display

        box = self.widget()
        bundle = box._repr_mimebundle_()
        view_only = {k: v for k, v in bundle.items() if k == "application/vnd.jupyter.widget-view+json"}
        if view_only:
            display(view_only, raw=True)
        self._handles = [display(output, display_id=True) for output in self.outputs()]

    def _ipython_display_(self):
        self.show()


def _close(fig):
    import matplotlib.pyplot as plt

    plt.close(fig)
    return fig

