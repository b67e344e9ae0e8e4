"""What ``zoobench run`` checks before it creates anything: every model and its weights, the data and labels.

A typo costs one line and exit 1, and no run directory.
"""

from __future__ import annotations

from zoobench.errors import ZoobenchError


def validate_models(models: list[str], weights: str | None, per_model: dict[str, str] | None = None) -> None:
    """Every model resolves (a registry name or a model file with metadata) and has its weights (``per_model``:
    a model's own, else ``weights``); one line naming each that does not. Run before the run directory is created."""
    from zoobench.artifact import is_model_file, load_engine
    from zoobench.models import get_spec
    from zoobench.models.weights import check_weights

    problems = []
    for model in models:
        try:
            if is_model_file(model):
                load_engine(model)
            else:
                own = (per_model or {}).get(model, weights)
                check_weights(get_spec(model), own)  # resolves, and a dry load: the keys must fit
        except ZoobenchError as exc:
            said = " ".join(str(exc).split())
            problems.append(said if said.startswith(f"{model}:") else f"{model}: {said}")
    if problems:
        raise ZoobenchError("nothing was run; " + " | ".join(problems))


def validate_data(data: str | None, labels: str | None, limit: int | None = None) -> None:
    """The --data folder holds images (or is a prep cache) and the --labels file reads: one line otherwise, as
    ``infer`` and ``prep`` say it. Run before the run directory is created."""
    from zoobench.data.datasets import read_labels
    from zoobench.infer.stage import listed_input

    if labels:
        read_labels(labels)
    if data:
        listed_input(data, limit)
