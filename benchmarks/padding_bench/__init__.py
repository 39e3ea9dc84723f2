"""The parts of ``benchmarks/padding_cost.py`` (chapters 18 and 19 read its results).

``corpus_batches`` forms every strategy's batches once; ``epoch_worker`` is the fresh,
single-threaded process that trains one (model, strategy) and times its epochs;
``interleaved`` runs the workers' repeats in rotation, twice over; ``summaries`` turns
the timings into the results file and the printed table.
"""
