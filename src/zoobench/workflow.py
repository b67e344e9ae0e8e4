"""The stages as library calls with progress and printing: what the CLI commands run."""

from __future__ import annotations

from typing import Any


def _console(quiet: bool = False) -> Any:
    from zoobench.console import make_console

    return make_console(quiet)


def _reference_of(model: str) -> tuple[float | None, float | None]:
    from zoobench.models import get_spec

    try:
        ref = get_spec(model).reference
    except Exception:  # an ONNX file of a model zoobench does not know
        return None, None
    return (ref.top1, ref.top5) if ref else (None, None)


# The infer / eval stages live in zoobench.infer_stage; re-exported here (the CLI, demo and run use these names).
from zoobench.infer_stage import do_eval, do_infer  # noqa: E402


def _print_accuracy(console: Any, acc: dict[str, Any]) -> None:
    tops = "  ".join(f"top{k} {acc[f'top{k}']:.2f}%" for k in range(1, 6))
    console.print(
        f"[bold]accuracy[/] over {acc['count']} images ({acc.get('skipped', 0)} skipped, "
        f"{acc.get('unlabeled', 0)} unlabeled): {tops}"
    )
    ref = acc.get("reference") or {}
    if ref.get("top1") is not None:
        verdict = {True: "[green]PASS[/]", False: "[red]FAIL[/]", None: "-"}[acc.get("passed")]
        console.print(
            f"reference top-1 {ref['top1']:.3f}%, delta {acc['delta_top1']:+.2f} points "
            f"(tolerance {acc['tolerance_points']}; ±{acc['ci95_top1_points']:.1f} points is the 95% "
            f"interval on {acc['count']} images) {verdict}"
        )
    if acc.get("note"):
        console.print(f"[yellow]{acc['note']}[/]")


from zoobench.demo import do_demo  # noqa: E402  (re-exported for the CLI)
from zoobench.perfsweep import do_perf  # noqa: E402  (moved; re-exported for demo / run)

__all__ = ["do_demo", "do_eval", "do_infer", "do_perf"]
