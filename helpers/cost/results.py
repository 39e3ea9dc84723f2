"""Stored benchmark results: where the file is, reading and checking it, one row per strategy.

Taught in chapter 18 (The cost of padding) and chapter 19 (Packing), which print the
stored results of ``benchmarks/padding_cost.py``.
"""

import json

from helpers.cost.strategies import STRATEGIES
from helpers.validation import received

#: The stored results of the full benchmark run on CPU (``make benchmark`` rewrites it).
RESULTS_FILE = "benchmarks/results/padding_cost_cpu.json"


def results_path(name=RESULTS_FILE):
    """The path of a stored results file: in this checkout, else fetched from the release.

    In a clone of the book's repository the file is read where ``make benchmark`` wrote
    it. Where the helpers were installed without the repository (Colab), the file is
    downloaded once from the book's release on GitHub into a temporary directory.

    Raises:
        FileNotFoundError: if the file is neither here nor downloadable.
    """
    import pathlib

    local = pathlib.Path(__file__).resolve().parents[2] / name
    if local.exists():
        return local
    import tempfile
    import urllib.request

    from helpers.notebook import RELEASE, REPOSITORY

    url = REPOSITORY.replace("https://github.com/", "https://raw.githubusercontent.com/") + f"/{RELEASE}/{name}"
    target = pathlib.Path(tempfile.gettempdir()) / "padding_masking_results" / pathlib.Path(name).name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            urllib.request.urlretrieve(url, target)  # noqa: S310 - fixed https URL
        except OSError as exc:
            raise FileNotFoundError(f"no {name} in this checkout and it could not be fetched from {url}: "
                                    f"{exc}; run `make benchmark` to make one") from exc
    return target


def load_results(path):
    """Read a results file written by ``benchmarks/padding_cost.py`` and check its shape.

    Raises:
        ValueError: if the file lacks the sections the book reads.
    """
    with open(path, encoding="utf-8") as f:
        results = json.load(f)
    for key in ("machine", "versions", "settings", "models", "date"):
        if key not in results:
            raise ValueError(f"`path` must be a padding-cost results file; it has no {key!r} section. "
                             f"{received('path', str(path))}")
    for model, entry in results["models"].items():
        missing = [s for s in STRATEGIES if s not in entry.get("strategies", {})]
        if missing or "ideal" not in entry:
            raise ValueError(f"the results of model {model!r} must have every strategy; they lack "
                             f"{missing or ['ideal']}. {received('path', str(path))}")
    return results


def results_rows(results):
    """One row per (model, strategy) of a results dict, with the ratio to pad-to-global-max.

    Returns:
        A list of dicts with ``model``, ``strategy``, ``supported``, ``padding_fraction``,
        ``real_tokens_per_s``, ``median_step_ms``, ``speedup`` (real tokens per second
        divided by that of ``"global_max"`` for the same model; None where not supported),
        ``spread`` ((slowest - fastest) / median epoch) and ``cpu_speedup`` (the same ratio
        measured in CPU seconds, where the file has it), ``ratio_to_ideal`` (real tokens
        per second divided by the ideal's, same model), ``shuffled`` (whether the
        strategy drew a new order at every epoch), ``batches``, ``max_batch_cells`` and
        ``peak_rss_mb`` / ``rss_increase_mb`` (memory, where the file has them).
        Each model ends with a row for ``"ideal"``.
    """
    rows = []
    for model, entry in results["models"].items():
        base = entry["strategies"]["global_max"]["real_tokens_per_s"]
        ideal = entry["ideal"]["real_tokens_per_s"]
        for name in STRATEGIES + ("ideal",):
            s = entry["ideal"] if name == "ideal" else entry["strategies"][name]
            ok = s.get("supported", True)
            rows.append({
                "model": model,
                "strategy": name,
                "supported": ok,
                "padding_fraction": s.get("padding_fraction") if ok else None,
                "real_tokens_per_s": s.get("real_tokens_per_s") if ok else None,
                "median_step_ms": s.get("median_step_ms") if ok else None,
                "speedup": s["real_tokens_per_s"] / base if ok else None,
                "reason": None if ok else s.get("reason"),
                "spread": s.get("spread") if ok else None,
                "cpu_speedup": s.get("cpu_speedup_vs_global_max") if ok else None,
                "ratio_to_ideal": s["real_tokens_per_s"] / ideal if ok else None,
                "shuffled": s.get("shuffled"),
                "batches": s.get("batches") if ok else None,
                "max_batch_cells": s.get("max_batch_cells") if ok else None,
                "peak_rss_mb": (s.get("memory") or {}).get("peak_rss_mb") if ok else None,
                "rss_increase_mb": (s.get("memory") or {}).get("rss_increase_mb") if ok else None,
            })
    return rows
