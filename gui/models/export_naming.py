"""Naming and checking an export target. Plain functions, no Qt."""

from __future__ import annotations

from pathlib import Path

from engine.batch.plan import FORMATS, output_suffix_for

EXPORT_FORMATS = FORMATS
FORMAT_LABELS = {"same": "Same as the original", "png": "PNG", "jpg": "JPEG", "tiff": "TIFF"}
# QFileDialog name filters, by suffix
_FILTERS = {
    ".png": "PNG image (*.png)",
    ".jpg": "JPEG image (*.jpg *.jpeg)",
    ".tif": "TIFF image (*.tif *.tiff)",
    ".webp": "WebP image (*.webp)",
}


def default_export_name(source: Path, format: str) -> str:
    """``<stem>_colorized.<ext>``: the suffix follows the export format ('same' keeps the source's type)."""
    return f"{Path(source).stem}_colorized{output_suffix_for(Path(source), format)}"


def default_export_path(source: Path, format: str, folder: Path | None) -> Path:
    """The name proposed in the save dialog: in the last export folder, else beside the original."""
    base = folder if folder is not None and Path(folder).is_dir() else Path(source).parent
    return base / default_export_name(source, format)


def name_filters(preferred_suffix: str) -> tuple[list[str], str]:
    """The save dialog's filters (the preferred one first) and the one to preselect."""
    first = _FILTERS.get(preferred_suffix, _FILTERS[".png"])
    return [first] + [f for f in _FILTERS.values() if f != first], first


def export_problem(source: Path, target: Path) -> str | None:
    """Why ``target`` is not an acceptable export of ``source`` (None when it is)."""
    target = Path(target)
    if not target.name:
        return "choose a file name for the exported photo"
    if target.suffix.lower() not in (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp"):
        return f"Revive exports PNG, JPEG, TIFF or WebP files, not {target.suffix or 'files without a suffix'}"
    try:
        same = target.resolve() == Path(source).resolve()
    except OSError:
        same = False
    if same:
        return "that is the original photo: Revive never overwrites an original, choose another name"
    return None
