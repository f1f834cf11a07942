"""Issue 10 in the real main window with a tiny hint model: the Hint tool (H) places, drags, deletes,
undoes and redoes colour points on the photo; Export, the list's colorizing after a restart and the
batch panel all use the hints; a model without hint channels keeps the tool's marks off and says why."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from engine.hints.schema import ColourAdjust, PhotoHints, colour_ab
from engine.hints.store import HintStore, photo_key
from engine.metrics import ciede2000, to_lab
from gui.models.hint_edits import MarkRef
from gui.models.newest_slot import NewestSlot
from gui.models.photo_session import PhotoStatus
from gui.workers.display_images import load_cached
from tests.gui.conftest import TINY
from tests.gui.test_family_window import hold_model_load
from tests.gui.test_gui_window import drop, wait_all_finished
from tests.helpers import constant_colour_module, install_model

HINTED = "tinyhint"
RED = "#c01818"
LEFT, MIDDLE = Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton
CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier
SPOT, FAR = (0.25, 0.5), (0.85, 0.5)
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "hint_demo.py"


@pytest.fixture
def hint_model(revive_home) -> str:
    """A tiny model with hint channels whose own colour is a*b* near (10, 40) everywhere."""
    install_model(revive_home, HINTED, constant_colour_module(10.0, 40.0, hints=True), render_size=64)
    return HINTED


def gray_photo(path: Path, size=(160, 120)) -> Path:
    """A smooth mid-gray photo: a hint's colour fits the sRGB gamut at every spot of it."""
    width, height = size
    ramp = np.linspace(110, 150, width)[None, :].repeat(height, axis=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(ramp.round().astype(np.uint8), "L").save(path)
    return path


@pytest.fixture
def photo(tmp_path) -> Path:
    return gray_photo(tmp_path / "photos" / "grandma.png")


def at(window, x: float, y: float) -> QPoint:
    """The position over the view (= the overlay) of (x, y), 0..1 of the photo on show."""
    (rect,) = window.compare_view.photo_rects()
    return QPoint(round(rect.x() + x * rect.width()), round(rect.y() + y * rect.height()))


def lab_at(rgb: np.ndarray, x: float, y: float) -> np.ndarray:
    """Mean Lab of a 5x5 patch around (x, y), 0..1 of ``rgb``."""
    row, col = round(y * (rgb.shape[0] - 1)), round(x * (rgb.shape[1] - 1))
    patch = np.ascontiguousarray(rgb[row - 2 : row + 3, col - 2 : col + 3, :3])
    return to_lab(patch).reshape(-1, 3).mean(axis=0)


def hint_error(rgb: np.ndarray, colour: str, x: float, y: float) -> float:
    """CIEDE2000 at (x, y) to ``colour``'s chroma at that spot's own lightness (hints give chroma only)."""
    lab = lab_at(rgb, x, y)
    return float(ciede2000(lab, np.array([lab[0], *colour_ab(colour)])))


def read_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def open_and_colorize(qtbot, window, photo: Path) -> None:
    drop(window, [photo])
    wait_all_finished(qtbot, window, len(window.photo_list.paths()) or 1)
    qtbot.waitUntil(window.compare_view.has_result, timeout=10_000)


def hint_mode_on(qtbot, window, photo: Path) -> None:
    """Press H; wait until the photo's saved hints are in the editor."""
    qtbot.waitUntil(window.hint_action.isEnabled, timeout=20_000)
    QTest.keyClick(window, Qt.Key.Key_H)
    assert window.hint_action.isChecked() and window.hints.is_on()
    qtbot.waitUntil(lambda: window.hints.session.photo() == photo and window.hints.editor.enabled, timeout=10_000)


def place_red_point(qtbot, window, x: float, y: float) -> None:
    editor = window.hints.editor
    editor.choose_colour(RED)
    editor.set_size(0.08)  # this test model does not spread a hint as a trained one does: cover the spot
    qtbot.mouseClick(window.hints.overlay, LEFT, pos=at(window, x, y))


def export(qtbot, window, target: Path) -> np.ndarray:
    with qtbot.waitSignal(window.controller.export_finished, timeout=20_000):
        window.export_current(target)
    return read_rgb(target)


def test_the_hint_tool_places_drags_deletes_undoes_and_redoes_points(qtbot, make_window, hint_model, photo):
    window = make_window(model=hint_model)
    window.resize(1200, 800)
    open_and_colorize(qtbot, window, photo)
    assert window.toolbar.widgetForAction(window.hint_action) is not None
    hint_mode_on(qtbot, window, photo)
    hints, overlay, editor = window.hints, window.hints.overlay, window.hints.editor
    assert overlay.isVisible() and window.side_tabs.currentWidget() is window.hint_tab
    qtbot.waitUntil(overlay.hasFocus)
    assert hints.panel.isEnabled() and not hints.panel.explanation.isVisibleTo(hints.panel)
    frames = []
    hints.session.preview_ready.connect(lambda path, rgb: frames.append(rgb))

    place_red_point(qtbot, window, *SPOT)
    (point,) = editor.hints.points
    assert (point.x, point.y) == pytest.approx(SPOT, abs=0.01) and point.color == RED
    # The result side shows the preview, which follows the hint within a moment.
    qtbot.waitUntil(lambda: bool(frames) and hint_error(frames[-1], RED, *SPOT) < 6, timeout=20_000)
    assert abs(lab_at(frames[-1], *FAR)[1] - 10) < 6  # far away: the model's own colour

    QTest.mousePress(overlay, LEFT, pos=at(window, *SPOT))
    for step in range(1, 6):
        QTest.mouseMove(overlay, at(window, 0.25 + 0.03 * step, 0.5 - 0.04 * step))
    QTest.mouseRelease(overlay, LEFT, pos=at(window, 0.4, 0.3))
    (moved,) = editor.hints.points
    assert (moved.x, moved.y) == pytest.approx((0.4, 0.3), abs=0.01)
    assert overlay.mark_at(QPointF(at(window, 0.4, 0.3))) == MarkRef("point", 0)
    assert overlay.mark_at(QPointF(at(window, *SPOT))) is None

    QTest.keyClick(overlay, Qt.Key.Key_Delete)
    assert editor.hints.points == ()
    QTest.keyClick(overlay, Qt.Key.Key_Z, CTRL)
    assert [(p.x, p.y) for p in editor.hints.points] == [(moved.x, moved.y)]
    QTest.keyClick(overlay, Qt.Key.Key_Z, CTRL)  # the whole drag was one step
    assert [(p.x, p.y) for p in editor.hints.points] == [(point.x, point.y)]
    QTest.keyClick(overlay, Qt.Key.Key_Z, CTRL | SHIFT)
    assert [(p.x, p.y) for p in editor.hints.points] == [(moved.x, moved.y)]

    # The view under the overlay still zooms and pans (middle button); Space hides the marks.
    view = window.compare_view
    for _ in range(10):  # well past the view's size: there is room to pan
        window.zoom_in_action.trigger()
    pan = view.pan()
    QTest.mousePress(overlay, MIDDLE, pos=QPoint(600, 400))
    QTest.mouseMove(overlay, QPoint(560, 380))
    QTest.mouseRelease(overlay, MIDDLE, pos=QPoint(560, 380))
    assert view.pan() != pan and len(editor.hints.points) == 1
    view.show_original(True)
    assert not overlay.marks_visible()
    view.show_original(False)
    assert overlay.marks_visible()

    QTest.keyClick(window, Qt.Key.Key_H)  # off: the view is as before
    assert not window.hint_action.isChecked() and not overlay.isVisible() and not hints.panel.isEnabled()


def test_export_writes_the_hint_s_colour_at_the_hint_and_the_model_s_elsewhere(
    qtbot, make_window, hint_model, photo, tmp_path
):
    window = make_window(model=hint_model)
    open_and_colorize(qtbot, window, photo)
    plain = export(qtbot, window, tmp_path / "out" / "plain.png")
    hint_mode_on(qtbot, window, photo)
    place_red_point(qtbot, window, *SPOT)
    hints = window.hints.editor.hints
    window.hint_action.trigger()  # hint mode off: the full-resolution result follows the hints
    entry = window.controller.session.get(photo)
    assert entry.hints == hints and entry.saving  # being applied: Export waits for it
    hinted = export(qtbot, window, tmp_path / "out" / "hinted.png")
    assert hinted.shape == plain.shape == (120, 160, 3)
    assert hint_error(hinted, RED, *SPOT) < 6 < hint_error(plain, RED, *SPOT)
    far = (slice(None), slice(120, None))
    assert (
        float(np.mean(ciede2000(to_lab(np.ascontiguousarray(hinted[far])), to_lab(np.ascontiguousarray(plain[far])))))
        < 1.0
    )
    assert entry.result_hints == entry.hints
    # The view shows the full result again, with the hint.
    qtbot.waitUntil(lambda: not entry.saving and window.compare_view.has_result(), timeout=10_000)


def test_hints_come_back_after_a_restart_and_colorize_the_photo_again(
    qtbot, make_window, hint_model, photo, revive_home
):
    first = make_window(model=hint_model)
    open_and_colorize(qtbot, first, photo)
    hint_mode_on(qtbot, first, photo)
    place_red_point(qtbot, first, *SPOT)
    first.hints.panel.warmth_slider.setValue(20)
    saved = first.hints.editor.hints
    first.close()  # quitting writes the edits that wait
    assert HintStore(revive_home / "hints").load(photo_key(photo)) == saved

    second = make_window(model=hint_model)  # a new window and controller, nothing in memory
    second.open_paths([photo])
    wait_all_finished(qtbot, second, 1)
    entry = second.controller.session.get(photo)
    assert entry.saved_hints == saved and entry.hints == saved and entry.result_hints == saved
    assert hint_error(np.asarray(load_cached(entry.cache_path)), RED, *SPOT) < 6  # colorized with them
    qtbot.waitUntil(second.compare_view.has_result, timeout=10_000)
    hint_mode_on(qtbot, second, photo)
    assert second.hints.editor.hints == saved and not second.hints.editor.edits.can_undo
    assert second.hints.overlay.mark_at(QPointF(at(second, *SPOT))) is not None  # drawn where it was put
    assert second.hints.panel.warmth_slider.value() == 20


def test_the_batch_panel_uses_the_saved_hints_of_the_photos_that_have_them(qtbot, make_window, hint_model, tmp_path):
    album = tmp_path / "album"
    hinted = gray_photo(album / "hinted.png")
    gray_photo(album / "plain.png", (160, 121))  # another photo (another size: another content key)
    window = make_window(model=hint_model)
    window.settings_panel.auto_colorize.setChecked(False)  # the list need not colorize: hints only
    window.open_paths([hinted])
    qtbot.waitUntil(window.compare_view.has_photo, timeout=10_000)
    hint_mode_on(qtbot, window, hinted)
    place_red_point(qtbot, window, *SPOT)
    output = tmp_path / "out"
    window.batch_panel.set_form(input_dir=album, output_dir=output, recursive=False, format="png", skip_existing=False)
    with qtbot.waitSignal(window.controller.batch_finished, timeout=30_000) as finished:
        window.batch_panel.start_button.click()  # the edit just made is saved first
    assert finished.args[0].summary.done == 2
    assert hint_error(read_rgb(output / "hinted.png"), RED, *SPOT) < 6
    assert hint_error(read_rgb(output / "plain.png"), RED, *SPOT) > 20  # no hints: the model's own colour


def test_without_a_hint_model_the_tool_is_off_and_says_why(qtbot, make_window, photo, monkeypatch):
    gate = hold_model_load(monkeypatch)
    try:
        window = make_window(model=TINY)  # no hint channels
        assert not window.hint_action.isEnabled() and "once the colorizer has loaded" in window.hint_action.toolTip()
        window.hint_action.trigger()
        assert not window.hints.is_on()
    finally:
        gate.set()
    open_and_colorize(qtbot, window, photo)
    qtbot.waitUntil(window.hint_action.isEnabled, timeout=20_000)
    assert "takes no colour marks" in window.hint_action.toolTip()
    window.side_tabs.setCurrentWidget(window.hint_tab)  # choosing the Hints tab turns the tool on
    assert window.hints.is_on() and window.hint_action.isChecked()
    panel = window.hints.panel
    assert not window.hints.overlay.isVisible()  # no marks: the left button stays the view's
    assert panel.explanation.isVisibleTo(panel) and "takes no colour hints" in panel.explanation.text()
    assert not panel.marks_box.isEnabled() and panel.whole_box.isEnabled()
    split = window.compare_view.split_position()
    QTest.mouseClick(window.compare_view, LEFT, pos=at(window, 0.3, 0.5))
    assert window.hints.editor.hints.points == () and window.compare_view.split_position() != split


def test_hints_given_to_a_photo_left_before_they_were_applied_still_reach_its_result(
    qtbot, make_window, hint_model, tmp_path, monkeypatch
):
    first, second = gray_photo(tmp_path / "a.png"), gray_photo(tmp_path / "b.png", (160, 121))
    window = make_window(model=hint_model)
    open_and_colorize(qtbot, window, first)
    window.open_paths([second])
    wait_all_finished(qtbot, window, 2)
    controller = window.controller
    gate = hold_model_load(monkeypatch)  # the inference thread is busy (loading) until the gate opens
    try:
        controller.choose_model(hint_model, reload=True)
        warm, cool = (PhotoHints(adjust=ColourAdjust(warmth=w)) for w in (0.5, -0.5))
        controller.set_saved_hints(first, warm)  # on show: re-tuned...
        a = controller.session.get(first)
        assert a.saving
        window.photo_list.select_path(second)
        qtbot.waitUntil(lambda: controller.current() == second)
        controller.set_saved_hints(second, cool)  # ...but this newer re-tune replaces it before it is served
        assert a.saving == 0 and a.status == PhotoStatus.QUEUED  # colorized again instead
    finally:
        gate.set()
    b = controller.session.get(second)
    qtbot.waitUntil(
        lambda: a.status == PhotoStatus.DONE and a.result_hints == warm and not b.saving and b.result_hints == cool,
        timeout=20_000,
    )
    assert controller.can_export(first) and controller.can_export(second)


def test_the_newest_slot_keeps_the_newest_request_and_wakes_once():
    slot: NewestSlot[int] = NewestSlot()
    assert slot.put(1) == (True, None)  # asleep: wake it
    assert slot.put(2) == (False, 1)  # due already; 1 was never taken
    assert slot.pending() and slot.take() == 2 and not slot.pending()
    assert slot.put(3) == (False, None)  # still due: it looks again before sleeping
    assert slot.take() == 3 and slot.take() is None  # empty: no longer due
    assert slot.put(4).wake and slot.peek() == 4
    assert slot.update(lambda value: value + 1) == (False, 4) and slot.take() == 5


def test_the_hint_demo_script_saves_the_three_screenshots(qtbot, revive_home, hint_model, photo, tmp_path):
    spec = importlib.util.spec_from_file_location("hint_demo_script", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    hints = tmp_path / "grandma.json"
    hints.write_text(
        json.dumps({"points": [{"x": 0.25, "y": 0.5, "color": RED, "radius": 0.08}], "adjust": {"warmth": 0.2}})
    )
    out = tmp_path / "demo"
    try:
        assert (
            script.main(
                [
                    "--photo",
                    str(photo),
                    "--hints",
                    str(hints),
                    "--model",
                    hint_model,
                    "--out-dir",
                    str(out),
                    "--size",
                    "1100x700",
                ]
            )
            == 0
        )
    finally:
        QApplication.instance().setStyleSheet("")
    for name in ("hints-before.png", "hints-after.png", "wizard.png"):
        with Image.open(out / name) as image:
            assert image.size[0] > 300 and image.size[1] > 200
    assert read_rgb(out / "hints-before.png").shape == read_rgb(out / "hints-after.png").shape == (700, 1100, 3)
    assert not np.array_equal(read_rgb(out / "hints-before.png"), read_rgb(out / "hints-after.png"))
    assert not (revive_home / "hints").exists()  # the user's saved hints are left alone
    assert not (revive_home / "settings.ini").exists()
    bad = tmp_path / "bad.json"
    bad.write_text('{"points": [{"x": 2, "y": 0.5, "color": "#ff0000"}]}')
    assert script.main(["--photo", str(photo), "--hints", str(bad), "--model", hint_model, "--out-dir", str(out)]) == 1
    assert PhotoHints.from_json(hints.read_text()).has_marks
