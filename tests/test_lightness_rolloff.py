"""The lightness roll-off of chroma (engine.color.rolloff_gain): mid-tones and shadows keep their
colour, near-white pixels lose the share the card says, hints keep their colour and their pull,
the card refuses bad values, and the decoding sweep can choose it and write it."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine.batch.settings import ColorizeSettings
from engine.color import ROLLOFF_START, rgb_to_lab, rolloff_gain
from engine.errors import ModelFileError
from engine.hints.schema import HintPoint, PhotoHints
from engine.models.card import ModelCard
from engine.models.files import load_model
from tests.helpers import (
    constant_colour_module,
    cpu_colorizer,
    tiny_card,
    tune_decoding_setup,
)
from training.decoding_sweep import Decoding


def test_the_gain_is_one_below_the_start_and_falls_linearly_to_white():
    lightness = torch.tensor([0.0, 10.0, 50.0, ROLLOFF_START, 85.0, 100.0])
    gain = rolloff_gain(lightness, 0.6)
    halfway_up = (85.0 - ROLLOFF_START) / (100.0 - ROLLOFF_START)
    expected = torch.tensor([1.0, 1.0, 1.0, 1.0, 1.0 - 0.6 * halfway_up, 0.4])
    assert torch.allclose(gain, expected, atol=1e-6)
    assert torch.equal(rolloff_gain(lightness, 0.0), torch.ones_like(lightness))
    with pytest.raises(ValueError, match="from 0 to 1"):
        rolloff_gain(lightness, 1.5)


def _chroma(rgb: np.ndarray) -> np.ndarray:
    """Per-pixel a*b* chroma of an ``(H, W, 3)`` uint8 sRGB image."""
    lab = rgb_to_lab(torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255.0)[0]
    return lab[1:].norm(dim=0).numpy()


def _light_and_mid_photo() -> np.ndarray:
    luma = np.full((64, 96), 120, np.uint8)  # L* about 50: a mid-tone
    luma[:, 48:] = 245  # L* about 96: near white
    return luma


def test_decoding_takes_colour_out_of_near_white_and_leaves_the_mid_tones():
    luma = _light_and_mid_photo()
    module = constant_colour_module(15.0, 30.0)  # a warm colour everywhere, as on a white tiger
    plain = cpu_colorizer(module).colorize(luma)
    rolled = cpu_colorizer(module, lightness_rolloff=0.8).colorize(luma)
    mid, light = (slice(8, 56), slice(8, 40)), (slice(8, 56), slice(56, 88))
    assert abs(float(_chroma(rolled[mid]).mean()) - float(_chroma(plain[mid]).mean())) < 0.5
    assert float(_chroma(plain[light]).mean()) > 4.0  # the network did tint it
    assert float(_chroma(rolled[light]).mean()) < 0.45 * float(_chroma(plain[light]).mean())


def test_a_hint_on_a_near_white_area_keeps_its_colour():
    luma = _light_and_mid_photo()
    colorizer = cpu_colorizer(constant_colour_module(15.0, 30.0, hints=True), lightness_rolloff=1.0)
    pink = PhotoHints(points=(HintPoint(0.75, 0.5, "#f0b0c0", 0.1),))  # the user says: pale pink here
    spot = (slice(28, 36), slice(68, 76))
    _, a, b = _mean_lab(colorizer.colorize(luma, hints=pink)[spot])
    assert a > 5.0 and b < a / 2  # pink as the hint says (the network alone says orange: b* 2 x a*)
    _, a, b = _mean_lab(colorizer.colorize(luma)[spot])
    assert b > a and math.hypot(a, b) < 6.0  # without it: what the roll-off leaves of the orange


def _mean_lab(rgb: np.ndarray) -> tuple[float, float, float]:
    lab = rgb_to_lab(torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255.0)[0]
    return tuple(float(v) for v in lab.mean(dim=(1, 2)))  # type: ignore[return-value]


@pytest.mark.parametrize("bad", [-0.1, 1.5, "0.5", True, None])
def test_the_card_refuses_a_bad_rolloff_and_older_cards_have_none(bad):
    text = json.loads(tiny_card().to_json())
    assert text["lightness_rolloff"] == 0.0
    del text["lightness_rolloff"]
    assert ModelCard.from_json(json.dumps(text), "old.safetensors").lightness_rolloff == 0.0
    text["lightness_rolloff"] = bad
    with pytest.raises(ModelFileError, match="lightness_rolloff must be a number from 0 to 1"):
        ModelCard.from_json(json.dumps(text), "m.safetensors")


def test_a_decoding_round_trips_through_a_card():
    decoding = Decoding(160, 0.5, 0.75, 1.3, 0.0, True, 0.7)
    card = tiny_card().with_updates(**decoding.card_fields())
    assert Decoding.of_card(card) == decoding
    assert decoding.label == "R=160 T=0.5 alpha=0.75 scale=1.3 flip rolloff=0.7"
    with pytest.raises(ValueError, match="roll-off must be from 0 to 1"):
        Decoding(lightness_rolloff=2.0)


def test_tune_decoding_sweeps_rolloffs_and_writes_the_choice(tmp_path, home, capsys):
    tune, photos, args = tune_decoding_setup(tmp_path, home)
    out = tmp_path / "tuned.safetensors"

    assert tune.main([str(photos), *args, "--rolloffs", "0,0.7", "--write", str(out)]) == 0

    printed = capsys.readouterr().out
    chosen = next(line for line in printed.splitlines() if line.startswith("chosen:"))
    _, card = load_model(out)
    assert card.lightness_rolloff == (0.7 if chosen.endswith("rolloff=0.7") else 0.0)
    assert set(card.metrics["decoding_sweep"]) == {
        "R=64 T=0.5 alpha=0 scale=1",
        "R=64 T=0.5 alpha=0 scale=1 rolloff=0.7",
    }
    assert tune.main([str(photos), *args, "--rolloffs", "2"]) == 2
    assert "roll-off must be from 0 to 1" in capsys.readouterr().err


def test_with_hints_the_rolloff_takes_out_the_network_s_own_guess_not_the_hints_pull(monkeypatch):
    # A blue hint in a pale sky spreads as far with the roll-off as without: what is taken out is
    # the share of the hint-free guess. The network here spreads a hint's blue over 12 pixels.
    module = constant_colour_module(0.0, 0.0, strength=5.0, hints=True)
    blue = int(torch.cdist(torch.tensor([[0.0, -30.0]]), module.bin_centers).argmin())
    original = module.forward

    def spreading(x: torch.Tensor) -> torch.Tensor:
        out = original(x)
        reach = F.max_pool2d(x[:, 3:4], 25, stride=1, padding=12)  # the mask channel, dilated
        reach = F.interpolate(reach, size=out.shape[-2:], mode="nearest")[:, 0]
        out[:, blue] = out[:, blue] + 40.0 * reach
        return out

    monkeypatch.setattr(module, "forward", spreading)
    luma = np.full((64, 96), 205, np.uint8)  # L* about 82, in the roll-off's range
    hints = PhotoHints(points=(HintPoint(0.3, 0.5, "#7090c0", 0.05),))
    rolled, plain = cpu_colorizer(module, lightness_rolloff=0.7), cpu_colorizer(module)
    prepared = rolled.prepare(luma, ColorizeSettings())
    raw = rolled.forward(prepared, rolled.hint_channels(prepared, hints))
    assert raw.shape[0] == 2  # the hinted output, then the hint-free one, from one batch
    assert torch.allclose(raw[1:], rolled.forward(prepared), atol=1e-4)
    assert plain.forward(prepared, plain.hint_channels(prepared, hints)).shape[0] == 1
    batches: list[int] = []  # a hint-free output the caller kept is reused, not run again
    module.forward = lambda x: batches.append(x.shape[0]) or spreading(x)
    kept = rolled.forward(prepared, rolled.hint_channels(prepared, hints), hint_free=raw[1:])
    assert batches == [1] and torch.allclose(kept, raw, atol=1e-4)
    module.forward = spreading

    ring = (slice(24, 40), slice(36, 40))  # beside the mark (x 26-32), inside the network's spread
    spread_plain = float(_chroma(plain.colorize(luma, hints=hints)[ring]).mean())
    spread_rolled = float(_chroma(rolled.colorize(luma, hints=hints)[ring]).mean())
    assert spread_plain > 10.0  # the network did spread the blue there
    assert spread_rolled > 0.95 * spread_plain  # and the roll-off left it (gain there: 0.72)
