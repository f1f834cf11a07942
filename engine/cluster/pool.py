"""The workers of a cluster batch, seen from the driver: started on a Ray cluster, handed photos,
stopped.

Workers are Ray actors (``engine.cluster.worker``) laid out by ``engine.cluster.layout``: one per
GPU, else one per CPU; Ray places them (spread over the nodes). Each loads the model once, from the
bytes the driver put in Ray's object store, and sends back small outcomes, never pixels. Before a
batch, each proves it reaches the files at the driver's paths (``begin``). The driver hands each
worker as many photos as it runs at once and another whenever one comes back (Ray's ``wait``), so
a fast node takes more photos than a slow one and no photo waits in a Ray queue: cancelling is
handing out no more. ``ClusterWorkers`` may be kept for one batch after another.

Workers import Revive from the driver's path, so every node has the same checkout at the same
place (and the same Python environment). Ray is imported here only, when called: it is the
optional extra ``cluster``.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.batch.plan import BatchOptions, BatchPlan, Job, prepare_output_folder
from engine.cancel import CancelToken
from engine.cluster import INSTALL_HINT
from engine.cluster.address import unreachable
from engine.cluster.layout import WorkerLayout, plan_workers
from engine.cluster.worker import ColorizeWorker, FinishingFiles, JobOutcome, ReachCheck, WorkerInfo
from engine.errors import ClusterError, first_line
from engine.models.card import ModelCard, read_card
from engine.models.registry import resolve
from engine.restoration.stages import RestorationOptions

log = logging.getLogger(__name__)

STARTUP_SECONDS = 300.0  # for every worker to start and load the model (a cold node imports torch)
POLL_SECONDS = 0.25  # how often the driver looks at the cancel token while it waits
REVIVE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding the engine package


def import_ray():
    """The ``ray`` module; ClusterError with the install line when the extra is not installed."""
    # Under `uv run`, Ray would copy the whole working folder to the workers and build a fresh
    # virtual environment from it on every run (6 GB and minutes, measured here); the nodes run
    # Revive's own environment instead. Read once, when Ray is first imported.
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    try:
        import ray
    except ImportError:
        raise ClusterError(INSTALL_HINT) from None
    return ray


@dataclass(frozen=True)
class ModelFile:
    """The model a cluster batch uses: resolved and its card read on the driver (torch-free)."""

    path: Path
    card: ModelCard

    @classmethod
    def of(cls, model: str | Path | None) -> ModelFile:
        resolved = resolve(str(model) if model is not None else None)
        for warning in resolved.warnings:
            log.warning("%s", warning)
        return cls(resolved.path, read_card(resolved.path))


def finishing_files(upscale: str | Path | None = None, faces: str | Path | None = None) -> FinishingFiles | None:
    """The added upscaler and face model (names, or files by path) read here for the workers, each
    file checked against its card (size and SHA-256) as a local run checks it; None when neither
    is asked for. ModelNotFound / ModelFileError in one line."""
    if not upscale and not faces:
        return None
    return FinishingFiles(_finishing_file(upscale) if upscale else None, _finishing_file(faces) if faces else None)


def _finishing_file(name_or_path: str | Path) -> tuple[str, bytes]:
    """(a file name whose stem is the model's name, the bytes), read as a local run reads them."""
    from engine.external import store

    model, path, data = store.model_file(name_or_path)
    return (model.name + path.suffix.lower() if model is not None else path.name), data


@dataclass
class _Slot:
    handle: Any  # the Ray actor (its methods are looked up at run time)
    free: int  # photos it can take now
    alive: bool = True


class ClusterWorkers:
    """Workers on a Ray cluster with one model loaded, for one batch after another (one at a time,
    ``engine.cluster.run.run_batch_on_workers``). ``start`` connects and starts them; ``close`` (or
    leaving the ``with`` block) stops them and ends a connection it made."""

    def __init__(self, ray, address: str, model: ModelFile, finishing: FinishingFiles | None = None) -> None:
        self._ray = ray
        self.address = address
        self.model = model
        self.finishing = finishing  # the upscaler and face model every worker loaded, or None
        self._connected = False
        self._slots: list[_Slot] = []
        self._running: dict[object, tuple[Job, _Slot]] = {}  # ObjectRef -> the photo it colorizes
        self.infos: list[WorkerInfo] = []  # empty when cancelled while starting
        self.layout: WorkerLayout | None = None
        self._last_loss = ""
        self._busy = False

    # ------------------------------------------------------------------------ starting, stopping
    @classmethod
    def start(
        cls,
        model: str | Path | None = None,
        device: str = "auto",
        address: str = "local",
        *,
        workers: int | None = None,
        precision: str = "auto",
        cancel: CancelToken | None = None,
        upscale: str | Path | None = None,
        faces: str | Path | None = None,
    ) -> ClusterWorkers:
        """Connect (unless this process already is) and start the workers; return once each has
        loaded the model (and ``upscale``/``faces``, added models that finish every result), or as
        soon as ``cancel`` is set (then ``infos`` is empty). ClusterError when Ray is missing, the
        cluster cannot be reached or cannot hold the workers, or a worker cannot load a model."""
        pool = cls(import_ray(), address, ModelFile.of(model), finishing_files(upscale, faces))
        try:
            pool._connect()
            pool._start(device, precision, workers, cancel or CancelToken())
        except BaseException:
            pool.close()
            raise
        return pool

    def _connect(self) -> None:
        ray = self._ray
        if ray.is_initialized():  # a caller's own session (a notebook, the tests) is used and left open
            return
        from ray.job_config import JobConfig

        # Workers import Revive from the driver's path: the same checkout on every node. (Ray
        # Client, ray://, takes no job config: its workers are given the path as PYTHONPATH.)
        settings: dict = {"log_to_driver": False, "logging_level": logging.ERROR}
        if self.address.startswith("ray://"):
            settings["runtime_env"] = {"env_vars": {"PYTHONPATH": str(REVIVE_ROOT)}}
        else:
            settings["job_config"] = JobConfig(code_search_path=[str(REVIVE_ROOT)])
        if self.address == "local":
            settings["include_dashboard"] = False
        problem = unreachable(self.address)  # at once, where ray.init would retry for minutes
        if problem is not None:
            raise ClusterError(problem)
        try:
            ray.init(address=self.address, **settings)
        except (ConnectionError, ValueError) as error:
            if "ray[client]" in str(error):  # reached, but this install cannot speak Ray Client
                raise ClusterError(
                    f"a ray:// address needs Ray Client, which the cluster extra installs ({INSTALL_HINT});"
                    " or give the head node's HOST:PORT"
                ) from None
            raise ClusterError(
                f"cannot connect to the Ray cluster at {self.address} ({first_line(error)}):"
                " start one with `ray start --head`, or give its address"
                " (auto, ray://HOST:10001, local)"
            ) from None
        self._connected = True

    def _start(self, device: str, precision: str, workers: int | None, cancel: CancelToken) -> None:
        ray = self._ray
        nodes = [node["Resources"] for node in ray.nodes() if node.get("Alive")]
        self.layout = layout = plan_workers(nodes, device, workers)
        log.info("starting %s on the Ray cluster at %s", layout.describe(), self.address)
        model_ref = ray.put(self.model.path.read_bytes())
        finishing_ref = ray.put(self.finishing)
        actor = ray.remote(ColorizeWorker).options(
            num_cpus=layout.num_cpus,
            num_gpus=layout.num_gpus,
            max_concurrency=layout.concurrency,
            scheduling_strategy="SPREAD",
        )
        for _ in range(layout.count):
            handle = actor.remote(
                model_ref, str(self.model.path), layout.device, precision, layout.torch_threads, finishing_ref
            )
            self._slots.append(_Slot(handle, layout.concurrency))
        refs = [slot.handle.info.remote() for slot in self._slots]
        if not self._wait_all(refs, cancel, "started"):
            return
        try:
            infos = ray.get(refs)
        except ray.exceptions.RayError as error:
            raise ClusterError(f"a Ray worker could not start ({first_line(error)})") from None
        problem = next((info.problem for info in infos if info.problem), None)
        if problem:
            raise ClusterError(problem)
        self.infos = infos

    def _wait_all(self, refs: list, cancel: CancelToken, what: str) -> bool:
        """Wait for every ref (False as soon as ``cancel`` is set); ClusterError after STARTUP_SECONDS."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            ready, waiting = self._ray.wait(refs, num_returns=len(refs), timeout=POLL_SECONDS)
            if not waiting:
                return True
            if cancel.cancelled:
                return False
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"only {len(ready)} of {len(refs)} Ray workers {what} in {STARTUP_SECONDS:.0f} s:"
                    " the cluster is busy or short of CPUs or GPUs; ask for fewer workers"
                )

    def close(self) -> None:
        for slot in self._slots:
            with suppress(ValueError, self._ray.exceptions.RayError):  # already gone: as wanted
                self._ray.kill(slot.handle)
        self._slots.clear()
        if self._connected:
            self._ray.shutdown()
            self._connected = False

    def __enter__(self) -> ClusterWorkers:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------------ one batch
    def claim(self) -> None:
        """Mark the workers taken by a batch (one at a time: ``begin`` sets each worker's batch)."""
        if self._busy:
            raise RuntimeError("these cluster workers are running another batch")
        self._busy = True

    def release(self) -> None:
        self._busy = False

    def begin(
        self,
        plan: BatchPlan,
        options: BatchOptions,
        cancel: CancelToken,
        restore: tuple[tuple[str, ...], RestorationOptions] | None = None,
    ) -> Path | None:
        """Give every worker the batch's settings (``restore``: the stages and options to repair
        each photo with first) and have each prove it reaches the files (the first input, and a
        marker file written here in the output folder) and can repair; returns the marker (the
        caller removes it), or None when cancelled meanwhile. ClusterError when a worker cannot."""
        ray = self._ray
        prepare_output_folder(plan.output_dir)
        marker = write_marker(plan.output_dir)
        keep = False
        try:
            check = ReachCheck(plan.jobs[0].source if plan.jobs else None, plan.output_dir, marker.name)
            forbidden_ref = ray.put(frozenset(job.source for job in plan.jobs))
            refs = [
                slot.handle.begin.remote(options, forbidden_ref, check, restore) for slot in self._slots if slot.alive
            ]
            if not self._wait_all(refs, cancel, "answered"):
                return None
            try:
                problems = ray.get(refs)
            except ray.exceptions.RayError as error:
                raise ClusterError(f"a Ray worker stopped before the batch began ({first_line(error)})") from None
            problem = next((problem for problem in problems if problem), None)
            if problem:
                raise ClusterError(problem)
            keep = True
            return marker
        finally:
            if not keep:
                marker.unlink(missing_ok=True)

    @property
    def busy(self) -> bool:
        """True while photos are out with the workers."""
        return bool(self._running)

    def has_room(self) -> bool:
        return any(slot.alive and slot.free for slot in self._slots)

    def hand_out(self, job: Job, replace: bool) -> None:
        slot = max((slot for slot in self._slots if slot.alive), key=lambda slot: slot.free)
        slot.free -= 1
        self._running[slot.handle.colorize.remote(job, replace)] = (job, slot)

    def collect(self, timeout: float) -> list[tuple[Job, JobOutcome]]:
        """The outcomes that came back within ``timeout`` seconds (maybe none). A photo whose
        worker died (its node lost, the process killed) fails, and that worker gets no more."""
        ray = self._ray
        ready, _ = ray.wait(list(self._running), num_returns=1, timeout=timeout)
        if ready:
            ready, _ = ray.wait(list(self._running), num_returns=len(self._running), timeout=0)
        outcomes = []
        for ref in ready:
            job, slot = self._running.pop(ref)
            slot.free += 1
            try:
                outcome = ray.get(ref)
            except ray.exceptions.RayActorError as error:
                slot.alive = False
                self._last_loss = first_line(error)
                outcome = JobOutcome(
                    job.index, 0.0, message=f"the Ray worker stopped while colorizing this photo ({first_line(error)})"
                )
            except ray.exceptions.RayError as error:
                outcome = JobOutcome(job.index, 0.0, message=f"Ray could not colorize this photo ({first_line(error)})")
            outcomes.append((job, outcome))
        return outcomes

    def check_alive(self) -> None:
        """ClusterError when every worker has stopped."""
        if self._slots and not any(slot.alive for slot in self._slots):
            raise ClusterError(
                f"every Ray worker has stopped ({self._last_loss}); finished photos are kept:"
                " run again with --skip-existing"
            )

    def describe(self) -> str:
        """Where the model ran, for the report: "Ray cluster (auto): 4 x NVIDIA H200 (CUDA, bf16)"."""
        if not self.infos:
            return f"Ray cluster ({self.address}): no worker started"
        devices = Counter(info.device for info in self.infos)
        return f"Ray cluster ({self.address}): " + ", ".join(f"{n} x {device}" for device, n in sorted(devices.items()))


def write_marker(folder: Path) -> Path:
    """A hidden file only this batch's driver wrote, which every worker must see."""
    marker = folder / f".revive-cluster-{secrets.token_hex(6)}"
    try:
        os.close(os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    except OSError as error:
        raise ClusterError(f"cannot write in the output folder {folder} ({error.strerror or error})") from None
    return marker
