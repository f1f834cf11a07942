"""The mirror-image average (``ModelCard.flip_average``): the network's output is the mean of the
photo's and its mirror's (flipped back), hints are mirrored with the photo, odd sizes keep their
shape, the card refuses a value that is not true/false, and tune_decoding can choose and write it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine.batch.settings import ColorizeSettings
from engine.errors import ModelFileError
from engine.models.card import ModelCard
from engine.models.colorizer import Colorizer
from engine.models.files import load_model
from tests.helpers import (
    cpu_colorizer,
    gradient_luma,
    tiny_module,
    tune_decoding_setup,
)


def _asymmetric_luma(width: int, height: int) -> np.ndarray:
    luma = gradient_luma(width, height)
    luma[:, : width // 3] = 30  # a dark band on the left only: the photo is not its own mirror
    return luma


def test_the_output_is_the_mean_of_the_photo_and_its_mirror_flipped_back():
    colorizer = cpu_colorizer(tiny_module(seed=3))
    luma = _asymmetric_luma(64, 48)  # under the render size and a multiple of 16: no resize, no padding
    settings = ColorizeSettings(render_size=64)
    prepared = colorizer.prepare(luma, settings)
    mirrored = colorizer.prepare(np.ascontiguousarray(luma[:, ::-1]), settings)

    plain = colorizer.forward(prepared, flip_average=False)
    of_mirror = colorizer.forward(mirrored, flip_average=False)
    averaged = colorizer.forward(prepared, flip_average=True)

    assert not torch.allclose(plain, of_mirror.flip(-1), atol=1e-3)  # the model does see the difference
    torch.testing.assert_close(averaged, (plain + of_mirror.flip(-1)) / 2, atol=1e-4, rtol=1e-4)


def test_the_card_decides_by_default_and_the_argument_overrides_it():
    module = tiny_module(seed=3)
    luma = _asymmetric_luma(64, 48)
    flipping, plain = cpu_colorizer(module, flip_average=True), cpu_colorizer(module)
    prepared = plain.prepare(luma, ColorizeSettings(render_size=64))

    torch.testing.assert_close(flipping.forward(prepared), plain.forward(prepared, flip_average=True))
    torch.testing.assert_close(flipping.forward(prepared, flip_average=False), plain.forward(prepared))


@pytest.mark.parametrize(("width", "height"), [(37, 53), (53, 37), (1, 200), (9, 130)])
def test_odd_sizes_keep_their_shape(width, height):
    colorizer = cpu_colorizer(tiny_module(seed=1), flip_average=True)
    luma = _asymmetric_luma(width, height)
    prepared = colorizer.prepare(luma, ColorizeSettings(render_size=64))
    assert colorizer.forward(prepared).shape == colorizer.forward(prepared, flip_average=False).shape
    assert colorizer.colorize(luma).shape == (height, width, 3)


def test_hints_are_mirrored_with_the_photo():
    colorizer = cpu_colorizer(tiny_module(seed=2, hints=True))
    luma = _asymmetric_luma(64, 48)
    settings = ColorizeSettings(render_size=64)
    prepared = colorizer.prepare(luma, settings)
    mirrored = colorizer.prepare(np.ascontiguousarray(luma[:, ::-1]), settings)
    hints = torch.zeros(3, 48, 64)
    hints[0, 10:14, 5:9], hints[1, 10:14, 5:9], hints[2, 10:14, 5:9] = 0.5, -0.4, 1.0  # a mark on the left

    plain = colorizer.forward(prepared, hints, flip_average=False)
    of_mirror = colorizer.forward(mirrored, hints.flip(-1), flip_average=False)

    torch.testing.assert_close(
        colorizer.forward(prepared, hints, flip_average=True), (plain + of_mirror.flip(-1)) / 2, atol=1e-4, rtol=1e-4
    )


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_a_card_refuses_a_flip_that_is_not_true_or_false(value):
    with pytest.raises(ValueError, match="flip_average must be true or false"):
        ModelCard("m", "unet_colorizer", {}, flip_average=value)
    text = ModelCard("m", "unet_colorizer", {}).to_json()
    text = text.replace('"flip_average": false', f'"flip_average": {json.dumps(value)}')
    with pytest.raises(ModelFileError, match="flip_average"):
        ModelCard.from_json(text, "m.safetensors")


def test_an_older_card_without_the_field_does_not_flip():
    text = ModelCard("m", "unet_colorizer", {}).to_json().replace('"flip_average": false,', "")
    assert "flip_average" not in text
    assert ModelCard.from_json(text, "m.safetensors").flip_average is False


def test_the_sweep_scores_both_and_tune_decoding_writes_the_choice(tmp_path, home, capsys):
    tune, photos, args = tune_decoding_setup(tmp_path, home)
    out = tmp_path / "tuned.safetensors"
    assert tune.main([str(photos), *args, "--flips", "0,1", "--write", str(out), "--name", "family"]) == 0

    printed = capsys.readouterr().out
    assert "scale=1 flip" in printed
    chosen = next(line for line in printed.splitlines() if line.startswith("chosen:"))
    _, card = load_model(out)
    assert card.flip_average == chosen.endswith(" flip") and card.name == "family"
    assert set(card.metrics["decoding_sweep"]) == {
        "R=64 T=0.5 alpha=0 scale=1",
        "R=64 T=0.5 alpha=0 scale=1 flip",
    }
    assert Colorizer.load(out, "cpu", "fp32").card.flip_average == card.flip_average
    assert tune.main([str(photos), *args, "--flips", "2"]) == 2
    assert "--flips takes 0, 1 or 0,1" in capsys.readouterr().err
    assert tune.main([str(photos), *args, "--write", str(tmp_path / "b.safetensors"), "--name", "../x"]) == 2
    assert not (tmp_path / "b.safetensors").exists()
    with pytest.raises(SystemExit) as exited:  # a name with nothing to write would be silently ignored
        tune.main([str(photos), *args, "--name", "family"])
    assert exited.value.code == 2
    assert "--name names the written model" in capsys.readouterr().err
