"""A cluster worker: one model on one device, colorizing the photos it is handed.

The body of a Ray actor (``engine.cluster.run`` wraps it with ``ray.remote``; this module does not
import Ray, so it is tested as a plain object). It lives as long as its ``ClusterWorkers``: one
batch after another, the model loaded once. The actor is threaded: up to ``concurrency`` calls
run at once, so one photo is read and another written while the model works on a third; the
model itself runs one photo at a time (a ``Colorizer`` is not thread-safe, and a GPU is one lane).

A worker reads and writes through the same paths as the driver, which must therefore be shared
storage mounted at the same place on every node. It returns small ``JobOutcome`` records, never
pixels; the driver keeps the output ledger from them (see ``engine.cluster.run``).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.batch.ledger import FileStamp, stamp_file
from engine.batch.plan import BatchOptions, Job
from engine.batch.steps import read_job, write_job, write_result
from engine.errors import ReviveError, describe_error

if TYPE_CHECKING:  # torch: imported when the worker loads its model
    from engine.batch.steps import Repair
    from engine.external.finishing import Finishing
    from engine.models.colorizer import Colorizer
    from engine.restoration.pipeline import Restorer
    from engine.restoration.stages import RestorationOptions

log = logging.getLogger(__name__)


def unreachable_message(path: Path | str) -> str:
    return f"the Ray workers cannot reach {path}: use a folder every node mounts at the same path"


@dataclass(frozen=True)
class ReachCheck:
    """What a worker must see to take part: the batch's first input, and the output folder, proven
    the driver's own by a marker file the driver wrote there (an unmounted mount point is an empty
    folder of the same name: it must not pass)."""

    first_input: Path | None
    output_dir: Path
    marker: str

    def problem(self) -> str | None:
        """The first path this process cannot reach (read, or write a probe in), or None."""
        if self.first_input is not None:
            try:
                with open(self.first_input, "rb") as handle:
                    handle.read(1)
            except OSError:
                return str(self.first_input)
        if not (self.output_dir / self.marker).is_file():
            return str(self.output_dir)
        probe = self.output_dir / f".revive-probe-{secrets.token_hex(6)}"
        try:
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            os.unlink(probe)
        except OSError:
            return str(self.output_dir)
        return None


@dataclass(frozen=True)
class FinishingFiles:
    """The added models a cluster batch finishes its results with, as the driver read them (the
    nodes need no copy of the user's models): ``(file name, bytes)`` of an upscaler and of a face
    model, either None (``engine.external.finishing``, as ``colorize --upscale/--faces``)."""

    upscale: tuple[str, bytes] | None = None
    faces: tuple[str, bytes] | None = None


@dataclass(frozen=True)
class WorkerInfo:
    node: str  # the host it runs on
    device: str  # "NVIDIA H200 (CUDA, bf16)", "CPU, 1 threads, fp32"
    takes_hints: bool
    problem: str | None  # why it cannot work (a model it cannot load), or None
    finishing: str = ""  # "upscaled x4 by NAME, faces by NAME" when it finishes results


@dataclass(frozen=True)
class JobOutcome:
    """What a worker sends back for one photo: a few hundred bytes."""

    index: int  # the job's index in the plan
    seconds: float  # from reading to the finished write, on the worker
    stamp: FileStamp | None = None  # the written output, for the ledger; None when it failed
    message: str = ""  # why it failed, for people
    trace: str = ""  # the traceback of an unexpected error (a bug), for the driver's log


class ColorizeWorker:
    """Loads the model once (from ``model_bytes``, the model file as the driver read it: the nodes
    need no copy of the user's models), and the upscaler and face model of ``finishing`` the same
    way, then colorizes the ``Job``s of one batch after another: ``begin`` a batch (with the
    stages to repair its photos with first, if any), then ``colorize`` its photos. Never raises for
    a photo or a setup problem: ``info`` and ``begin`` report those, and a worker with a problem
    fails every photo with it."""

    def __init__(
        self,
        model_bytes: bytes,
        model_path: str,
        device: str,
        precision: str,
        torch_threads: int,
        finishing: FinishingFiles | None = None,
    ) -> None:
        import torch

        torch.set_num_threads(max(1, torch_threads))
        self._lock = threading.Lock()
        self._colorizer: Colorizer | None = None  # None: _problem says why
        self._finishing: Finishing | None = None
        self._problem: str | None = None
        self._options: BatchOptions | None = None
        self._forbidden: frozenset[Path] = frozenset()
        self._repair: Repair | None = None  # the batch's repair before colour (colorize --restore)
        self._restorer: Restorer | None = None  # made at the first batch that repairs, kept after
        try:
            self._colorizer = _load(model_bytes, Path(model_path), device, precision)
            if finishing is not None and (finishing.upscale or finishing.faces):
                self._finishing = _load_finishing(finishing, device, precision)
        except (ReviveError, OSError) as error:
            self._colorizer = None
            self._problem = f"a Ray worker on {socket.gethostname()} cannot use the model: {error}"

    def info(self) -> WorkerInfo:
        colorizer = self._colorizer
        return WorkerInfo(
            socket.gethostname(),
            colorizer.device.description if colorizer else "",
            bool(colorizer and colorizer.takes_hints),
            self._problem,
            self._finishing.description if self._finishing is not None else "",
        )

    def begin(
        self,
        options: BatchOptions,
        forbidden: frozenset[Path],
        check: ReachCheck,
        restore: tuple[tuple[str, ...], RestorationOptions] | None = None,
    ) -> str | None:
        """Take the settings of the next batch (called between batches, never during one), with
        ``restore`` (stages and their options, as ``colorize --restore``) to repair each photo
        before colour; returns why this worker cannot work on it (the one-line message), or None."""
        self._options, self._forbidden = options, forbidden
        if self._colorizer is None:
            return self._problem
        unreachable = check.problem()
        self._problem = unreachable_message(unreachable) if unreachable is not None else None
        self._repair = None
        if self._problem is None and restore is not None:
            try:
                self._repair = self._make_repair(*restore)
            except (ReviveError, OSError) as error:
                self._problem = f"a Ray worker on {socket.gethostname()} cannot repair photos: {error}"
        return self._problem

    def _make_repair(self, stages: tuple[str, ...], options: RestorationOptions) -> Repair:
        """The Repair of these stages; the damage detector (Revive's shipped one, at the driver's
        checkout path on this node too) is loaded now, so a missing one is said before any photo."""
        from engine.batch.steps import Repair
        from engine.restoration.pipeline import Restorer

        if self._restorer is None:
            self._restorer = Restorer()  # as colorize --restore makes it
        if "scratches" in stages:
            self._restorer.detector  # noqa: B018 - loads it
        return Repair(stages, options, self._restorer)

    def colorize(self, job: Job, replace: bool) -> JobOutcome:
        """Read, colorize and write one photo; ``replace`` as in ``engine.batch.steps.write_job``."""
        tick = time.monotonic()
        colorizer = self._colorizer
        if self._problem is not None or self._options is None or colorizer is None:
            return JobOutcome(job.index, 0.0, message=self._problem or "the Ray worker was given no batch")
        try:
            if self._repair is None:
                photo, prepared = read_job(job, colorizer, self._options)
            else:
                with self._lock:  # the restorer runs one photo at a time, on the device lane
                    photo, prepared = read_job(job, colorizer, self._options, self._repair)
            with self._lock:
                chroma = colorizer.predict(prepared, self._options.settings, job.hints)
            del prepared
            if self._finishing is None:
                write_job(job, photo, chroma, self._options, forbidden=self._forbidden, replace=replace)
            else:
                from engine.models.chroma_merge import merge_chroma

                merged = merge_chroma(photo.luma, chroma)
                with self._lock:  # the finishing models share the device lane with the colorizer
                    done = self._finishing.apply(merged, photo.alpha, photo.metadata)
                del merged
                write_result(
                    job, done.rgb, done.alpha, done.metadata, self._options, forbidden=self._forbidden, replace=replace
                )
                del done
            del photo, chroma
            stamp = stamp_file(job.output)
        except Exception as error:  # noqa: BLE001 - one bad file never stops the batch
            trace = "" if isinstance(error, ReviveError) else traceback.format_exc()
            return JobOutcome(job.index, time.monotonic() - tick, message=describe_error(error), trace=trace)
        return JobOutcome(job.index, time.monotonic() - tick, stamp)


def _load_finishing(files: FinishingFiles, device: str, precision: str) -> Finishing:
    """The upscaler and face model of ``files``, each examined from its bytes as ``models --add``
    examines a file (spandrel's restricted loading; the task checked)."""
    from engine.external.faces import FaceRestorer
    from engine.external.finishing import Finishing
    from engine.external.upscaling import Upscaler

    with tempfile.TemporaryDirectory(prefix="revive-finishing-") as folder:

        def local(item: tuple[str, bytes]) -> Path:
            name, data = item
            path = Path(folder) / Path(name).name
            path.write_bytes(data)
            return path

        upscaler = Upscaler.load(local(files.upscale), device, precision) if files.upscale else None
        faces = FaceRestorer.load(local(files.faces), device, precision) if files.faces else None
    return Finishing(upscaler, faces)


def _load(model_bytes: bytes, path: Path, device: str, precision: str) -> Colorizer:
    """A Colorizer of the model file's bytes, checked as any model file is (engine.models.files)."""
    from engine.device import select_device
    from engine.models.colorizer import Colorizer
    from engine.models.files import load_model

    choice = select_device(device, precision)
    with tempfile.TemporaryDirectory(prefix="revive-model-") as folder:
        local = Path(folder) / path.name
        local.write_bytes(model_bytes)
        module, card = load_model(local)
    log.info("loaded model %s on %s (%s)", card.name, choice.description, socket.gethostname())
    return Colorizer(module, card, choice, path)
