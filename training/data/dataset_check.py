"""Checking two training folders before a CycleGAN run: what is in them and what will go wrong.

``check_dataset(old_dir, color_dir)`` never raises for bad data: a missing folder, an unreadable
file, too few photos are entries in the report. ``errors`` block training (the CLI exits 2, the wizard
keeps its Next button off); ``warnings`` are for the user to judge.

Each image is read once: its bytes are hashed (exact duplicates) and decoded as a small thumbnail
(JPEG draft mode: decoding at 1/2..1/8 scale, so a folder of thousands takes seconds), from which
come an average hash (near duplicates) and the kind of photo (gray, tinted or colour: the one rule
of ``engine.imaging.tint.classify``).

Held-out photos (``holdout``) are chosen by a hash of the file name, among readable files: the same on
every machine and run. The trainer uses the same rule (``choose_holdout``) and never trains on them;
they are the before/after previews.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from engine.batch.folder_scan import list_images as folder_images
from engine.cancel import CancelToken
from engine.errors import ImageTooLarge, UnsupportedImage
from engine.imaging import read_rgb
from engine.imaging.tint import KINDS, classify
from training.data.photo_folder import map_files, name_digest

log = logging.getLogger(__name__)

MIN_IMAGES = 8  # fewer is an error
FEW_IMAGES = 50  # fewer is a warning
THUMBNAIL = 64
HOLDOUT = 4


@dataclass(frozen=True)
class ImageInfo:
    path: Path
    width: int  # pixels, as stored (before EXIF rotation)
    height: int
    kind: str  # one of KINDS
    chroma: float  # 95th percentile of max - min of R, G, B in the thumbnail, 0..255


@dataclass(frozen=True)
class FolderReport:
    folder: Path
    role: str  # "old" or "color"
    images: tuple[ImageInfo, ...]  # readable images, sorted by path
    unreadable: tuple[tuple[Path, str], ...]  # (file, reason)
    duplicates: tuple[tuple[Path, ...], ...]  # groups of byte-identical files
    near_duplicates: tuple[tuple[Path, ...], ...]  # groups with the same average hash (not identical bytes)
    holdout: tuple[Path, ...]  # previews, never trained on
    min_side: int  # shortest short side among readable images (0 when none)
    median_side: int

    @property
    def count(self) -> int:
        return len(self.images)

    @property
    def kinds(self) -> dict[str, int]:
        counts = dict.fromkeys(KINDS, 0)
        for info in self.images:
            counts[info.kind] += 1
        return counts


@dataclass(frozen=True)
class DatasetReport:
    old: FolderReport
    color: FolderReport
    errors: tuple[str, ...]  # blocking
    warnings: tuple[str, ...]  # for the user to judge

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        """One line per folder, for people."""
        lines = []
        for report in (self.old, self.color):
            kinds = ", ".join(f"{n} {k}" for k, n in report.kinds.items() if n)
            lines.append(
                f"{report.role} photos: {report.count} in {report.folder} ({kinds or 'none'}),"
                f" short side min {report.min_side} / median {report.median_side} px"
            )
        return "\n".join(lines)


def list_images(folder: Path) -> list[Path]:
    """Image files under ``folder`` (recursive, sorted: ``engine.batch.folder_scan.list_images``);
    [] if it is not a folder."""
    folder = Path(folder)
    return folder_images(folder) if folder.is_dir() else []


def holdout_order(paths: list[Path]) -> list[Path]:
    """``paths`` ordered by a hash of the file name (stable across machines): the first ones are held out."""
    return sorted(paths, key=lambda p: (name_digest(p), str(p)))


def choose_holdout(readable: list[Path], count: int = HOLDOUT) -> tuple[Path, ...]:
    """The held-out previews among ``readable`` files; none when the folder is too small to spare them."""
    if len(readable) < MIN_IMAGES:
        count = min(count, max(0, len(readable) - 2))
    return tuple(holdout_order(readable)[:count])


def _average_hash(thumbnail: np.ndarray) -> int:
    small = np.asarray(
        Image.fromarray(thumbnail).convert("L").resize((8, 8), Image.Resampling.BILINEAR), dtype=np.float32
    )
    bits = (small > small.mean()).flatten()
    return int(sum(1 << i for i, bit in enumerate(bits) if bit))


def _inspect(path: Path) -> tuple[Path, str | None, tuple | None]:
    """(path, failure reason or None, (width, height, kind, chroma, sha1, ahash) or None). Never raises."""
    try:
        # The engine's guarded reader (pixel limit, regular files only); the bytes are hashed apart.
        image, (width, height) = read_rgb(path, THUMBNAIL)
        image.thumbnail((THUMBNAIL, THUMBNAIL))
        thumbnail = np.asarray(image)
        data = path.read_bytes()
    except ImageTooLarge as error:
        return path, f"too large ({error})", None
    except UnsupportedImage as error:
        return path, f"not a readable image ({error})", None
    except OSError as error:  # the file went away between the two reads
        return path, f"not a readable image ({error.strerror or error})", None
    if thumbnail.size == 0:
        return path, "empty image", None
    kind, chroma = classify(thumbnail)
    return path, None, (width, height, kind, chroma, hashlib.sha1(data).hexdigest(), _average_hash(thumbnail))


def check_folder(
    folder: Path, role: str, holdout: int = HOLDOUT, workers: int = 2, cancel: CancelToken | None = None
) -> tuple[FolderReport, list[str]]:
    """Inspect one folder: (report, errors). The folder's warnings are derived in ``check_dataset``.
    ``Cancelled`` as soon as ``cancel`` is set (the files not yet read are not read)."""
    folder = Path(folder)
    errors: list[str] = []
    if not folder.exists():
        errors.append(f"the {role} photos folder {folder} does not exist")
    elif not folder.is_dir():
        errors.append(f"the {role} photos folder {folder} is not a folder")
    paths = list_images(folder)
    results = map_files(_inspect, paths, workers, cancel)
    images, unreadable = [], []
    by_sha: dict[str, list[Path]] = defaultdict(list)
    by_ahash: dict[int, list[Path]] = defaultdict(list)
    for path, reason, found in results:
        if found is None:
            unreadable.append((path, reason or "unreadable"))
            continue
        width, height, kind, chroma, sha, ahash = found
        images.append(ImageInfo(path, width, height, kind, chroma))
        by_sha[sha].append(path)
        by_ahash[ahash].append(path)
    duplicates = tuple(tuple(group) for group in by_sha.values() if len(group) > 1)
    exact = {p for group in duplicates for p in group[1:]}
    near = tuple(tuple(group) for group in by_ahash.values() if len([p for p in group if p not in exact]) > 1)
    sides = sorted(min(i.width, i.height) for i in images)
    report = FolderReport(
        folder=folder,
        role=role,
        images=tuple(images),
        unreadable=tuple(unreadable),
        duplicates=duplicates,
        near_duplicates=near,
        holdout=choose_holdout([i.path for i in images], holdout),
        min_side=sides[0] if sides else 0,
        median_side=sides[len(sides) // 2] if sides else 0,
    )
    if folder.is_dir() and report.count < MIN_IMAGES:
        errors.append(
            f"the {role} photos folder {folder} has {report.count} readable images; at least {MIN_IMAGES} are needed"
        )
    return report, errors


def _names(paths, limit: int = 3) -> str:
    names = [Path(p).name for p in paths]
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_dataset(
    old_dir: Path, color_dir: Path, min_side: int = 64, holdout: int = HOLDOUT, cancel: CancelToken | None = None
) -> DatasetReport:
    """Inspect both folders (domain A = old photos, domain B = colour photos); never raises for bad data
    (only ``Cancelled``, as soon as ``cancel`` is set: a newer check replaces this one).

    ``min_side``: the training crop size; smaller photos are reported (they get upscaled).
    """
    old, old_errors = check_folder(old_dir, "old", holdout, cancel=cancel)
    color, color_errors = check_folder(color_dir, "colour", holdout, cancel=cancel)
    errors = old_errors + color_errors
    warnings: list[str] = []
    for report in (old, color):
        if MIN_IMAGES <= report.count < FEW_IMAGES:
            warnings.append(
                f"only {report.count} {report.role} photos: {FEW_IMAGES} or more give a more reliable result"
            )
        if report.unreadable:
            warnings.append(
                f"{len(report.unreadable)} unreadable file(s) in the {report.role} folder will be skipped:"
                f" {_names([p for p, _ in report.unreadable])}"
            )
        if report.duplicates:
            copies = sum(len(g) - 1 for g in report.duplicates)
            warnings.append(
                f"{copies} exact duplicate(s) in the {report.role} folder: {_names([g[1] for g in report.duplicates])}"
            )
        if report.near_duplicates:
            warnings.append(
                f"{len(report.near_duplicates)} group(s) of near-identical photos in the {report.role} folder:"
                f" {_names([g[0] for g in report.near_duplicates])}"
            )
        small = [i.path for i in report.images if min(i.width, i.height) < min_side]
        if small:
            warnings.append(
                f"{len(small)} {report.role} photo(s) are smaller than {min_side} px and will be upscaled: {_names(small)}"
            )
    colour_in_old = [i.path for i in old.images if i.kind == "colour"]
    if colour_in_old:
        warnings.append(
            f"{len(colour_in_old)} photo(s) in the old folder look like colour photos: {_names(colour_in_old)}"
        )
    gray_in_colour = [i.path for i in color.images if i.kind != "colour"]
    if gray_in_colour:
        warnings.append(
            f"{len(gray_in_colour)} photo(s) in the colour folder look gray or tinted: {_names(gray_in_colour)}"
        )
    if Path(old_dir).is_dir() and Path(old_dir).resolve() == Path(color_dir).resolve():
        errors.append("the old and colour photos folders are the same folder: they must hold different photos")
    return DatasetReport(old=old, color=color, errors=tuple(errors), warnings=tuple(warnings))
