"""The actor plan from a cluster's resources (CPU and GPU clusters described as ``ray.nodes()`` describes them)."""

from __future__ import annotations

from typing import Any

import pytest

from zoobench.cluster.connect import plan
from zoobench.errors import ClusterError


class FakeRay:
    def __init__(self, *nodes: dict[str, float], dead: int = 0) -> None:
        self._nodes = [{"NodeID": f"n{i}", "Alive": True, "Resources": r} for i, r in enumerate(nodes)]
        self._nodes += [{"NodeID": f"d{i}", "Alive": False, "Resources": {"CPU": 64.0}} for i in range(dead)]

    def nodes(self) -> list[dict[str, Any]]:
        return self._nodes


def test_cpu_nodes_get_one_actor_each_with_half_the_smallest_node() -> None:
    p = plan(FakeRay({"CPU": 16.0}, {"CPU": 8.0}, dead=1), gpu=False, actors=None, cpus_per_actor=None, threads=None)
    assert (p.actors, p.cpus_per_actor, p.threads, p.nodes, p.cluster_cpus) == (2, 4.0, 8, 2, 24.0)
    assert p.gpus_per_actor == 0 and p.decode_cpus == 0.5 and p.decode_tasks == 24  # dead nodes do not count
    assert p.placement == {"n0": 1, "n1": 1}  # one actor pinned to each live node


def test_overrides_and_a_plan_that_does_not_fit() -> None:
    ray = FakeRay({"CPU": 2.0}, {"CPU": 2.0})
    p = plan(ray, gpu=False, actors=4, cpus_per_actor=1, threads=None)
    assert (p.actors, p.cpus_per_actor, p.threads, p.decode_cpus) == (4, 1, 1, 0.0)
    assert p.placement == {"n0": 2, "n1": 2}
    assert plan(ray, gpu=False, actors=3, cpus_per_actor=1, threads=None).placement == {"n0": 2, "n1": 1}
    assert plan(ray, gpu=False, actors=None, cpus_per_actor=0.5, threads=None).threads == 1  # never 0 (= all cores)
    with pytest.raises(ClusterError, match=r"5 actors x 1 CPUs need 5 CPUs; the cluster has 4"):
        plan(ray, gpu=False, actors=5, cpus_per_actor=1, threads=None)


def test_gpu_runtimes_get_one_actor_per_gpu() -> None:
    ray = FakeRay({"CPU": 8.0, "GPU": 2.0}, {"CPU": 8.0, "GPU": 1.0}, {"CPU": 4.0})
    p = plan(ray, gpu=True, actors=None, cpus_per_actor=None, threads=None)
    assert (p.actors, p.gpus_per_actor, p.cpus_per_actor, p.cluster_gpus) == (3, 1.0, 1.0, 3.0)
    assert p.placement == {"n0": 2, "n1": 1}  # one per GPU; the CPU-only node gets none
    with pytest.raises(ClusterError, match="runs on GPUs, and the Ray cluster has none"):
        plan(FakeRay({"CPU": 8.0}), gpu=True, actors=None, cpus_per_actor=None, threads=None)


def test_a_cluster_without_live_nodes_is_an_error() -> None:
    with pytest.raises(ClusterError, match="no live node"):
        plan(FakeRay(dead=2), gpu=False, actors=None, cpus_per_actor=None, threads=None)
