"""The hint panel through its widgets: tools, size, colours (suggested, recent, the full dialog, the
reference photo's eyedropper), warmth/tint/match, undo/redo/clear, and its state for a model
without hint channels."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QColorDialog, QFileDialog

from engine.hints.schema import colour_ab
from gui.hints.editor import BRUSH_TOOL, POINT_TOOL, HintEditor
from gui.hints.panel import HintPanel
from gui.models.hint_edits import POINT, MarkRef
from gui.workers.background_tasks import BackgroundTasks

LEFT = Qt.MouseButton.LeftButton
RED = "#c01818"


@pytest.fixture
def ui(qtbot):
    tasks = BackgroundTasks()
    editor = HintEditor()
    panel = HintPanel(editor, tasks)
    editor.setParent(panel)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    yield SimpleNamespace(panel=panel, editor=editor, tasks=tasks)
    tasks.shutdown()


def _reference_photo(path):
    rgb = np.zeros((40, 80, 3), np.uint8)
    rgb[:, :40] = (200, 30, 30)  # red left half, blue right half
    rgb[:, 40:] = (30, 60, 200)
    Image.fromarray(rgb).save(path)
    return path


def test_tool_buttons_and_the_size_slider_set_the_brush(qtbot, ui):
    qtbot.mouseClick(ui.panel.brush_button, LEFT)
    assert ui.editor.tool == BRUSH_TOOL
    ui.panel.size_slider.setValue(60)
    assert ui.editor.size_of(BRUSH_TOOL) == pytest.approx(0.06)
    assert ui.panel.size_label.text() == "6.0 %"
    qtbot.mouseClick(ui.panel.point_button, LEFT)
    assert ui.editor.tool == POINT_TOOL
    assert ui.panel.size_slider.value() == 20  # the point tool keeps its own radius (2 %)


def test_the_size_slider_resizes_the_selected_point_in_one_undo_step(ui):
    ui.editor.add_point(0.5, 0.5)
    for value in (30, 40, 50):  # a slider drag
        ui.panel.size_slider.setValue(value)
    ui.panel.size_slider.sliderReleased.emit()
    assert ui.editor.hints.points[0].radius == pytest.approx(0.05)
    ui.panel.undo_button.click()
    assert ui.editor.hints.points[0].radius == pytest.approx(0.02)


def test_suggestions_and_recent_colours_are_swatches_that_recolour_the_selected_mark(qtbot, ui):
    ui.editor.choose_colour("#2040a0")
    ui.editor.add_point(0.5, 0.5)
    ui.panel.set_suggestions(["#aa3322", "#44aa22"])
    swatches = ui.panel.suggestions.buttons()
    assert [b.toolTip() for b in swatches] == ["#aa3322", "#44aa22"]
    qtbot.mouseClick(swatches[1], LEFT)
    assert ui.editor.hints.points[0].color == "#44aa22" and ui.editor.colour == "#44aa22"
    assert ui.panel.recent.colours()[:2] == ("#44aa22", "#2040a0")
    qtbot.mouseClick(ui.panel.recent.buttons()[1], LEFT)
    assert ui.editor.hints.points[0].color == "#2040a0"


def test_the_full_colour_dialog_does_not_block_and_its_choice_is_used(qtbot, ui):
    qtbot.mouseClick(ui.panel.more_colours_button, LEFT)  # returns at once: exec() would hang here
    dialog = ui.panel.findChild(QColorDialog)
    assert dialog is not None and dialog.isVisible()
    dialog.setCurrentColor(QColor("#123456"))
    dialog.accept()
    assert ui.editor.colour == "#123456"
    assert ui.panel.colour_button.text() == "#123456"


def test_warmth_tint_and_match_sliders_adjust_and_undo_moves_them_back(ui):
    for value in (10, 25, 40):
        ui.panel.warmth_slider.setValue(value)
    ui.panel.warmth_slider.sliderReleased.emit()
    ui.panel.tint_slider.setValue(-30)
    adjust = ui.editor.hints.adjust
    assert (adjust.warmth, adjust.tint) == pytest.approx((0.4, -0.3))
    assert ui.panel.warmth_label.text() == "+40 %"
    ui.panel.undo_button.click()
    ui.panel.undo_button.click()
    assert ui.editor.hints.adjust.warmth == 0 and ui.panel.warmth_slider.value() == 0
    assert not ui.panel.undo_button.isEnabled() and ui.panel.redo_button.isEnabled()
    ui.panel.redo_button.click()
    assert ui.panel.warmth_slider.value() == 40


def test_clear_removes_every_mark_and_adjustment(ui):
    ui.editor.add_point(0.5, 0.5)
    ui.panel.tint_slider.setValue(50)
    ui.panel.clear_button.click()
    assert ui.editor.hints.is_empty and ui.panel.tint_slider.value() == 0


def test_the_eyedropper_picks_a_colour_from_a_reference_photo_and_its_colours_can_be_matched(qtbot, ui, tmp_path):
    path = _reference_photo(tmp_path / "reference.png")
    view = ui.panel.reference_view
    with qtbot.waitSignal(view.photo_loaded, timeout=10_000):
        view.load(path)
    assert "reference.png" in ui.panel.reference_status.text() and ui.panel.match_button.isEnabled()
    ui.editor.add_point(0.5, 0.5)
    rect = view.image_rect()
    qtbot.mouseClick(view, LEFT, pos=QPoint(round(rect.x() + rect.width() * 0.25), round(rect.center().y())))
    assert ui.editor.colour == "#c81e1e" and ui.editor.hints.points[0].color == "#c81e1e"
    with qtbot.waitSignal(ui.editor.hints_edited, timeout=10_000):
        qtbot.mouseClick(ui.panel.match_button, LEFT)
    reference = ui.editor.hints.adjust.reference
    red_a, blue_a = colour_ab("#c81e1e")[0], colour_ab("#1e3cc8")[0]
    assert reference.a_mean == pytest.approx((red_a + blue_a) / 2, abs=2.0) and reference.a_std > 10
    assert ui.panel.match_slider.isEnabled() and ui.panel.match_status.text()
    ui.panel.match_slider.setValue(60)
    assert ui.editor.hints.adjust.match == pytest.approx(0.6)
    qtbot.mouseClick(ui.panel.forget_reference_button, LEFT)
    assert ui.editor.hints.adjust.reference is None and not ui.panel.match_slider.isEnabled()


def test_opening_a_reference_photo_asks_without_blocking(qtbot, ui, tmp_path):
    path = _reference_photo(tmp_path / "reference.png")
    qtbot.mouseClick(ui.panel.open_reference_button, LEFT)
    dialog = ui.panel.findChild(QFileDialog)
    assert dialog is not None and dialog.isVisible()
    with qtbot.waitSignal(ui.panel.reference_view.photo_loaded, timeout=10_000) as loaded:
        dialog.fileSelected.emit(str(path))  # what choosing the file and pressing Open does
        dialog.reject()
    assert loaded.args == [path]


def test_an_unreadable_reference_photo_says_why(qtbot, ui, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a photo")
    with qtbot.waitSignal(ui.panel.reference_view.load_failed, timeout=10_000):
        ui.panel.reference_view.load(broken)
    assert "broken.jpg" in ui.panel.reference_status.text()


def test_for_a_model_without_hints_the_marks_are_off_with_an_explanation(qtbot, ui):
    ui.panel.set_suggestions(["#aa3322"])
    ui.panel.set_model_takes_hints(False)
    assert ui.panel.explanation.isVisible()
    assert "takes no colour hints" in ui.panel.explanation.text()
    assert "revive-base (v2)" in ui.panel.explanation.text()
    assert not ui.panel.marks_box.isEnabled() and not ui.panel.point_button.isEnabled()
    assert not ui.panel.suggestions.colours() and not ui.panel.reference_view.isEnabled()
    assert ui.panel.whole_box.isEnabled()  # warmth and tint need no hint channels
    ui.panel.set_model_takes_hints(True)
    assert not ui.panel.explanation.isVisible() and ui.panel.marks_box.isEnabled()


def test_the_panel_follows_the_editor_when_a_mark_is_selected(ui):
    ui.editor.set_size(0.07)
    ui.editor.add_point(0.2, 0.2)  # placed and selected
    ui.editor.select(None)  # else the next size would resize it
    ui.editor.set_size(0.02)
    ui.editor.add_point(0.8, 0.8)
    ui.editor.select(MarkRef(POINT, 0))
    assert ui.panel.size_slider.value() == 70  # shows the selected point's radius
    assert ui.editor.hints.points[0].radius == pytest.approx(0.07)  # and resized nothing
