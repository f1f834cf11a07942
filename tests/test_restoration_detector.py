"""The scratch stage with the shipped damage detector: drawn damage is found and removed, clean
photos come out byte for byte, and the detector file is checked like a model file."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.errors import ModelFileError
from engine.models.card import read_card
from engine.models.registry import list_models
from engine.restoration.detection import DamageDetector
from engine.restoration.detector_file import default_detector_path, read_detector_card
from engine.restoration.pipeline import Restorer
from engine.restoration.stages import RestorationOptions, ScratchOptions
from tests.restoration_images import draw_scratch, iou, photo_like, psnr


@pytest.fixture(scope="module")
def restorer() -> Restorer:
    return Restorer(DamageDetector.load())


@pytest.mark.parametrize("value", [250, 8], ids=["bright", "dark"])
def test_a_drawn_scratch_is_found_and_removed(restorer: Restorer, value: int):
    clean = photo_like(seed=11)
    scratched, truth = draw_scratch(clean, value=value, thickness=2)
    result = restorer.restore(scratched, ("scratches",))
    assert iou(result.mask, truth) > 0.5
    assert psnr(result.luma, clean) > psnr(scratched, clean) + 5


def test_dust_specks_are_found(restorer: Restorer):
    clean = photo_like(seed=12)
    dusty = clean.copy()
    rng = np.random.default_rng(3)
    for _ in range(25):
        y, x = int(rng.integers(10, 182)), int(rng.integers(10, 246))
        cv2.circle(dusty, (x, y), 1, 245 if rng.random() < 0.5 else 10, -1)
    truth = dusty != clean
    mask = restorer.detect(dusty)
    assert (mask & truth).sum() / truth.sum() > 0.6


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_clean_photo_comes_out_byte_identical(restorer: Restorer, seed: int):
    clean = photo_like(seed=seed)
    result = restorer.restore(clean, ("scratches",))
    assert not result.damage_found
    assert result.luma.tobytes() == clean.tobytes()


def test_uint16_damage_is_found_and_a_clean_uint16_photo_is_unchanged(restorer: Restorer):
    clean = photo_like(seed=11).astype(np.uint16) * 257
    scratched, truth = draw_scratch(clean, value=64000)
    result = restorer.restore(scratched, ("scratches",))
    assert result.luma.dtype == np.uint16 and iou(result.mask, truth) > 0.5
    untouched = restorer.restore(clean, ("scratches",))
    assert untouched.luma.tobytes() == clean.tobytes()


def test_a_large_photo_is_searched_at_the_detection_size(restorer: Restorer):
    clean = cv2.resize(photo_like(seed=13), (1536, 1152), interpolation=cv2.INTER_CUBIC)
    scratched, truth = clean, np.zeros(clean.shape, bool)
    for seed in (1, 2, 3):  # a few scratches: one alone is below the card's photo-level minimum share
        scratched, more = draw_scratch(scratched, value=250, thickness=3, seed=seed)
        truth |= more
    options = RestorationOptions(scratches=ScratchOptions(detect_size=1024), tile_size=512)  # searched at 1365 x 1024
    result = restorer.restore(scratched, ("scratches",), options)
    assert result.mask.shape == clean.shape
    assert iou(result.mask, truth) > 0.4
    assert psnr(result.luma, clean) > psnr(scratched, clean) + 3


def test_the_shipped_detector_is_small_and_is_no_colour_model():
    path = default_detector_path()
    assert path.stat().st_size < 3 * 1024 * 1024
    card = read_detector_card(path)
    assert 0 < card.threshold <= card.confirm < 1 and card.min_area >= 1
    with pytest.raises(ModelFileError, match="unsupported model format"):
        read_card(path)
    assert all(model.path != path for model in list_models())


def test_a_damaged_detector_file_is_refused(tmp_path: Path):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(default_detector_path().read_bytes()[:-100])
    with pytest.raises(ModelFileError, match="truncated"):
        DamageDetector.load(broken)
    with pytest.raises(ModelFileError, match="missing"):
        DamageDetector.load(tmp_path / "none.safetensors")
