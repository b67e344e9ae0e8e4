"""What ``run`` says after a stage failed: the stages that did not run, and (after a full disk) what finished."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from zoobench.errors import one_line
from zoobench.run.ledger import StageBook


def say_not_run(planned: list[str], book: StageBook, log: Callable[[str], None]) -> None:
    """After a stage raised: one line for each later stage, which did not run (their records are kept, so a
    later run still skips what is up to date)."""
    failed = next((s for s, a in reversed(book.actions.items()) if a == "error"), None)
    left = [s for s in planned if s not in book.actions and s != "report"]
    if failed is None and left:  # a failure outside any stage's book entry: the first stage not done
        failed, left = left[0], left[1:]
    for name in left:
        log(f"  {name}: not run — {failed} failed")


def stopped(statuses: dict[str, str], not_run: list[str], error: str) -> str:
    """``run stopped — finished a (passed); error b; not run: c``: what a run stopped by a full disk did."""
    done = [f"{m} ({s})" for m, s in statuses.items() if s != error]
    failed = [m for m, s in statuses.items() if s == error]
    parts = [f"finished {', '.join(done) or 'none'}", f"error {', '.join(failed)}"]
    if not_run:
        parts.append(f"not run: {', '.join(not_run)}")
    return "run stopped — " + "; ".join(parts)


def failure_reasons(rundir: Path, statuses: dict[str, str], bad: tuple[str, ...]) -> dict[str, str]:
    """Model -> ``(status) — why``, for each model whose status is in ``bad``: its accuracy gate's reason
    (accuracy.json) or the error its stages.json records; the status alone when neither says."""
    import json

    from zoobench.models.registry import slug

    out = {}
    for model, status in statuses.items():
        if status not in bad:
            continue
        mdir = Path(rundir) / slug(model)
        why = ""
        sources = [("infer/accuracy.json", "gate_reason"), ("stages.json", "error")]
        for rel, key in sources[::-1] if status == "error" else sources:
            try:
                why = why or str(json.loads((mdir / rel).read_text(encoding="utf-8")).get(key) or "")
            except (OSError, ValueError):
                continue
        out[model] = f"({status}) — {why}" if why else f"({status})"
    return out


def error_report(mdir: Path, log: Callable[[str], None]) -> None:
    """A failed model's report, from what there is, so it shows the failure (stages.json has it anyway)."""
    from zoobench.report import write_model_report

    try:
        write_model_report(mdir)
    except Exception as exc:  # the report is a nicety here
        log(f"  report: not written — {one_line(exc)}")
