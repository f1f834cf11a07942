"""benchmarks/hint_following.py: a model that ignores hints drops exactly 0 (the ring leaves out
the mark the engine paints in the hint's colour), a model without hint channels is named as such."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from tests.helpers import colour_shapes, constant_colour_module, install_model, load_script

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _load():
    return load_script(BENCHMARKS / "hint_following.py")


def test_a_model_that_ignores_hints_drops_nothing_and_one_without_hints_is_named(tmp_path, home, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        Image.fromarray(colour_shapes(288, 192, seed=i)).save(photos / f"p{i}.png")
    install_model(home, "deaf", constant_colour_module(20.0, 20.0, hints=True), render_size=192)  # as shipped
    install_model(home, "plain", constant_colour_module(20.0, 20.0))
    benchmark = _load()

    assert benchmark.main([str(photos), "--model", "deaf", "--model", "plain"]) == 0

    out = capsys.readouterr().out.splitlines()
    deaf = next(line for line in out if line.startswith("deaf")).split()
    assert float(deaf[1]) > 0 and float(deaf[3]) == 0.0 and float(deaf[4]) == 0.0
    assert any(line.startswith("plain") and "takes no hints" in line for line in out)


def test_the_ring_is_outside_the_mark_and_the_place_is_the_same_every_run():
    benchmark = _load()
    assert benchmark.place("a.jpg") == benchmark.place("a.jpg") != benchmark.place("b.jpg")
    x, y = benchmark.place("a.jpg")
    assert 0.2 <= x <= 0.8 and 0.2 <= y <= 0.8
    ring = benchmark.ring_mask(200, 100, 0.5, 0.5)
    assert not ring[50, 100] and ring.any()  # the hint's own place is left out


def test_a_missing_folder_is_one_line_and_exit_2(tmp_path, capsys):
    assert _load().main([str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err
