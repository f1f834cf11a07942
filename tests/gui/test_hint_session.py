"""The hint tools end to end with a tiny hint model: edits on the overlay are previewed and saved,
they come back after a restart (by the photo's content, under any name), and selecting a spot
shows the model's likely colours in the panel."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRectF, Qt
from PySide6.QtWidgets import QWidget

from engine.hints.schema import ColourAdjust, HintPoint, PhotoHints, colour_ab
from engine.hints.store import HintStore, photo_key
from engine.imaging import read_photo, read_preview_rgb
from engine.metrics import ciede2000, to_lab
from gui.hints.editor import HintEditor
from gui.hints.overlay import HintOverlay
from gui.hints.panel import HintPanel
from gui.hints.persistence import HintPersistence
from gui.hints.preview import HintPreview
from gui.hints.session import HintSession
from gui.workers.background_tasks import BackgroundTasks
from tests.gui.conftest import write_photo_file
from tests.helpers import constant_colour_module, cpu_colorizer

RED = "#c01818"
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("REVIVE_HOME", str(home))
    return home


@pytest.fixture
def photo(tmp_path):
    return write_photo_file(tmp_path / "photos" / "grandma.jpg", size=(160, 120))


class App:
    """The hint tools as the main window will hold them: a view with the overlay, the panel, the
    preview on its own thread with a tiny hint model, and the saved hints."""

    def __init__(self, qtbot):
        self.view = QWidget()
        self.view.resize(320, 240)
        qtbot.addWidget(self.view)
        self.editor = HintEditor(self.view)
        self.overlay = HintOverlay(self.editor)
        self.overlay.attach(self.view, lambda: [QRectF(self.view.rect())])
        self.tasks = BackgroundTasks()
        self.panel = HintPanel(self.editor, self.tasks)
        qtbot.addWidget(self.panel)
        self.preview = HintPreview()
        self.preview.set_colorizer(cpu_colorizer(constant_colour_module(10.0, 40.0, hints=True), render_size=64))
        self.colorizer_copy = cpu_colorizer(constant_colour_module(10.0, 40.0, hints=True), render_size=64)
        self.persistence = HintPersistence()
        self.session = HintSession(self.editor, self.preview, self.persistence)
        self.session.suggestions_ready.connect(self.panel.set_suggestions)
        self.view.show()
        self.overlay.set_active(True)

    def at(self, x: float, y: float) -> QPoint:
        return QPoint(round(x * self.view.width()), round(y * self.view.height()))

    def close(self) -> None:
        """Quit: the waiting save is written, every thread stops."""
        self.persistence.shutdown()
        self.preview.shutdown()
        self.tasks.shutdown()


@pytest.fixture
def make_app(qtbot, home):
    apps = []

    def make() -> App:
        apps.append(App(qtbot))
        return apps[-1]

    yield make
    for app in apps:
        app.close()


def _show(qtbot, app: App, path) -> PhotoHints:
    with qtbot.waitSignal(app.session.hints_ready, timeout=10_000) as ready:
        app.session.show_photo(path, read_preview_rgb(path, 2048))
    return ready.args[1]


def _a_at(rgb: np.ndarray, x: float, y: float) -> float:
    row, col = round(y * rgb.shape[0]), round(x * rgb.shape[1])
    return float(to_lab(np.ascontiguousarray(rgb[row - 2 : row + 3, col - 2 : col + 3]))[..., 1].mean())


def test_a_point_placed_on_the_overlay_is_previewed_red_at_its_spot(qtbot, make_app, photo):
    app = make_app()
    assert _show(qtbot, app, photo) == PhotoHints()
    app.editor.choose_colour(RED)
    app.editor.set_size(0.06)  # this test model does not spread a hint as a trained one does: cover the spot
    frames = []
    app.session.preview_ready.connect(lambda path, rgb: frames.append((path, rgb)))
    qtbot.mouseClick(app.overlay, LEFT, pos=app.at(0.25, 0.5))
    qtbot.waitUntil(lambda: bool(frames) and _a_at(frames[-1][1], 0.25, 0.5) > 30, timeout=20_000)
    path, rgb = frames[-1]
    assert path == photo and rgb.shape == (120, 160, 3)
    assert abs(_a_at(rgb, 0.85, 0.5) - 10.0) < 6  # far away: the model's own colour
    # what the preview shows is what colorizing the photo with these hints gives
    final = app.colorizer_copy.colorize(read_photo(photo).luma, hints=app.editor.hints)
    assert float(np.mean(ciede2000(to_lab(np.ascontiguousarray(rgb)), to_lab(final)))) < 1.0


def test_hints_survive_a_restart_and_follow_the_photo_by_content(qtbot, make_app, photo, home, tmp_path):
    first = make_app()
    _show(qtbot, first, photo)
    qtbot.mouseClick(first.overlay, LEFT, pos=first.at(0.3, 0.6))
    first.panel.warmth_slider.setValue(35)
    edited = first.editor.hints
    first.close()  # quitting writes the save that was waiting
    assert HintStore(home / "hints").load(photo_key(photo)) == edited

    renamed = tmp_path / "elsewhere" / "scan 12.jpg"
    renamed.parent.mkdir()
    shutil.copy(photo, renamed)
    second = make_app()  # a fresh start: new objects, nothing in memory
    assert _show(qtbot, second, renamed) == edited
    assert second.editor.hints == edited and not second.editor.edits.can_undo
    assert second.panel.warmth_slider.value() == 35
    assert second.overlay.mark_at(second.at(0.3, 0.6)) is not None  # drawn where it was put


def test_the_persistence_helper_alone_saves_loads_and_forgets(qtbot, home, photo):
    hints = PhotoHints(points=(HintPoint(0.3, 0.4, RED, 0.03),), adjust=ColourAdjust(tint=-0.2))
    persistence = HintPersistence()
    try:
        persistence.save_later(photo, hints)
        assert persistence.pending()
        persistence.flush()
        persistence.wait()
        fresh = HintPersistence()
        try:
            with qtbot.waitSignal(fresh.hints_loaded, timeout=10_000) as loaded:
                fresh.load(photo)
            assert loaded.args == [photo, hints]
            fresh.save_later(photo, PhotoHints())  # cleared: the file goes
            fresh.flush()
            fresh.wait()
            assert not list((home / "hints").glob("*.json"))
        finally:
            fresh.shutdown()
    finally:
        persistence.shutdown()


def test_an_unreadable_photo_reports_and_still_lets_the_user_hint(qtbot, make_app, tmp_path):
    app = make_app()
    gone = tmp_path / "gone.jpg"
    problems = []
    app.session.problem.connect(problems.append)
    with qtbot.waitSignal(app.session.hints_ready, timeout=10_000):
        app.session.show_photo(gone, np.full((60, 80, 3), 120, np.uint8))
    assert problems and "gone.jpg" in problems[0] and app.editor.enabled


def test_moving_on_before_the_hints_are_read_shows_the_new_photo_s(qtbot, make_app, photo, tmp_path):
    other = write_photo_file(tmp_path / "photos" / "other.jpg", size=(80, 60), seed=3)
    app = make_app()
    ready = []
    app.session.hints_ready.connect(lambda path, hints: ready.append(path))
    app.session.show_photo(photo, read_preview_rgb(photo, 2048))
    app.session.show_photo(other, read_preview_rgb(other, 2048))
    qtbot.waitUntil(lambda: ready == [other], timeout=10_000)
    app.persistence.wait()
    assert ready == [other] and app.session.photo() == other


def test_suggestions_appear_in_the_panel_for_a_selected_spot(qtbot, make_app, photo):
    app = make_app()
    _show(qtbot, app, photo)
    qtbot.mouseClick(app.overlay, LEFT, pos=app.at(0.5, 0.5))
    qtbot.waitUntil(lambda: bool(app.panel.suggestions.colours()), timeout=20_000)
    a, b = colour_ab(app.panel.suggestions.colours()[0])
    assert abs(a - 10) < 6 and abs(b - 40) < 8  # what this model predicts, not the point's own colour
    qtbot.mouseClick(app.panel.suggestions.buttons()[0], LEFT)
    assert app.editor.hints.points[0].color == app.panel.suggestions.colours()[0]
