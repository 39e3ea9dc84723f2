"""The registration package of the book's layers: ``keras.saving`` names them ``padding_masking>Class``.

Used by every layer of helpers.layers (chapters 5, 6 and 7 save and load them).
"""

PACKAGE = "padding_masking"
