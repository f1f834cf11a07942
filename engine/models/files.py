"""Model files: safetensors weights plus a readable model card in the file's header.

A model file is a ``.safetensors`` file (plain tensors and a JSON header; loading it can never run
code, unlike a pickled PyTorch checkpoint). Its header's metadata holds ``revive.card``: a JSON
``ModelCard`` (``engine.models.card``, which reads and checks it without torch) that says which
architecture to build with which arguments, the colour space, the render size, what it was trained
on and how well it did. A ``NAME.json`` beside it is a copy of the card for people; the header is
what counts. Loading checks everything before allocating anything: the card's fields, the
architecture's arguments and parameter budget, the header against the file size, the tensors'
names, shapes and dtypes against the architecture, and that no weight is NaN or infinite.
``check_model_file`` makes the same checks from the header, without loading the weights.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save
from torch import nn

from engine.atomic_files import write_bytes_atomically, write_text_atomically
from engine.errors import ModelFileError
from engine.models.architectures import COLORIZER_ARCHITECTURES, build, check
from engine.models.card import (
    CARD_KEY,
    FORMAT,
    MODEL_SUFFIX,
    ModelCard,
    TensorSpec,
    read_card,
    read_header,
    verify_weights,
)

__all__ = [
    "CARD_KEY",
    "FORMAT",
    "MODEL_SUFFIX",
    "ModelCard",
    "check_model_file",
    "load_model",
    "read_card",
    "save_model",
    "verify_weights",
]


def load_model(path: Path) -> tuple[nn.Module, ModelCard]:
    """Build the model a file describes and load its weights (on the CPU, in fp32, eval mode).

    Raises ModelFileError for anything damaged, foreign, hostile or inconsistent.
    """
    path = Path(path)
    card = read_card(path)
    module = _architecture(path, card)
    try:
        tensors = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise ModelFileError(f"{path.name}: damaged model weights ({str(error)[:120]})") from None
    _check_tensors(path, card, {name: _spec(t) for name, t in tensors.items()}, module)
    tensors = {name: t.float() if t.is_floating_point() else t for name, t in tensors.items()}
    module.load_state_dict(tensors, strict=False)
    bad = _first_non_finite(module.state_dict())
    if bad:
        raise ModelFileError(f"{path.name}: weights contain NaN or infinite values ({bad})")
    return module.eval(), card


def check_model_file(path: Path) -> ModelCard:
    """Everything ``load_model`` checks, without loading the weights: what ``models`` does to call a
    file healthy. The card, the architecture and its arguments, and the header's tensor names,
    shapes and dtypes against the architecture (built on the meta device: shapes only, no memory);
    then every weight is read, tensor by tensor, to check that it is finite. Returns the card;
    ModelFileError (the same message loading gives) for anything wrong."""
    path = Path(path)
    card = read_card(path)
    module = _architecture(path, card, meta=True)
    _check_tensors(path, card, read_header(path).tensors, module)
    verify_weights(path)
    return card


def _architecture(path: Path, card: ModelCard, meta: bool = False) -> nn.Module:
    """The module ``card`` describes, its architecture and arguments checked first (on the meta
    device when ``meta``: for its tensors' names, shapes and dtypes only)."""
    if card.architecture not in COLORIZER_ARCHITECTURES:
        raise ModelFileError(f"{path.name}: architecture {card.architecture[:40]!r} is not a colorizer")
    try:
        check(card.architecture, card.arguments)
        with torch.device("meta") if meta else contextlib.nullcontext():
            return build(card.architecture, card.arguments)
    except ValueError as error:
        raise ModelFileError(f"{path.name}: {error}") from None


def _spec(tensor: torch.Tensor) -> TensorSpec:
    return TensorSpec(tuple(tensor.shape), str(tensor.dtype).removeprefix("torch."), tensor.is_floating_point())


def _check_tensors(path: Path, card: ModelCard, found: Mapping[str, TensorSpec], module: nn.Module) -> None:
    """ModelFileError unless the file's tensors (``found``) are the ones ``module`` holds: the same
    names (buffers added after a model was made may be absent: they keep their defaults), shapes,
    and floating-point where the module's are (and whole numbers where they are: BatchNorm's count)."""
    optional = set(getattr(module, "optional_state_keys", ()))
    expected = {name: _spec(t) for name, t in module.state_dict().items()}
    architecture = card.architecture
    for name in sorted(found):
        spec, wanted = found[name], expected.get(name)
        if wanted is None:
            continue
        if spec.shape != wanted.shape:
            raise ModelFileError(
                f"{path.name}: weights do not match architecture {architecture!r} "
                f"({name} is {spec.shape}, the card's arguments need {wanted.shape})"
            )
        if spec.floating != wanted.floating:
            needs = "floating-point numbers" if wanted.floating else f"whole numbers ({wanted.dtype})"
            raise ModelFileError(
                f"{path.name}: weights do not match architecture {architecture!r} "
                f"({name[:60]} holds {spec.dtype}, the architecture needs {needs})"
            )
    missing = set(expected) - set(found) - optional
    unexpected = set(found) - set(expected)
    if missing or unexpected:
        names = ", ".join(sorted(unexpected)[:3] + sorted(missing)[:3])
        raise ModelFileError(
            f"{path.name}: weights do not match architecture {architecture!r} (unexpected or missing: {names})"
        )


def _first_non_finite(state: dict[str, torch.Tensor]) -> str | None:
    for name, tensor in state.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            return name
    return None


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
