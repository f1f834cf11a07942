"""Colour hints: the file schema and its errors, rendering, the colorizer following them, the
whole-photo adjustments, saved hints, and the command line's --hints / --hints-dir."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import main
from engine.batch.settings import ColorizeSettings
from engine.hints.schema import (
    ColourAdjust,
    HintError,
    HintPoint,
    HintStroke,
    PhotoHints,
    ReferenceStats,
    adjust_ab,
    colour_ab,
    hint_marks,
    render_hints,
)
from engine.hints.store import HintStore, photo_key
from engine.metrics import ciede2000, to_lab
from engine.models import registry as model_registry
from tests.helpers import (
    constant_colour_module,
    cpu_colorizer,
    gradient_luma,
    install_model,
    tiny_module,
    write_gray_photo,
)

RED = "#b02020"


# ------------------------------------------------------------------------------------ schema


def test_the_documented_example_parses_and_round_trips():
    text = json.dumps(
        {
            "points": [{"x": 0.25, "y": 0.6, "color": "#b02020", "radius": 0.02}],
            "strokes": [{"points": [[0.1, 0.1], [0.3, 0.12]], "color": "#2a5db0", "width": 0.03}],
            "extra": "ignored",
        }
    )
    hints = PhotoHints.from_json(text, "a.json")
    assert hints.points == (HintPoint(0.25, 0.6, "#b02020", 0.02),)
    assert hints.strokes == (HintStroke(((0.1, 0.1), (0.3, 0.12)), "#2a5db0", 0.03),)
    assert PhotoHints.from_json(hints.to_json()) == hints


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ("not json", "not valid JSON"),
        ([1, 2], "must be an object"),
        ({"points": {}}, "points: must be a list"),
        ({"points": [{"x": 0.5, "y": 0.5}]}, "points[0].color is missing"),
        ({"points": [{"x": 1.5, "y": 0.5, "color": RED}]}, "points[0].x: must be between 0 and 1"),
        ({"points": [{"x": "left", "y": 0.5, "color": RED}]}, "points[0].x: must be a number"),
        ({"points": [{"x": 0.5, "y": 0.5, "color": "red"}]}, "points[0].color: must be an sRGB colour"),
        ({"points": [{"x": 0.5, "y": 0.5, "color": RED, "radius": -1}]}, "points[0].radius"),
        ({"strokes": [{"points": [[0.1, 0.2], [0.3]], "color": RED}]}, "strokes[0].points[1] must be [x, y]"),
        ({"strokes": [{"points": [], "color": RED}]}, "strokes[0].points must not be empty"),
        ({"strokes": [{"points": [[0.1, float("nan")]], "color": RED}]}, "strokes[0].points[0][1]"),
        ({"adjust": {"warmth": 3}}, "adjust.warmth"),
        ({"adjust": {"reference": {"a_mean": 1}}}, "adjust.reference.a_std is missing"),
        ({"points": [{"x": 0.5, "y": 0.5, "color": RED}] * 3000}, "at most 2000"),
        ({"points": [{"x": 10**400, "y": 0.5, "color": RED}]}, "points[0].x: must be a number"),  # no float holds it
        ({"points": [{"x": 0.5, "y": 0.5, "color": "#ff0000\n"}]}, "points[0].color: must be an sRGB colour"),
    ],
)
def test_bad_hint_files_get_one_line_errors_naming_the_field(data, field):
    text = data if isinstance(data, str) else json.dumps(data)
    with pytest.raises(HintError) as caught:
        PhotoHints.from_json(text, "scan.json")
    message = str(caught.value)
    assert message.startswith("scan.json: ") and field in message and "\n" not in message


def test_colours_convert_to_the_lab_chroma_of_srgb():
    a, b = colour_ab("#ff0000")  # sRGB red: L 53.2, a 80.1, b 67.2
    assert abs(a - 80.1) < 0.3 and abs(b - 67.2) < 0.3
    assert max(abs(v) for v in colour_ab("#808080")) < 0.01


def test_points_and_strokes_render_where_they_were_put():
    hints = PhotoHints(
        points=(HintPoint(0.25, 0.6, RED, 0.05),), strokes=(HintStroke(((0.6, 0.2), (0.9, 0.2)), "#2a5db0", 0.04),)
    )
    values, mask = hint_marks(hints, 200, 100)
    assert mask[60, 50] == 1 and mask[10, 10] == 0
    assert np.allclose(values[:, 60, 50], colour_ab(RED), atol=1e-3)
    assert mask[20, 120:180].all() and not mask[50, 120:180].any()
    channels = render_hints(hints, 200, 100)
    assert channels.shape == (3, 100, 200) and channels.dtype == np.float32
    assert np.allclose(channels[:2, 60, 50] * 110.0, colour_ab(RED), atol=1e-3)
    tiny = PhotoHints(points=(HintPoint(0.5, 0.5, RED, 0.0),))
    assert hint_marks(tiny, 64, 64)[1].sum() >= 1  # a point smaller than a pixel still marks one


def test_strokes_that_would_take_millions_of_discs_are_drawn_within_a_budget(monkeypatch):
    import engine.hints.schema as schema

    # 20,000 points zig-zagging corner to corner at width 0: a small file, millions of discs as drawn
    zigzag = tuple((float(i % 2), float(i % 2)) for i in range(20_000))
    hints = PhotoHints(strokes=(HintStroke(zigzag, RED, 0.0),))
    drawn = []
    real_disc = schema._disc
    monkeypatch.setattr(schema, "_disc", lambda *args: drawn.append(1) or real_disc(*args))
    values, mask = hint_marks(hints, 512, 384)
    assert len(drawn) <= schema.MAX_STAMPS + len(zigzag)
    assert mask[0, 0] == 1 and mask[383, 511] == 1  # its points are still marked, the discs between sparser
    drawn.clear()
    hint_marks(PhotoHints(strokes=(HintStroke(((0.1, 0.5), (0.9, 0.5)), RED, 0.0),)), 512, 384)
    assert len(drawn) > 600  # a stroke a person draws keeps its half-pixel spacing


# ------------------------------------------------------------------------------------ colorizer


def _lab_at(rgb: np.ndarray, row: int, col: int) -> np.ndarray:
    return to_lab(rgb[row - 2 : row + 3, col - 2 : col + 3]).reshape(-1, 3).mean(axis=0)


def test_the_output_at_a_hint_takes_its_colour_and_far_away_stays_as_it_was():
    colorizer = cpu_colorizer(constant_colour_module(10.0, 40.0, hints=True), render_size=64)
    luma = np.full((120, 160), 128, np.uint8)
    plain = colorizer.colorize(luma)
    hinted = colorizer.colorize(luma, hints=PhotoHints(points=(HintPoint(0.25, 0.5, RED, 0.06),)))
    hint_lab = np.array([_lab_at(plain, 60, 40)[0], *colour_ab(RED)])
    assert float(ciede2000(_lab_at(hinted, 60, 40), hint_lab)) < 6.0
    far = (slice(0, 120), slice(110, 160))
    assert float(np.mean(ciede2000(to_lab(hinted[far]), to_lab(plain[far])))) < 1.0


def test_a_hint_capable_network_is_given_the_hint_channels(monkeypatch):
    module = tiny_module(hints=True)
    colorizer = cpu_colorizer(module, render_size=64)
    seen = []
    original = module.forward
    monkeypatch.setattr(module, "forward", lambda x: seen.append(x.detach().clone()) or original(x))
    colorizer.colorize(gradient_luma(96, 64), hints=PhotoHints(points=(HintPoint(0.5, 0.5, RED, 0.05),)))
    colorizer.colorize(gradient_luma(96, 64))
    assert seen[0].shape[1] == 4 and seen[0][0, 3].max() == 1.0
    assert float(seen[0][0, 1].max() * 110) == pytest.approx(colour_ab(RED)[0], abs=0.1)
    assert seen[1][0, 1:].abs().max() == 0  # no hints: all-zero channels


def test_a_model_without_hint_channels_refuses_hints():
    colorizer = cpu_colorizer(render_size=64)
    with pytest.raises(HintError, match="takes no colour hints"):
        colorizer.colorize(gradient_luma(64, 64), hints=PhotoHints(points=(HintPoint(0.5, 0.5, RED),)))
    # whole-photo adjustments need no hint channels
    warm = colorizer.colorize(gradient_luma(64, 64), hints=PhotoHints(adjust=ColourAdjust(warmth=1.0)))
    assert warm.shape == (64, 64, 3)


def test_warmth_tint_and_reference_matching_move_the_colour():
    ab = np.zeros((2, 8, 8), np.float32)
    ab[0] = np.linspace(-5, 5, 64).reshape(8, 8)
    warmer = adjust_ab(ab, ColourAdjust(warmth=1.0))
    assert warmer[1].mean() > ab[1].mean() + 10
    magenta = adjust_ab(ab, ColourAdjust(tint=1.0))
    assert magenta[0].mean() > ab[0].mean() + 9
    reference = ReferenceStats(a_mean=20.0, a_std=6.0, b_mean=-10.0, b_std=4.0)
    matched = adjust_ab(ab, ColourAdjust(reference=reference, match=1.0))
    assert matched[0].mean() == pytest.approx(20.0, abs=0.01) and matched[1].mean() == pytest.approx(-10.0, abs=0.01)
    assert matched[0].std() == pytest.approx(6.0, rel=0.01)
    half = adjust_ab(ab, ColourAdjust(reference=reference, match=0.5))
    assert half[0].mean() == pytest.approx(10.0, abs=0.01)


def test_the_model_suggests_its_own_likely_colours_at_a_spot():
    colorizer = cpu_colorizer(constant_colour_module(10.0, 40.0, hints=True), render_size=64)
    prepared = colorizer.prepare(gradient_luma(96, 64), ColorizeSettings())
    raw = colorizer.forward(prepared)
    colours = colorizer.plausible_colours(raw, prepared, 0.5, 0.5, count=4)
    assert 1 <= len(colours) <= 4 and all(c.startswith("#") and len(c) == 7 for c in colours)
    a, b = colour_ab(colours[0])
    assert abs(a - 10.0) < 6 and abs(b - 40.0) < 8  # the bin it was built to predict, first


# ------------------------------------------------------------------------------------ saved hints


def test_saved_hints_follow_the_photo_by_content(tmp_path):
    photo = write_gray_photo(tmp_path / "a.jpg")
    store = HintStore(tmp_path / "store")
    hints = PhotoHints(points=(HintPoint(0.3, 0.3, RED),))
    store.save(photo_key(photo), hints)
    moved = tmp_path / "elsewhere" / "renamed.jpg"
    moved.parent.mkdir()
    moved.write_bytes(photo.read_bytes())
    assert store.hints_for(moved) == hints
    assert not (tmp_path / "a.json").exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "a.jpg",
        "elsewhere",
        "store",
    ]
    store.path_for(photo_key(photo)).write_text("{damaged")
    assert store.hints_for(photo) is None
    store.save(photo_key(photo), PhotoHints())  # empty hints are forgotten
    assert not store.path_for(photo_key(photo)).exists()


# ------------------------------------------------------------------------------------ command line


@pytest.fixture
def hint_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    install_model(home, "hinted", constant_colour_module(10.0, 40.0, hints=True), render_size=64)
    install_model(home, "plain", render_size=64)
    monkeypatch.setenv("REVIVE_HOME", str(home))
    monkeypatch.setattr(model_registry, "shipped_models_dir", lambda: tmp_path / "none")
    return home


def _hint_file(path, x=0.25, y=0.5, colour=RED, radius=0.08):
    path.write_text(json.dumps({"points": [{"x": x, "y": y, "color": colour, "radius": radius}]}))
    return path


def test_colorize_with_a_hint_file_paints_the_hinted_spot(hint_home, tmp_path, capsys):
    photo = tmp_path / "in" / "scan.png"
    photo.parent.mkdir()
    Image.fromarray(np.full((120, 160), 128, np.uint8)).save(photo)
    hints = _hint_file(tmp_path / "scan.json")
    code = main.main(["colorize", str(photo), "-o", str(tmp_path / "out"), "--model", "hinted", "--hints", str(hints)])
    assert code == 0, capsys.readouterr().err
    rgb = np.asarray(Image.open(tmp_path / "out" / "scan.png").convert("RGB"))
    lab = _lab_at(rgb, 60, 40)
    assert float(ciede2000(lab, np.array([lab[0], *colour_ab(RED)]))) < 6.0


def test_hints_are_refused_for_a_batch_or_a_model_without_hint_channels(hint_home, tmp_path, capsys):
    folder = tmp_path / "in"
    write_gray_photo(folder / "a.png")
    write_gray_photo(folder / "b.png")
    hints = _hint_file(tmp_path / "h.json")
    assert (
        main.main(["colorize", str(folder), "-o", str(tmp_path / "out"), "--model", "hinted", "--hints", str(hints)])
        == 2
    )
    assert "--hints is for one photo" in capsys.readouterr().err
    assert (
        main.main(
            ["colorize", str(folder / "a.png"), "-o", str(tmp_path / "out"), "--model", "plain", "--hints", str(hints)]
        )
        == 2
    )
    assert "takes no colour hints" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text('{"points": [{"x": 2, "y": 0, "color": "#000000"}]}')
    assert (
        main.main(
            [
                "colorize",
                str(folder / "a.png"),
                "-o",
                str(tmp_path / "out"),
                "--model",
                "hinted",
                "--hints",
                str(tmp_path / "bad.json"),
            ]
        )
        == 2
    )
    assert "bad.json: points[0].x: must be between 0 and 1" in capsys.readouterr().err


def test_a_hints_folder_gives_each_photo_its_own_and_a_bad_file_fails_alone(hint_home, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a", "b", "c"):
        Image.fromarray(np.full((60, 80), 128, np.uint8)).save(folder / f"{name}.png")
    hints = tmp_path / "hints"
    hints.mkdir()
    _hint_file(hints / "a.json", x=0.5, y=0.5, radius=0.3)
    (hints / "b.json").write_text('{"strokes": [{"points": [[0.1, 0.1]], "color": "blue"}]}')
    code = main.main(
        ["colorize", str(folder), "-o", str(tmp_path / "out"), "--model", "hinted", "--hints-dir", str(hints)]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "b.json: strokes[0].color: must be an sRGB colour" in err
    assert not (tmp_path / "out" / "b.png").exists()
    a = np.asarray(Image.open(tmp_path / "out" / "a.png").convert("RGB"))
    c = np.asarray(Image.open(tmp_path / "out" / "c.png").convert("RGB"))
    assert float(ciede2000(_lab_at(a, 30, 40), _lab_at(c, 30, 40))) > 10  # a was hinted red, c was not
