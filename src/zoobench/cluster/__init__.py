"""The cluster path: offline inference and per-node perf sweeps on Ray (``--ray ADDRESS``).

``connect`` joins or starts Ray and plans actors from the cluster's resources; ``workers`` is what runs on
the nodes (decode tasks, the inference actor); ``pipeline`` is ``infer --ray`` on Ray Data; ``pernode`` is
``perf --ray --per-node``. Ray is optional: ``pip install 'zoobench[ray]'``.
"""
