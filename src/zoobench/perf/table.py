"""The perf table, computed once per sweep and stored in perf.json: img/s (median of the rounds) and spread per
batch size and column, the best batch with the batches tied with it, and ratios vs the first column.

``perf``, ``report`` and ``compare`` read it from perf.json; files written before it existed get it computed
the same way by :func:`best_with_ties`.
"""

from __future__ import annotations

from typing import Any, TypedDict, cast


def within_noise(cell: dict[str, Any], best: dict[str, Any]) -> bool:
    """Whether ``cell``'s median is within the measured noise of ``best``'s: its shortfall is no more than
    the larger of the two cells' spreads ((max - min) / median of their rounds). One round: no noise known,
    so nothing ties."""
    noise = max(float(cell.get("spread_pct") or 0.0), float(best.get("spread_pct") or 0.0)) / 100.0
    return float(cell["throughput_img_s"]) >= float(best["throughput_img_s"]) * (1.0 - noise)


class BestBatch(TypedDict):
    """A column's best batch: its median img/s, spread and unstable flag, and the batches tied with it."""

    batch_size: int
    throughput_img_s: float
    spread_pct: float | None
    unstable: bool
    tied: list[int]


def best_with_ties(results: list[dict[str, Any]]) -> BestBatch | None:
    """The batch with the highest median img/s, and the batches whose medians are within the noise of it.

    Returns:
        ``batch_size``, ``throughput_img_s``, ``spread_pct``, ``unstable`` and ``tied`` (batch sizes, ascending),
        or None when no batch size ran.
    """
    ok = [r for r in results if "error" not in r and r.get("throughput_img_s")]
    if not ok:
        return None
    best = max(ok, key=lambda r: float(r["throughput_img_s"]))
    tied = sorted(r["batch_size"] for r in ok if r is not best and within_noise(r, best))
    return BestBatch(
        batch_size=int(best["batch_size"]),
        throughput_img_s=float(best["throughput_img_s"]),
        spread_pct=best.get("spread_pct"),
        unstable=bool(best.get("unstable", False)),
        tied=tied,
    )


def build_table(columns: list[dict[str, Any]], batch_sizes: list[int]) -> dict[str, Any]:
    """Rows = batch sizes, columns = runtime × precision: median img/s, spread and unstable flag per cell, the
    best batch (with ties) per column, ratios vs the first column that ran (per batch and best over best)."""
    names = [c["name"] for c in columns]
    thr: dict[str, list[float | None]] = {}
    spread: dict[str, list[float | None]] = {}
    unstable: dict[str, list[bool]] = {}
    for c in columns:
        by_bs = {r["batch_size"]: r for r in c.get("results", []) if "error" not in r}
        thr[c["name"]] = [by_bs[bs]["throughput_img_s"] if bs in by_bs else None for bs in batch_sizes]
        spread[c["name"]] = [by_bs[bs].get("spread_pct") if bs in by_bs else None for bs in batch_sizes]
        unstable[c["name"]] = [bool(by_bs[bs].get("unstable")) if bs in by_bs else False for bs in batch_sizes]
    best = {c["name"]: best_with_ties(c.get("results", [])) for c in columns}
    ran = [n for n in names if best[n] is not None]
    ref = ran[0] if ran else None
    ratio: dict[str, list[float | None]] = {}
    best_ratio: dict[str, float | None] = {}
    for n in ran:
        if n == ref:
            continue
        ratio[n] = [a / b if a and b else None for a, b in zip(thr[n], thr[ref])]  # type: ignore[index]
        best_ratio[n] = best[n]["throughput_img_s"] / best[ref]["throughput_img_s"]  # type: ignore[index]
    tuned, best_tuned = tuned_ratios(columns, thr, best)
    return {
        "batch_sizes": batch_sizes,
        "columns": names,
        "throughput_img_s": thr,
        "spread_pct": spread,
        "unstable": unstable,
        "best": {n: best[n] or {"batch_size": None, "throughput_img_s": None, "tied": []} for n in names},
        "ratio_reference": ref,
        "ratio_vs_reference": ratio,
        "best_ratio_vs_reference": best_ratio,
        "tuned_vs_untuned": tuned,
        "best_tuned_vs_untuned": best_tuned,
        "tuned_slower": tuned_slower(columns),
    }


class SlowerBatch(TypedDict):
    """A batch where a tuned column is slower than its untuned twin: tuned / untuned median img/s."""

    batch_size: int
    ratio: float


def tuned_slower(columns: list[dict[str, Any]]) -> dict[str, list[SlowerBatch]]:
    """Tuned column -> the batches where it is slower than its untuned twin beyond the rounds' spread (the
    profile hurts there): ``batch_size`` and ``ratio`` (tuned / untuned median img/s)."""
    cells = {c["name"]: {r["batch_size"]: r for r in c.get("results", []) if "error" not in r} for c in columns}
    out: dict[str, list[SlowerBatch]] = {}
    for c in columns:
        base = cells.get(str(c.get("untuned")))
        if not c.get("tuned") or base is None:
            continue
        for bs, cell in cells[c["name"]].items():
            twin = base.get(bs)
            if twin and cell.get("throughput_img_s") and twin.get("throughput_img_s") and not within_noise(cell, twin):
                ratio = float(cell["throughput_img_s"]) / float(twin["throughput_img_s"])
                out.setdefault(c["name"], []).append({"batch_size": bs, "ratio": round(ratio, 4)})
    return out


def tuned_ratios(
    columns: list[dict[str, Any]], thr: dict[str, list[float | None]], best: dict[str, BestBatch | None]
) -> tuple[dict[str, list[float | None]], dict[str, float | None]]:
    """Each tuned column over its untuned twin, per batch and best over best (the seeds' "310P(aoe)/310P")."""
    per: dict[str, list[float | None]] = {}
    best_over: dict[str, float | None] = {}
    for c in columns:
        base = c.get("untuned")
        if not c.get("tuned") or base not in thr or not best.get(c["name"]):
            continue
        per[c["name"]] = [a / b if a and b else None for a, b in zip(thr[c["name"]], thr[base])]
        b_t, b_u = best[c["name"]], best.get(base)
        best_over[c["name"]] = b_t["throughput_img_s"] / b_u["throughput_img_s"] if b_t and b_u else None
    return per, best_over


def best_of_file(perf: dict[str, Any]) -> BestBatch | None:
    """The best batch (with ties) of a perf.json's first column that ran: from its stored table, or computed
    from its results for files written before the table carried ties."""
    tab = perf.get("table") or {}
    ref = tab.get("ratio_reference")
    stored = (tab.get("best") or {}).get(ref) if ref else None
    if stored and stored.get("batch_size") is not None and "tied" in stored:
        return cast(BestBatch, dict(stored))
    return best_with_ties(perf.get("results", []))


def split_columns(perf: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``runtime-precision`` -> a perf.json of one column, for each column of a sweep's perf.json that ran.

    ``zoobench run`` writes one column per file (and its tuned twin, ``runtime-precision-tuned``); ``zoobench perf
    --runtimes a,b`` writes them all in one. Each
    part keeps the file's model and environment, gets its column's ``runtime`` info and ``results``, and a table
    whose reference is that column, so :func:`best_of_file` reads the best batch the sweep stored for it.
    """
    rt = perf.get("runtime") or {}
    ran = [c for c in perf.get("columns", []) if c.get("available") and c.get("results")]
    if len(ran) < 2:
        return {f"{rt.get('runtime', 'runtime')}-{rt.get('precision', 'fp32')}": perf}
    stored = (perf.get("table") or {}).get("best") or {}
    out = {}
    for c in ran:
        best = stored.get(c["name"])
        table = {"ratio_reference": c["name"], "best": {c["name"]: best}} if best else {}
        part = {**perf, "runtime": c.get("info") or {}, "results": c["results"], "columns": [c], "table": table}
        if c.get("tuned"):  # beside its untuned twin, as the seeds print 310P beside 310P after AOE
            part.update(tuned=True, untuned=c.get("untuned"))
        out[f"{c['runtime']}-{c['precision']}" + ("-tuned" if c.get("tuned") else "")] = part
    return out


def cell_text(value: float | None, spread_pct: float | None, unstable: bool, *, long: bool = False) -> str:
    """A throughput cell: ``412.3``, with ``±7.2%!`` appended when the rounds spread more than the threshold
    (``±7.2% unstable`` with ``long``, as the report and compare write it)."""
    if value is None:
        return "n/a"
    if not unstable:
        return f"{value:.1f}"
    spread = "" if spread_pct is None else f" ±{spread_pct:.1f}%"
    return f"{value:.1f}{spread}" + (" unstable" if long else "!")
