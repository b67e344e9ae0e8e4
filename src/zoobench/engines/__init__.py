"""The engine build: one recipe per model (:mod:`.recipe`), one store of everything built (:mod:`.store`), one
way of building each step (:mod:`.build`). Every caller gets its engines here: ``run``, ``infer``, ``compile``,
``perf``, ``tune``, ``export`` and Ray's per-node perf."""

from zoobench.engines.build import column_engine, float_engine, resolve_engine, uint8_engine, uint8_input
from zoobench.engines.recipe import Recipe, engine_record, resolve

__all__ = [
    "Recipe",
    "column_engine",
    "engine_record",
    "float_engine",
    "resolve",
    "resolve_engine",
    "uint8_engine",
    "uint8_input",
]
