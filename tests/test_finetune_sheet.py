"""scripts/finetune_sheet.py with two tiny models of known colours: one row per photo, the base's
tile and the fine-tune's in their own colours, a damaged photo skipped, bad models one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks._sheet import CAPTION, HEADER
from tests.helpers import constant_colour_module, install_model, load_script, write_gray_photo

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "finetune_sheet.py"


def _load_script():
    return load_script(SCRIPT)


def test_photos_are_taken_evenly_over_the_sorted_folder():
    sheet = _load_script()
    paths = [Path(f"p{i:02d}.png") for i in range(10)][::-1]
    assert sheet.chosen(paths, 3) == [Path("p00.png"), Path("p04.png"), Path("p09.png")]
    assert sheet.chosen(paths, 20) == sorted(paths)
    assert sheet.chosen(paths, 1) == [Path("p00.png")]


def test_each_row_shows_the_old_photo_then_the_base_then_the_fine_tune(tmp_path, home, capsys):
    install_model(home, "red", constant_colour_module(60.0, 40.0))
    install_model(home, "blue", constant_colour_module(0.0, -60.0))
    old = tmp_path / "old"
    old.mkdir()
    for i in range(2):
        write_gray_photo(old / f"photo_{i}.png", 96, 64)
    (old / "photo_9.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")  # damaged: skipped, not fatal
    out = tmp_path / "sheet.png"

    sheet = _load_script()
    assert sheet.main(["--old", str(old), "--base", "red", "--tuned", "blue", "--out", str(out)]) == 0

    assert "skipped photo_9.png" in capsys.readouterr().err
    image = np.asarray(Image.open(out).convert("RGB")).astype(int)
    top = sheet.GAP + HEADER + CAPTION
    row = image[top + 10 : top + sheet.TILE_HEIGHT - 10]
    tile_width = round(96 * sheet.TILE_HEIGHT / 64)
    gray, base, tuned = (
        row[:, sheet.GAP + i * (tile_width + sheet.GAP) + 10 : sheet.GAP + (i + 1) * tile_width + i * sheet.GAP - 10]
        for i in range(3)
    )
    assert np.abs(gray[..., 0] - gray[..., 2]).mean() < 2  # the old photo as it is
    assert (base[..., 0] - base[..., 2]).mean() > 30  # red base
    assert (tuned[..., 2] - tuned[..., 0]).mean() > 30  # blue fine-tune
    expected_height = sheet.GAP + HEADER + 2 * (CAPTION + sheet.TILE_HEIGHT + sheet.GAP)
    assert image.shape[0] == expected_height  # two rows: the damaged photo has none


def test_a_missing_model_is_one_line_and_exit_1(tmp_path, home, capsys):
    old = tmp_path / "old"
    old.mkdir()
    write_gray_photo(old / "photo.png")
    sheet = _load_script()
    assert sheet.main(["--old", str(old), "--tuned", "nope", "--out", str(tmp_path / "s.png")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and not (tmp_path / "s.png").exists()
