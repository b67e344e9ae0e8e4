"""``zoobench run``: ``ledger`` (what each stage consumed and produced: the input-hash ledger that makes a rerun
skip what did not change) and ``chain`` (every stage for every model into one run directory)."""
