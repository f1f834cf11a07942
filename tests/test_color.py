"""Colour math (engine.color, engine.models.ab_bins): reference values, round trips, shapes, bad inputs."""

from __future__ import annotations

import pytest
import torch

from engine.color import gray_to_lightness, lab_to_rgb, rgb_to_lab, rgb_to_ycbcr_chroma
from engine.models.ab_bins import ab_bin_centers, ab_to_bin, annealed_mean
from tests.helpers import assert_close


def _pixel(r: float, g: float, b: float, dtype=torch.float64) -> torch.Tensor:
    return torch.tensor([r, g, b], dtype=dtype).view(3, 1, 1)


# sRGB (D65) -> CIE L*a*b*: published reference values (e.g. Bruce Lindbloom's calculator, skimage).
REFERENCE = [
    ((1.0, 1.0, 1.0), (100.0, 0.0, 0.0)),
    ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
    ((1.0, 0.0, 0.0), (53.24, 80.09, 67.20)),
    ((0.0, 1.0, 0.0), (87.73, -86.18, 83.18)),
    ((0.0, 0.0, 1.0), (32.30, 79.19, -107.86)),
    ((0.5, 0.5, 0.5), (53.39, 0.0, 0.0)),
]


@pytest.mark.parametrize(("rgb", "lab"), REFERENCE)
def test_rgb_to_lab_matches_reference_values(rgb, lab):
    result = rgb_to_lab(_pixel(*rgb)).flatten()
    assert result.tolist() == pytest.approx(lab, abs=0.06)


@pytest.mark.parametrize(("rgb", "lab"), REFERENCE)
def test_lab_to_rgb_matches_reference_values(rgb, lab):
    result = lab_to_rgb(torch.tensor(lab, dtype=torch.float64).view(3, 1, 1)).flatten()
    assert result.tolist() == pytest.approx(rgb, abs=2e-3)


def test_round_trip_rgb_lab_rgb_is_exact_for_in_gamut_colours():
    rgb = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    back = lab_to_rgb(rgb_to_lab(rgb))
    assert (back - rgb).abs().max().item() < 1e-4


def test_round_trip_in_float32_is_good_to_a_fraction_of_an_8_bit_level():
    rgb = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(2))
    back = lab_to_rgb(rgb_to_lab(rgb))
    assert (back - rgb).abs().max().item() < 0.5 / 255


def test_batched_and_single_images_give_the_same_values():
    images = torch.rand(4, 3, 5, 7, generator=torch.Generator().manual_seed(3))
    batched = rgb_to_lab(images)
    assert batched.shape == (4, 3, 5, 7)
    for i in range(4):
        single = rgb_to_lab(images[i])
        assert single.shape == (3, 5, 7)
        assert_close(single, batched[i], atol=1e-4)
    assert lab_to_rgb(batched).shape == (4, 3, 5, 7)


def test_lab_keeps_the_input_dtype():
    assert rgb_to_lab(torch.rand(3, 2, 2, dtype=torch.float64)).dtype == torch.float64
    assert rgb_to_lab(torch.rand(3, 2, 2)).dtype == torch.float32


def test_out_of_gamut_lab_is_clipped_to_displayable_rgb():
    extreme = torch.tensor([50.0, 127.0, -127.0]).view(3, 1, 1)
    rgb = lab_to_rgb(extreme)
    assert rgb.min() >= 0.0 and rgb.max() <= 1.0


@pytest.mark.parametrize(
    "bad",
    [
        torch.rand(4, 4),  # no channel axis
        torch.rand(1, 4, 4),  # one channel
        torch.rand(2, 4, 3, 4),  # channels in the wrong place
    ],
)
def test_wrong_shapes_are_refused_with_the_shape_in_the_message(bad):
    with pytest.raises(ValueError, match=r"\(\.\.\., 3, H, W\)"):
        rgb_to_lab(bad)
    with pytest.raises(ValueError):
        lab_to_rgb(bad)


def test_integer_images_and_non_tensors_are_refused():
    with pytest.raises(TypeError, match="float"):
        rgb_to_lab(torch.full((3, 2, 2), 255, dtype=torch.uint8))
    with pytest.raises(TypeError, match="torch.Tensor"):
        rgb_to_lab([[[0.5]], [[0.5]], [[0.5]]])


def test_gray_to_lightness_equals_lab_of_the_gray_colour():
    gray = torch.linspace(0.0, 1.0, 256, dtype=torch.float64).view(16, 16)
    expected = rgb_to_lab(gray.expand(3, 16, 16))
    assert_close(gray_to_lightness(gray), expected[0], atol=1e-9)
    # and a gray has no visible colour (the sRGB matrix and D65 white agree to 5 digits: |b| < 0.01)
    assert expected[1:].abs().max() < 0.01


def test_ycbcr_chroma_of_gray_is_zero_and_of_red_is_jpeg_red():
    chroma = rgb_to_ycbcr_chroma(torch.cat((_pixel(0.3, 0.3, 0.3), _pixel(1.0, 0.0, 0.0)), dim=2))
    assert chroma[:, 0, 0].abs().max() < 1e-9
    # JPEG's red (255, 0, 0) is Cb 85, Cr 255.5 in 8-bit: -43/255 and +127.5/255 around 128
    assert chroma[:, 0, 1].tolist() == pytest.approx([-0.168736, 0.5], abs=1e-6)


def test_ab_bin_centers_cover_the_displayable_colours():
    centers = ab_bin_centers()
    assert centers.ndim == 2 and centers.shape[1] == 2
    assert 200 <= len(centers) <= 330
    assert centers.abs().max() <= 110
    assert len(torch.unique(centers, dim=0)) == len(centers)
    # gray and the sRGB primaries' colours each have a bin near them
    for rgb in ((0.5, 0.5, 0.5), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)):
        ab = rgb_to_lab(_pixel(*rgb, dtype=torch.float32))[1:].flatten()
        nearest = torch.cdist(ab[None], centers).min()
        assert nearest <= 10.0, rgb


def test_ab_bin_centers_is_a_copy():
    centers = ab_bin_centers()
    centers += 1000
    assert ab_bin_centers().abs().max() <= 110


def test_ab_to_bin_finds_the_nearest_centre():
    centers = ab_bin_centers()
    ab = centers[[3, 50, 100]].T.reshape(1, 2, 1, 3) + 1.0  # just off three centres
    assert ab_to_bin(ab, centers).flatten().tolist() == [3, 50, 100]


def test_annealed_mean_approaches_the_mode_as_temperature_falls():
    centers = ab_bin_centers()
    logits = torch.zeros(1, len(centers), 1, 1)
    mode = 17
    logits[0, mode] = 2.0
    logits[0, 40] = 1.5  # a strong runner-up pulls the plain mean away from the mode
    errors = []
    for temperature in (1.0, 0.38, 0.1, 0.02):
        ab = annealed_mean(logits, centers, temperature)[0, :, 0, 0]
        errors.append((ab - centers[mode]).norm().item())
    assert errors == sorted(errors, reverse=True)
    assert errors[0] > 10.0  # T = 1: a desaturated mean far from the mode
    assert errors[-1] < 0.1  # T -> 0: the mode


def test_annealed_mean_of_uniform_logits_is_the_mean_of_the_centres():
    centers = ab_bin_centers()
    ab = annealed_mean(torch.zeros(2, len(centers), 3, 4), centers, 0.38)
    assert ab.shape == (2, 2, 3, 4)
    assert_close(ab[0, :, 0, 0], centers.mean(dim=0), atol=1e-4)


@pytest.mark.parametrize("temperature", [0.0, -0.5])
def test_annealed_mean_refuses_a_temperature_that_is_not_positive(temperature):
    centers = ab_bin_centers()
    with pytest.raises(ValueError, match="temperature"):
        annealed_mean(torch.zeros(1, len(centers), 1, 1), centers, temperature)
