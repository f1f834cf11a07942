"""The app's persistent settings: a typed face on a QSettings INI file at ``engine.paths.settings_path()``.

Keys live under ``gui/`` (the command line shares the file) and each has one getter and one setter,
so a typo cannot create a second key and a wrong type read back from the INI file cannot leak out.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from engine.batch.settings import DEVICE_CHOICES, FORMATS, MAX_RENDER_SIZE
from engine.cluster.address import address_problem
from engine.paths import settings_path
from gui.models.batch_form import MAX_CLUSTER_WORKERS
from gui.models.restoration_choice import RestorationChoice
from gui.models.tuning import BOLDNESS_NEUTRAL, SATURATION_MAX

MAX_RECENT = 10
MAX_SESSION_PHOTOS = 5000
MAX_COLOUR_CHOICES = 2000


class AppSettings:
    def __init__(self, path: Path | None = None) -> None:
        path = Path(path) if path is not None else settings_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._qs = QSettings(str(path), QSettings.Format.IniFormat)

    @property
    def path(self) -> Path:
        return Path(self._qs.fileName())

    def sync(self) -> None:
        self._qs.sync()

    # -- typed access ---------------------------------------------------------------------------
    def _str(self, key: str, default: str = "") -> str:
        value = self._qs.value(key, default)
        return value if isinstance(value, str) else default

    def _int(self, key: str, default: int, low: int, high: int) -> int:
        try:
            value = int(self._qs.value(key, default))
        except (TypeError, ValueError):
            return default
        return value if low <= value <= high else default

    def _bool(self, key: str, default: bool) -> bool:
        value = self._qs.value(key, default)
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)

    def _path(self, key: str) -> Path | None:
        text = self._str(key)
        return Path(text) if text else None

    def _set(self, key: str, value: object) -> None:
        self._qs.setValue(key, value)

    # -- window ---------------------------------------------------------------------------------
    def window_geometry(self) -> QByteArray | None:
        value = self._qs.value("gui/window/geometry")
        return value if isinstance(value, QByteArray) else None

    def set_window_geometry(self, value: QByteArray) -> None:
        self._set("gui/window/geometry", value)

    def window_state(self) -> QByteArray | None:
        value = self._qs.value("gui/window/state")
        return value if isinstance(value, QByteArray) else None

    def set_window_state(self, value: QByteArray) -> None:
        self._set("gui/window/state", value)

    # -- model and tuning -----------------------------------------------------------------------
    def model(self) -> str:
        return self._str("gui/model")

    def set_model(self, name: str) -> None:
        self._set("gui/model", name)

    def device(self) -> str:
        value = self._str("gui/device", "auto")
        return value if value in DEVICE_CHOICES else "auto"

    def render_size(self) -> int:
        return self._int("gui/models/tuning/render_size", 0, 0, MAX_RENDER_SIZE)

    def set_render_size(self, value: int) -> None:
        self._set("gui/models/tuning/render_size", int(value))

    def saturation_percent(self) -> int:
        return self._int("gui/models/tuning/saturation", 100, 0, SATURATION_MAX)

    def set_saturation_percent(self, value: int) -> None:
        self._set("gui/models/tuning/saturation", int(value))

    def boldness(self) -> int:
        return self._int("gui/models/tuning/boldness", BOLDNESS_NEUTRAL, 0, 100)

    def set_boldness(self, value: int) -> None:
        self._set("gui/models/tuning/boldness", int(value))

    def auto_colorize(self) -> bool:
        return self._bool("gui/auto_colorize", True)

    def set_auto_colorize(self, value: bool) -> None:
        self._set("gui/auto_colorize", bool(value))

    # -- folders and export -----------------------------------------------------------------------
    def open_folder(self) -> Path | None:
        return self._path("gui/folders/open")

    def set_open_folder(self, path: Path) -> None:
        self._set("gui/folders/open", str(path))

    def export_folder(self) -> Path | None:
        return self._path("gui/folders/export")

    def set_export_folder(self, path: Path) -> None:
        self._set("gui/folders/export", str(path))

    def export_format(self) -> str:
        value = self._str("gui/export/format", "same")
        return value if value in FORMATS else "same"

    def set_export_format(self, value: str) -> None:
        self._set("gui/export/format", value)

    # -- batch ------------------------------------------------------------------------------------
    def batch_input(self) -> Path | None:
        return self._path("gui/batch/input")

    def set_batch_input(self, path: Path) -> None:
        self._set("gui/batch/input", str(path))

    def batch_output(self) -> Path | None:
        return self._path("gui/batch/output")

    def set_batch_output(self, path: Path) -> None:
        self._set("gui/batch/output", str(path))

    def batch_recursive(self) -> bool:
        return self._bool("gui/batch/recursive", True)

    def set_batch_recursive(self, value: bool) -> None:
        self._set("gui/batch/recursive", bool(value))

    def batch_skip_existing(self) -> bool:
        return self._bool("gui/batch/skip_existing", True)

    def set_batch_skip_existing(self, value: bool) -> None:
        self._set("gui/batch/skip_existing", bool(value))

    def batch_format(self) -> str:
        value = self._str("gui/batch/format", "same")
        return value if value in FORMATS else "same"

    def set_batch_format(self, value: str) -> None:
        self._set("gui/batch/format", value)

    def batch_cluster(self) -> bool:
        """Batches run on a Ray cluster (the batch panel's choice)."""
        return self._bool("gui/batch/cluster", False)

    def set_batch_cluster(self, value: bool) -> None:
        self._set("gui/batch/cluster", bool(value))

    def batch_cluster_address(self) -> str:
        value = self._str("gui/batch/cluster_address", "local")
        return value if address_problem(value) is None else "local"

    def set_batch_cluster_address(self, value: str) -> None:
        self._set("gui/batch/cluster_address", value)

    def batch_cluster_workers(self) -> int:
        """How many Ray workers (0: automatic)."""
        return self._int("gui/batch/cluster_workers", 0, 0, MAX_CLUSTER_WORKERS)

    def set_batch_cluster_workers(self, value: int) -> None:
        self._set("gui/batch/cluster_workers", int(value))

    def batch_finishing(self) -> tuple[str | None, str | None]:
        """The batch panel's (upscaler, face model) names as last chosen; None for none. Whether
        they are still added is the panel's business (a name no longer listed is not chosen)."""
        return self._str("gui/batch/upscale") or None, self._str("gui/batch/faces") or None

    def set_batch_finishing(self, upscale: str | None, faces: str | None) -> None:
        self._set("gui/batch/upscale", upscale or "")
        self._set("gui/batch/faces", faces or "")

    def export_finishing(self) -> tuple[str | None, str | None]:
        """The Adjust tab's export (upscaler, face model) as last chosen; None for none (whether
        they are still added is the panel's business, as for the batch's)."""
        return self._str("gui/export/upscale") or None, self._str("gui/export/faces") or None

    def set_export_finishing(self, upscale: str | None, faces: str | None) -> None:
        self._set("gui/export/upscale", upscale or "")
        self._set("gui/export/faces", faces or "")

    # -- the Restore tab ----------------------------------------------------------------------------
    def restoration_choice(self) -> RestorationChoice:
        """The Restore tab's stages and strengths as last left; the defaults for anything unreadable
        (an unknown stage, a strength out of its card's range, a hand-edited line)."""
        stages = tuple(s.strip() for s in self._str("gui/restore/stages").split(",") if s.strip())
        strengths: list[tuple[str, float]] = []
        for item in self._str("gui/restore/strengths").split(","):
            name, _, value = item.partition("=")
            try:
                strengths.append((name.strip(), float(value)))
            except ValueError:
                continue
        try:
            return RestorationChoice(stages, tuple(strengths))
        except ValueError:
            return RestorationChoice()

    def set_restoration_choice(self, choice: RestorationChoice) -> None:
        self._set("gui/restore/stages", choice.restore_text())
        self._set("gui/restore/strengths", ",".join(f"{name}={value:g}" for name, value in choice.strengths))

    def restoration_in_batches(self) -> bool:
        """The Restore tab's "Also repair the photos of a batch"."""
        return self._bool("gui/restore/in_batches", False)

    def set_restoration_in_batches(self, value: bool) -> None:
        self._set("gui/restore/in_batches", bool(value))

    # -- the photo list between runs ---------------------------------------------------------------
    def restore_session(self) -> bool:
        """Open the last session's photos again at start (on unless the user turned it off)."""
        return self._bool("gui/session/restore", True)

    def set_restore_session(self, value: bool) -> None:
        self._set("gui/session/restore", bool(value))

    def session_photos(self) -> list[Path]:
        return self._paths("gui/session/photos", MAX_SESSION_PHOTOS)

    def set_session_photos(self, paths: list[Path]) -> None:
        self._set("gui/session/photos", json.dumps([str(p) for p in paths[:MAX_SESSION_PHOTOS]]))

    def colour_choices(self) -> dict[Path, str]:
        """What the user chose for photos already in colour (``ColourChoice`` values), by path."""
        try:
            data = json.loads(self._str("gui/session/colour_choices", "{}"))
        except ValueError:
            return {}
        if not isinstance(data, dict):
            return {}
        return {Path(k): v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}

    def set_colour_choice(self, path: Path, value: str) -> None:
        choices = {str(k): v for k, v in self.colour_choices().items() if k != Path(path)}
        choices[str(path)] = value
        kept = dict(list(choices.items())[-MAX_COLOUR_CHOICES:])  # the most recent ones
        self._set("gui/session/colour_choices", json.dumps(kept))

    def _paths(self, key: str, limit: int) -> list[Path]:
        try:
            data = json.loads(self._str(key, "[]"))
        except ValueError:
            return []
        if not isinstance(data, list):
            return []
        return [Path(v) for v in data if isinstance(v, str) and v][:limit]

    # -- recent items ----------------------------------------------------------------------------
    def recent(self) -> list[Path]:
        value = self._qs.value("gui/recent", [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            return []
        return [Path(v) for v in value if isinstance(v, str) and v][:MAX_RECENT]

    def add_recent(self, paths: list[Path]) -> list[Path]:
        """Put ``paths`` at the top of the recent list (most recent first); returns the new list."""
        items = [Path(p) for p in paths] + [p for p in self.recent() if p not in paths]
        items = items[:MAX_RECENT]
        self._set("gui/recent", [str(p) for p in items])
        return items

    def clear_recent(self) -> None:
        self._set("gui/recent", [])
