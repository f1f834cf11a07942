"""The Colorizer (engine.models.colorizer) and the full-resolution chroma merge (engine.models.chroma_merge).

The contract a user sees: same size out as in, never stretched, the photo's own brightness kept,
the colour the model predicts, edges that stay sharp, and a clear message when memory runs out.
Random weights say nothing about colour, so colour tests use a model whose output is known.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from engine.color import rgb_to_lab
from engine.errors import OutOfMemory
from engine.models.chroma_merge import fit_chroma_field, merge_chroma
from engine.models.colorizer import Colorizer, ColorizeSettings, render_shape
from tests.helpers import (
    bin_nearest,
    constant_colour_module,
    cpu_colorizer,
    gradient_luma,
    install_model,
)


def _lab(rgb: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` uint8/uint16 sRGB -> ``(H, W, 3)`` Lab."""
    peak = 65535.0 if rgb.dtype == np.uint16 else 255.0
    tensor = torch.from_numpy(rgb.astype(np.float64) / peak).permute(2, 0, 1)
    return rgb_to_lab(tensor).permute(1, 2, 0).numpy()


def _unclipped(rgb: np.ndarray) -> np.ndarray:
    peak = np.iinfo(rgb.dtype).max
    return ((rgb > 0) & (rgb < peak)).all(axis=2)


@pytest.fixture(scope="module")
def orange():
    """A colorizer that paints everything a moderate orange (a* 20, b* 30)."""
    return cpu_colorizer(constant_colour_module(20.0, 30.0))


@pytest.fixture(scope="module")
def random_weights():
    """A colorizer with random weights: its colours mean nothing, its sizes and types do."""
    return cpu_colorizer(render_size=64)


# ------------------------------------------------------------------------------ sizes and shapes


@pytest.mark.parametrize(
    ("width", "height"), [(37, 53), (53, 37), (200, 1), (1, 200), (1, 1), (8, 8), (300, 20), (9, 130)]
)
def test_output_has_the_input_size_for_odd_and_tiny_photos(random_weights, width, height):
    luma = gradient_luma(width, height)
    rgb = random_weights.colorize(luma)
    assert rgb.shape == (height, width, 3)
    assert rgb.dtype == np.uint8


@pytest.mark.parametrize(
    ("size", "render_size", "expected"),
    [
        ((4000, 3000), 256, (341, 256)),  # landscape: short side at render size
        ((3000, 4000), 256, (256, 341)),  # portrait
        ((1024, 1024), 512, (512, 512)),
        ((100, 50), 256, (100, 50)),  # never upscaled
        ((10000, 1000), 256, (1024, 102)),  # a panorama: long side capped, aspect still kept
    ],
)
def test_render_shape_keeps_the_aspect_ratio(size, render_size, expected):
    assert render_shape(*size, render_size) == expected


@pytest.mark.parametrize("size", [(4000, 3000), (3000, 4000), (1919, 1080), (613, 4091), (257, 256), (2000, 700)])
@pytest.mark.parametrize("render_size", [64, 256, 384])
def test_render_shape_never_stretches(size, render_size):
    w, h = render_shape(*size, render_size)
    assert min(w, h) <= render_size
    # aspect kept to within the rounding of one pixel on the short side
    assert abs(w / h - size[0] / size[1]) <= size[0] / size[1] / min(w, h) + 1e-9


def test_prepare_shrinks_to_the_render_shape(random_weights):
    colorizer = random_weights
    prepared = colorizer.prepare(gradient_luma(300, 200), ColorizeSettings())
    assert tuple(prepared.guide.shape) == (64, 96)
    bigger = colorizer.prepare(gradient_luma(300, 200), ColorizeSettings(render_size=128))
    assert tuple(bigger.guide.shape) == (128, 192)
    # brightness is kept by the shrink
    assert prepared.guide.mean().item() == pytest.approx(gradient_luma(300, 200).mean() / 255, abs=0.01)


# ------------------------------------------------------------------------------ colour and luminance


def test_luminance_of_the_output_is_the_input_luminance(orange):
    luma = gradient_luma(96, 72, low=30, high=225)
    rgb = orange.colorize(luma)
    back = np.asarray(Image.fromarray(rgb).convert("L")).astype(int)
    unclipped = _unclipped(rgb)
    assert unclipped.mean() > 0.9
    assert np.abs(back - luma.astype(int))[unclipped].max() <= 2


def test_a_constant_colour_model_gives_that_colour_at_every_brightness(orange):
    luma = gradient_luma(96, 72, low=60, high=200)
    rgb = orange.colorize(luma)
    lab = _lab(rgb)
    a, b = bin_nearest(orange._module, 20.0, 30.0)
    hue = math.degrees(math.atan2(b, a))
    out_hue = np.degrees(np.arctan2(lab[..., 2], lab[..., 1]))
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    assert chroma.min() > 15.0  # coloured, not gray, everywhere
    assert np.abs(out_hue - hue).max() < 10.0
    assert np.median(chroma) == pytest.approx(math.hypot(a, b), rel=0.25)


@pytest.mark.parametrize("ab", [(-30.0, 30.0), (10.0, -40.0), (40.0, 0.0)])
def test_the_hue_follows_the_model(ab):
    colorizer = cpu_colorizer(constant_colour_module(*ab))
    luma = gradient_luma(64, 48, low=70, high=180)
    lab = _lab(colorizer.colorize(luma))
    a, b = bin_nearest(colorizer._module, *ab)
    mean_hue = math.degrees(math.atan2(lab[..., 2].mean(), lab[..., 1].mean()))
    difference = (mean_hue - math.degrees(math.atan2(b, a)) + 180) % 360 - 180
    assert abs(difference) < 10.0


def test_saturation_zero_gives_the_input_as_gray(orange):
    luma = gradient_luma(50, 31, low=0, high=255)
    rgb = orange.colorize(luma, ColorizeSettings(saturation=0.0))
    for channel in range(3):
        assert np.abs(rgb[..., channel].astype(int) - luma.astype(int)).max() <= 1


def test_saturation_scales_the_colour(orange):
    luma = gradient_luma(64, 48, low=80, high=170)
    chroma = {}
    for saturation in (0.5, 1.0, 1.5):
        lab = _lab(orange.colorize(luma, ColorizeSettings(saturation=saturation)))
        chroma[saturation] = float(np.median(np.hypot(lab[..., 1], lab[..., 2])))
    assert chroma[0.5] < chroma[1.0] < chroma[1.5]
    assert chroma[0.5] == pytest.approx(chroma[1.0] / 2, rel=0.2)


def test_sixteen_bit_luma_gives_sixteen_bit_colour_with_the_luminance_kept(orange):
    luma = gradient_luma(64, 40, low=40, high=215, dtype=np.uint16)
    luma[::2] += 7  # detail finer than 8 bits must survive
    rgb = orange.colorize(luma)
    assert rgb.shape == (40, 64, 3) and rgb.dtype == np.uint16
    y = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    unclipped = _unclipped(rgb)
    assert unclipped.mean() > 0.9
    assert np.abs(y - luma)[unclipped].max() <= 65535 / 256 / 4
    assert np.hypot(*_lab(rgb)[..., 1:].transpose(2, 0, 1)).min() > 15.0


def test_colorizing_twice_gives_the_same_photo(orange):
    luma = gradient_luma(45, 33)
    np.testing.assert_array_equal(orange.colorize(luma), orange.colorize(luma))


def test_the_input_array_is_not_modified(orange):
    luma = gradient_luma(45, 33)
    copy = luma.copy()
    orange.colorize(luma)
    np.testing.assert_array_equal(luma, copy)


# ------------------------------------------------------------------------------ edge-aware merge


def _edge_photo(width: int = 256, height: int = 64, edge: int = 131, scale: int = 8):
    """A sharp vertical luma edge and the chroma a perfect model gives at 1/scale: red left, blue right."""
    luma = np.full((height, width), 60, np.uint8)
    luma[:, edge:] = 190
    ideal = torch.zeros(2, height, width)  # Cb, Cr
    ideal[1, :, :edge] = 0.1  # red side
    ideal[0, :, edge:] = 0.1  # blue side
    small = F.avg_pool2d(ideal[None], scale)[0]
    guide = Image.fromarray(luma).resize((width // scale, height // scale), Image.BILINEAR, reducing_gap=2.0)
    guide = torch.from_numpy(np.asarray(guide, dtype=np.float32) / 255.0)
    return luma, guide, small


def test_colour_changes_at_the_photos_edge_instead_of_bleeding_across_it():
    edge = 131
    luma, guide, small = _edge_photo(edge=edge)
    rgb = merge_chroma(luma, fit_chroma_field(guide, small))
    ycbcr = np.asarray(Image.fromarray(rgb).convert("YCbCr")).astype(float)
    cr_row = ycbcr[32, :, 2]
    cb_row = ycbcr[32, :, 1]
    # the right colours on each side, right up to the edge
    assert (cr_row[:edge] > 150).all() and (np.abs(cb_row[:edge] - 128) <= 2).all()
    assert (cb_row[edge:] > 150).all() and (np.abs(cr_row[edge:] - 128) <= 2).all()
    # the luma is untouched
    np.testing.assert_allclose(np.asarray(Image.fromarray(rgb).convert("L")), luma, atol=1)

    # a plain bilinear upsampling (what the merge replaces) bleeds over several pixels
    bilinear = F.interpolate(small[None], size=luma.shape, mode="bilinear", align_corners=False)[0]
    bleeding = bilinear[1, 32].numpy() * 255 + 128
    assert (np.abs(bleeding[edge - 8 : edge + 8] - 140) < 10).sum() >= 4


def test_a_uniform_colour_stays_uniform_at_full_resolution():
    luma = gradient_luma(120, 80)
    guide = torch.from_numpy(np.asarray(Image.fromarray(luma).resize((30, 20), Image.BILINEAR), np.float32) / 255)
    chroma = torch.stack((torch.full((20, 30), -0.05), torch.full((20, 30), 0.08)))
    rgb = merge_chroma(luma, fit_chroma_field(guide, chroma))
    ycbcr = np.asarray(Image.fromarray(rgb).convert("YCbCr")).astype(float)
    assert np.abs(ycbcr[..., 1] - (128 - 0.05 * 255)).max() <= 2
    assert np.abs(ycbcr[..., 2] - (128 + 0.08 * 255)).max() <= 2


@pytest.mark.parametrize("bad", [np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.float32), np.zeros(16, np.uint8)])
def test_merge_refuses_luma_it_cannot_use(bad):
    field = fit_chroma_field(torch.zeros(4, 4), torch.zeros(2, 4, 4))
    with pytest.raises(ValueError, match="luma"):
        merge_chroma(bad, field)


# ------------------------------------------------------------------------------ errors and settings


def test_out_of_memory_names_the_render_size_and_the_cpu(monkeypatch):
    colorizer = cpu_colorizer(render_size=64)

    def exhausted(*args, **kwargs):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(colorizer._module, "forward", exhausted)
    settings = ColorizeSettings(render_size=96)
    prepared = colorizer.prepare(gradient_luma(200, 150), settings)
    with pytest.raises(OutOfMemory) as caught:
        colorizer.predict(prepared, settings)
    message = str(caught.value)
    assert "96" in message and "render size" in message
    assert "CPU" in message or "cpu" in message


def test_other_runtime_errors_are_not_called_out_of_memory(monkeypatch):
    colorizer = cpu_colorizer(render_size=64)

    def broken(*args, **kwargs):
        raise RuntimeError("some other failure")

    monkeypatch.setattr(colorizer._module, "forward", broken)
    with pytest.raises(RuntimeError, match="some other failure"):
        colorizer.colorize(gradient_luma(80, 60))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"render_size": 10}, "render size must be between 64 and 2048, got 10"),
        ({"render_size": 5000}, "render size must be between 64 and 2048, got 5000"),
        ({"saturation": -0.1}, "saturation must be between 0 and 3, got -0.1"),
        ({"saturation": 4.0}, "saturation must be between 0 and 3, got 4.0"),
        ({"temperature": 0.0}, "temperature must be between 0.01 and 2, got 0.0"),
        ({"temperature": 3.0}, "temperature must be between 0.01 and 2, got 3.0"),
    ],
)
def test_settings_out_of_range_say_what_is_allowed(kwargs, message):
    with pytest.raises(ValueError) as caught:
        ColorizeSettings(**kwargs)
    assert str(caught.value) == message


def test_settings_default_to_the_model_card():
    colorizer = cpu_colorizer(render_size=320, temperature=0.5)
    assert colorizer.resolve(ColorizeSettings()) == (320, 0.5)
    assert colorizer.resolve(ColorizeSettings(render_size=128, temperature=0.2)) == (128, 0.2)


def test_load_an_installed_model_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIVE_HOME", str(tmp_path))
    path = install_model(tmp_path, "tiny", render_size=64)
    colorizer = Colorizer.load("tiny", device="cpu", precision="fp32")
    assert colorizer.card.name == "tiny" and colorizer.path == path
    assert colorizer.colorize(gradient_luma(40, 30)).shape == (30, 40, 3)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_and_cpu_give_nearly_the_same_colours(orange):
    from engine.device import select_device

    gpu = Colorizer(constant_colour_module(20.0, 30.0), orange.card, select_device("cuda", "fp16"))
    luma = gradient_luma(200, 150)
    difference = np.abs(gpu.colorize(luma).astype(int) - orange.colorize(luma).astype(int))
    assert difference.max() <= 3


def test_the_confidence_gate_pulls_only_uncertain_pixels_toward_neutral():
    from engine.models.ab_bins import ab_bin_centers, annealed_mean

    centers = ab_bin_centers()
    logits = torch.zeros(1, len(centers), 1, 2)
    sure = int(torch.cdist(torch.tensor([[40.0, 40.0]]), centers).argmin())
    logits[0, sure, 0, 0] = 30.0  # pixel 0: certain of one colour; pixel 1: every colour alike
    logits[0, sure, 0, 1] = 0.5
    plain = annealed_mean(logits, centers, 0.38)
    gated = annealed_mean(logits, centers, 0.38, confidence_gamma=1.0)
    assert torch.allclose(gated[..., 0], plain[..., 0], atol=0.5)
    assert gated[..., 1].abs().max() < 0.2 * plain[..., 1].abs().max() + 1e-6
