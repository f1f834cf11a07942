"""benchmarks/quality.py on a tiny folder: its gray baseline scores what a gray copy must score."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from engine.metrics import colourfulness, mean_ciede2000, psnr
from tests.helpers import colour_shapes, install_model

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _load_quality():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location("quality_benchmark", BENCHMARKS / "quality.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCHMARKS))


def _photos(folder: Path, count: int = 3) -> list[np.ndarray]:
    folder.mkdir()
    images = []
    for i in range(count):
        rgb = colour_shapes(48, 32, seed=i)
        Image.fromarray(rgb).save(folder / f"photo_{i}.png")
        images.append(rgb)
    return images


def test_gray_baseline_scores_what_a_gray_copy_scores(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("REVIVE_HOME", str(tmp_path / "home"))
    originals = _photos(tmp_path / "photos")
    install_model(tmp_path / "home")
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
        Image.fromarray((np.arange(48 * 32).reshape(32, 48) % 251).astype(np.uint8)).convert("RGB").save(folder / f"g{i}.png")
    quality = _load_quality()
    assert quality.main([str(folder), "--gray-only", "--json"]) == 0
    gray = json.loads(capsys.readouterr().out)["gray"]
    assert gray["psnr"] == 100.0 and gray["ciede2000"] < 1e-6


def test_a_missing_folder_is_one_line_and_exit_2(tmp_path, capsys):
    quality = _load_quality()
    assert quality.main([str(tmp_path / "nope"), "--gray-only"]) == 2
    assert "does not exist" in capsys.readouterr().err
