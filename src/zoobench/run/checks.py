"""What ``zoobench run`` checks before it creates anything: every model and its weights, the data and labels.

A typo costs one line and exit 1, and no run directory.
"""

from __future__ import annotations

from zoobench.engines import Recipe
from zoobench.errors import ZoobenchError


def validate_models(
    models: list[str], weights: str | None, per_model: dict[str, str] | None = None, variant: str | None = None
) -> dict[str, Recipe]:
    """Every model resolves (a registry name or a model file with metadata) and has its weights (``per_model``:
    a model's own, else ``weights``); one line naming each that does not. Run before the run directory is created.

    Returns:
        Each model's recipe (:func:`zoobench.engines.resolve`: weights resolved, hashed and dry-loaded once), for
        the run to hand on.
    """
    from zoobench.engines import resolve

    problems = []
    recipes: dict[str, Recipe] = {}
    for model in models:
        try:
            own = (per_model or {}).get(model, weights)
            recipes[model] = resolve(model, weights=own, variant=variant, check=True)  # the keys must fit
        except ZoobenchError as exc:
            said = " ".join(str(exc).split())
            problems.append(said if said.startswith(f"{model}:") else f"{model}: {said}")
    if problems:
        raise ZoobenchError("nothing was run; " + " | ".join(problems))
    return recipes


def validate_data(data: str | None, labels: str | None, limit: int | None = None) -> None:
    """The --data folder holds images (or is a prep cache) and the --labels file reads: one line otherwise, as
    ``infer`` and ``prep`` say it. Run before the run directory is created."""
    from zoobench.data.datasets import read_labels
    from zoobench.infer.stage import listed_input

    if labels:
        read_labels(labels)
    if data:
        listed_input(data, limit)
