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
import os
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from engine.atomic_files import remove_stale_parts, write_text_atomically
from engine.batch_plan import REPORT_NAME, BatchOptions, BatchPlan, Job
from engine.cancel import CancelToken
from engine.chroma_merge import ChromaField, merge_chroma
from engine.colorizer import Colorizer, Prepared
from engine.errors import OutputError, describe_error
from engine.imaging import Photo, read_photo, write_photo
from engine.output_ledger import OutputLedger

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


def _finish(job: Job, photo: Photo, chroma: ChromaField, options: BatchOptions, forbidden: frozenset[Path],
            ledger: OutputLedger) -> None:
    rgb = merge_chroma(photo.luma, chroma)
    # Replace only a file proven Revive's own from this photo, checked again now: it may have been
    # swapped for another since planning.
    replace = job.existing and ledger.owns(job.output, job.source)
    write_photo(job.output, rgb, photo.metadata, alpha=photo.alpha, quality=options.quality,
                forbidden=forbidden, replace=replace)
    ledger.record(job.output, job.source)


def _clean_leftovers(plan: BatchPlan, started_wall: float) -> None:
    """Remove temporary files a killed earlier run left beside this plan's outputs."""
    names: dict[Path, set[str]] = {}
    for job in plan.jobs:
        names.setdefault(job.output.parent, set()).add(job.output.name)
    names.setdefault(plan.output_dir, set()).update({REPORT_NAME})
    removed = sum(remove_stale_parts(folder, wanted, started_wall) for folder, wanted in names.items())
    if removed:
        log.info("removed %d temporary file(s) left by an interrupted run", removed)


def run_batch(
    plan: BatchPlan, colorizer: Colorizer, options: BatchOptions, cancel: CancelToken | None = None
) -> Iterator[BatchEvent]:
    """Colorize every job of ``plan``; yields events, the last one ``BatchFinished``."""
    cancel = cancel or CancelToken()
    started = time.monotonic()
    began_at = datetime.now(timezone.utc)
    began = began_at.isoformat(timespec="seconds")
    forbidden = frozenset(job.source for job in plan.jobs)
    record = _Record()
    done = skipped = 0
    failed: list[tuple[Path, str]] = []
    ledger = OutputLedger.load(plan.output_dir)
    _clean_leftovers(plan, time.time() - 1.0)

    # The plan proved which outputs are finished work of Revive's from the same photo; a resumed
    # batch of thousands on a network share looks at each output once, while planning.
    finished = {job for job in plan.jobs if options.skip_existing and job.existing}
    pending = [job for job in plan.jobs if job not in finished]
    yield BatchStarted(len(plan.jobs), len(pending))
    for path, message in plan.problems:
        failed.append((path, message))
        record.entries.append({"source": str(path), "status": "failed", "detail": message})
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
                chroma = colorizer.predict(prepared, options.settings, job.hints)
            except Exception as error:  # noqa: BLE001 - one bad file never stops the batch
                message = describe_error(error)
                failed.append((job.source, message))
                record.add(job, "failed", message)
                yield JobFailed(job, message)
                continue
            writes.append((job, writer.submit(_finish, job, photo, chroma, options, forbidden, ledger), tick))
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
        report_path = _write_report(plan, options, colorizer, record, began, seconds, cancelled, ledger, began_at)
    try:
        ledger.compact()
    except OutputError as error:
        log.warning("could not tidy the output ledger: %s", error)
    summary = BatchSummary(len(plan.jobs), done, skipped, tuple(failed), cancelled, seconds, report_path)
    yield BatchFinished(summary)


def _write_report(plan, options, colorizer, record, began, seconds, cancelled, ledger, began_at) -> Path | None:
    """``revive-report.json`` (the latest run) and ``revive-report-<UTC time>.json`` (kept), each
    written only where nothing is or Revive's own report is."""
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
    text = json.dumps(report, indent=2) + "\n"
    stamp = began_at.strftime("%Y%m%d-%H%M%S")
    latest = None
    for name in (f"revive-report-{stamp}.json", REPORT_NAME):
        path = plan.output_dir / name
        if os.path.lexists(path) and not ledger.owns(path):
            log.warning("not writing the batch report over %s: Revive did not write that file", path)
            continue
        try:
            write_text_atomically(path, text)
            ledger.record(path)
        except (OutputError, OSError) as error:
            log.warning("could not write the batch report %s: %s", path, error)
            continue
        latest = path
    return latest
