"""Damage-detector model files: safetensors weights with a JSON card, like the colorizers'.

The file layout and the header checks are those of ``engine.models.card`` (8-byte header length,
JSON header with byte ranges checked against the file size, pickles refused, the card under
``revive.card``), but the card is a ``DetectorCard`` of format ``revive-detector/1``: a detector is
no colorizer, and ``engine.models.card.read_card`` refuses this format, so a detector can never be
picked as a colour model by mistake. The shipped detector lives in ``resources/models/restoration/``,
a folder the colour-model registry does not list.

The card holds what inference needs besides the weights: the probability ``threshold`` and the
``confirm`` level a connected area must reach somewhere to be kept (hysteresis), the ``min_area``
of a kept area (pixels at detection size), and ``min_share``, the least share of the photo a
mask must cover to be used at all, all chosen at export on photos the run never trained on.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from engine.errors import ModelFileError, OutputError
from engine.models.card import CARD_KEY, MODEL_SUFFIX, read_header
from engine.paths import shipped_models_dir

DETECTOR_FORMAT = "revive-detector/1"
DEFAULT_DETECTOR = "revive-damage-detector"
_TEXT_LIMIT = 20_000


def default_detector_path() -> Path:
    """The shipped detector: ``resources/models/restoration/revive-damage-detector.safetensors``."""
    return shipped_models_dir() / "restoration" / f"{DEFAULT_DETECTOR}{MODEL_SUFFIX}"


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class DetectorCard:
    """What a damage detector is, how it was made, and the post-processing it was tuned for."""

    name: str
    architecture: str
    arguments: dict[str, Any]
    threshold: float = 0.5  # probability from which a pixel may be damage
    confirm: float = 0.5  # an area is kept only if its peak probability reaches this
    min_area: int = 3  # smallest area kept, pixels at detection size
    min_share: float = 0.0  # a mask covering less of the photo than this is dropped (photo-level minimum)
    input: str = "luma / max - 0.5, (N, 1, H, W), H and W multiples of 4"
    description: str = ""
    trained_on: str = ""
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    format: str = DETECTOR_FORMAT

    def __post_init__(self) -> None:
        problem = _card_problem(self)
        if problem:
            raise ValueError(problem)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, where: str) -> DetectorCard:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            raise ModelFileError(f"{where}: the detector card is not valid JSON") from None
        if not isinstance(data, dict):
            raise ModelFileError(f"{where}: the detector card is not a JSON object")
        if data.get("format") != DETECTOR_FORMAT:
            raise ModelFileError(
                f"{where}: not a damage detector (format {str(data.get('format'))[:40]!r}, expected {DETECTOR_FORMAT})"
            )
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except (TypeError, ValueError) as error:
            raise ModelFileError(f"{where}: bad detector card ({error})") from None


def _card_problem(card: DetectorCard) -> str | None:
    for name in ("name", "architecture", "input", "description", "trained_on", "created", "format"):
        value = getattr(card, name)
        if not isinstance(value, str) or len(value) > _TEXT_LIMIT:
            return f"{name} must be text of at most {_TEXT_LIMIT} characters"
    if not card.name.strip():
        return "name must not be empty"
    for name in ("arguments", "training", "metrics"):
        value = getattr(card, name)
        if not isinstance(value, dict):
            return f"{name} must be an object, got {type(value).__name__}"
        try:
            if len(json.dumps(value)) > 4 * 1024 * 1024:
                return f"{name} is too large"
        except (TypeError, ValueError, RecursionError):
            return f"{name} is not plain JSON"
    for name in ("threshold", "confirm"):
        value = getattr(card, name)
        if not _number(value) or not 0.0 < value < 1.0:
            return f"{name} must be a number between 0 and 1, got {value!r}"
    if card.confirm < card.threshold:
        return f"confirm ({card.confirm}) must be at least the threshold ({card.threshold})"
    if not _number(card.min_share) or not 0.0 <= card.min_share < 0.1:
        return f"min_share must be a number from 0 to 0.1, got {card.min_share!r}"
    if not isinstance(card.min_area, int) or isinstance(card.min_area, bool) or not 1 <= card.min_area <= 10_000:
        return f"min_area must be a whole number from 1 to 10000, got {card.min_area!r}"
    return None


def read_detector_card(path: Path) -> DetectorCard:
    """The card of a detector file (header only; the header is checked against the file size)."""
    path = Path(path)
    header = read_header(path)
    if header.card_text is None:
        raise ModelFileError(f"{path.name}: a safetensors file without a Revive card (not a damage detector)")
    return DetectorCard.from_json(header.card_text, path.name)


def load_detector(path: Path | None = None):
    """``(module, card)`` of a detector file (default: the shipped one), on the CPU in fp32, eval
    mode. ModelFileError for anything damaged, foreign or inconsistent, or a missing file."""
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from engine.restoration.detector_net import ARCHITECTURE, DamageUNet, check_arguments

    path = Path(path) if path is not None else default_detector_path()
    if not path.exists():
        raise ModelFileError(
            f"the damage detector {path} is missing; reinstall Revive or train one "
            "(python -m training.cli.train_detector)"
        )
    card = read_detector_card(path)
    if card.architecture != ARCHITECTURE:
        raise ModelFileError(f"{path.name}: architecture {card.architecture[:40]!r} is not a damage detector")
    try:
        check_arguments(card.arguments)
        module = DamageUNet(**card.arguments)
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"{path.name}: {error}") from None
    try:
        tensors = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise ModelFileError(f"{path.name}: damaged detector weights ({str(error)[:120]})") from None
    expected = module.state_dict()
    if set(tensors) != set(expected):
        names = ", ".join(sorted(set(tensors) ^ set(expected))[:3])
        raise ModelFileError(f"{path.name}: weights do not match the detector's arguments ({names})")
    for name, tensor in tensors.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise ModelFileError(f"{path.name}: weights do not match the detector's arguments ({name})")
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise ModelFileError(f"{path.name}: weights contain NaN or infinite values ({name})")
    module.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in tensors.items()})
    return module.eval(), card


def save_detector(path: Path, module, card: DetectorCard, half: bool = True, *, replace: bool = True) -> Path:
    """Write ``module``'s weights and ``card`` to ``path`` atomically, plus a ``.json`` copy of the
    card for people. ``half`` stores parameters as fp16 (BatchNorm statistics stay fp32).
    ``replace`` False never replaces anything: OutputError when a file is at ``path`` or at its
    card's place, or appears there while writing (a trainer decides what it may replace)."""
    import torch
    from safetensors.torch import save

    from engine.atomic_files import atomic_file, ensure_folder, write_bytes_atomically

    path = Path(path)
    if path.suffix != MODEL_SUFFIX:
        raise ValueError(f"detector files end in {MODEL_SUFFIX}, got {path.name}")
    parameters = {name for name, _ in module.named_parameters()}
    state = {}
    for name, weights in module.state_dict().items():
        tensor = weights.detach().cpu().contiguous()
        state[name] = tensor.to(torch.float16) if half and name in parameters and tensor.is_floating_point() else tensor
    files = (
        (path, save(state, metadata={CARD_KEY: card.to_json(), "format": DETECTOR_FORMAT})),
        (path.with_suffix(".json"), (card.to_json() + "\n").encode("utf-8")),
    )
    ensure_folder(path)
    if replace:
        for target, data in files:
            write_bytes_atomically(target, data)
        return path
    for target, _ in files:  # both checked first: neither is written when either is taken
        if os.path.lexists(target):
            raise OutputError(f"{target}: a file is already there; it was left untouched")
    for target, data in files:
        with atomic_file(target, replace=False) as handle:
            handle.write(data)
    return path
