"""The steps of a batch that every runner shares: this machine's (``engine.batch.run``) and a Ray
cluster's (``engine.cluster``), so both write the same files, ledger lines and report.

One photo: ``read_job`` (decode, shrink to render size) -> the model -> ``write_job`` (merge the
colour with the full-resolution luminance, write atomically). One batch: ``clean_leftovers``
first, a ``BatchRecord`` of every file as it goes, ``write_report`` last.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from engine.atomic_files import remove_stale_parts, write_text_atomically
from engine.batch.ledger import OutputLedger
from engine.batch.plan import REPORT_NAME, BatchOptions, BatchPlan, Job
from engine.errors import OutputError
from engine.version import app_version

if TYPE_CHECKING:  # torch: only the runners that colorize import it
    from engine.imaging import Photo
    from engine.models.chroma_merge import ChromaField
    from engine.models.colorizer import Colorizer, Prepared
    from engine.restoration.pipeline import Restorer
    from engine.restoration.stages import RestorationOptions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Repair:
    """What to restore before colour (``colorize --restore``): the stages, their options, and the
    ``engine.restoration.pipeline.Restorer`` that runs them (one thread at a time)."""

    stages: tuple[str, ...]
    options: RestorationOptions
    restorer: Restorer

    @property
    def description(self) -> dict:
        return {"stages": list(self.stages)}


def read_job(
    job: Job, colorizer: Colorizer, options: BatchOptions, repair: Repair | None = None, cancel=None
) -> tuple[Photo, Prepared]:
    """Decode ``job.source`` (with its metadata), restore its luminance when ``repair`` says so
    (Cancelled within one tile), and shrink it to render size. The colour is later merged with the
    restored luminance, so the output is the repaired photo in colour."""
    from engine.imaging import read_photo

    photo = read_photo(job.source)
    if repair is not None:
        from engine.restoration.batch import restore_photo

        photo, _ = restore_photo(photo, repair.stages, repair.options, repair.restorer, cancel)
    return photo, colorizer.prepare(photo.luma, options.settings)


def write_job(
    job: Job, photo: Photo, chroma: ChromaField, options: BatchOptions, *, forbidden: frozenset[Path], replace: bool
) -> None:
    """Merge ``chroma`` with the photo's full-resolution luminance and write ``job.output``
    atomically, with the source's metadata. ``replace``: the caller has just proved the file at
    the output Revive's own, made from this photo (``OutputLedger.owns``); otherwise nothing
    there is ever replaced. The caller records the written file in the ledger."""
    from engine.models.chroma_merge import merge_chroma

    write_result(
        job,
        merge_chroma(photo.luma, chroma),
        photo.alpha,
        photo.metadata,
        options,
        forbidden=forbidden,
        replace=replace,
    )


def write_result(
    job: Job, rgb, alpha, metadata, options: BatchOptions, *, forbidden: frozenset[Path], replace: bool
) -> None:
    """Write a finished result ``rgb`` ``(H, W, 3)`` (and ``alpha``) to ``job.output`` atomically;
    ``replace`` as for ``write_job``. Used when a finishing step (an upscaler, faces) changed the
    merged photo."""
    from engine.imaging import write_photo

    write_photo(job.output, rgb, metadata, alpha=alpha, quality=options.quality, forbidden=forbidden, replace=replace)


def clean_leftovers(plan: BatchPlan, older_than: float) -> None:
    """Remove temporary files a killed earlier run left beside this plan's outputs (modified
    before ``older_than``, a time.time() value)."""
    names: dict[Path, set[str]] = {}
    for job in plan.jobs:
        names.setdefault(job.output.parent, set()).add(job.output.name)
    names.setdefault(plan.output_dir, set()).update({REPORT_NAME})
    removed = sum(remove_stale_parts(folder, wanted, older_than) for folder, wanted in names.items())
    if removed:
        log.info("removed %d temporary file(s) left by an interrupted run", removed)


@dataclass
class BatchRecord:
    """What happened to each file of a batch, in order: the report's ``files``."""

    entries: list[dict] = field(default_factory=list)

    def add(self, job: Job, status: str, detail: str = "", seconds: float | None = None) -> None:
        entry: dict[str, str | float] = {"source": str(job.source), "output": str(job.output), "status": status}
        if detail:
            entry["detail"] = detail
        if seconds is not None:
            entry["seconds"] = round(seconds, 3)
        self.entries.append(entry)

    def add_problem(self, path: Path, message: str) -> None:
        """An input that could not be used (a problem of the plan)."""
        self.entries.append({"source": str(path), "status": "failed", "detail": message})


@dataclass(frozen=True)
class ReportModel:
    """What the report says of the model: its name and file, where it ran, the resolved settings."""

    name: str
    path: Path | None
    device: str
    render_size: int
    temperature: float

    @classmethod
    def of(cls, colorizer: Colorizer, options: BatchOptions) -> ReportModel:
        render_size, temperature = colorizer.resolve(options.settings)
        return cls(colorizer.card.name, colorizer.path, colorizer.device.description, render_size, temperature)


def write_report(
    plan: BatchPlan,
    options: BatchOptions,
    model: ReportModel,
    record: BatchRecord,
    *,
    began_at: datetime,
    seconds: float,
    cancelled: bool,
    ledger: OutputLedger,
    extra: dict | None = None,
) -> Path | None:
    """``revive-report.json`` (the latest run) and ``revive-report-<UTC time>.json`` (kept), each
    written only where nothing is or Revive's own report is, and recorded in the ledger. ``extra``:
    further top-level keys (a cluster run says where it ran). Returns the latest report's path, or
    None when neither could be written (a warning says why)."""
    report = {
        "revive_version": app_version(),
        "started": began_at.isoformat(timespec="seconds"),
        "seconds": round(seconds, 3),
        "cancelled": cancelled,
        "model": model.name,
        "model_path": str(model.path) if model.path else None,
        "device": model.device,
        "settings": {
            "render_size": model.render_size,
            "temperature": model.temperature,
            "saturation": options.settings.saturation,
            "format": options.format,
            "quality": options.quality,
        },
        "counts": {
            status: sum(1 for e in record.entries if e["status"] == status) for status in ("done", "skipped", "failed")
        },
        "files": record.entries,
        **(extra or {}),
    }
    return write_report_files(plan.output_dir, report, began_at, ledger)


def write_report_files(output_dir: Path, report: dict, began_at: datetime, ledger: OutputLedger) -> Path | None:
    """``report`` as ``revive-report.json`` (the latest run) and ``revive-report-<UTC time>.json``
    (kept) in ``output_dir``, each only where nothing is or Revive's own report is, and recorded in
    the ledger; the latest report's path, or None when neither could be written (a warning says why).
    Shared by every kind of batch (colorize, restore), so their reports follow one rule."""
    text = json.dumps(report, indent=2) + "\n"
    stamp = began_at.strftime("%Y%m%d-%H%M%S")
    latest = None
    for name in (f"revive-report-{stamp}.json", REPORT_NAME):
        path = output_dir / name
        if os.path.lexists(path) and not ledger.owns(path):
            log.warning("not writing the batch report over %s: Revive did not write that file", path)
            continue
        try:
            write_text_atomically(path, text)
            ledger.record(path, kind="report")
        except (OutputError, OSError) as error:
            log.warning("could not write the batch report %s: %s", path, error)
            continue
        latest = path
    return latest
