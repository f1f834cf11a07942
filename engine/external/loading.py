"""Reading an external model file safely and letting spandrel identify it.

Safety, in order: the file must be a regular file of a sane size; it is read into memory once, so
the bytes that are examined, hashed and stored are the same bytes; ``.safetensors`` are parsed by
safetensors (plain tensors, no code); pickled checkpoints (``.pth``, ``.pt``, ``.ckpt``) go through
spandrel's restricted unpickler, which allows only the few globals a state dict needs (ordered
dicts, tensor rebuilding, storages) and refuses every other one, so a pickle whose ``__reduce__``
calls ``os.system`` fails before anything runs. TorchScript archives are refused (programs, not
weights). Then spandrel's registry, with spandrel-extra-arches added (DDColor, CodeFormer, MAT...),
detects the architecture from the tensors' names and shapes; anything it cannot place is "a
foreign state dict". Its weights must be numbers a network can run: a NaN or infinite weight, or a
whole-number tensor where the architecture holds floating-point weights (spandrel would copy it
in silently), is refused naming the tensor; such a model once wrote all-black photos.
"""

from __future__ import annotations

import functools
import io
import logging
import pickle
import re
import zipfile

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from spandrel import (
    MAIN_REGISTRY,
    ArchRegistry,
    ModelDescriptor,
    ModelTiling,
    UnsupportedModelError,
    canonicalize_state_dict,
)
from spandrel.__helpers.unpickler import RestrictedUnpickle

from engine.errors import ModelFileError
from engine.external.card import ExternalCard, task_for

log = logging.getLogger(__name__)

MAX_KEYS = 100_000
MAX_LAYER_INDEX = 10_000  # spandrel builds as many blocks as the largest index in a key name says
_INDEX = re.compile(r"(?:^|\.)(\d+)(?=\.|$)")
_FORBIDDEN = re.compile(r"Global '([^']{1,120})' is forbidden")
# Whole-number buffers some architectures legitimately keep (BatchNorm's step count, the window
# attention tables of SwinIR, HAT, DAT, CRAFT...): by the last part of the name, for tensors whose
# name spandrel changed while loading (every other one is compared with the built module).
_INTEGER_BUFFER = re.compile(r"(?:^|\.)(?:num_batches_tracked|relative_position_index\w*|rel_pos_indices)$")
_TILING = {ModelTiling.SUPPORTED: "supported", ModelTiling.DISCOURAGED: "discouraged", ModelTiling.INTERNAL: "internal"}


@functools.lru_cache(maxsize=1)
def registry() -> ArchRegistry:
    """spandrel's architectures plus spandrel-extra-arches, in a registry of our own (spandrel's
    global one is left as it is)."""
    from spandrel_extra_arches import EXTRA_REGISTRY

    ours = MAIN_REGISTRY.copy()
    ours.add(*EXTRA_REGISTRY, ignore_duplicates=True)
    return ours


def state_dict_from_bytes(data: bytes, file_name: str) -> dict:
    """The canonical state dict in ``data`` (a file called ``file_name``), never running code from it."""
    state: object
    if file_name.lower().endswith(".safetensors"):
        try:
            state = load_safetensors(data)
        except (SafetensorError, ValueError, RuntimeError, OSError) as error:
            raise ModelFileError(f"{file_name}: not a valid safetensors file ({str(error)[:100]})") from None
    else:
        state = _unpickle(data, file_name)
    if not isinstance(state, dict):
        raise ModelFileError(f"{file_name}: holds a {type(state).__name__}, not a state dict of weights")
    weights: dict = canonicalize_state_dict(state)
    if not weights or not any(isinstance(v, torch.Tensor) for v in weights.values()):
        raise ModelFileError(f"{file_name}: holds no weights")
    if len(weights) > MAX_KEYS:
        raise ModelFileError(f"{file_name}: {len(weights)} tensors is more than any model Revive runs")
    for key in weights:
        if not isinstance(key, str):
            raise ModelFileError(f"{file_name}: a state dict's names must be text")
        if any(int(i) > MAX_LAYER_INDEX for i in _INDEX.findall(key)):
            raise ModelFileError(f"{file_name}: implausible layer index in {key[:60]!r}; not a model Revive runs")
    bad = _first_non_finite(weights)
    if bad is not None:
        raise ModelFileError(f"{file_name}: weights contain NaN or infinite values ({bad[:60]})")
    return weights


def _first_non_finite(weights: dict) -> str | None:
    """The first floating-point tensor (by name) holding a NaN or an infinity; None if there is none."""
    for name in sorted(weights):
        tensor = weights[name]
        if isinstance(tensor, torch.Tensor) and tensor.is_floating_point() and not torch.isfinite(tensor).all():
            return name
    return None


def _first_misplaced_integers(state: dict, model: torch.nn.Module) -> str | None:
    """The first (by name) whole-number tensor of ``state`` that sits where ``model`` holds
    floating-point weights, or, for a name the built model lacks (spandrel renamed it), that is not a
    known whole-number buffer; None if there is none."""
    built = model.state_dict()
    for name in sorted(state):
        tensor = state[name]
        if not isinstance(tensor, torch.Tensor) or tensor.is_floating_point():
            continue
        target = built.get(name)
        if target is None and _INTEGER_BUFFER.search(name) is None:
            return name
        if target is not None and target.is_floating_point():
            return name
    return None


def _unpickle(data: bytes, file_name: str) -> object:
    if data[:4] == b"PK\x03\x04":
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except zipfile.BadZipFile:
            raise ModelFileError(f"{file_name}: a damaged PyTorch checkpoint (bad zip archive)") from None
        # torch.load hands an archive with constants.pkl to torch.jit.load: refuse it before that.
        if any(n.rsplit("/", 1)[-1] == "constants.pkl" or "code" in n.split("/")[:-1] for n in names):
            raise ModelFileError(
                f"{file_name}: a TorchScript program, not a state dict of weights; Revive does "
                "not run programs from model files (use the project's .pth or .safetensors)"
            )
    try:
        # weights_only=False only because spandrel's restricted unpickler does the restricting.
        return torch.load(io.BytesIO(data), map_location="cpu", pickle_module=RestrictedUnpickle, weights_only=False)
    except pickle.UnpicklingError as error:
        found = _FORBIDDEN.search(str(error))
        if not found:
            raise ModelFileError(f"{file_name}: not a PyTorch checkpoint Revive can read ({_first(error)})") from None
        raise ModelFileError(
            f"{file_name}: refused: opening it would call {found.group(1)}, which is not part of "
            "plain weights and could run code; Revive only opens plain weights (a state dict, "
            "or a .safetensors file)"
        ) from None
    except (
        RuntimeError,
        EOFError,
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        IndexError,
        OSError,
        UnicodeDecodeError,
        MemoryError,
    ) as error:
        raise ModelFileError(f"{file_name}: not a PyTorch checkpoint Revive can read ({_first(error)})") from None


def _first(error: BaseException) -> str:
    """``Type: first line`` of an error, short enough for a one-line message."""
    text = str(error).splitlines()[0][:100] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def identify(state: dict, file_name: str) -> ModelDescriptor:
    """spandrel's model descriptor for ``state`` (CPU, fp32, eval mode); ModelFileError for a foreign
    state dict or one spandrel places but cannot build."""
    try:
        descriptor = registry().load(state)
    except UnsupportedModelError:
        raise ModelFileError(
            f"{file_name}: a foreign state dict: spandrel recognises no architecture in its "
            f"{len(state)} tensors (see the README for the architectures Revive runs)"
        ) from None
    except (KeyError, ValueError, RuntimeError, AssertionError, IndexError, TypeError, AttributeError) as error:
        # spandrel recognised the names but the shapes do not fit: a damaged or modified model.
        raise ModelFileError(
            f"{file_name}: looks like a known architecture, but its weights do not fit it ({_first(error)})"
        ) from None
    misplaced = _first_misplaced_integers(state, descriptor.model)
    if misplaced is not None:
        dtype = str(state[misplaced].dtype).removeprefix("torch.")
        raise ModelFileError(
            f"{file_name}: tensor {misplaced[:60]} holds {dtype} whole numbers where "
            f"{descriptor.architecture.id} needs floating-point weights (a damaged or modified model)"
        )
    return descriptor.eval()


def facts(descriptor: ModelDescriptor) -> dict:
    """What a card records about a descriptor (ExternalCard's spandrel fields)."""
    size = descriptor.size_requirements
    architecture = str(descriptor.architecture.id)
    return {
        "architecture": architecture,
        "task": task_for(architecture, descriptor.purpose),
        "scale": int(descriptor.scale),
        "input_channels": int(descriptor.input_channels),
        "output_channels": int(descriptor.output_channels),
        "size_requirements": {
            "minimum": int(size.minimum),
            "multiple_of": int(size.multiple_of),
            "square": bool(size.square),
        },
        "tiling": _TILING[descriptor.tiling],
        "supports_half": bool(descriptor.supports_half),
        "supports_bfloat16": bool(descriptor.supports_bfloat16),
        "tags": tuple(str(t) for t in descriptor.tags),
        "parameters": sum(p.numel() for p in descriptor.model.parameters()),
    }


def examine(data: bytes, file_name: str) -> ModelDescriptor:
    """Read and identify a model file's bytes (see the module's docstring)."""
    return identify(state_dict_from_bytes(data, file_name), file_name)


def load_stored(card: ExternalCard, data: bytes) -> ModelDescriptor:
    """Identify stored bytes again and check that spandrel still sees what the card says."""
    descriptor = examine(data, card.file)
    found = facts(descriptor)
    if found["architecture"] != card.architecture or found["task"] != card.task or found["scale"] != card.scale:
        raise ModelFileError(
            f"{card.file}: spandrel now reads it as {found['architecture']} ({found['task']}), "
            f"the card says {card.architecture} ({card.task}); add it again"
        )
    return descriptor
