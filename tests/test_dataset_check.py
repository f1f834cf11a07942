"""Checking the two training folders: counts, bad files, duplicates, kinds of photo, held-out previews."""

from __future__ import annotations

import shutil

import numpy as np

from tests.test_cyclegan import write_photos
from training.data.dataset_check import FEW_IMAGES, MIN_IMAGES, check_dataset, classify


def test_bad_file_duplicate_and_colour_photo_in_the_old_folder_are_reported(tmp_path):
    old, colour = tmp_path / "old", tmp_path / "colour"
    gray = write_photos(old, 9, "gray", seed=1)
    write_photos(colour, 10, "colour", seed=2)
    (old / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    shutil.copy(gray[0], old / "copy_of_first.png")
    shutil.copy(colour / "colour_2_00.png", old / "holiday.png")

    report = check_dataset(old, colour)

    assert report.ok and report.errors == ()
    assert report.old.count == 11 and report.color.count == 10  # 9 gray + copy + colour; broken excluded
    assert [p.name for p, _ in report.old.unreadable] == ["broken.jpg"]
    assert "not a readable image" in report.old.unreadable[0][1]
    assert {p.name for p in report.old.duplicates[0]} == {gray[0].name, "copy_of_first.png"}
    assert report.old.kinds["colour"] == 1 and report.color.kinds == {"gray": 0, "tinted": 0, "colour": 10}
    text = "\n".join(report.warnings)
    assert "unreadable" in text and "broken.jpg" in text
    assert "duplicate" in text
    assert "look like colour photos: holiday.png" in text
    assert f"only 11 old photos: {FEW_IMAGES} or more" in text
    assert report.old.min_side == 40 and report.old.median_side == 40
    # Held-out previews: deterministic, readable, excluded from nothing else here.
    assert len(report.old.holdout) == 4 and report.old.holdout == check_dataset(old, colour).old.holdout
    assert all(p.suffix == ".png" for p in report.old.holdout)


def test_missing_folder_and_too_few_photos_are_errors_not_exceptions(tmp_path):
    write_photos(tmp_path / "few", MIN_IMAGES - 1, "colour")
    report = check_dataset(tmp_path / "nowhere", tmp_path / "few")
    assert not report.ok
    assert any("nowhere does not exist" in e for e in report.errors)
    assert any(f"has {MIN_IMAGES - 1} readable images; at least {MIN_IMAGES}" in e for e in report.errors)
    assert check_dataset(tmp_path / "few", tmp_path / "few").errors  # the same folder twice


def test_gray_and_tinted_photos_in_the_colour_folder_are_flagged(tmp_path):
    write_photos(tmp_path / "old", 8, "gray")
    write_photos(tmp_path / "colour", 8, "colour")
    write_photos(tmp_path / "colour", 1, "sepia", seed=5)
    report = check_dataset(tmp_path / "old", tmp_path / "colour")
    assert report.color.kinds["tinted"] == 1
    assert any("colour folder look gray or tinted: sepia_5_00.png" in w for w in report.warnings)


def test_classify_gray_tinted_colour():
    ramp = np.linspace(0, 255, 64 * 64).reshape(64, 64)
    gray = np.repeat(ramp[..., None], 3, axis=2).astype(np.uint8)
    sepia = np.stack((ramp, ramp * 0.8, ramp * 0.6), axis=2).astype(np.uint8)
    colour = np.zeros((64, 64, 3), np.uint8)
    colour[:32, :, 0] = 200
    colour[32:, :, 2] = 200
    assert classify(gray)[0] == "gray"
    assert classify(sepia)[0] == "tinted"
    assert classify(colour)[0] == "colour"
