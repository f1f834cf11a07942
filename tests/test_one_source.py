"""One source of truth: the colorize defaults and ranges, the image lister, the guarded reader for
training, the tint rule, the hold-out hash and the out-of-memory translation each live once."""

from __future__ import annotations

import argparse
import inspect
import re
from pathlib import Path

from engine.batch import settings
from engine.batch.settings import DEFAULT_QUALITY, DEFAULT_SATURATION, DEFAULT_TEMPERATURE, BatchOptions

REPO = Path(__file__).resolve().parent.parent


def test_the_default_temperature_is_written_once():
    """No module but engine/batch/settings.py spells the temperature default out (as a value:
    a docstring may still cite the paper's number)."""
    pattern = re.compile(r"[=(,]\s*0\.38(?!\d)")
    copies = []
    for package in ("engine", "training", "gui"):
        for path in (REPO / package).rglob("*.py"):
            if path == REPO / "engine" / "batch" / "settings.py":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#", 1)[0]
                if pattern.search(code) and "BOX_EYES" not in code:  # face-box proportions, not a temperature
                    copies.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not copies, "\n".join(copies)


def test_defaults_everywhere_come_from_the_settings_module():
    from engine.models.architectures.unet_colorizer import UNetColorizer
    from engine.models.card import ModelCard
    from training.decoding_sweep import Decoding

    assert ModelCard("m", "unet_colorizer", {}).temperature == DEFAULT_TEMPERATURE
    assert inspect.signature(UNetColorizer.predict_ab).parameters["temperature"].default == DEFAULT_TEMPERATURE
    assert Decoding().temperature == DEFAULT_TEMPERATURE
    assert settings.ColorizeSettings().saturation == DEFAULT_SATURATION
    assert BatchOptions(Path("out")).quality == DEFAULT_QUALITY


def test_the_command_line_defaults_are_the_settings_defaults():
    from engine.cli import colorize, restore

    parser = argparse.ArgumentParser()
    colorize.add_arguments(parser)
    args = parser.parse_args(["in.jpg", "-o", "out"])
    assert args.saturation == DEFAULT_SATURATION and args.quality == DEFAULT_QUALITY
    low, high = settings.SATURATION_RANGE
    assert f"{low:g}-{high:g}" in parser.format_help()
    parser = argparse.ArgumentParser()
    restore.add_arguments(parser)
    assert parser.parse_args(["in.jpg", "-o", "out"]).quality == DEFAULT_QUALITY


def test_the_tuning_panel_clamps_to_the_settings_range():
    from gui.models.tuning import temperature_for_boldness

    low, high = settings.TEMPERATURE_RANGE
    assert temperature_for_boldness(0, high) == high
    assert temperature_for_boldness(100, low) == low


def _photo(path: Path, size=(40, 30), colour=(120, 80, 40)) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def test_training_lists_photos_with_the_batch_walk(tmp_path):
    """One lister: hidden files and folders, a looping link and a pipe are left out, in path order."""
    import os

    from engine.batch.folder_scan import list_images
    from training.data.dataset_check import list_images as dataset_images
    from training.data.photo_folder import list_photos

    kept = [_photo(tmp_path / "b.jpg"), _photo(tmp_path / "a" / "z.png"), _photo(tmp_path / "c" / "d.tif")]
    _photo(tmp_path / ".hidden.jpg")
    _photo(tmp_path / ".thumbnails" / "x.jpg")
    (tmp_path / "notes.txt").write_text("not a photo")
    os.symlink(tmp_path / "loop.jpg", tmp_path / "loop.jpg")
    os.symlink(tmp_path, tmp_path / "c" / "up")  # a folder link: not followed (no loop)
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.jpg")
    expected = sorted(kept)
    assert list_images(tmp_path) == expected
    assert list_photos(tmp_path) == expected
    assert dataset_images(tmp_path) == expected
    assert dataset_images(tmp_path / "missing") == []


def test_training_reads_through_the_guarded_reader(tmp_path, caplog):
    """open_rgb refuses what the engine refuses (over the pixel limit, a pipe), in one warning."""
    import os

    from engine.errors import ImageTooLarge, UnsupportedImage
    from engine.imaging import read_rgb
    from training.data import photo_folder

    path = _photo(tmp_path / "p.jpg", size=(400, 300))
    image, stored = read_rgb(path, draft=50)
    assert stored == (400, 300) and image.mode == "RGB" and min(image.size) >= 50 and image.width < 400
    try:
        read_rgb(path, max_pixels=1000)
    except ImageTooLarge as error:
        assert "p.jpg" in str(error)
    else:
        raise AssertionError("the pixel limit was not applied")
    os.mkfifo(tmp_path / "pipe.jpg")
    try:
        read_rgb(tmp_path / "pipe.jpg")
    except UnsupportedImage as error:
        assert "pipe" in str(error)
    else:
        raise AssertionError("a pipe was read")
    assert photo_folder.open_rgb(tmp_path / "pipe.jpg", 32) is None
    assert "pipe.jpg" in caplog.text
    assert photo_folder.square(path, 16).shape == (16, 16, 3)


def test_read_rgb_turns_the_photo_upright_and_rounds_16_bit(tmp_path):
    import numpy as np
    from PIL import Image

    from engine.imaging import read_rgb

    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to show
    Image.new("RGB", (40, 20), (200, 10, 10)).save(tmp_path / "r.jpg", exif=exif)
    image, stored = read_rgb(tmp_path / "r.jpg")
    assert stored == (40, 20) and image.size == (20, 40)
    Image.fromarray(np.full((8, 8), 32768, np.uint16)).save(tmp_path / "g.png")
    assert np.asarray(read_rgb(tmp_path / "g.png")[0]).max() == 128  # mid-gray, not clipped to white


def test_one_tint_rule_for_the_reader_the_app_and_training(tmp_path):
    """Photo.tinted is the classifier's "not gray", on the same kind of thumbnail."""
    import numpy as np
    from PIL import Image

    from engine.imaging import read_photo
    from engine.imaging.tint import GRAY_CHROMA, chroma_p95, classify, has_visible_colour
    from training.data import dataset_check

    assert dataset_check.classify is classify  # the dataset check's name is the engine's rule
    ramp = np.tile(np.linspace(0, 255, 64), (64, 1))
    for chroma, kind in ((0, "gray"), (GRAY_CHROMA - 3, "gray"), (40, "tinted")):
        rgb = np.clip(np.stack([ramp + chroma / 2, ramp, ramp - chroma / 2], axis=2), 0, 255).astype(np.uint8)
        Image.fromarray(rgb).save(tmp_path / f"{chroma}.png")
        assert classify(rgb)[0] == kind
        assert read_photo(tmp_path / f"{chroma}.png").tinted == (kind != "gray") == has_visible_colour(rgb)
    half = np.zeros((4, 4, 3), np.uint8)
    half[:2] = (255, 0, 0)
    assert chroma_p95(half, visible=np.arange(16).reshape(4, 4) >= 8) == 0.0  # the red half is not visible
    assert chroma_p95(half, visible=np.zeros((4, 4), bool)) == 0.0


def test_every_hold_out_rule_draws_on_the_file_name_hash():
    import hashlib

    from training.data.dataset_check import holdout_order
    from training.data.photo_folder import is_holdout, name_digest
    from training.restoration.detector_data import tuning_split

    paths = [Path(f"/a{i}/photo_{i}.jpg") for i in range(200)]
    assert name_digest(Path("/x/y.jpg")) == name_digest(Path("/elsewhere/y.jpg"))
    assert name_digest(Path("y.jpg")) == hashlib.sha1(b"y.jpg").digest()
    held = [p for p in paths if is_holdout(p)]
    assert held == [p for p in paths if int.from_bytes(name_digest(p)[:4], "big") % 100 < 3]
    assert holdout_order(paths) == sorted(paths, key=lambda p: (name_digest(p), str(p)))
    tuning, test = tuning_split(paths)
    assert tuning == [p for p in paths if name_digest(p)[4] % 2 == 0] and len(tuning) + len(test) == len(paths)


def test_out_of_memory_is_translated_in_one_place():
    import pytest
    import torch

    from engine.device import out_of_memory_as
    from engine.errors import OutOfMemory

    with pytest.raises(OutOfMemory, match="try a smaller size") as caught:
        with out_of_memory_as(torch.device("cpu"), "out of memory: try a smaller size"):
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 10 GB")
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    with pytest.raises(RuntimeError, match="shape mismatch"):
        with out_of_memory_as(torch.device("cpu"), "unused"):
            raise RuntimeError("shape mismatch")
    with out_of_memory_as(torch.device("cpu"), "unused"):
        pass
    copies = []
    for package in ("engine", "training", "gui"):
        for path in (REPO / package).rglob("*.py"):
            if path != REPO / "engine" / "device.py" and "empty_cache()" in path.read_text(encoding="utf-8"):
                copies.append(str(path.relative_to(REPO)))
    assert not copies, f"out-of-memory handling outside engine.device: {copies}"
