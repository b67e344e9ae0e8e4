"""The stages as library calls with progress and printing: what the CLI commands, ``run`` and the demo call."""

from zoobench.demo import do_demo
from zoobench.infer_stage import do_eval, do_infer
from zoobench.perf.sweep import do_perf

__all__ = ["do_demo", "do_eval", "do_infer", "do_perf"]
