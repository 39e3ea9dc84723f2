"""Masked self-attention, after the blog post "Unified Adaptable Masking That Follows".

Three small layers and the model of the self-attention chapter:

| layer           | what it does with the mask                                   |
|-----------------|--------------------------------------------------------------|
| PadMasking      | makes one: ``ids != 0``; passes the ids through unchanged    |
| Embed           | uses it (padded vectors become exactly 0) and passes it on   |
| Reflect         | uses it on the *key* axis of the attention and passes it on  |
| KeyPaddingMask  | turns ids into the ``(batch, query, key)`` mask of Keras's   |
|                 | ``MultiHeadAttention`` (True = may attend)                   |

``Reflect(mask_axis="query")`` reproduces the blog's defect (the mask applied
along the query axis, which leaves the softmax over keys unchanged) so the book
can show it; the default ``mask_axis="key"`` is correct.

Every layer uses ``keras.ops``, has a ``get_config`` and is registered for
``.keras`` saving under the package ``"padding_masking"``.

Submodules: ``layers`` (the four layers), ``reflect_models`` (``build_reflect_model``, ``build_mha_model``),
``mha_mask`` (``attention_mask``: the mask ``MultiHeadAttention`` builds, by hand), ``transformer``
(the encoder-decoder blocks of the Transformer chapters), ``stacked`` (stacked self-attention
blocks that lose the mask at run time, the two fixes and the checks that show it; chapter 14).
"""

from helpers.attention.layers import PACKAGE, Embed, KeyPaddingMask, PadMasking, Reflect
from helpers.attention.mha_mask import attention_mask
from helpers.attention.reflect_models import build_mha_model, build_reflect_model
from helpers.attention.stacked import (
    CarryMask,
    TokenMask,
    attention_masks_at_run_time,
    build_stacked_attention_model,
    padding_change,
)

__all__ = ["PACKAGE", "CarryMask", "Embed", "KeyPaddingMask", "PadMasking", "Reflect", "attention_mask",
           "attention_masks_at_run_time", "build_mha_model", "build_reflect_model", "build_stacked_attention_model",
           "padding_change", "TokenMask"]
