"""``stages.json``: what each stage of a model consumed (hashed) and produced, so unchanged stages are skipped.

Written atomically after every stage, so an interrupted run resumes at the first stage that did not finish.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from zoobench.errors import one_line
from zoobench.fingerprint import listing_hash as listing_hash
from zoobench.io import json_digest, write_json


def hash_inputs(inputs: dict[str, Any]) -> str:
    return json_digest(inputs)


class StageBook:
    """``stages.json`` of one model: what each stage consumed and produced."""

    def __init__(self, mdir: Path, model: str) -> None:
        self.mdir = mdir
        self.path = mdir / "stages.json"
        data: dict[str, Any] = {}
        if self.path.is_file():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
            except ValueError:
                data = {}
        self.data: dict[str, Any] = {"model": model, "status": "running", "stages": data.get("stages", {})}
        self.actions: dict[str, str] = {}

    def fresh(self, name: str, digest: str) -> bool:
        st = self.data["stages"].get(name)
        if not st or st.get("status") != "done" or st.get("inputs_hash") != digest:
            return False
        return all((self.mdir / o).exists() for o in st.get("outputs", []))

    def record(self, name: str, **entry: Any) -> None:
        entry.setdefault("finished", datetime.now(timezone.utc).isoformat(timespec="seconds"))
        self.data["stages"][name] = entry
        self.save()

    def save(self) -> None:
        write_json(self.path, self.data)

    def run(
        self, name: str, inputs: dict[str, Any], fn: Callable[[], tuple[list[str], str]], log: Callable[[str], None]
    ) -> bool:
        """Run ``fn`` (returns outputs relative to the model dir, and a note) unless the stage is fresh."""
        digest = hash_inputs(inputs)
        if self.fresh(name, digest):
            self.actions[name] = "skipped"
            log(f"  {name}: skipped — inputs unchanged since the last run")
            return False
        t0 = time.perf_counter()
        log(f"  {name} ...")
        try:
            outputs, note = fn()
        except Exception as exc:  # recorded with its one-line reason (a rerun runs the stage again), then raised
            self.fail(name, digest, inputs, exc, time.perf_counter() - t0)
            raise
        self.record(
            name,
            status="done",
            inputs_hash=digest,
            inputs=inputs,
            outputs=outputs,
            note=note,
            seconds=round(time.perf_counter() - t0, 3),
        )
        self.actions[name] = "ran"
        if note:  # what the stage found (images, top-1 and gate, best throughput), on the console too
            log(f"  {name}: {note}")
        return True

    def fail(self, name: str, digest: str, inputs: dict[str, Any], exc: BaseException, seconds: float) -> None:
        """A stage that raised: ``status: error`` and the one line that says why. On a full disk stages.json may
        not be writable now; the record is kept in memory and written with the model's status."""
        self.data["stages"][name] = {
            "status": "error",
            "inputs_hash": digest,
            "inputs": inputs,
            "outputs": [],
            "note": one_line(exc),
            "seconds": round(seconds, 3),
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        self.actions[name] = "error"
        with contextlib.suppress(OSError):
            self.save()

    def mark(self, name: str, status: str, note: str, log: Callable[[str], None] | None = None) -> None:
        """A stage that did not run (unavailable, not applicable); recorded so the report can say why, and
        said in one line through ``log``."""
        if log is not None:
            log(f"  {name}: {status} — {note}")
        old = self.data["stages"].get(name, {})
        if old.get("status") == status and old.get("note") == note:
            self.actions[name] = "skipped"
            return
        self.record(name, status=status, note=note, outputs=[], seconds=0.0)
        self.actions[name] = status
