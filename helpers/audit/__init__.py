"""A padding audit for your own model: where do its outputs depend on the padding?

Taught in chapter 15 (Audit your own model).

A model is padding-correct when its outputs at real positions do not depend on how
much padding surrounds them. :func:`audit_padding` checks exactly that, layer by
layer, and reports the layers that leak and the layers that lose their Keras mask at
run time; ``python -m helpers.audit MODEL.keras --inputs ids.npy`` does it from the
command line.

=============================  ===========================================================
:func:`audit_padding`          run the audit; returns an :class:`AuditReport`
:class:`AuditReport`           ``ok``, ``leaks``, ``lost_masks``, a table and ``plot()``
:mod:`helpers.audit.examples`  small models that leak (and their fixes), for the chapter
=============================  ===========================================================
"""

from helpers.audit.padding_audit import audit_padding
from helpers.audit.report import AuditReport, LayerVerdict

__all__ = ["AuditReport", "LayerVerdict", "audit_padding"]
