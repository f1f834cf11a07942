"""Running a batch plan: a generator of small events, cancellable between photos.

Decoding the next photo and merging + encoding the previous one overlap the model's work on the
current one (two helper threads: Pillow and torch release the GIL). One bad file becomes a
``JobFailed`` event and the batch goes on. Outputs are written atomically, so a cancelled or killed
batch leaves only complete files, and ``skip_existing`` resumes it. A JSON report of the run is
written next to the outputs.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from engine.atomic_files import write_text_atomically
from engine.batch_plan import REPORT_NAME, BatchOptions, BatchPlan, Job
from engine.cancel import CancelToken
from engine.chroma_merge import ChromaField, merge_chroma
from engine.colorizer import Colorizer, Prepared
from engine.errors import OutputError, describe_error
from engine.imaging import Photo, read_photo, write_photo

log = logging.getLogger(__name__)

READ_AHEAD = 2


@dataclass(frozen=True)
class BatchStarted:
    total: int
    to_do: int  # after skipping finished outputs


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
    failed: tuple[tuple[Path, str], ...]
    cancelled: bool
    seconds: float
    report_path: Path | None = None

    @property
    def images_per_second(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class BatchFinished:
    summary: BatchSummary


BatchEvent = BatchStarted | JobStarted | JobDone | JobSkipped | JobFailed | BatchFinished


@dataclass
class _Record:
    entries: list[dict] = field(default_factory=list)

    def add(self, job: Job, status: str, detail: str = "", seconds: float | None = None) -> None:
        entry = {"source": str(job.source), "output": str(job.output), "status": status}
        if detail:
            entry["detail"] = detail
        if seconds is not None:
            entry["seconds"] = round(seconds, 3)
        self.entries.append(entry)


def _read(job: Job, colorizer: Colorizer, options: BatchOptions) -> tuple[Photo, Prepared]:
    photo = read_photo(job.source)
    return photo, colorizer.prepare(photo.luma, options.settings)


def _finish(job: Job, photo: Photo, chroma: ChromaField, options: BatchOptions, forbidden: frozenset[Path]) -> None:
    rgb = merge_chroma(photo.luma, chroma)
    write_photo(job.output, rgb, photo.metadata, alpha=photo.alpha, quality=options.quality, forbidden=forbidden)


def run_batch(
    plan: BatchPlan, colorizer: Colorizer, options: BatchOptions, cancel: CancelToken | None = None
) -> Iterator[BatchEvent]:
    """Colorize every job of ``plan``; yields events, the last one ``BatchFinished``."""
    cancel = cancel or CancelToken()
    started = time.monotonic()
    began = datetime.now(timezone.utc).isoformat(timespec="seconds")
    forbidden = frozenset(job.source for job in plan.jobs)
    record = _Record()
    done = skipped = 0
    failed: list[tuple[Path, str]] = []

    # Each output is looked for once: a resumed batch of thousands on a network share stays quick.
    finished = {job for job in plan.jobs if options.skip_existing and job.output.exists()}
    pending = [job for job in plan.jobs if job not in finished]
    yield BatchStarted(len(plan.jobs), len(pending))
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
            reads.append((job, reader.submit(_read, job, colorizer, options)))

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
                chroma = colorizer.predict(prepared, options.settings)
            except Exception as error:  # noqa: BLE001 - one bad file never stops the batch
                message = describe_error(error)
                failed.append((job.source, message))
                record.add(job, "failed", message)
                yield JobFailed(job, message)
                continue
            writes.append((job, writer.submit(_finish, job, photo, chroma, options, forbidden), tick))
            del photo, prepared, chroma
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
        report_path = _write_report(plan, options, colorizer, record, began, seconds, cancelled)
    summary = BatchSummary(len(plan.jobs), done, skipped, tuple(failed), cancelled, seconds, report_path)
    yield BatchFinished(summary)


def _write_report(plan, options, colorizer, record, began, seconds, cancelled) -> Path | None:
    path = plan.output_dir / REPORT_NAME
    render_size, temperature = colorizer.resolve(options.settings)
    report = {
        "started": began,
        "seconds": round(seconds, 3),
        "cancelled": cancelled,
        "model": colorizer.card.name,
        "model_path": str(colorizer.path) if colorizer.path else None,
        "device": colorizer.device.description,
        "settings": {
            "render_size": render_size,
            "temperature": temperature,
            "saturation": options.settings.saturation,
            "format": options.format,
            "quality": options.quality,
        },
        "counts": {
            status: sum(1 for e in record.entries if e["status"] == status) for status in ("done", "skipped", "failed")
        },
        "files": record.entries,
    }
    try:
        write_text_atomically(path, json.dumps(report, indent=2) + "\n")
    except OutputError as error:
        log.warning("could not write the batch report %s: %s", path, error)
        return None
    return path
