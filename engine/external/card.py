"""The card Revive writes beside an external model file: what spandrel found, and where it came from.

It is JSON (``NAME.card.json``), torch-free, and read back as anything from outside is: every
field is checked for type and range before use, and the stored file's name must be the card's
own name plus a known suffix (a card can never point Revive at another file).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, fields
from typing import Any

from engine.errors import ModelFileError, ReviveError

FORMAT = "revive-external/1"
CARD_SUFFIX = ".card.json"
MODEL_SUFFIXES = (".pth", ".pt", ".ckpt", ".safetensors")
TASKS = ("colorization", "face restoration", "inpainting", "upscaling", "restoration")
TILING = ("supported", "discouraged", "internal")
MAX_CARD_BYTES = 256 * 1024
_TEXT_LIMIT = 2000
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class WrongModelTask(ReviveError):
    """A model used for a task it was not made for (an upscaler asked to restore faces)."""


@dataclass(frozen=True)
class ExternalCard:
    """An external model as Revive added it.

    ``architecture`` is spandrel's architecture id (``ESRGAN``, ``DDColor``, ``LaMa``...);
    ``task`` one of ``TASKS``; ``scale`` the output/input size ratio (1 except for upscalers);
    ``size_requirements`` spandrel's: ``{"minimum": px, "multiple_of": px, "square": bool}``
    (the runners pad to satisfy them); ``file`` the stored file's name in the external folder;
    ``source`` where it came from, in the user's words; ``sha256`` of the stored bytes.
    """

    name: str
    architecture: str
    task: str
    scale: int
    input_channels: int
    output_channels: int
    size_requirements: dict[str, Any]
    tiling: str
    supports_half: bool
    supports_bfloat16: bool
    tags: tuple[str, ...]
    parameters: int
    file: str
    original_name: str
    source: str
    sha256: str
    size_bytes: int
    added: str
    format: str = FORMAT

    def __post_init__(self) -> None:
        problem = card_problem(self)
        if problem:
            raise ValueError(problem)

    # What a Colorizer's card offers the batch runner and the app (engine.models.colorizer.ModelCard).
    @property
    def description(self) -> str:
        tags = f" ({', '.join(self.tags)})" if self.tags else ""
        origin = f", from {self.source}" if self.source else ""
        return f"{self.architecture}{tags}: {self.task}{origin}"

    @property
    def render_size(self) -> int:
        """The square side the model sees (colorization); DDColor's reference inference uses 512."""
        return DDCOLOR_INPUT_SIZE

    temperature = None  # no class distribution to anneal
    prior_correction = 0.0
    chroma_scale = 1.0
    takes_hints = False

    def to_json(self) -> str:
        data = asdict(self)
        data["tags"] = list(self.tags)
        return json.dumps(data, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, where: str) -> ExternalCard:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            raise ModelFileError(f"{where}: the card is not valid JSON") from None
        if not isinstance(data, dict):
            raise ModelFileError(f"{where}: the card is not a JSON object")
        if data.get("format") != FORMAT:
            found = str(data.get("format"))[:40]
            raise ModelFileError(f"{where}: unsupported card format {found!r} (expected {FORMAT})")
        names = {f.name for f in fields(cls)}
        missing = names - set(data) - {"format"}
        if missing:
            raise ModelFileError(f"{where}: the card lacks {', '.join(sorted(missing))}")
        values = {k: v for k, v in data.items() if k in names}
        if isinstance(values.get("tags"), list):
            values["tags"] = tuple(values["tags"])
        try:
            return cls(**values)
        except (TypeError, ValueError) as error:
            raise ModelFileError(f"{where}: bad card ({error})") from None


DDCOLOR_INPUT_SIZE = 512


def _is_int(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def card_problem(card: ExternalCard) -> str | None:
    """What is wrong with a card's fields, naming the field; None if nothing."""
    for name in (
        "name",
        "architecture",
        "task",
        "tiling",
        "file",
        "original_name",
        "source",
        "sha256",
        "added",
        "format",
    ):
        value = getattr(card, name)
        if not isinstance(value, str):
            return f"{name} must be text, got {type(value).__name__}"
        if len(value) > _TEXT_LIMIT:
            return f"{name} is too long ({len(value)} characters)"
    if not card.name.strip() or any(c in card.name for c in "/\\:") or card.name.startswith("."):
        return f"name {card.name[:40]!r} is not a plain model name"
    if card.task not in TASKS:
        return f"task must be one of {', '.join(TASKS)}, got {card.task[:40]!r}"
    if card.tiling not in TILING:
        return f"tiling must be one of {', '.join(TILING)}, got {card.tiling[:40]!r}"
    suffixes = [s for s in MODEL_SUFFIXES if card.file == card.name + s]
    if not suffixes:
        return f"file must be the card's name plus one of {', '.join(MODEL_SUFFIXES)}, got {card.file[:60]!r}"
    if not _SHA256.match(card.sha256):
        return "sha256 must be 64 lowercase hexadecimal digits"
    for name, low, high in (
        ("scale", 1, 16),
        ("input_channels", 1, 16),
        ("output_channels", 1, 16),
        ("parameters", 0, 10**11),
        ("size_bytes", 1, 2**40),
    ):
        if not _is_int(getattr(card, name), low, high):
            return f"{name} must be a whole number from {low} to {high}, got {getattr(card, name)!r}"
    for name in ("supports_half", "supports_bfloat16"):
        if not isinstance(getattr(card, name), bool):
            return f"{name} must be true or false"
    if (
        not isinstance(card.tags, tuple)
        or len(card.tags) > 32
        or not all(isinstance(t, str) and len(t) <= 100 for t in card.tags)
    ):
        return "tags must be a short list of short texts"
    size = card.size_requirements
    if (
        not isinstance(size, dict)
        or set(size) != {"minimum", "multiple_of", "square"}
        or not _is_int(size["minimum"], 0, 8192)
        or not _is_int(size["multiple_of"], 1, 8192)
        or not isinstance(size["square"], bool)
    ):
        return "size_requirements must be {minimum, multiple_of, square}"
    return None


def task_for(architecture: str, purpose: str) -> str:
    """Revive's task for spandrel's architecture id and purpose (``SR``, ``FaceSR``, ``Inpainting``,
    ``Restoration``). DDColor's purpose is "Restoration" in spandrel; for Revive it colorizes."""
    if architecture == "DDColor":
        return "colorization"
    tasks = {"SR": "upscaling", "FaceSR": "face restoration", "Inpainting": "inpainting", "Restoration": "restoration"}
    try:
        return tasks[purpose]
    except KeyError:
        raise ModelFileError(f"spandrel reports an unknown purpose {purpose!r} for {architecture}") from None


def require_task(card: ExternalCard, tasks: tuple[str, ...], wanted: str) -> None:
    """WrongModelTask unless ``card.task`` is one of ``tasks`` (``wanted`` names the use for people)."""
    if card.task not in tasks:
        raise WrongModelTask(
            f"the model {card.name!r} ({card.architecture}) is a {card.task} model, "
            f"not {wanted} (main.py models lists each model's task)"
        )
