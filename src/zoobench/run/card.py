"""The model card of a run (``model.json``): what was measured, with which weights, preprocessing and engine,
beside the model's published figures. The report shows it."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any


def model_card(engine: Any, engine_sha: str) -> dict[str, Any]:
    """``model.json``: what the report's model card shows."""
    card: dict[str, Any] = {
        "model": engine.model,
        "engine": Path(engine.path).name,
        "engine_sha256": engine_sha,
        "preprocess": engine.preprocess.to_dict(),
        "preprocess_hash": engine.preprocess.hash(),
        "weights": engine.metadata.get("weights") or {},
        "input_size": list(engine.preprocess.input_size),
    }
    from zoobench.models import find_spec

    spec = find_spec(engine.model)
    if spec is None:  # an ONNX file of a model zoobench does not know
        return card
    card.update(
        description=spec.description,
        params_m=spec.params_m,
        gflops=spec.gflops,
        input_name=spec.input_name,
        output_name=spec.output_name,
        reference=None if spec.reference is None else asdict(spec.reference),
        seed_npu=None if spec.seed_npu is None else asdict(spec.seed_npu),
    )
    return card
