"""The hint edit model (gui.models.hint_edits): edits, undo/redo, merged gestures, hit tests, recent colours.
Plain Python: no Qt, no torch."""

from __future__ import annotations

import pytest

from engine.hints.schema import MAX_POINTS, ColourAdjust, HintError, HintPoint, PhotoHints, ReferenceStats
from gui.models.hint_edits import MAX_SIZE, MIN_SIZE, POINT, STROKE, HintEdits, MarkRef, remember_colour

RED, BLUE, GREEN = "#b02020", "#2a5db0", "#20a040"


def test_each_edit_returns_the_new_hints_and_keeps_the_old_ones_intact():
    edits = HintEdits()
    empty = edits.hints
    one = edits.add_point(0.25, 0.5, RED, 0.03)
    assert one.points == (HintPoint(0.25, 0.5, RED, 0.03),)
    assert empty == PhotoHints() and edits.hints is one
    two = edits.add_stroke([(0.1, 0.1), (0.3, 0.2)], "#2A5DB0", 0.04)
    assert two.strokes[0].points == ((0.1, 0.1), (0.3, 0.2)) and two.strokes[0].color == BLUE
    moved = edits.move_point(0, 0.4, 0.6)
    assert (moved.points[0].x, moved.points[0].y) == (0.4, 0.6)
    recoloured = edits.set_colour(MarkRef(STROKE, 0), GREEN)
    assert recoloured.strokes[0].color == GREEN
    resized = edits.set_size(MarkRef(POINT, 0), 0.05)
    assert resized.points[0].radius == 0.05
    assert edits.set_size(MarkRef(STROKE, 0), 0.06).strokes[0].width == 0.06
    assert edits.delete_stroke(0).strokes == ()
    assert edits.delete_point(0).points == ()


def test_undo_and_redo_walk_the_history_and_a_new_edit_drops_the_redo_steps():
    edits = HintEdits()
    a = edits.add_point(0.1, 0.1, RED, 0.02)
    b = edits.add_point(0.9, 0.9, BLUE, 0.02)
    assert edits.undo() == a and edits.can_redo
    assert edits.undo() == PhotoHints() and not edits.can_undo
    assert edits.undo() == PhotoHints()  # nothing more to undo: no change, no error
    assert edits.redo() == a and edits.redo() == b and not edits.can_redo
    edits.undo()
    edits.add_point(0.5, 0.5, GREEN, 0.02)
    assert not edits.can_redo and [p.color for p in edits.hints.points] == [RED, GREEN]


def test_one_drag_or_slider_gesture_is_one_undo_step_until_sealed():
    edits = HintEdits()
    edits.add_point(0.1, 0.1, RED, 0.02)
    placed = edits.hints
    for step in range(1, 11):
        edits.move_point(0, 0.1 + step * 0.05, 0.1, merge=True)
    edits.seal()
    edits.move_point(0, 0.9, 0.9, merge=True)  # a second drag of the same point
    assert edits.undo().points[0].x == pytest.approx(0.6)
    assert edits.undo() == placed
    for warmth in (0.1, 0.2, 0.3):
        edits.set_adjust(warmth=warmth, merge=True)
    edits.set_adjust(tint=0.5, merge=True)  # another slider: its own step
    assert edits.hints.adjust.warmth == 0.3 and edits.hints.adjust.tint == 0.5
    assert edits.undo().adjust.tint == 0.0
    assert edits.undo().adjust.warmth == 0.0


def test_adjustments_change_only_what_is_given_and_a_reference_can_be_forgotten():
    edits = HintEdits()
    reference = ReferenceStats(5.0, 9.0, 12.0, 14.0)
    edits.set_adjust(warmth=0.4)
    edits.set_adjust(reference=reference, match=0.7)
    adjust = edits.hints.adjust
    assert (adjust.warmth, adjust.tint, adjust.reference, adjust.match) == (0.4, 0.0, reference, 0.7)
    assert edits.set_adjust(warmth=3.0, tint=-5.0).adjust.warmth == 1.0  # clamped into range
    assert edits.hints.adjust.tint == -1.0
    assert edits.set_adjust(reference=None).adjust.reference is None
    assert edits.hints.adjust.match == 0.7


def test_values_from_the_pointer_are_clamped_and_bad_colours_refused():
    edits = HintEdits()
    point = edits.add_point(-0.2, 1.4, RED, 9.0).points[0]
    assert (point.x, point.y, point.radius) == (0.0, 1.0, MAX_SIZE)
    assert edits.add_point(0.5, 0.5, RED, 0.0).points[1].radius == MIN_SIZE
    with pytest.raises(HintError, match="colour"):
        edits.add_point(0.5, 0.5, "red", 0.02)
    with pytest.raises(HintError, match="at least one point"):
        edits.add_stroke([], RED, 0.03)
    with pytest.raises(IndexError):
        edits.move_point(7, 0.5, 0.5)


def test_a_photo_cannot_get_more_points_than_a_hint_file_holds():
    edits = HintEdits(PhotoHints(points=tuple(HintPoint(0.5, 0.5, RED) for _ in range(MAX_POINTS))))
    with pytest.raises(HintError, match=f"at most {MAX_POINTS}"):
        edits.add_point(0.1, 0.1, RED, 0.02)


def test_an_edit_that_changes_nothing_adds_no_undo_step():
    edits = HintEdits()
    edits.add_point(0.5, 0.5, RED, 0.02)
    same = edits.set_colour(MarkRef(POINT, 0), RED)
    assert same is edits.hints
    assert edits.undo() == PhotoHints()


def test_clear_is_one_undo_step_and_reset_forgets_the_history():
    edits = HintEdits()
    edits.add_point(0.5, 0.5, RED, 0.02)
    edits.set_adjust(warmth=0.5)
    full = edits.hints
    assert edits.clear() == PhotoHints()
    assert edits.undo() == full
    edits.reset(PhotoHints(points=(HintPoint(0.2, 0.2, BLUE),)))
    assert not edits.can_undo and not edits.can_redo and edits.hints.points[0].color == BLUE


def test_hit_testing_uses_screen_pixels_and_prefers_the_topmost_point():
    edits = HintEdits()
    edits.add_stroke([(0.1, 0.5), (0.9, 0.5)], BLUE, 0.02)  # 8 px wide on a 400 px short side
    edits.add_point(0.5, 0.5, RED, 0.01)  # radius 4 px
    edits.add_point(0.52, 0.5, GREEN, 0.01)  # overlaps the first: later is on top, but nearest wins
    size = (600, 400)
    assert edits.hit_test(0.52, 0.5, size) == MarkRef(POINT, 1)
    assert edits.hit_test(0.5, 0.5, size) == MarkRef(POINT, 0)
    assert edits.hit_test(0.2, 0.5 + 6 / 400, size, tolerance_px=6) == MarkRef(STROKE, 0)  # 4 px half width + 2
    assert edits.hit_test(0.2, 0.5 + 12 / 400, size, tolerance_px=6) is None
    assert edits.hit_test(0.95, 0.1, size) is None


def test_the_tolerance_is_in_screen_pixels_whatever_the_zoom():
    edits = HintEdits()
    edits.add_point(0.5, 0.5, RED, 0.01)
    # 0.02 of the width off: 12 px at 600 wide (reach 4 + 6) misses, 6 px at 300 wide (reach 2 + 6) hits
    assert edits.hit_test(0.52, 0.5, (600, 400), tolerance_px=6) is None
    assert edits.hit_test(0.52, 0.5, (300, 200), tolerance_px=6) == MarkRef(POINT, 0)


def test_a_one_point_stroke_can_be_hit():
    edits = HintEdits()
    edits.add_stroke([(0.3, 0.3)], BLUE, 0.05)
    assert edits.hit_test(0.3, 0.3, (100, 100)) == MarkRef(STROKE, 0)


def test_recent_colours_are_unique_most_recent_first_and_at_most_eight():
    recent: tuple[str, ...] = ()
    for i in range(10):
        recent = remember_colour(recent, f"#0000{i:02x}")
    assert len(recent) == 8 and recent[0] == "#000009" and recent[-1] == "#000002"
    recent = remember_colour(recent, "#000005")
    assert recent[0] == "#000005" and recent.count("#000005") == 1 and len(recent) == 8
    assert remember_colour((), "B02020") == (RED,)
    with pytest.raises(HintError):
        remember_colour(recent, "not a colour")


# ------------------------------------------------------------------------------------ eyedropper


def test_the_eyedropper_averages_a_small_patch_and_stays_inside_the_photo():
    import numpy as np

    from gui.models.hint_reference import colour_at

    rgb = np.zeros((20, 40, 3), np.uint8)
    rgb[:, :20] = (200, 30, 30)
    rgb[:, 20:] = (30, 60, 200)
    rgb[10, 10] = (255, 255, 255)  # a speck of dust in the red, under the pointer
    assert colour_at(rgb, 0.25, 0.5) == "#ca2727"  # (24 x 200 + 255) / 25 = 202: the speck hardly shows
    assert colour_at(rgb, 0.9, 0.5) == "#1e3cc8"
    assert colour_at(rgb, 1.0, 1.0) == "#1e3cc8"  # the far corner: the patch is cut at the edge
    assert colour_at(rgb, -0.5, 0.0) == "#c81e1e"
    with pytest.raises(ValueError, match="uint8"):
        colour_at(rgb.astype(np.float32), 0.5, 0.5)


def test_replacing_all_hints_is_one_undo_step():
    edits = HintEdits()
    edits.add_point(0.5, 0.5, RED, 0.02)
    before = edits.hints
    loaded = PhotoHints(points=(HintPoint(0.2, 0.2, BLUE),), adjust=ColourAdjust(warmth=0.3))
    assert edits.replace_all(loaded) == loaded
    assert edits.undo() == before and edits.redo() == loaded
    with pytest.raises(TypeError):
        edits.replace_all({"points": []})
