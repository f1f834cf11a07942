"""Restoring a batch plan: read, restore the luma, write the gray result; a generator of events.

Planning, naming and the protection of originals are the colorize batch's own
(``engine.batch.plan.plan_batch``, ``engine.batch.ledger.OutputLedger``): an output is written
only where nothing is, or over a file the ledger proves Revive wrote from the same photo, checked
again just before writing (``write_photo(..., replace=...)``); every write is atomic and then
recorded. One bad file becomes a ``PhotoFailed`` event and the batch goes on; a cancel stops
within one tile of the photo in progress, which is then not written.

Restored photos are recorded in the ledger as kind ``restored`` (plan with
``BatchOptions(output_kind="restored")``): a restore never replaces, nor with ``skip_existing``
takes for finished, a colorized result of the same photo in the same folder; that one is in the
way and the restored photo gets the next free name, as for any other file in the way.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from engine.batch.ledger import OutputLedger
from engine.batch.plan import BatchPlan, Job
from engine.batch.steps import BatchRecord, write_report_files
from engine.cancel import CancelToken
from engine.errors import Cancelled, describe_error
from engine.imaging import Photo, read_photo, write_photo
from engine.restoration.pipeline import RestorationStep, Restorer
from engine.restoration.stages import RestorationOptions
from engine.version import app_version


@dataclass(frozen=True)
class RestoreStarted:
    total: int
    to_do: int


@dataclass(frozen=True)
class PhotoStarted:
    job: Job


@dataclass(frozen=True)
class PhotoRestored:
    job: Job
    seconds: float
    damage_share: float | None  # share of the photo's pixels the scratch stage filled


@dataclass(frozen=True)
class PhotoSkipped:
    job: Job
    reason: str


@dataclass(frozen=True)
class PhotoFailed:
    job: Job
    message: str


@dataclass(frozen=True)
class RestoreFinished:
    done: int
    skipped: int
    failed: tuple[tuple[Path, str], ...]
    cancelled: bool
    seconds: float
    report_path: Path | None = None  # revive-report.json, or None when it could not be written


RestoreEvent = RestoreStarted | PhotoStarted | PhotoRestored | PhotoSkipped | PhotoFailed | RestoreFinished


def restore_photo(
    photo: Photo,
    stages: tuple[str, ...],
    options: RestorationOptions,
    restorer: Restorer,
    cancel: CancelToken | None = None,
) -> tuple[Photo, np.ndarray | None]:
    """``photo`` with its luma restored (metadata, alpha, bit depth and tint flag kept) and the
    scratch stage's mask: what the colorize batch calls between reading and ``prepare`` when the
    user asked for ``--restore``. Cancelled within one tile."""
    result = restorer.restore(photo.luma, stages, options, cancel=cancel)
    return dataclasses.replace(photo, luma=result.luma), result.mask


def restore_batch(
    plan: BatchPlan,
    stages: tuple[str, ...],
    options: RestorationOptions,
    restorer: Restorer,
    *,
    quality: int = 95,
    skip_existing: bool = False,
    cancel: CancelToken | None = None,
    progress: Callable[[Job, RestorationStep], None] | None = None,
) -> Iterator[RestoreEvent]:
    """Restore every job of ``plan`` (planned with ``output_kind="restored"``); yields events, the last
    ``RestoreFinished``.
    ``progress(job, step)`` is called on this generator's thread after every tile. The report
    (``revive-report.json``, as a colorize batch writes) lists every file, the plan's unusable
    inputs among the failed, and the stages and options used."""
    cancel = cancel or CancelToken()
    started = time.monotonic()
    began_at = datetime.now(UTC)
    record = BatchRecord()
    for path, message in plan.problems:
        record.add_problem(path, message)
    forbidden = frozenset(job.source for job in plan.jobs)
    ledger = OutputLedger.load(plan.output_dir)
    pending = [job for job in plan.jobs if not (skip_existing and job.existing)]
    yield RestoreStarted(len(plan.jobs), len(pending))
    skipped = 0
    for job in plan.jobs:
        if skip_existing and job.existing:
            skipped += 1
            record.add(job, "skipped", "output exists")
            yield PhotoSkipped(job, "output exists")
    done = 0
    failed: list[tuple[Path, str]] = []
    cancelled = False
    for job in pending:
        if cancel.cancelled:
            cancelled = True
            break
        yield PhotoStarted(job)
        tick = time.monotonic()
        try:
            photo = read_photo(job.source)
            report = None if progress is None else (lambda step, job=job: progress(job, step))
            result = restorer.restore(photo.luma, stages, options, report, cancel)
            rgb = np.repeat(result.luma[:, :, None], 3, axis=2)
            replace = job.existing and ledger.owns(job.output, job.source, "restored")
            write_photo(
                job.output,
                rgb,
                photo.metadata,
                alpha=photo.alpha,
                quality=quality,
                forbidden=forbidden,
                replace=replace,
            )
            ledger.record(job.output, job.source, kind="restored")
        except Cancelled:
            cancelled = True
            break
        except Exception as error:  # noqa: BLE001 - one bad file never stops the batch
            message = describe_error(error)
            failed.append((job.source, message))
            record.add(job, "failed", message)
            yield PhotoFailed(job, message)
            continue
        done += 1
        share = None if result.mask is None else float(result.mask.mean())
        record.add(job, "done", seconds=time.monotonic() - tick)
        yield PhotoRestored(job, time.monotonic() - tick, share)
    finished = {entry["source"] for entry in record.entries}
    for job in pending:
        if str(job.source) not in finished:
            record.add(job, "skipped", "cancelled before it was finished")
    seconds = time.monotonic() - started
    summary = {
        "revive_version": app_version(),
        "command": "restore",
        "started": began_at.isoformat(timespec="seconds"),
        "seconds": round(seconds, 3),
        "cancelled": cancelled,
        "stages": list(stages),
        "options": dataclasses.asdict(options),
        "settings": {"quality": quality, "skip_existing": skip_existing},
        "counts": {s: sum(1 for e in record.entries if e["status"] == s) for s in ("done", "skipped", "failed")},
        "files": record.entries,
    }
    report_path = write_report_files(plan.output_dir, summary, began_at, ledger)
    yield RestoreFinished(done, skipped, tuple(failed), cancelled, seconds, report_path)
