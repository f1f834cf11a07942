"""The folder of external models: ``<user models>/external/NAME.<suffix>`` plus ``NAME.card.json``.

The card is Revive's own proof that it examined and copied the file; a model file without a card
is never used. Listing never follows a loop, never blocks on a pipe and never crashes on an odd
entry: each is listed with its problem. Torch-free.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from engine.atomic_files import atomic_file, ensure_folder
from engine.errors import ModelFileError, ModelNotFound, OutputError
from engine.external.card import CARD_SUFFIX, MAX_CARD_BYTES, MODEL_SUFFIXES, ExternalCard
from engine.models.card import _open_regular  # the one non-blocking, loop-safe opener of model files
from engine.paths import user_models_dir

_CHUNK = 4 * 1024 * 1024
MAX_FILE_BYTES = 4 * 1024**3  # the largest published models we support (DDColor large) are under 1 GB


def external_models_dir() -> Path:
    return user_models_dir() / "external"


@dataclass(frozen=True)
class ExternalModel:
    """An entry of the external folder: its card (None when unreadable) and the model file."""

    name: str
    card_path: Path
    card: ExternalCard | None
    problem: str | None = None

    @property
    def path(self) -> Path:
        """The model file (named by the card; for a damaged card, where it would be)."""
        return self.card_path.parent / (self.card.file if self.card else self.name)

    @property
    def size_bytes(self) -> int:
        try:
            return os.stat(self.path).st_size
        except OSError:
            return 0


def read_card_file(path: Path) -> ExternalCard:
    """Read and check one card; ModelFileError names the problem."""
    handle, size = _open_regular(Path(path))
    with handle:
        if size > MAX_CARD_BYTES:
            raise ModelFileError(f"{path.name}: the card is too large ({size} bytes)")
        text = handle.read(MAX_CARD_BYTES + 1).decode("utf-8", errors="replace")
    card = ExternalCard.from_json(text, path.name)
    if path.name != card.name + CARD_SUFFIX:
        raise ModelFileError(f"{path.name}: the card is for a model called {card.name[:40]!r}")
    return card


def list_external() -> list[ExternalModel]:
    """Every card in the external folder, sorted by name, each with its problem (if any)."""
    folder = external_models_dir()
    try:
        names = sorted(
            e.name for e in os.scandir(folder) if e.name.endswith(CARD_SUFFIX) and not e.name.startswith(".")
        )
    except OSError:
        return []
    found = []
    for file_name in names:
        path = folder / file_name
        name = file_name[: -len(CARD_SUFFIX)]
        try:
            found.append(ExternalModel(name, path, read_card_file(path)))
        except ModelFileError as error:
            found.append(ExternalModel(name, path, None, str(error)))
    return found


def find_external(name: str) -> ExternalModel | None:
    """The external model called ``name`` (healthy or not), or None."""
    return next((m for m in list_external() if m.name == name), None)


def read_model_bytes(path: Path) -> bytes:
    """The whole file (ModelFileError for a missing, odd, empty or oversized file or an unknown suffix)."""
    path = Path(path)
    if path.suffix.lower() not in MODEL_SUFFIXES:
        raise ModelFileError(
            f"{path.name}: Revive adds {', '.join(MODEL_SUFFIXES)} files, "
            f"not {path.suffix or 'a file without a suffix'}"
        )
    handle, size = _open_regular(path)
    with handle:
        if size == 0:
            raise ModelFileError(f"{path.name}: the file is empty")
        if size > MAX_FILE_BYTES:
            raise ModelFileError(f"{path.name}: {size / 1e9:.1f} GB is larger than any model Revive can run")
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) != size:
        raise ModelFileError(f"{path.name}: the file changed while it was read")
    return data


def looks_like_path(name_or_path: str) -> bool:
    """True for what names a file rather than an added model: a folder in it, or a model suffix."""
    candidate = Path(name_or_path)
    return candidate.parent != Path(".") or candidate.suffix.lower() in MODEL_SUFFIXES


def model_file(name_or_path: str | Path) -> tuple[ExternalModel | None, Path, bytes]:
    """The bytes of an added model (by name, its card's; the file must still be the one Revive
    examined: size and SHA-256) or of a model file by path (the added model None): what runs it on
    this machine and what a cluster's driver sends to its workers. ModelNotFound for an unknown
    name or a missing file, ModelFileError for a file Revive will not read (``read_model_bytes``)."""
    text = str(name_or_path)
    model = None if looks_like_path(text) else find_external(text)
    if model is None and not looks_like_path(text):
        names = ", ".join(m.name for m in list_external()) or "none"
        raise ModelNotFound(f"no external model called {text!r} was added (added: {names})")
    if model is None:
        path = Path(text).expanduser()
        if not os.path.lexists(path):
            raise ModelNotFound(f"model file {path} does not exist")
        return None, path, read_model_bytes(path)
    if model.card is None:
        raise ModelFileError(model.problem or f"{model.card_path.name}: damaged card")
    data = read_model_bytes(model.path)
    if len(data) != model.card.size_bytes or hashlib.sha256(data).hexdigest() != model.card.sha256:
        raise ModelFileError(f"{model.path.name}: the file changed since it was added; add it again")
    return model, model.path, data


def file_sha256(path: Path) -> str:
    """The SHA-256 of a regular file, read in chunks (ModelFileError when it cannot be read)."""
    digest = hashlib.sha256()
    handle, _ = _open_regular(Path(path))
    with handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_stored_file(model: ExternalModel, full: bool = True) -> None:
    """ModelFileError unless the model file is the one Revive examined: same size and, when ``full``,
    the same SHA-256 (what ``models`` checks to call it healthy)."""
    if model.card is None:
        raise ModelFileError(model.problem or f"{model.card_path.name}: damaged card")
    path = model.path
    handle, size = _open_regular(path)
    handle.close()
    if size != model.card.size_bytes:
        raise ModelFileError(
            f"{path.name}: the file changed since it was added ({size} bytes, the card says "
            f"{model.card.size_bytes}); add it again"
        )
    if full and file_sha256(path) != model.card.sha256:
        raise ModelFileError(f"{path.name}: the file changed since it was added (its SHA-256 differs); add it again")


def install(card: ExternalCard, data: bytes) -> ExternalModel:
    """Write ``data`` as the card's file and then the card, each atomically and never over an
    existing file (OutputError names it). If the card cannot be written, the model file written
    just now is removed again."""
    folder = external_models_dir()
    model_path = folder / card.file
    card_path = folder / (card.name + CARD_SUFFIX)
    for path in (model_path, card_path):
        if os.path.lexists(path):
            raise OutputError(
                f"{path}: a file of that name is already there; Revive leaves it alone "
                "(choose another --name, or remove that file)"
            )
    ensure_folder(model_path)
    with atomic_file(model_path, replace=False) as f:
        f.write(data)
    try:
        with atomic_file(card_path, replace=False) as f:
            f.write((card.to_json() + "\n").encode("utf-8"))
    except BaseException:
        model_path.unlink(missing_ok=True)
        raise
    return ExternalModel(card.name, card_path, card)


def remove(name: str) -> ExternalModel:
    """Delete an external model's file and card (the card last: a half-done removal still shows
    the model as damaged). ModelNotFound when no such external model was added."""
    model = find_external(name)
    if model is None:
        raise ModelNotFound(f"no external model called {name!r} was added (main.py models lists them)")
    try:
        if model.card is not None:
            model.path.unlink(missing_ok=True)
        model.card_path.unlink()
    except OSError as error:
        raise OutputError(f"{model.card_path.name}: cannot be removed ({error.strerror or error})") from None
    return model
