"""Every strategy's batches, formed once (tf.data for the padded ones), and what they hold."""

import os
import platform
import warnings

import numpy as np

from helpers import cost
from helpers.notebook import _quiet_stderr_fd, error_message
from helpers.packing import packing_stats, rows_from_plan

#: The strategies timed on padded batches (ragged is tried separately, packed has its own rows).
PADDED = ("global_max", "batch_max", "bucketed", "length_grouped", "token_budget")
#: Every timed batching: the padded strategies, the no-padding reference and packed rows.
TIMED = PADDED + ("ideal", "packed")
#: Why the LSTM is not timed on packed rows (chapter 19 measures the leak this avoids).
LSTM_PACKED_REASON = (
    "not applicable: an LSTM over a packed row carries its state from one sequence into the next "
    "(chapter 19 measures the leak), and Keras's LSTM has no input that resets the state where a "
    "sequence starts; a cell that resets it is correct (helpers.packing.PackedRNN), but it runs the "
    "recurrent loop over whole rows (as long as the longest sequence), so an RNN gains nothing from "
    "packing: its cost is sequential steps, which bucketing or length grouping already cut")


def load_tensorflow():
    with warnings.catch_warnings(), _quiet_stderr_fd():
        warnings.simplefilter("ignore")
        import keras
        import tensorflow as tf
    tf.get_logger().setLevel("ERROR")
    return keras, tf


def machine_info():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "logical_cores": os.cpu_count(), "platform": platform.platform(terse=True),
            "accelerators": [], "note": ("load_average_* is os.getloadavg() (1, 5, 15 minutes); a run is "
                                         "meant for a quiet machine (nothing else running)")}


def versions():
    import keras
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": np.__version__}


def load_average():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def corpus_of(args):
    settings = dict(cost.CORPUS_DEFAULTS, n=args.corpus_size, max_len=args.max_len, seed=args.seed)
    sequences, labels = cost.synthetic_corpus(**settings)
    lengths = np.array([len(s) for s in sequences])
    boundaries = cost.geometric_boundaries(min(8, int(lengths.max())), int(lengths.max()), args.boundary_ratio)
    return settings, sequences, labels, lengths, boundaries


def packed_epoch(args, sequences, labels, epoch):
    """One epoch of packed batches: ``({"ids", "segment_ids"}, labels, sample_weight)``."""
    lengths = np.array([len(s) for s in sequences])
    out = []
    for rows in cost.packed_batches(lengths, args.row_lengths, args.max_tokens, args.seed, epoch):
        packed = rows_from_plan(sequences, rows)
        slots = packed.sequence_index
        y = np.where(slots >= 0, labels[np.maximum(slots, 0)], 0).astype(np.int32)
        out.append(({"ids": packed.ids, "segment_ids": packed.segment_ids}, y, (slots >= 0).astype(np.float32)))
    return out


def form_batches(args, strategy, sequences, labels, boundaries, epoch=0):
    """One epoch of a strategy's NumPy batches (the padded ones formed by their tf.data pipeline)."""
    if strategy == "packed":
        return packed_epoch(args, sequences, labels, epoch)
    if strategy == "ideal":
        ds = cost.ideal_batches(sequences, labels, args.batch_size)
    elif strategy == "bucketed":
        ds = cost.make_dataset(sequences, labels, strategy, args.batch_size, boundaries)
    elif strategy == "token_budget":
        ds = cost.make_dataset(sequences, labels, strategy, max_tokens=args.max_tokens,
                               max_batch_size=args.max_batch_size, seed=args.seed, epoch=epoch)
    elif strategy == "length_grouped":
        ds = cost.make_dataset(sequences, labels, strategy, args.batch_size, pool_batches=args.pool_batches,
                               seed=args.seed, epoch=epoch)
    else:
        ds = cost.make_dataset(sequences, labels, strategy, args.batch_size)
    return [(np.asarray(x), np.asarray(y)) for x, y in ds.as_numpy_iterator()]


def ids_of(batch):
    x = batch[0]
    return x["ids"] if isinstance(x, dict) else x


def _epoch_stats(epoch):
    ids = [ids_of(b) for b in epoch]
    s = cost.batch_stats(ids)
    s["score_cells"] = int(sum(x.shape[0] * x.shape[1] ** 2 for x in ids))
    if isinstance(epoch[0][0], dict):
        packing = packing_stats([b[0]["segment_ids"] for b in epoch])
        s.update(sequences=packing["sequences"], rows=packing["rows"], row_fill=packing["row_fill"],
                 same_segment_cells=packing["same_segment_cells"],
                 cross_segment_cells=packing["cross_segment_cells"],
                 cross_segment_fraction=packing["cross_segment_fraction"],
                 useful_score_fraction=packing["useful_fraction"])
    return s


def strategy_stats(epochs):
    """Counts of a strategy's batches, per epoch averaged over the epochs formed."""
    per_epoch = [_epoch_stats(e) for e in epochs]
    every = cost.batch_stats([ids_of(b) for e in epochs for b in e])
    n = len(epochs)
    s = dict(every, batches=round(every["batches"] / n, 2), sequences=every["sequences"] // n,
             real_tokens=every["real_tokens"] // n, processed_timesteps=round(every["processed_timesteps"] / n),
             sequential_steps=round(every["sequential_steps"] / n),
             score_cells=round(float(np.mean([p["score_cells"] for p in per_epoch]))))
    for key in ("rows", "row_fill", "same_segment_cells", "cross_segment_cells", "cross_segment_fraction",
                "useful_score_fraction"):
        if key in per_epoch[0]:
            s[key] = round(float(np.mean([p[key] for p in per_epoch])), 6)
    if "sequences" in per_epoch[0] and "rows" in per_epoch[0]:
        s["sequences"] = per_epoch[0]["sequences"]
    if n > 1:
        s["epochs_formed"] = n
        s["batches_per_epoch"] = [p["batches"] for p in per_epoch]
        s["padding_fraction_per_epoch"] = [round(p["padding_fraction"], 6) for p in per_epoch]
        orders = {tuple((ids_of(b).shape, ids_of(b)[:, 0].tobytes()) for b in e) for e in epochs}
        s["epochs_differ"] = len(orders) == n
    return s


def all_batches(args, sequences, labels, boundaries):
    """``{strategy: [epoch, ...]}``: one epoch for the fixed strategies, one per repeat for the shuffled."""
    batches = {}
    for strategy in TIMED:
        epochs = args.repeats if cost.SHUFFLED[strategy] else 1
        batches[strategy] = [form_batches(args, strategy, sequences, labels, boundaries, e) for e in range(epochs)]
    if "packed" in batches:  # labels and weights padded to the most sequences any row holds (the model's slots)
        most = max(y.shape[1] for e in batches["packed"] for _, y, _ in e)
        widen = lambda a: np.pad(a, ((0, 0), (0, most - a.shape[1])))  # noqa: E731
        batches["packed"] = [[(x, widen(y), widen(w)) for x, y, w in e] for e in batches["packed"]]
    return batches


def try_ragged(model_name, sequences, labels, batch_size, seed):
    """Can this model train on RaggedTensor batches? Returns (supported, reason)."""
    ds = cost.make_dataset(sequences[: 2 * batch_size], labels[: 2 * batch_size], "ragged", batch_size)
    attempts = []
    for ragged_input in (False, True):
        model = cost.MODEL_BUILDERS[model_name](seed=seed, ragged_input=ragged_input)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(ds, epochs=1, verbose=0)
            return True, None
        except Exception as exc:  # noqa: BLE001 - any failure is the finding
            how = "keras.Input(ragged=True)" if ragged_input else "keras.Input(shape=(None,))"
            attempts.append(f"with {how}: {type(exc).__name__}: {error_message(exc).splitlines()[0]}")
    return False, "; ".join(attempts)
