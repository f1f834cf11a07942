"""Filling, fading, grain, tiles and cancel on generated photos (OpenCV and NumPy; no model)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.cancel import CancelToken
from engine.errors import Cancelled
from engine.restoration.damage import add_grain, fade_print
from engine.restoration.denoise import denoise, estimate_noise
from engine.restoration.fill import fill
from engine.restoration.levels import correct_fading
from engine.restoration.pipeline import Restorer, restore_luma
from engine.restoration.stages import FadingOptions, GrainOptions, RestorationOptions
from engine.restoration.tiling import map_tiles, tile_grid
from tests.restoration_images import draw_scratch, photo_like, psnr


def test_fill_removes_a_drawn_scratch_and_touches_nothing_else():
    clean = photo_like()
    scratched, mask = draw_scratch(clean)
    repaired = fill(scratched, mask)
    assert psnr(repaired, clean) > psnr(scratched, clean) + 8
    assert np.array_equal(repaired[~mask], scratched[~mask])


def test_fill_with_an_empty_mask_is_byte_identical_and_a_new_array():
    clean = photo_like()
    out = fill(clean, np.zeros(clean.shape, bool))
    assert out.tobytes() == clean.tobytes() and out is not clean


def test_fill_takes_an_edited_uint8_mask_and_uint16_luma():
    clean = photo_like().astype(np.uint16) * 257
    scratched, mask = draw_scratch(clean, value=64000)
    repaired = fill(scratched, mask.astype(np.uint8) * 255, method="ns", tile=64)
    assert repaired.dtype == np.uint16 and repaired.shape == clean.shape
    assert psnr(repaired, clean) > psnr(scratched, clean) + 8


def test_fill_refuses_a_mask_of_another_size():
    clean = photo_like()
    with pytest.raises(ValueError, match="damage mask must be a"):
        fill(clean, np.zeros((5, 5), bool))


def test_a_faded_print_gets_its_blacks_and_whites_back():
    clean = photo_like(seed=3).astype(np.float32) / 255.0
    faded = np.round(fade_print(clean, 0.3, 0.7) * 255).astype(np.uint8)
    low, high = np.percentile(faded, [1, 99])
    fixed = correct_fading(faded, FadingOptions(strength=1.0))
    new_low, new_high = np.percentile(fixed, [1, 99])
    assert new_low < low - 40 and new_high > high + 40
    assert new_low < 20 and new_high > 235


def test_fading_strength_zero_leaves_the_photo_alone_and_uint16_works():
    photo = photo_like()
    assert np.array_equal(correct_fading(photo, FadingOptions(strength=0.0)), photo)
    faded16 = np.round(fade_print(photo.astype(np.float32) / 255, 0.3, 0.7) * 65535).astype(np.uint16)
    fixed = correct_fading(faded16, FadingOptions(strength=1.0))
    assert fixed.dtype == np.uint16
    assert np.percentile(fixed, 1) < 20 * 257 and np.percentile(fixed, 99) > 235 * 257


def test_grain_is_measured_and_reduced_in_uint8_and_uint16():
    clean = photo_like(seed=5)
    rng = np.random.default_rng(0)
    grainy = np.round(add_grain(clean.astype(np.float32) / 255, rng, 0.04, 0.0) * 255).astype(np.uint8)
    assert 6 < estimate_noise(grainy) < 14  # about 0.04 x 255 x the mid-tone weighting
    assert estimate_noise(clean) < 1.5
    assert psnr(denoise(grainy, GrainOptions()), clean) > psnr(grainy, clean) + 3
    grainy16, clean16 = grainy.astype(np.uint16) * 257, clean.astype(np.uint16) * 257
    assert psnr(denoise(grainy16, GrainOptions()), clean16) > psnr(grainy16, clean16) + 3


def test_tiled_denoising_equals_one_pass_inside_the_photo():
    clean = photo_like(seed=6)
    grainy = np.round(add_grain(clean.astype(np.float32) / 255, np.random.default_rng(1), 0.03) * 255).astype(np.uint8)
    options = GrainOptions(template=5, search=11)
    whole = denoise(grainy, options, tile=1024, h=8.0)
    tiled = denoise(grainy, options, tile=64, h=8.0)
    inner = (slice(16, -16), slice(16, -16))
    assert np.array_equal(whole[inner], tiled[inner])


def test_tile_grid_covers_every_pixel_once():
    seen = np.zeros((130, 70), int)
    for tile in tile_grid(130, 70, 32, 8):
        seen[tile.inner] += 1
    assert (seen == 1).all()


def test_cancel_stops_within_one_tile():
    image = photo_like(256, 256)
    cancel = CancelToken()
    calls = []

    def work(piece, where):
        calls.append(where)
        cancel.cancel()  # the user presses Cancel while the first tile is being worked on
        return piece

    with pytest.raises(Cancelled):
        map_tiles(image, work, 64, 4, cancel)
    assert len(calls) == 1


def test_pipeline_cancel_from_the_progress_callback_stops_at_the_next_tile():
    grainy = np.round(
        add_grain(photo_like(256, 256).astype(np.float32) / 255, np.random.default_rng(2), 0.04) * 255
    ).astype(np.uint8)
    cancel = CancelToken()
    steps = []

    def progress(step):
        steps.append(step)
        cancel.cancel()

    with pytest.raises(Cancelled):
        restore_luma(grainy, ("grain", "fading"), RestorationOptions(tile_size=64), progress, cancel)
    assert len(steps) == 1 and steps[0].stage == "grain" and steps[0].total == 16


def test_pipeline_reports_progress_to_the_end_and_keeps_shape_and_dtype():
    photo = photo_like().astype(np.uint16) * 257
    scratched, mask = draw_scratch(photo, value=60000)
    steps = []
    result = Restorer().restore(
        scratched, ("scratches", "grain", "fading"), RestorationOptions(tile_size=128), steps.append, mask=mask
    )
    assert result.luma.shape == photo.shape and result.luma.dtype == np.uint16
    assert result.mask is not None and np.array_equal(result.mask, mask)
    assert result.stages == ("scratches", "grain", "fading")
    assert [s.fraction for s in steps] == sorted(s.fraction for s in steps) and steps[-1].fraction == 1.0
    assert {s.stage for s in steps} == {"scratches", "grain", "fading"}


def test_pipeline_refuses_bad_input():
    with pytest.raises(ValueError, match="luma must be"):
        restore_luma(np.zeros((4, 4, 3), np.uint8), ("fading",))
    with pytest.raises(ValueError, match="unknown restoration stage 'sharpen'"):
        restore_luma(photo_like(), ("sharpen",))


def test_the_mask_is_shown_as_an_overlay_and_edited_with_a_brush():
    from engine.restoration.mask_edit import mask_overlay, paint_mask

    mask = np.zeros((40, 60), bool)
    painted = paint_mask(mask, [(10.0, 20.0), (50.0, 20.0)], radius=2)
    assert painted[20, 10:51].all() and not painted[5, :].any() and not mask.any()
    erased = paint_mask(painted, [(30.0, 20.0)], radius=5, erase=True)
    assert not erased[20, 26:35].any() and erased[20, 12]
    overlay = mask_overlay(erased)
    assert overlay.shape == (40, 60, 4) and overlay.dtype == np.uint8
    assert overlay[20, 12, 3] > 0 and overlay[0, 0, 3] == 0
