"""Do Keras's recurrent layers still pass a mask on to the loss? Prints one JSON line.

Keras 3.15.1 passes an Embedding's mask through ``LSTM(3, return_sequences=True)`` to
the next layer and to the loss. keras-nightly 3.16.0.dev2026102704 was measured with
``LSTM(...).supports_masking == False``, so the mask no longer reaches the loss and
``evaluate`` averages over the padded steps too. This script measures it in whatever
environment runs it (tools/run_elsewhere.py runs it in each of its environments and
stores the result in reports/upstream.json under ``probes.recurrent_mask.<env>``).

For each layer in ``LSTM``, ``GRU``, ``Bidirectional(LSTM)`` and ``LSTM`` followed by
``TimeDistributed(Dense)``, the model is ``Embedding(5, 5, mask_zero=True) -> layer ->
Dense(3)`` (seeded weights), the input ``[[1, 2, 0, 0]]`` (two real steps, two padded)
and the target ``arange(12).reshape(1, 4, 3)``, loss mse. Recorded: the layer's
``supports_masking``, whether its ``compute_mask`` returns a mask, what ``evaluate``
returns, the mean squared error over the two real steps (``masked``) and over all
four (``unmasked``) computed with NumPy from the model's predictions, and whether the
mask reached the loss (``evaluate`` equals ``masked``).

Usage: python tools/probe_recurrent_mask.py   (KERAS_BACKEND chooses the backend)
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def main():
    from helpers.notebook import prepare_notebook

    prepare_notebook(seed=0)
    import keras
    import numpy as np

    tokens = np.array([[1, 2, 0, 0]], "int32")
    target = np.arange(12, dtype="float32").reshape(1, 4, 3)
    real = tokens != 0

    def recurrent(kind):
        return {"LSTM": lambda: keras.layers.LSTM(3, return_sequences=True),
                "GRU": lambda: keras.layers.GRU(3, return_sequences=True)}[kind]()

    builders = {
        "LSTM": lambda: [recurrent("LSTM")],
        "GRU": lambda: [recurrent("GRU")],
        "Bidirectional(LSTM)": lambda: [keras.layers.Bidirectional(recurrent("LSTM"))],
        "LSTM+TimeDistributed(Dense)": lambda: [recurrent("LSTM"), keras.layers.TimeDistributed(keras.layers.Dense(3))],
    }
    results = {"keras": keras.__version__, "backend": keras.backend.backend(), "layers": {}}
    for name, build in builders.items():
        keras.utils.set_random_seed(0)
        embedding = keras.layers.Embedding(5, 5, mask_zero=True)
        layers = build()
        inputs = keras.Input((4,), dtype="int32")
        x = embedding(inputs)
        for layer in layers:
            x = layer(x)
        outputs = keras.layers.Dense(3)(x)
        model = keras.Model(inputs, outputs)
        model.compile(loss="mse")
        evaluate = float(model.evaluate(tokens, target, verbose=0))
        predicted = keras.ops.convert_to_numpy(model(tokens))
        per_step = ((predicted - target) ** 2).mean(axis=-1)
        masked = float(per_step[real].mean())
        unmasked = float(per_step.mean())
        probe_layer = layers[-1]
        embedded = embedding(tokens)
        mask = embedding.compute_mask(tokens)
        hidden = embedded
        for layer in layers[:-1]:
            hidden = layer(hidden, mask=mask)
        try:
            mask_out = probe_layer.compute_mask(hidden, mask) is not None
        except Exception as error:  # a layer that cannot take a mask at all
            mask_out = f"{type(error).__name__}"
        results["layers"][name] = {
            "supports_masking": bool(getattr(probe_layer, "supports_masking", False)),
            "mask_out": mask_out,
            "evaluate": round(evaluate, 2),
            "masked": round(masked, 2),
            "unmasked": round(unmasked, 2),
            "mask_reaches_loss": bool(abs(evaluate - masked) <= 1e-3 * max(1.0, abs(masked))),
        }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
