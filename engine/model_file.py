"""Model files: safetensors weights plus a readable model card in the file's header.

A model file is a ``.safetensors`` file (plain tensors and a JSON header; loading it can never run
code, unlike a pickled PyTorch checkpoint). Its header's metadata holds ``revive.card``: a JSON
``ModelCard`` that says which architecture to build with which arguments, the colour space, the
render size, what it was trained on and how well it did. A ``NAME.json`` beside it is a copy of the
card for people; the header is what counts.
"""

from __future__ import annotations

import json
import struct
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save
from torch import nn

from engine.architectures import COLORIZER_ARCHITECTURES, build
from engine.atomic_files import write_bytes_atomically, write_text_atomically
from engine.errors import ModelFileError

FORMAT = "revive-model/1"
CARD_KEY = "revive.card"
MODEL_SUFFIX = ".safetensors"
_MAX_HEADER_BYTES = 16 * 1024 * 1024
_PICKLE_MAGICS = (b"PK\x03\x04", b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")


@dataclass(frozen=True)
class ModelCard:
    """What a model is and how it was made. Everything a user or the engine needs to know."""

    name: str
    architecture: str
    arguments: dict[str, Any]
    color_space: str = "lab"  # input L*/50 - 1 in [-1, 1]; output a*b* (Lab units)
    render_size: int = 256  # default short side at which colour is predicted
    temperature: float = 0.38  # annealed-mean temperature for classification heads
    prior_correction: float = 0.0  # how much of the class rebalancing to undo at decoding (0..1)
    chroma_scale: float = 1.0  # the model's own colour strength; the user's saturation multiplies it
    description: str = ""
    trained_on: str = ""
    base_model: str | None = None
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    format: str = FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, where: str) -> "ModelCard":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ModelFileError(f"{where}: the model card is not valid JSON ({error.msg})") from None
        if not isinstance(data, dict):
            raise ModelFileError(f"{where}: the model card is not a JSON object")
        if data.get("format") != FORMAT:
            raise ModelFileError(f"{where}: unsupported model format {data.get('format')!r} (expected {FORMAT})")
        known = set(cls.__dataclass_fields__)
        missing = {"name", "architecture", "arguments"} - set(data)
        if missing:
            raise ModelFileError(f"{where}: the model card lacks {', '.join(sorted(missing))}")
        try:
            card = cls(**{k: v for k, v in data.items() if k in known})
        except TypeError as error:
            raise ModelFileError(f"{where}: bad model card ({error})") from None
        if not isinstance(card.arguments, dict):
            raise ModelFileError(f"{where}: the model card's arguments must be an object")
        return card

    def with_updates(self, **changes: Any) -> "ModelCard":
        return replace(self, **changes)


def _sniff(path: Path) -> None:
    """Reject what is plainly not a safetensors file before handing it to the parser."""
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such model file") from None
    except OSError as error:
        raise ModelFileError(f"{path}: cannot read the model file ({error.strerror})") from None
    if head.startswith(_PICKLE_MAGICS):
        raise ModelFileError(
            f"{path.name}: this is a pickled PyTorch checkpoint; Revive only loads .safetensors model files,"
            " which cannot run code when opened"
        )
    if len(head) < 8:
        raise ModelFileError(f"{path.name}: not a model file (too short)")
    (header_size,) = struct.unpack("<Q", head)
    if header_size > _MAX_HEADER_BYTES or header_size > path.stat().st_size - 8:
        raise ModelFileError(f"{path.name}: not a Revive model file (damaged or foreign header)")


def read_card(path: Path) -> ModelCard:
    """Read only the model card from ``path`` (cheap: the header, not the weights)."""
    path = Path(path)
    _sniff(path)
    try:
        with path.open("rb") as handle:
            (header_size,) = struct.unpack("<Q", handle.read(8))
            header = json.loads(handle.read(header_size))
    except (OSError, ValueError) as error:
        raise ModelFileError(f"{path.name}: damaged model file header ({error})") from None
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(metadata, dict) or CARD_KEY not in metadata:
        raise ModelFileError(f"{path.name}: a safetensors file without a Revive model card (not a Revive model)")
    return ModelCard.from_json(metadata[CARD_KEY], path.name)


def load_model(path: Path) -> tuple[nn.Module, ModelCard]:
    """Build the model a file describes and load its weights (on the CPU, in fp32, eval mode).

    Raises ModelFileError for anything damaged, foreign or inconsistent.
    """
    path = Path(path)
    card = read_card(path)
    if card.architecture not in COLORIZER_ARCHITECTURES:
        raise ModelFileError(f"{path.name}: architecture {card.architecture!r} is not a colorizer")
    try:
        module = build(card.architecture, card.arguments)
    except ValueError as error:
        raise ModelFileError(f"{path.name}: {error}") from None
    try:
        tensors = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise ModelFileError(f"{path.name}: damaged model weights ({error})") from None
    tensors = {name: t.float() if t.is_floating_point() else t for name, t in tensors.items()}
    # Buffers added after a model was made (e.g. the decoding prior) keep their defaults.
    optional = set(getattr(module, "optional_state_keys", ()))
    try:
        missing, unexpected = module.load_state_dict(tensors, strict=False)
        if unexpected or set(missing) - optional:
            names = ", ".join(list(unexpected)[:3] + sorted(set(missing) - optional)[:3])
            raise RuntimeError(f"unexpected or missing weights: {names}")
    except RuntimeError as error:
        first = str(error).splitlines()[1:2] or [str(error)]
        raise ModelFileError(
            f"{path.name}: weights do not match architecture {card.architecture!r} ({first[0].strip()})"
        ) from None
    for name, tensor in module.state_dict().items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise ModelFileError(f"{path.name}: weights contain NaN or infinite values ({name})")
    return module.eval(), card


def save_model(path: Path, module: nn.Module, card: ModelCard, half: bool = True) -> Path:
    """Write ``module``'s weights and ``card`` to ``path`` atomically, plus a ``.json`` copy of the card.

    ``half`` stores floating-point weights as fp16 (half the size; colorization is insensitive to it).
    Buffers that must stay exact (BatchNorm statistics, bin centres) are kept in fp32.
    """
    path = Path(path)
    if path.suffix != MODEL_SUFFIX:
        raise ValueError(f"model files end in {MODEL_SUFFIX}, got {path.name}")
    state = {}
    parameter_names = {name for name, _ in module.named_parameters()}
    for name, tensor in module.state_dict().items():
        tensor = tensor.detach().cpu().contiguous()
        if half and name in parameter_names and tensor.is_floating_point():
            tensor = tensor.to(torch.float16)
        state[name] = tensor
    write_bytes_atomically(path, save(state, metadata={CARD_KEY: card.to_json(), "format": FORMAT}))
    write_text_atomically(path.with_suffix(".json"), card.to_json() + "\n")
    return path
