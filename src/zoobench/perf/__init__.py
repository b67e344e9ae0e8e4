"""Performance: how one cell is timed (``timing``), the sweep over runtimes × precisions × batch sizes in
interleaved rounds (``sweep``), and the table computed once from it (``table``: medians, spread, best batch
and ties, ratios) that ``perf``, ``report`` and ``compare`` all read."""
