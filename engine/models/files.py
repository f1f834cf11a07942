"""Model files: safetensors weights plus a readable model card in the file's header.

A model file is a ``.safetensors`` file (plain tensors and a JSON header; loading it can never run
code, unlike a pickled PyTorch checkpoint). Its header's metadata holds ``revive.card``: a JSON
``ModelCard`` (``engine.models.card``, which reads and checks it without torch) that says which
architecture to build with which arguments, the colour space, the render size, what it was trained
on and how well it did. A ``NAME.json`` beside it is a copy of the card for people; the header is
what counts. Loading checks everything before allocating anything: the card's fields, the
architecture's arguments and parameter budget, the header against the file size, the tensors'
names and shapes against the architecture, and that no weight is NaN or infinite.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save
from torch import nn

from engine.atomic_files import write_bytes_atomically, write_text_atomically
from engine.errors import ModelFileError
from engine.models.architectures import COLORIZER_ARCHITECTURES, build, check
from engine.models.card import CARD_KEY, FORMAT, MODEL_SUFFIX, ModelCard, read_card, verify_weights

__all__ = ["CARD_KEY", "FORMAT", "MODEL_SUFFIX", "ModelCard", "load_model", "read_card", "save_model", "verify_weights"]


def load_model(path: Path) -> tuple[nn.Module, ModelCard]:
    """Build the model a file describes and load its weights (on the CPU, in fp32, eval mode).

    Raises ModelFileError for anything damaged, foreign, hostile or inconsistent.
    """
    path = Path(path)
    card = read_card(path)
    if card.architecture not in COLORIZER_ARCHITECTURES:
        raise ModelFileError(f"{path.name}: architecture {card.architecture[:40]!r} is not a colorizer")
    try:
        check(card.architecture, card.arguments)
        module = build(card.architecture, card.arguments)
    except ValueError as error:
        raise ModelFileError(f"{path.name}: {error}") from None
    try:
        tensors = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise ModelFileError(f"{path.name}: damaged model weights ({str(error)[:120]})") from None
    tensors = {name: t.float() if t.is_floating_point() else t for name, t in tensors.items()}
    # Buffers added after a model was made (e.g. the decoding prior) keep their defaults.
    optional = set(getattr(module, "optional_state_keys", ()))
    expected = module.state_dict()
    for name, tensor in tensors.items():
        if name in expected and tuple(expected[name].shape) != tuple(tensor.shape):
            raise ModelFileError(
                f"{path.name}: weights do not match architecture {card.architecture!r} "
                f"({name} is {tuple(tensor.shape)}, the card's arguments need {tuple(expected[name].shape)})"
            )
    missing = set(expected) - set(tensors) - optional
    unexpected = set(tensors) - set(expected)
    if missing or unexpected:
        names = ", ".join(sorted(unexpected)[:3] + sorted(missing)[:3])
        raise ModelFileError(
            f"{path.name}: weights do not match architecture {card.architecture!r} (unexpected or missing: {names})"
        )
    module.load_state_dict(tensors, strict=False)
    bad = _first_non_finite(module.state_dict())
    if bad:
        raise ModelFileError(f"{path.name}: weights contain NaN or infinite values ({bad})")
    return module.eval(), card


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
