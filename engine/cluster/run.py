"""Running a batch plan on a Ray cluster: the same events, files, ledger and report as
``engine.batch.run.run_batch``, with the photos colorized by workers on every node
(``engine.cluster.pool``).

- The plan is made once, on the driver (this process). Every node must see the inputs and the
  output folder at the same paths (shared storage mounted at the same place). Each worker proves
  it before any photo is handed out: it reads the first input and finds a marker file the driver
  wrote in the output folder; otherwise the batch stops with one line, before its first event.
- One bad file never stops the batch: it fails alone (``JobFailed``), as does a photo whose worker
  died; the other workers go on. Only when every worker is gone does the batch stop (ClusterError,
  raised once the report is written: the photos done, and those not colorized as skipped).
- Cancel hands out no more photos, lets those in progress finish (complete work, as on one
  machine), then ``BatchFinished`` says cancelled. ``JobStarted`` is yielded as a photo is handed
  out, which is when its worker starts on it; every one is followed by ``JobDone`` or ``JobFailed``.
- ``skip_existing`` skips the jobs the plan proved finished, as on one machine; a resumed batch
  with nothing left to do starts no worker at all.
- The ledger has one writer, the driver, which appends each output's line from the stamp (size,
  time, fingerprint) its worker measured right after the rename. Appends from several machines to
  one file on a network share are not atomic (NFS emulates O_APPEND, and two clients can write
  over each other's lines), so several writers would be safe only on a local disk. The price: a
  batch killed between a worker's rename and the driver's line leaves a file it cannot prove its
  own, and the rerun writes beside it (``name-2``), never over it; the window is one round trip.
- The report is batch_run's (``engine.batch.steps.write_report``), written by the driver, with a
  ``cluster`` key added (address, workers, nodes).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from engine.batch.ledger import OutputLedger
from engine.batch.plan import BatchOptions, BatchPlan
from engine.batch.run import (
    BatchEvent,
    BatchFinished,
    BatchStarted,
    BatchSummary,
    InputProblem,
    JobDone,
    JobFailed,
    JobSkipped,
    JobStarted,
)
from engine.batch.steps import BatchRecord, ReportModel, clean_leftovers, write_report
from engine.cancel import CancelToken
from engine.cluster.pool import POLL_SECONDS, REVIVE_ROOT, ClusterWorkers, ModelFile, import_ray
from engine.errors import ClusterError, OutputError, ReviveError, first_line
from engine.restoration.stages import RestorationOptions

log = logging.getLogger(__name__)

__all__ = ["REVIVE_ROOT", "ClusterWorkers", "import_ray", "run_batch_on_cluster", "run_batch_on_workers"]


def run_batch_on_cluster(
    plan: BatchPlan,
    options: BatchOptions,
    model: str | Path | None = None,
    device: str = "auto",
    address: str = "local",
    cancel: CancelToken | None = None,
    workers: int | None = None,
    *,
    precision: str = "auto",
    upscale: str | Path | None = None,
    faces: str | Path | None = None,
    restore: tuple[tuple[str, ...], RestorationOptions] | None = None,
) -> Iterator[BatchEvent]:
    """Colorize every job of ``plan`` on the Ray cluster at ``address`` ("auto": the cluster this
    machine belongs to, "ray://HOST:10001": a remote one, "local": start Ray here; when this
    process is already connected to Ray, that connection is used and left open). ``model`` is a
    name or a path, as for ``Colorizer.load``, read here and sent to the workers; ``workers`` None
    fills the cluster (``engine.cluster.layout``); ``upscale`` and ``faces`` are added models
    (names or files, read here and sent too) that finish every result, as in ``run_batch``;
    ``restore`` (stages and options, ``colorize --restore``) repairs each photo first. Yields ``run_batch``'s events, the last one
    ``BatchFinished``. Raises ClusterError before the first event when the cluster cannot be used
    (no Ray, no cluster, workers that cannot reach the photos), ReviveError for an unusable model.
    A resumed batch with nothing left to do finishes without starting any worker."""
    cancel = cancel or CancelToken()
    import_ray()
    if all(options.skip_existing and job.existing for job in plan.jobs):
        yield from _run(plan, options, None, model=ModelFile.of(model), address=address, cancel=cancel)
        return
    started = ClusterWorkers.start(
        model, device, address, workers=workers, precision=precision, cancel=cancel, upscale=upscale, faces=faces
    )
    with started as pool:
        yield from run_batch_on_workers(pool, plan, options, cancel, restore)


def run_batch_on_workers(
    workers: ClusterWorkers,
    plan: BatchPlan,
    options: BatchOptions,
    cancel: CancelToken | None = None,
    restore: tuple[tuple[str, ...], RestorationOptions] | None = None,
) -> Iterator[BatchEvent]:
    """``run_batch_on_cluster`` on workers already started (``ClusterWorkers.start``), which stay
    up for the next batch: the model is not loaded again on every node."""
    workers.claim()
    try:
        yield from _run(
            plan,
            options,
            workers,
            model=workers.model,
            address=workers.address,
            cancel=cancel or CancelToken(),
            restore=restore,
        )
    finally:
        workers.release()


def _run(
    plan: BatchPlan,
    options: BatchOptions,
    pool: ClusterWorkers | None,
    *,
    model: ModelFile,
    address: str,
    cancel: CancelToken,
    restore: tuple[tuple[str, ...], RestorationOptions] | None = None,
) -> Iterator[BatchEvent]:
    """The batch loop, as ``engine.batch.run.run_batch``'s but with ``pool`` colorizing (None:
    nothing is left to do, every job is skipped)."""
    started = time.monotonic()
    began_at = datetime.now(UTC)
    record = BatchRecord()
    failed: list[tuple[Path, str]] = []
    done = skipped = 0
    ledger = OutputLedger.load(plan.output_dir)
    clean_leftovers(plan, time.time() - 1.0)
    finished = {job for job in plan.jobs if options.skip_existing and job.existing}
    pending = [job for job in plan.jobs if job not in finished]
    marker = None
    lost: ClusterError | None = None  # every worker stopped: raised after the report is written
    if pending and pool is not None and pool.infos:
        if any(job.hints is not None and job.hints.has_marks for job in pending) and not pool.infos[0].takes_hints:
            raise ReviveError(
                f"the model {model.card.name} takes no colour hints; choose one that does (main.py models shows which)"
            )
        marker = pool.begin(plan, options, cancel, restore)
    try:
        yield BatchStarted(len(plan.jobs), len(pending))
        for path, message in plan.problems:
            failed.append((path, message))
            record.add_problem(path, message)
            yield InputProblem(path, message)
        for job in plan.jobs:
            if job in finished:
                skipped += 1
                record.add(job, "skipped", "output exists")
                yield JobSkipped(job, "output exists")

        queue = deque(pending)
        cancelled = bool(queue) and marker is None  # cancelled while the workers started
        while True:
            while queue and not cancelled and pool is not None and pool.has_room():
                if cancel.cancelled:
                    cancelled = True
                    break
                job = queue.popleft()
                # Replace only a file proven Revive's own from this photo, checked again now.
                pool.hand_out(job, replace=job.existing and ledger.owns(job.output, job.source))
                yield JobStarted(job)
            if pool is None or not pool.busy:
                if pool is not None and queue and not cancelled:
                    try:
                        pool.check_alive()
                    except ClusterError as error:  # raised once the report says what was done
                        lost = error
                        for job in queue:
                            record.add(job, "skipped", "not colorized: every Ray worker had stopped")
                        queue.clear()
                break
            for job, outcome in pool.collect(POLL_SECONDS):
                message = outcome.message
                if outcome.trace:
                    log.warning("%s failed on a Ray worker:\n%s", job.source, outcome.trace)
                if outcome.stamp is not None:
                    try:
                        ledger.record(job.output, job.source, stamp=outcome.stamp)
                    except (OSError, ValueError, OutputError) as error:
                        message = f"written, but not recorded as Revive's own ({first_line(error)})"
                if outcome.stamp is not None and not message:
                    done += 1
                    record.add(job, "done", seconds=outcome.seconds)
                    yield JobDone(job, outcome.seconds)
                else:
                    failed.append((job.source, message))
                    record.add(job, "failed", message)
                    yield JobFailed(job, message)
    finally:
        if marker is not None:
            marker.unlink(missing_ok=True)

    seconds = time.monotonic() - started
    report_path = None
    if options.write_report:
        render_size = options.settings.render_size or model.card.render_size
        temperature = options.settings.temperature
        temperature = model.card.temperature if temperature is None else temperature
        device = pool.describe() if pool is not None else f"Ray cluster ({address}): no worker needed"
        infos = pool.infos if pool is not None else []
        extra: dict = {"cluster": {"address": address, "workers": len(infos), "nodes": sorted({i.node for i in infos})}}
        if infos and infos[0].finishing:
            extra["finishing"] = infos[0].finishing
        if restore is not None:
            extra["restore"] = {"stages": list(restore[0])}  # as run_batch's Repair.description
        about = ReportModel(model.card.name, model.path, device, render_size, temperature)
        report_path = write_report(
            plan,
            options,
            about,
            record,
            began_at=began_at,
            seconds=seconds,
            cancelled=cancelled,
            ledger=ledger,
            extra=extra,
        )
    try:
        ledger.compact()
    except OutputError as error:
        log.warning("could not tidy the output ledger: %s", error)
    if lost is not None:
        raise lost
    yield BatchFinished(BatchSummary(len(plan.jobs), done, skipped, tuple(failed), cancelled, seconds, report_path))
