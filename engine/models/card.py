"""Model cards and model-file headers, read and checked without torch.

A model file is a ``.safetensors`` file: an 8-byte little-endian header length, a JSON header
(tensor names, dtypes, shapes and byte ranges, plus ``__metadata__``), then the tensor bytes. The
header's metadata holds ``revive.card``, the JSON ``ModelCard``. Everything here comes from outside
(a downloaded or damaged file), so every field is checked for type and range before it is used,
and the header's byte ranges are checked against the file's size: a truncated file is damaged,
not "healthy" because its card still reads.
"""

from __future__ import annotations

import json
import math
import os
import stat
import struct
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from engine.batch.settings import DEFAULT_TEMPERATURE, MAX_RENDER_SIZE, MIN_RENDER_SIZE, TEMPERATURE_RANGE
from engine.errors import ModelFileError

FORMAT = "revive-model/1"
CARD_KEY = "revive.card"
MODEL_SUFFIX = ".safetensors"
MAX_HEADER_BYTES = 16 * 1024 * 1024
_PICKLE_MAGICS = (b"PK\x03\x04", b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
_DTYPE_BYTES = {
    "F64": 8,
    "F32": 4,
    "F16": 2,
    "BF16": 2,
    "I64": 8,
    "I32": 4,
    "I16": 2,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
    "U16": 2,
    "U32": 4,
    "U64": 8,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
}
# The safetensors dtype codes as torch names them (what a message shows); the floating-point ones.
DTYPE_NAMES = {
    "F64": "float64",
    "F32": "float32",
    "F16": "float16",
    "BF16": "bfloat16",
    "I64": "int64",
    "I32": "int32",
    "I16": "int16",
    "I8": "int8",
    "U8": "uint8",
    "BOOL": "bool",
    "U16": "uint16",
    "U32": "uint32",
    "U64": "uint64",
    "F8_E4M3": "float8_e4m3fn",
    "F8_E5M2": "float8_e5m2",
}
FLOATING_DTYPES = frozenset({"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2"})
_TEXT_LIMIT = 20_000


@dataclass(frozen=True)
class ModelCard:
    """What a model is and how it was made. Everything a user or the engine needs to know."""

    name: str
    architecture: str
    arguments: dict[str, Any]
    color_space: str = "lab"  # input L*/50 - 1 in [-1, 1]; output a*b* (Lab units)
    render_size: int = 256  # default short side at which colour is predicted
    temperature: float = DEFAULT_TEMPERATURE  # annealed-mean temperature for classification heads
    prior_correction: float = 0.0  # how much of the class rebalancing to undo at decoding (0..1)
    chroma_scale: float = 1.0  # the model's own colour strength; the user's saturation multiplies it
    confidence_gamma: float = 0.0  # per-pixel chroma gate by the network's confidence (engine.models.ab_bins)
    flip_average: bool = False  # the network also sees the photo mirrored; the two outputs are averaged
    lightness_rolloff: float = 0.0  # chroma taken out toward white (engine.color.rolloff_gain)
    description: str = ""
    trained_on: str = ""
    base_model: str | None = None
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    format: str = FORMAT

    def __post_init__(self) -> None:
        problem = card_problem(self)
        if problem:
            raise ValueError(problem)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, where: str) -> "ModelCard":
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as error:
            message = error.msg if isinstance(error, json.JSONDecodeError) else "nested too deeply"
            raise ModelFileError(f"{where}: the model card is not valid JSON ({message})") from None
        if not isinstance(data, dict):
            raise ModelFileError(f"{where}: the model card is not a JSON object")
        if data.get("format") != FORMAT:
            raise ModelFileError(
                f"{where}: unsupported model format {str(data.get('format'))[:40]!r} (expected {FORMAT})"
            )
        missing = {"name", "architecture", "arguments"} - set(data)
        if missing:
            raise ModelFileError(f"{where}: the model card lacks {', '.join(sorted(missing))}")
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except (TypeError, ValueError) as error:
            raise ModelFileError(f"{where}: bad model card ({error})") from None

    def with_updates(self, **changes: Any) -> "ModelCard":
        return replace(self, **changes)

    @property
    def takes_hints(self) -> bool:
        """True when the model accepts colour hints (extra a*b* and mask input channels)."""
        return bool(self.arguments.get("hints", False))


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _json_size_ok(value: object) -> bool:
    try:
        return len(json.dumps(value)) <= 4 * 1024 * 1024
    except (TypeError, ValueError, RecursionError):
        return False


def card_problem(card: ModelCard) -> str | None:
    """What is wrong with a card's fields (types and ranges), naming the field; None if nothing."""
    for name in ("name", "architecture", "color_space", "description", "trained_on", "created", "format"):
        value = getattr(card, name)
        if not isinstance(value, str):
            return f"{name} must be text, got {type(value).__name__}"
        if len(value) > _TEXT_LIMIT:
            return f"{name} is too long ({len(value)} characters)"
    if not card.name.strip():
        return "name must not be empty"
    if card.color_space != "lab":
        return f"color_space must be 'lab', got {card.color_space[:40]!r}"
    if card.base_model is not None and not (isinstance(card.base_model, str) and len(card.base_model) <= 1000):
        return "base_model must be text or null"
    for name in ("arguments", "training", "metrics"):
        value = getattr(card, name)
        if not isinstance(value, dict):
            return f"{name} must be an object, got {type(value).__name__}"
        if not _json_size_ok(value):
            return f"{name} is too large or not plain JSON"
    if not _is_int(card.render_size) or not MIN_RENDER_SIZE <= card.render_size <= MAX_RENDER_SIZE:
        return (
            f"render_size must be a whole number from {MIN_RENDER_SIZE} to {MAX_RENDER_SIZE}, got {card.render_size!r}"
        )
    low, high = TEMPERATURE_RANGE
    if not _is_number(card.temperature) or not low <= card.temperature <= high:
        return f"temperature must be a number from {low:g} to {high:g}, got {card.temperature!r}"
    if not _is_number(card.prior_correction) or not 0.0 <= card.prior_correction <= 1.0:
        return f"prior_correction must be a number from 0 to 1, got {card.prior_correction!r}"
    if not _is_number(card.chroma_scale) or not 0.0 <= card.chroma_scale <= 3.0:
        return f"chroma_scale must be a number from 0 to 3, got {card.chroma_scale!r}"
    if not _is_number(card.confidence_gamma) or not 0.0 <= card.confidence_gamma <= 4.0:
        return f"confidence_gamma must be a number from 0 to 4, got {card.confidence_gamma!r}"
    if not _is_number(card.lightness_rolloff) or not 0.0 <= card.lightness_rolloff <= 1.0:
        return f"lightness_rolloff must be a number from 0 to 1, got {card.lightness_rolloff!r}"
    if not isinstance(card.flip_average, bool):
        return f"flip_average must be true or false, got {card.flip_average!r}"
    return None


@dataclass(frozen=True)
class TensorSpec:
    """One tensor as a file's header describes it (nothing of its data is read)."""

    shape: tuple[int, ...]
    dtype: str  # as torch names it: "float16", "int32"...
    floating: bool


@dataclass(frozen=True)
class FileHeader:
    """A safetensors header, checked: the card text, the byte size the tensors need, and each
    tensor's shape and dtype by name."""

    card_text: str | None
    data_bytes: int  # bytes after the header that the tensors occupy
    header_bytes: int  # 8 + the JSON header's length
    tensors: dict[str, TensorSpec] = field(default_factory=dict)


def _open_regular(path: Path):
    """Open a model file for reading without ever blocking (a named pipe) or following a loop."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        if os.path.islink(path):
            raise ModelFileError(f"{path.name}: a symbolic link that points nowhere") from None
        raise ModelFileError(f"{path}: no such model file") from None
    except OSError as error:
        if os.path.islink(path):
            raise ModelFileError(f"{path.name}: a symbolic link that loops or cannot be followed") from None
        raise ModelFileError(f"{path.name}: cannot read the model file ({error.strerror or error})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ModelFileError(f"{path.name}: not a regular file (a folder, pipe or device), not a model file")
    return os.fdopen(fd, "rb"), info.st_size


def read_header(path: Path) -> FileHeader:
    """Read and check a model file's header (cheap: no tensor data is read). ModelFileError for a
    pickle, a foreign or damaged header, or a file shorter than its tensors need."""
    path = Path(path)
    handle, size = _open_regular(path)
    with handle:
        head = handle.read(8)
        if head.startswith(_PICKLE_MAGICS):
            raise ModelFileError(
                f"{path.name}: this is a pickled PyTorch checkpoint; Revive only loads .safetensors model files,"
                " which cannot run code when opened"
            )
        if len(head) < 8:
            raise ModelFileError(f"{path.name}: not a model file ({'empty' if not head else 'too short'})")
        (header_size,) = struct.unpack("<Q", head)
        if header_size > MAX_HEADER_BYTES or header_size > size - 8:
            raise ModelFileError(f"{path.name}: not a Revive model file (damaged or foreign header)")
        try:
            header = json.loads(handle.read(header_size))
        except (ValueError, RecursionError) as error:
            raise ModelFileError(f"{path.name}: damaged model file header ({str(error)[:80]})") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{path.name}: damaged model file header (not an object)")
    end = 0
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        shape = info.get("shape") if isinstance(info, dict) else None
        dtype = info.get("dtype") if isinstance(info, dict) else None
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(_is_int(o) and o >= 0 for o in offsets)
            or offsets[1] < offsets[0]
            or not isinstance(shape, list)
            or not all(_is_int(d) and d >= 0 for d in shape)
            or dtype not in _DTYPE_BYTES
        ):
            raise ModelFileError(f"{path.name}: damaged model file header (tensor {str(name)[:60]!r})")
        if math.prod(shape) * _DTYPE_BYTES[dtype] != offsets[1] - offsets[0]:
            raise ModelFileError(
                f"{path.name}: damaged model file header (tensor {str(name)[:60]!r} has the wrong size)"
            )
        end = max(end, offsets[1])
        tensors[str(name)] = TensorSpec(tuple(shape), DTYPE_NAMES[dtype], dtype in FLOATING_DTYPES)
    if 8 + header_size + end > size:
        raise ModelFileError(
            f"{path.name}: the model file is truncated ({size} bytes, its header needs {8 + header_size + end})"
        )
    metadata = header.get("__metadata__")
    card_text = metadata.get(CARD_KEY) if isinstance(metadata, dict) else None
    return FileHeader(card_text if isinstance(card_text, str) else None, end, 8 + header_size, tensors)


# numpy view, and the exponent bits that mark NaN and infinity where numpy has no such float type
# (float8 e4m3fn has no infinity: its NaN is all of the low seven bits).
_FLOAT_VIEWS = {
    "F16": ("<f2", None),
    "F32": ("<f4", None),
    "F64": ("<f8", None),
    "BF16": ("<u2", 0x7F80),
    "F8_E4M3": ("u1", 0x7F),
    "F8_E5M2": ("u1", 0x7C),
}


def verify_weights(path: Path) -> None:
    """Read every floating-point tensor of a model file and check that it is finite (ModelFileError
    naming the first bad tensor): what ``models`` does to call a file healthy. Uses numpy only."""
    import numpy as np

    path = Path(path)
    header_info = read_header(path)
    handle, _ = _open_regular(path)
    with handle:
        handle.seek(8)
        header = json.loads(handle.read(header_info.header_bytes - 8))
        for name, info in sorted(header.items(), key=lambda item: str(item[0])):
            if name == "__metadata__" or info["dtype"] not in _FLOAT_VIEWS:
                continue
            start, end = info["data_offsets"]
            handle.seek(header_info.header_bytes + start)
            data = handle.read(end - start)
            if len(data) != end - start:
                raise ModelFileError(f"{path.name}: the model file is truncated (tensor {str(name)[:60]!r})")
            dtype, exponent_mask = _FLOAT_VIEWS[info["dtype"]]
            values = np.frombuffer(data, dtype=dtype)
            finite = ((values & exponent_mask) != exponent_mask).all() if exponent_mask else np.isfinite(values).all()
            if not finite:
                raise ModelFileError(f"{path.name}: weights contain NaN or infinite values ({str(name)[:60]})")


def read_card(path: Path) -> ModelCard:
    """Read only the model card from ``path`` (cheap: the header, not the weights), checking the
    header against the file's size."""
    path = Path(path)
    header = read_header(path)
    if header.card_text is None:
        raise ModelFileError(f"{path.name}: a safetensors file without a Revive model card (not a Revive model)")
    return ModelCard.from_json(header.card_text, path.name)
