"""Does MultiHeadAttention honour an explicit ``query_mask=``? Probe one Keras install.

    python tools/mha_query_mask_probe.py [OUTPUT.json]

Run it with the Python of the Keras to probe (for instance a throwaway virtual
environment with keras-nightly, outside the repository). It prints, and writes to
OUTPUT.json when given, the Keras and TensorFlow versions and the padded query's row
of attention weights in two set-ups of chapter 12:

* ``attached``: the masks are attached by ``Embedding(10, 4, mask_zero=True)``;
* ``by_hand``: the same masks passed as ``query_mask=`` and ``value_mask=`` on
  plain arrays;

and whether the call removed the Keras mask of the tensor it was given.

The model weights are set by hand so that the scores are all 0 and the real keys
share the weight equally: the rows are exact on any Keras.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402


def probe():
    ids = np.array([[1, 2, 0]])
    embedding = keras.layers.Embedding(10, 4, mask_zero=True)
    attention = keras.layers.MultiHeadAttention(num_heads=1, key_dim=4)
    attention.build((1, 3, 4), (1, 3, 4))
    # Zero projections: every score is 0, so the softmax over the allowed keys is
    # uniform and each row is exact.
    attention.set_weights([np.zeros_like(w) for w in attention.get_weights()])
    # A fresh embedded tensor: it carries the mask [[True, True, False]]. (A call of
    # MultiHeadAttention removes the masks of the tensors it is given.)
    x = embedding(ids)
    plain = keras.ops.convert_to_numpy(x)  # the same vectors, no mask attached
    _, attached = attention(x, x, return_attention_scores=True)
    mask = ids != 0
    _, by_hand = attention(plain, plain, query_mask=mask, value_mask=mask, return_attention_scores=True)
    row = lambda scores: [round(float(w), 3) for w in keras.ops.convert_to_numpy(scores)[0, 0, 2]]  # noqa: E731
    return {
        "keras": keras.version(),
        "tensorflow": __import__("tensorflow").__version__,
        "padded_query_row_attached": row(attached),
        "padded_query_row_by_hand": row(by_hand),
        "call_removes_the_query_mask": getattr(x, "_keras_mask", None) is None,
    }


if __name__ == "__main__":
    result = probe()
    text = json.dumps(result, indent=2)
    print(text)
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w", encoding="utf-8") as f:
            f.write(text + "\n")
