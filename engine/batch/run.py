"""Running a batch plan: a generator of small events, cancellable between photos.

Decoding the next photo and merging + encoding the previous one overlap the model's work on the
current one (two helper threads: Pillow and torch release the GIL). One bad file becomes a
``JobFailed`` event and the batch goes on. Outputs are written atomically, so a cancelled or killed
batch leaves only complete files, and ``skip_existing`` resumes it. A JSON report of the run is
written next to the outputs.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from engine.batch.ledger import OutputLedger
from engine.batch.plan import BatchOptions, BatchPlan, Job
from engine.batch.steps import (
    BatchRecord,
    Repair,
    ReportModel,
    clean_leftovers,
    read_job,
    write_job,
    write_report,
    write_result,
)
from engine.cancel import CancelToken
from engine.errors import Cancelled, OutputError, describe_error
from engine.imaging import Photo
from engine.models.chroma_merge import ChromaField, merge_chroma
from engine.models.colorizer import Colorizer

if TYPE_CHECKING:
    from engine.external.finishing import Finished, Finishing

log = logging.getLogger(__name__)

READ_AHEAD = 2


@dataclass(frozen=True)
class BatchStarted:
    total: int
    to_do: int  # after skipping finished outputs


@dataclass(frozen=True)
class InputProblem:
    """An input that could not be used (missing, a looping link, a pipe...): reported, not run."""

    path: Path
    message: str


@dataclass(frozen=True)
class JobStarted:
    job: Job


@dataclass(frozen=True)
class JobDone:
    job: Job
    seconds: float


@dataclass(frozen=True)
class JobSkipped:
    job: Job
    reason: str


@dataclass(frozen=True)
class JobFailed:
    job: Job
    message: str


@dataclass(frozen=True)
class BatchSummary:
    total: int
    done: int
    skipped: int
    failed: tuple[tuple[Path, str], ...]  # photos that failed and inputs that could not be used
    cancelled: bool
    seconds: float
    report_path: Path | None = None

    @property
    def images_per_second(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class BatchFinished:
    summary: BatchSummary


BatchEvent = BatchStarted | InputProblem | JobStarted | JobDone | JobSkipped | JobFailed | BatchFinished


def _finish(
    job: Job, photo: Photo, result, options: BatchOptions, forbidden: frozenset[Path], ledger: OutputLedger
) -> None:
    """Write one photo: ``result`` is its ChromaField (merged here, off the device lane) or a
    finishing step's ``Finished`` (already merged and changed)."""
    # Replace only a file proven Revive's own from this photo, checked again now: it may have been
    # swapped for another since planning.
    replace = job.existing and ledger.owns(job.output, job.source, options.output_kind)
    if isinstance(result, ChromaField):
        write_job(job, photo, result, options, forbidden=forbidden, replace=replace)
    else:
        write_result(job, result.rgb, result.alpha, result.metadata, options, forbidden=forbidden, replace=replace)
    ledger.record(job.output, job.source, kind=options.output_kind)


def run_batch(
    plan: BatchPlan,
    colorizer: Colorizer,
    options: BatchOptions,
    cancel: CancelToken | None = None,
    finishing: Finishing | None = None,
    repair: Repair | None = None,
) -> Iterator[BatchEvent]:
    """Colorize every job of ``plan``; yields events, the last one ``BatchFinished``.

    ``repair`` (``colorize --restore``) restores each photo's luminance on the reading thread,
    overlapped with the model's work on the previous photo (one reader: the restorer is not
    thread-safe). ``finishing`` (``engine.external.finishing``: an upscaler, a face model) runs on
    the merged photo on this thread, the device lane, before it is written."""
    cancel = cancel or CancelToken()
    started = time.monotonic()
    began_at = datetime.now(UTC)
    forbidden = frozenset(job.source for job in plan.jobs)
    record = BatchRecord()
    done = skipped = 0
    failed: list[tuple[Path, str]] = []
    ledger = OutputLedger.load(plan.output_dir)
    clean_leftovers(plan, time.time() - 1.0)

    # The plan proved which outputs are finished work of Revive's from the same photo; a resumed
    # batch of thousands on a network share looks at each output once, while planning.
    finished = {job for job in plan.jobs if options.skip_existing and job.existing}
    pending = [job for job in plan.jobs if job not in finished]
    yield BatchStarted(len(plan.jobs), len(pending))
    for path, message in plan.problems:
        failed.append((path, message))
        record.add_problem(path, message)
        yield InputProblem(path, message)
    for job in (job for job in plan.jobs if job in finished):
        skipped += 1
        record.add(job, "skipped", "output exists")
        yield JobSkipped(job, "output exists")

    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="revive-read")
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="revive-write")
    reads: deque[tuple[Job, Future]] = deque()
    writes: deque[tuple[Job, Future, float]] = deque()
    queue = deque(pending)

    def top_up() -> None:
        while queue and len(reads) < READ_AHEAD:
            job = queue.popleft()
            reads.append((job, reader.submit(read_job, job, colorizer, options, repair, cancel)))

    def drain(block: bool) -> Iterator[BatchEvent]:
        nonlocal done
        while writes and (block or writes[0][1].done()):
            job, future, tick = writes.popleft()
            try:
                future.result()
            except Exception as error:  # noqa: BLE001 - any failure of one file is reported, the batch goes on
                message = describe_error(error)
                failed.append((job.source, message))
                record.add(job, "failed", message)
                yield JobFailed(job, message)
            else:
                done += 1
                seconds = time.monotonic() - tick
                record.add(job, "done", seconds=seconds)
                yield JobDone(job, seconds)

    cancelled = False
    try:
        top_up()
        while reads:
            if cancel.cancelled:
                cancelled = True
                break
            job, future = reads.popleft()
            top_up()
            yield JobStarted(job)
            tick = time.monotonic()
            try:
                photo, prepared = future.result()
                chroma = colorizer.predict(prepared, options.settings, job.hints)
                result: ChromaField | Finished = chroma
                if finishing is not None and finishing.active:
                    result = finishing.apply(merge_chroma(photo.luma, chroma), photo.alpha, photo.metadata, cancel)
            except Cancelled:  # a repair or finishing step stopped between tiles: nothing of this photo is written
                cancelled = True
                skipped += 1
                record.add(job, "skipped", "cancelled before it was finished")
                yield JobSkipped(job, "cancelled before it was finished")
                break
            except Exception as error:  # noqa: BLE001 - one bad file never stops the batch
                message = describe_error(error)
                failed.append((job.source, message))
                record.add(job, "failed", message)
                yield JobFailed(job, message)
                continue
            writes.append((job, writer.submit(_finish, job, photo, result, options, forbidden, ledger), tick))
            del photo, prepared, chroma, result
            yield from drain(block=len(writes) > 1)
        # Photos already being written are finished even on cancel: they are complete work.
        yield from drain(block=True)
    finally:
        for _, future in reads:
            future.cancel()
        reader.shutdown(wait=True, cancel_futures=True)
        writer.shutdown(wait=True)

    seconds = time.monotonic() - started
    report_path = None
    if options.write_report:
        extra: dict[str, object] = {}
        if repair is not None:
            extra["restore"] = repair.description
        if finishing is not None and finishing.active:
            extra["finishing"] = finishing.description
        report_path = write_report(
            plan,
            options,
            ReportModel.of(colorizer, options),
            record,
            began_at=began_at,
            seconds=seconds,
            cancelled=cancelled,
            ledger=ledger,
            extra=extra or None,
        )
    try:
        ledger.compact()
    except OutputError as error:
        log.warning("could not tidy the output ledger: %s", error)
    summary = BatchSummary(len(plan.jobs), done, skipped, tuple(failed), cancelled, seconds, report_path)
    yield BatchFinished(summary)
