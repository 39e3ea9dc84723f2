"""The padding audit's command line: ``python -m helpers.audit MODEL.keras --inputs ids.npy``.

Taught in chapter 15 (Audit your own model).

Prints the audit's table and exits with status 0 when the model is clean, 1 when a
leak is found and 2 for bad input (argparse's convention: a missing file, a model
that cannot be loaded, inputs the audit cannot read).

``--inputs`` takes a ``.npy`` file (one array: ids, or float steps) or a ``.npz``
file (named arrays become a dict, such as ``token_ids`` and ``padding_mask``;
unnamed ones, saved with ``np.savez(path, a, b)``, a list). ``--import`` names
modules to import first, so that the custom layers the model uses are registered
(the book's own layers always are).

Example:
    $ python -m helpers.audit model.keras --inputs ids.npy --tolerance 1e-5
"""

import argparse
import importlib
import json
import pathlib
import sys

EXIT_CLEAN, EXIT_LEAK, EXIT_BAD_INPUT = 0, 1, 2


def parser():
    """The argument parser (``prog`` is ``python -m helpers.audit``)."""
    p = argparse.ArgumentParser(prog="python -m helpers.audit",
                                description="Check that a Keras model's outputs at real positions do not depend on "
                                            "the padding around them. Exit status: 0 clean, 1 leak, 2 bad input.")
    p.add_argument("model", help="a saved Keras model (.keras)")
    p.add_argument("--inputs", required=True, help="a padded batch: .npy (one array) or .npz (named arrays)")
    p.add_argument("--tolerance", type=float, default=1e-4, help="largest change that counts as equal")
    p.add_argument("--padding", choices=("auto", "right", "left"), default="auto", help="where the padding is")
    p.add_argument("--padding-value", type=int, default=0, help="the id that pads integer sequences")
    p.add_argument("--mask-value", type=float, default=None, help="the padding value of float sequences")
    p.add_argument("--import", dest="modules", action="append", default=[],
                   help="a module to import first (registers custom layers); repeatable")
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    return p


def load_inputs(path):
    """The batch stored at ``path``: an array (.npy), or a dict or list of arrays (.npz)."""
    import numpy as np

    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--inputs: no such file: {path}")
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False)
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as stored:
            names = list(stored.files)
            if names and all(n == f"arr_{i}" for i, n in enumerate(names)):
                return [stored[n] for n in names]
            return {n: stored[n] for n in names}
    raise ValueError(f"--inputs must be a .npy or .npz file. Received: {path.name}")


def _load_model(path):
    import keras

    import helpers.attention.stacked  # noqa: F401 - registers the book's layers
    import helpers.audit.examples  # noqa: F401
    import helpers.layers  # noqa: F401

    if not pathlib.Path(path).is_file():
        raise FileNotFoundError(f"model: no such file: {path}")
    return keras.saving.load_model(path, compile=False)


def _import_keras_quietly():
    """Import Keras (and its backend) with fd 2 silenced: TensorFlow's C++ start-up lines stay out."""
    from helpers.notebook import _quiet_stderr_fd

    with _quiet_stderr_fd():
        import keras

        keras.ops.convert_to_numpy(keras.ops.zeros((1,)))


def main(argv=None):
    """Run the command line; returns the exit status (0 clean, 1 leak, 2 bad input)."""
    p = parser()
    args = p.parse_args(argv)  # exits with status 2 on a usage error
    _import_keras_quietly()
    try:
        for module in args.modules:
            importlib.import_module(module)
        inputs = load_inputs(args.inputs)
        model = _load_model(args.model)
        from helpers.audit import audit_padding

        report = audit_padding(model, inputs, tolerance=args.tolerance, padding=args.padding,
                               padding_value=args.padding_value, mask_value=args.mask_value)
    except (ValueError, TypeError, OSError, ImportError) as exc:
        print(f"{p.prog}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps(report.to_dict(), indent=2) if args.json else repr(report))
    return EXIT_CLEAN if report.ok else EXIT_LEAK
