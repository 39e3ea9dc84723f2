"""The registration package of the book's layers: ``keras.saving`` names them ``padding_masking>Class``."""

PACKAGE = "padding_masking"
