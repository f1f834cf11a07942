"""How many Ray workers a cluster batch starts, and what each one reserves: pure, tested without Ray.

One worker is one model on one device. Where the cluster has GPUs, a worker per GPU (asking for
more workers than GPUs shares them: two workers per GPU ask for half a GPU each), and each worker
reserves its share of its node's CPUs: decoding and encoding photos is CPU work, and on a GPU it
is the bottleneck, so a worker holds one photo per CPU plus one for the model. Without GPUs, a
worker per CPU (a model with one thread each: a model's small convolutions gain little from more
threads, and separate processes never wait on each other), each holding two photos so that
reading and writing overlap the model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from engine.errors import ClusterError


@dataclass(frozen=True)
class WorkerLayout:
    count: int  # workers (Ray actors) to start
    device: str  # what each worker passes to engine.device.select_device
    num_gpus: float  # GPUs each worker reserves (0 on a CPU cluster)
    num_cpus: int  # CPUs each worker reserves
    concurrency: int  # photos a worker holds at once (max_concurrency of its actor)
    torch_threads: int

    def describe(self) -> str:
        unit = f"{self.num_gpus:g} GPU and {self.num_cpus} CPU" if self.num_gpus else f"{self.num_cpus} CPU"
        return f"{self.count} worker(s) of {unit} each"


def plan_workers(
    nodes: Sequence[Mapping[str, float]], device: str = "auto", workers: int | None = None
) -> WorkerLayout:
    """The layout for a cluster whose alive nodes have ``nodes`` resources (Ray's ``{"CPU": 16,
    "GPU": 2, ...}`` per node). ``device`` is the user's --device; ``workers`` None fills the
    cluster. ClusterError when the cluster cannot hold what is asked for."""
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    cpus = [int(node.get("CPU", 0)) for node in nodes]
    gpus = [float(node.get("GPU", 0)) for node in nodes]
    if sum(cpus) < 1:
        raise ClusterError("the Ray cluster has no CPU for a worker: start its nodes with `ray start`")
    if device == "cuda" and sum(gpus) == 0:
        raise ClusterError("--device cuda was asked for, but the Ray cluster has no GPU (use --device auto or cpu)")
    if device in ("auto", "cuda") and sum(gpus) > 0:
        return _gpu_layout(cpus, gpus, workers)
    return _cpu_layout(cpus, "cpu" if device == "auto" else device, workers)


def _gpu_layout(cpus: list[int], gpus: list[float], workers: int | None) -> WorkerLayout:
    total = sum(int(g) for g in gpus)
    count = workers or max(1, total)
    # Workers per GPU: the fewest that place them all (a node holds floor(its GPUs * share) of them).
    per_gpu = max(1, math.ceil(count / max(1, total)))
    while sum(math.floor(g * per_gpu) for g in gpus) < count:
        per_gpu += 1
    placed = [(c, math.floor(g * per_gpu)) for c, g in zip(cpus, gpus, strict=True) if math.floor(g * per_gpu)]
    num_cpus = max(1, min(c // n for c, n in placed))
    return WorkerLayout(count, "cuda", 1.0 / per_gpu, num_cpus, num_cpus + 1, num_cpus)


def _cpu_layout(cpus: list[int], device: str, workers: int | None) -> WorkerLayout:
    total = sum(cpus)
    count = workers or total
    if count > total:
        raise ClusterError(f"the Ray cluster has {total} CPU(s): ask for at most {total} worker(s)")
    # One CPU and one thread each, whatever the count: fewer workers leave CPUs to others, and a
    # share computed from the cluster's total would not place while others use part of it.
    return WorkerLayout(count, device, 0.0, 1, 2, 1)
