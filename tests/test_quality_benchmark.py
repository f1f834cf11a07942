"""benchmarks/quality.py on a tiny folder: the whole pipeline (gray copies, the batch runner,
scores per folder and per source tag, the contact sheet) with a tiny random model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from engine.metrics import colourfulness, mean_ciede2000, psnr
from tests.helpers import colour_shapes, load_script

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _load_quality():
    return load_script(BENCHMARKS / "quality.py")


def _photos(folder: Path, names: tuple[str, ...] = ("photo_0.png", "photo_1.png", "photo_2.png")) -> list[np.ndarray]:
    folder.mkdir()
    images = []
    for i, name in enumerate(names):
        rgb = colour_shapes(48, 32, seed=i)
        Image.fromarray(rgb).save(folder / name)
        images.append(rgb)
    return images


def test_gray_baseline_scores_what_a_gray_copy_scores(tmp_path, capsys, home):
    originals = _photos(tmp_path / "photos")
    quality = _load_quality()

    assert quality.main([str(tmp_path / "photos"), "--model", "tiny", "--device", "cpu", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)

    grays = [np.repeat(np.asarray(Image.fromarray(o).convert("L"))[..., None], 3, axis=2) for o in originals]
    gray = result["gray"]
    assert gray["colourfulness"] == 0.0
    assert gray["almost_gray"] == 1.0
    assert abs(gray["psnr"] - np.mean([psnr(g, o) for g, o in zip(grays, originals)])) < 1e-6
    assert abs(gray["ciede2000"] - np.mean([mean_ciede2000(g, o) for g, o in zip(grays, originals)])) < 1e-6
    assert abs(gray["original_colourfulness"] - np.mean([colourfulness(o) for o in originals])) < 1e-6
    assert gray["original_colourfulness"] > 20  # the test photos are colourful
    model = result["model"]
    assert np.isfinite([model["psnr"], model["ciede2000"], model["colourfulness"]]).all()


def test_a_gray_copy_of_gray_photos_is_perfect(tmp_path, capsys):
    folder = tmp_path / "gray"
    folder.mkdir()
    for i in range(2):
        Image.fromarray((np.arange(48 * 32).reshape(32, 48) % 251).astype(np.uint8)).convert("RGB").save(
            folder / f"g{i}.png"
        )
    quality = _load_quality()
    assert quality.main([str(folder), "--gray-only", "--json"]) == 0
    gray = json.loads(capsys.readouterr().out)["gray"]
    assert gray["psnr"] == 100.0 and gray["ciede2000"] < 1e-6


def test_a_missing_folder_is_one_line_and_exit_2(tmp_path, capsys):
    quality = _load_quality()
    assert quality.main([str(tmp_path / "nope"), "--gray-only"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_rows_per_source_tag_and_the_gray_row_never_beats_itself(tmp_path, capsys, home):
    # three "azure" photos, two "dps" photos (JPEG: a lossy original is scored like any other)
    _photos(tmp_path / "photos", ("azure_0.png", "azure_1.png", "dps_2.jpg", "azure_3.png", "dps_4.png"))
    quality = _load_quality()
    assert quality.main([str(tmp_path / "photos"), "--model", "tiny", "--device", "cpu", "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)

    assert result["photos"] == 5 and result["failed"] == []
    assert list(result["by_source"]) == ["azure", "dps"]  # the most photos first
    assert [row["gray"]["photos"] for row in result["by_source"].values()] == [3, 2]
    assert result["gray"]["better_than_gray"] == 0.0
    assert all(row["gray"]["better_than_gray"] == 0.0 for row in result["by_source"].values())
    model = result["model"]
    for key in (
        "psnr",
        "ciede2000",
        "better_than_gray",
        "mean_a_error",
        "mean_b_error",
        "auc",
        "colourfulness_ratio",
        "almost_gray",
    ):
        assert np.isfinite(model[key]), key
    assert 0.0 <= model["auc"] <= 1.0
    # the model's photos are exactly the gray row's photos
    assert model["gray_ciede2000"] == result["gray"]["ciede2000"]
    assert set(result["bars_met"]) == {
        "psnr_gain",
        "ciede_gain",
        "better_than_gray",
        "colourfulness_ratio",
        "almost_gray",
        "cast",
    }
    assert result["timing"]["photos"] == 5 and result["timing"]["photos_per_second"] > 0
    assert result["run"]["render_size"] == 64
    # the table comes along on stderr: folder rows, one line per tag, the bar
    table = captured.err
    assert "gray copy" in table and "clears" in table and "photos/s" in table
    assert table.index("\nazure") < table.index("\ndps")


def test_the_contact_sheet_is_a_png_of_gray_revive_original_rows(tmp_path, capsys, home):
    _photos(tmp_path / "photos", ("a_0.png", "a_1.png", "b_2.png", "b_3.png"))
    sheet = tmp_path / "sheets" / "sheet.png"
    quality = _load_quality()
    assert quality.main([str(tmp_path / "photos"), "--model", "tiny", "--device", "cpu", "--sheet", str(sheet)]) == 0
    out = capsys.readouterr().out
    assert f"contact sheet: {sheet}" in out
    with Image.open(sheet) as image:
        assert image.format == "PNG"
        width, height = image.size
    # four photos (fewer than the 8 worst): four rows of three 160-px-high thumbnails (48x32 -> 240x160)
    assert 3 * 240 <= width <= 3 * 240 + 100
    assert 4 * 160 <= height <= 4 * 160 + 200
    assert list(sheet.parent.iterdir()) == [sheet]  # written atomically: no temporary file left beside it


def test_the_model_settings_are_checked_before_any_work(tmp_path, capsys, home):
    _photos(tmp_path / "photos")
    quality = _load_quality()
    assert quality.main([str(tmp_path / "photos"), "--model", "tiny", "--saturation", "9"]) == 2
    assert "saturation must be between" in capsys.readouterr().err
    assert quality.main([str(tmp_path / "photos"), "--gray-only", "--sheet", str(tmp_path / "s.png")]) == 2
    assert "--sheet" in capsys.readouterr().err
