"""Planning a batch: expand inputs, filter image types, name outputs, resolve conflicts.

Pure and fast (no image is opened), so it is tested without a model and the GUI can show the plan
before anything runs. Folders are walked recursively and their structure mirrored under the
output folder; a file input lands at the output folder's top. Output names keep the input's stem.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from engine.colorizer import ColorizeSettings
from engine.errors import ReviveError
from engine.imaging import IMAGE_SUFFIXES, OUTPUT_FORMATS, format_of, is_image_path, output_suffix

FORMATS = OUTPUT_FORMATS
REPORT_NAME = "revive-report.json"


@dataclass(frozen=True)
class BatchOptions:
    output_dir: Path
    format: str = "same"
    skip_existing: bool = False
    recursive: bool = True
    quality: int = 95
    settings: ColorizeSettings = ColorizeSettings()
    write_report: bool = True

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        if not 1 <= self.quality <= 100:
            raise ValueError(f"JPEG quality must be between 1 and 100, got {self.quality}")


@dataclass(frozen=True)
class Job:
    index: int
    source: Path
    output: Path


@dataclass(frozen=True)
class BatchPlan:
    jobs: tuple[Job, ...]
    output_dir: Path
    notes: tuple[str, ...] = ()  # renamed conflicts and other things worth telling the user


def output_suffix_for(source: Path, format: str) -> str:
    """The output suffix for ``source`` by its name alone (planning opens no file): 'same' keeps the
    source's type where it can hold a result (BMP becomes PNG); see ``engine.imaging.output_suffix``."""
    return output_suffix(format_of(source), format, bit_depth=8, has_alpha=False)


def walk_images(folder: Path, recursive: bool = True, exclude: Path | None = None) -> Iterable[Path]:
    """Image files under ``folder`` in a stable order, hidden files and folders skipped;
    ``exclude`` (a resolved folder) is not walked into."""
    for root, dirs, files in os.walk(folder):
        root_path = Path(root)
        dirs[:] = sorted(
            d for d in dirs
            if not d.startswith(".") and (exclude is None or (root_path / d).resolve() != exclude)
        )
        if not recursive:
            dirs[:] = []
        for name in sorted(files):
            path = root_path / name
            if is_image_path(path):
                yield path


def plan_batch(inputs: Sequence[Path], options: BatchOptions) -> BatchPlan:
    """Expand ``inputs`` (files and folders) into jobs. ReviveError for a missing input or an
    output folder that is also an input folder (outputs would mix with, or replace, the originals)."""
    output_dir = Path(options.output_dir).expanduser()
    output_resolved = output_dir.resolve()
    sources: list[tuple[Path, Path]] = []  # (source, path relative to the output folder, without suffix)
    for raw in inputs:
        item = Path(raw).expanduser()
        if item.is_dir():
            if item.resolve() == output_resolved:
                raise ReviveError(f"the output folder {output_dir} is also an input folder: choose another output folder")
            for path in walk_images(item, options.recursive, output_resolved):
                sources.append((path, path.relative_to(item).with_suffix("")))
        elif item.is_file():
            sources.append((item, Path(item.stem)))
        else:
            raise ReviveError(f"{item}: no such file or folder")

    inputs_resolved = {s.resolve() for s, _ in sources}
    taken: set[Path] = set()
    jobs, notes, seen = [], [], set()
    for source, relative in sources:
        if source.resolve() in seen:
            continue  # the same file named twice (e.g. a file and its folder)
        seen.add(source.resolve())
        suffix = output_suffix_for(source, options.format)
        output = output_dir / relative.parent / f"{relative.name}{suffix}"
        counter = 2
        while output.resolve() in taken or output.resolve() in inputs_resolved:
            output = output_dir / relative.parent / f"{relative.name}-{counter}{suffix}"
            counter += 1
        if counter > 2:
            notes.append(f"{source.name} is written as {output.name} (another input has the same name)")
        taken.add(output.resolve())
        jobs.append(Job(len(jobs), source, output))
    return BatchPlan(tuple(jobs), output_dir, tuple(notes))


__all__ = ["BatchOptions", "BatchPlan", "Job", "plan_batch", "FORMATS", "IMAGE_SUFFIXES", "REPORT_NAME"]
