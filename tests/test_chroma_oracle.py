"""benchmarks/chroma_oracle.py: the oracle keeps each photo's best scale (so it is never worse than
any one scale), respects its floor, and the whole script runs on a tiny folder with a tiny model."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from tests.helpers import colour_shapes, constant_colour_module, install_model, load_script

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _load():
    return load_script(BENCHMARKS / "chroma_oracle.py")


def test_the_oracle_keeps_each_photos_lowest_error_at_or_above_the_floor():
    oracle = _load()
    per_scale = {
        0.0: [{"ciede2000": 5.0}, {"ciede2000": 9.0}],
        0.5: [{"ciede2000": 6.0}, {"ciede2000": 4.0}],
        1.0: [{"ciede2000": 7.0}, {"ciede2000": 3.0}],
    }
    assert [r["ciede2000"] for r in oracle.oracle_rows(per_scale)] == [5.0, 3.0]
    assert [r["ciede2000"] for r in oracle.oracle_rows(per_scale, floor=0.5)] == [6.0, 3.0]
    with pytest.raises(ValueError, match="no scale is at least 2"):
        oracle.oracle_rows(per_scale, floor=2.0)


def test_the_script_prints_the_model_the_oracles_and_the_split(tmp_path, home, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        Image.fromarray(colour_shapes(96, 64, seed=i)).save(photos / f"p{i}.png")
    install_model(home, "orange", constant_colour_module(20.0, 30.0), render_size=64)

    assert _load().main([str(photos), "--model", "orange", "--scales", "0,0.5,1"]) == 0

    out = capsys.readouterr().out.splitlines()
    gains = {
        line.split(" CIEDE2000")[0].strip(): float(line.split("gain ")[1].split()[0]) for line in out if "gain" in line
    }
    own, best = gains["own decoding (scale 1)"], gains["oracle scale per photo"]
    assert best >= own and best >= 0.0  # scale 0 is the gray copy itself: the oracle never loses to it
    assert gains["oracle scale per photo, >= 0.6"] == pytest.approx(own)  # only scale 1 is left
    assert sum("photos with" in line for line in out) >= 1
    assert _load().main([str(photos), "--model", "orange", "--scales", "-1"]) == 2


def _row(ciede: float, colour: float = 0.0) -> dict:
    return {
        "ciede2000": ciede,
        "colourfulness": colour,
        "psnr": 20.0,
        "auc": 0.9,
        "mean_a_error": 0.0,
        "mean_b_error": 0.0,
    }


def test_the_colourfulness_oracle_shrinks_the_dull_photos_and_keeps_the_colour_floor():
    oracle = _load()
    # Photo 0 is dull (colour hurts it), photo 1 colourful (colour helps): scale 0 for the first, 1 for the second.
    per_scale = {0.0: [_row(2.0), _row(9.0)], 1.0: [_row(6.0, 4.0), _row(3.0, 30.0)]}
    gray = [_row(2.5), _row(9.0)]
    rows, threshold, low, high = oracle.by_colourfulness_rows(per_scale, gray, [5.0, 40.0], 0.6)
    assert (low, high) == (0.0, 1.0) and 5.0 < threshold <= 40.0
    assert [r["ciede2000"] for r in rows] == [2.0, 3.0]
    with pytest.raises(ValueError, match="keeps 90 %"):
        oracle.by_colourfulness_rows(per_scale, gray, [5.0, 40.0], 0.9)
