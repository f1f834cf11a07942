"""The hint overlay driven as a user would: click, drag, right click, Delete, Ctrl+Z, Ctrl+Shift+Z, the
brush; what it leaves to the view under it; and that the marks are drawn where they are."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from PySide6.QtCore import QPoint, QRectF, Qt
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import QWidget

from engine.hints.schema import PhotoHints
from gui.hints.editor import BRUSH_TOOL, HintEditor
from gui.hints.overlay import HintOverlay
from gui.models.hint_edits import POINT, STROKE, MarkRef

RED, BLUE = "#c01818", "#1840c0"
PHOTO = QRectF(50, 25, 300, 200)  # where the "view" shows the photo: a margin all round
CTRL = Qt.KeyboardModifier.ControlModifier
LEFT, RIGHT, MIDDLE = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton, Qt.MouseButton.MiddleButton


class FakeView(QWidget):
    """Stands in for the compare view: records the mouse presses that reach it."""

    def __init__(self) -> None:
        super().__init__()
        self.presses: list[Qt.MouseButton] = []

    def mousePressEvent(self, event) -> None:
        self.presses.append(event.button())


def at(x: float, y: float) -> QPoint:
    """The widget position of (x, y), 0..1 of the photo."""
    return QPoint(round(PHOTO.x() + x * PHOTO.width()), round(PHOTO.y() + y * PHOTO.height()))


@pytest.fixture
def ui(qtbot):
    view = FakeView()
    view.resize(400, 250)
    qtbot.addWidget(view)
    editor = HintEditor(view)
    overlay = HintOverlay(editor)
    overlay.attach(view, lambda: [PHOTO])
    view.show()
    qtbot.waitExposed(view)
    overlay.set_active(True)
    view.activateWindow()
    qtbot.waitUntil(overlay.hasFocus)
    return SimpleNamespace(view=view, editor=editor, overlay=overlay)


def drag(qtbot, widget, start: QPoint, end: QPoint, button=LEFT, steps: int = 6) -> None:
    qtbot.mousePress(widget, button, pos=start)
    for i in range(1, steps + 1):
        qtbot.mouseMove(
            widget,
            QPoint(start.x() + (end.x() - start.x()) * i // steps, start.y() + (end.y() - start.y()) * i // steps),
        )
    qtbot.mouseRelease(widget, button, pos=end)


def test_the_overlay_covers_the_view_and_follows_its_size(ui):
    assert ui.overlay.geometry() == ui.view.rect()
    ui.view.resize(500, 300)
    assert ui.overlay.size() == ui.view.size()


def test_a_click_places_a_point_of_the_current_colour_and_size(qtbot, ui):
    ui.editor.choose_colour(RED)
    ui.editor.set_size(0.05)
    with qtbot.waitSignal(ui.overlay.hints_edited) as edited, qtbot.waitSignal(ui.overlay.mark_selected) as selected:
        qtbot.mouseClick(ui.overlay, LEFT, pos=at(0.25, 0.5))
    (point,) = edited.args[0].points
    assert (point.x, point.y) == pytest.approx((0.25, 0.5), abs=0.005)
    assert point.color == RED and point.radius == 0.05
    assert selected.args == pytest.approx([0.25, 0.5], abs=0.005)
    assert ui.editor.selected == MarkRef(POINT, 0)


def test_dragging_a_point_moves_it_and_undo_redo_take_the_whole_drag(qtbot, ui):
    qtbot.mouseClick(ui.overlay, LEFT, pos=at(0.25, 0.5))
    drag(qtbot, ui.overlay, at(0.25, 0.5), at(0.75, 0.25))
    point = ui.editor.hints.points[0]
    assert len(ui.editor.hints.points) == 1
    assert (point.x, point.y) == pytest.approx((0.75, 0.25), abs=0.01)
    qtbot.keyClick(ui.overlay, Qt.Key.Key_Z, CTRL)
    assert ui.editor.hints.points[0].x == pytest.approx(0.25, abs=0.01)  # the drag, undone in one step
    qtbot.keyClick(ui.overlay, Qt.Key.Key_Z, CTRL)
    assert ui.editor.hints.points == ()
    qtbot.keyClick(ui.overlay, Qt.Key.Key_Z, CTRL | Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(ui.overlay, Qt.Key.Key_Z, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert ui.editor.hints.points[0].x == pytest.approx(0.75, abs=0.01)


def test_a_point_is_grabbed_where_it_was_clicked_not_snapped_to_the_pointer(qtbot, ui):
    ui.editor.set_size(0.05)  # 10 px radius on this 200 px short side
    qtbot.mouseClick(ui.overlay, LEFT, pos=at(0.5, 0.5))
    grab = at(0.5, 0.5) + QPoint(6, 0)  # near the edge of the point
    drag(qtbot, ui.overlay, grab, grab + QPoint(30, 0))
    assert ui.editor.hints.points[0].x == pytest.approx(0.5 + 30 / 300, abs=0.005)
    assert len(ui.editor.hints.points) == 1


def test_right_click_or_delete_removes_a_mark_and_undo_brings_it_back(qtbot, ui):
    qtbot.mouseClick(ui.overlay, LEFT, pos=at(0.2, 0.5))
    qtbot.mouseClick(ui.overlay, LEFT, pos=at(0.8, 0.5))
    qtbot.mouseClick(ui.overlay, RIGHT, pos=at(0.2, 0.5))
    assert [p.x for p in ui.editor.hints.points] == pytest.approx([0.8], abs=0.01)
    qtbot.mouseClick(ui.overlay, LEFT, pos=at(0.8, 0.5))  # select it
    qtbot.keyClick(ui.overlay, Qt.Key.Key_Delete)
    assert ui.editor.hints.points == () and ui.editor.selected is None
    qtbot.keyClick(ui.overlay, Qt.Key.Key_Z, CTRL)
    assert len(ui.editor.hints.points) == 1


def test_the_brush_paints_a_stroke_and_a_right_click_removes_it(qtbot, ui):
    ui.editor.choose_colour(BLUE)
    ui.editor.set_tool(BRUSH_TOOL)
    ui.editor.set_size(0.04)
    with qtbot.waitSignal(ui.overlay.hints_edited) as edited:
        drag(qtbot, ui.overlay, at(0.2, 0.2), at(0.6, 0.4))
    (stroke,) = edited.args[0].strokes
    assert stroke.color == BLUE and stroke.width == 0.04 and len(stroke.points) >= 4
    assert stroke.points[0] == pytest.approx((0.2, 0.2), abs=0.01)
    assert stroke.points[-1] == pytest.approx((0.6, 0.4), abs=0.01)
    assert ui.editor.hints.points == ()  # painting never places points
    assert ui.editor.selected == MarkRef(STROKE, 0)
    qtbot.mouseClick(ui.overlay, RIGHT, pos=at(0.4, 0.3))
    assert ui.editor.hints.strokes == ()


def test_a_point_under_the_pointer_wins_over_a_stroke_in_the_point_tool(qtbot, ui):
    ui.editor.set_tool(BRUSH_TOOL)
    drag(qtbot, ui.overlay, at(0.1, 0.5), at(0.9, 0.5))
    ui.editor.set_tool("point")
    qtbot.mouseClick(ui.overlay, LEFT, pos=at(0.3, 0.2))  # a point away from the stroke
    qtbot.mouseClick(ui.overlay, LEFT, pos=at(0.5, 0.5))  # on the stroke: selects it, adds nothing
    assert len(ui.editor.hints.points) == 1 and ui.editor.selected == MarkRef(STROKE, 0)


def test_escape_drops_the_selection(qtbot, ui):
    qtbot.mouseClick(ui.overlay, LEFT, pos=at(0.5, 0.5))
    qtbot.keyClick(ui.overlay, Qt.Key.Key_Escape)
    assert ui.editor.selected is None and len(ui.editor.hints.points) == 1


def test_undo_in_the_overlay_wins_over_a_window_shortcut(qtbot, ui):
    fired = []
    action = QAction("Window undo", ui.view)
    action.setShortcut(QKeySequence("Ctrl+Z"))
    action.triggered.connect(lambda: fired.append(True))
    ui.view.addAction(action)
    qtbot.mouseClick(ui.overlay, LEFT, pos=at(0.5, 0.5))
    qtbot.keyClick(ui.overlay, Qt.Key.Key_Z, CTRL)
    assert ui.editor.hints.points == () and not fired


def test_clicks_beside_the_photo_and_the_middle_button_go_to_the_view(qtbot, ui):
    qtbot.mouseClick(ui.overlay, LEFT, pos=QPoint(10, 10))  # in the margin around the photo
    qtbot.mouseClick(ui.overlay, MIDDLE, pos=at(0.5, 0.5))  # the view pans with it
    assert ui.editor.hints == PhotoHints()
    assert ui.view.presses == [LEFT, MIDDLE]


def test_out_of_hint_mode_or_while_hints_load_clicks_edit_nothing(qtbot, ui):
    ui.editor.set_enabled(False)
    qtbot.mouseClick(ui.overlay, LEFT, pos=at(0.5, 0.5))
    assert ui.editor.hints == PhotoHints() and ui.view.presses == [LEFT]  # the view pans meanwhile
    ui.editor.set_enabled(True)
    ui.overlay.set_active(False)
    assert not ui.overlay.isVisible()
    qtbot.mouseClick(ui.view, LEFT, pos=at(0.5, 0.5))
    assert ui.editor.hints == PhotoHints() and ui.view.presses == [LEFT, LEFT]


def test_marks_are_drawn_in_their_colour_where_they_are(qtbot, ui):
    ui.editor.choose_colour(RED)
    qtbot.mouseClick(ui.overlay, LEFT, pos=at(0.3, 0.4))
    ui.editor.select(None)
    image = ui.view.grab().toImage()
    centre = at(0.3, 0.4)
    assert image.pixelColor(centre) == QColor(RED)
    assert image.pixelColor(at(0.7, 0.4)) != QColor(RED)
    ui.overlay.set_marks_visible(False)
    assert ui.view.grab().toImage().pixelColor(centre) != QColor(RED)


def test_undo_in_the_middle_of_a_drag_does_not_break_the_drag(qtbot, ui):
    qtbot.mousePress(ui.overlay, LEFT, pos=at(0.5, 0.5))  # places a point and grabs it
    qtbot.keyClick(ui.overlay, Qt.Key.Key_Z, CTRL)  # the point is gone
    qtbot.mouseMove(ui.overlay, at(0.6, 0.5))
    qtbot.mouseRelease(ui.overlay, LEFT, pos=at(0.6, 0.5))
    assert ui.editor.hints.points == ()


def test_in_side_by_side_both_panes_take_and_show_the_same_marks(qtbot):
    view = FakeView()
    view.resize(420, 200)
    qtbot.addWidget(view)
    editor = HintEditor(view)
    overlay = HintOverlay(editor)
    left, right = QRectF(10, 50, 180, 120), QRectF(230, 50, 180, 120)
    overlay.attach(view, lambda: [left, right])
    view.show()
    qtbot.waitExposed(view)
    overlay.set_active(True)
    editor.choose_colour(RED)
    qtbot.mouseClick(overlay, LEFT, pos=QPoint(230 + 45, 50 + 60))  # in the right pane
    (point,) = editor.hints.points
    assert (point.x, point.y) == pytest.approx((0.25, 0.5), abs=0.01)
    editor.select(None)
    image = view.grab().toImage()
    assert image.pixelColor(QPoint(10 + 45, 50 + 60)) == QColor(RED)  # drawn in the left pane too
    assert overlay.mark_at(QPoint(10 + 45, 50 + 60)) == MarkRef(POINT, 0)
