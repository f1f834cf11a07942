"""The real main window with a tiny model: dropping photos, reviewing, tuning, exporting, settings."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from gui.models.photo_session import PhotoStatus
from gui.widgets.compare_view import SIDE_BY_SIDE
from tests.gui.conftest import TINY

FINISHED = (PhotoStatus.DONE, PhotoStatus.FAILED)


def drop(window, paths: list[Path]) -> None:
    """Drop files on the window as a file manager would."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    centre = window.rect().center()
    enter = QDragEnterEvent(
        QPointF(centre), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(
        window,
        QDropEvent(
            QPointF(centre), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
        ),
    )


def wait_all_finished(qtbot, window, count: int) -> None:
    session = window.controller.session

    def finished():
        paths = window.photo_list.paths()
        assert len(paths) == count
        assert all(session.get(p).status in FINISHED for p in paths)

    qtbot.waitUntil(finished, timeout=30_000)


def test_dropped_photos_are_colorized_and_shown(qtbot, make_window, photos):
    window = make_window()
    drop(window, photos[:2])
    wait_all_finished(qtbot, window, 2)
    assert [window.photo_list.status_text(p).split(":")[0] for p in photos[:2]] == ["Done", "Done"]
    qtbot.waitUntil(window.compare_view.has_result)
    assert window.photo_list.current_path() == photos[0]
    assert window.model_label.text() == f"Model: {TINY}"
    assert window.device_label.text().startswith("Device: CPU")
    assert window.export_action.isEnabled()


def test_a_corrupt_file_fails_in_its_row_while_the_others_finish(qtbot, make_window, photos, tmp_path):
    broken = photos[0].parent / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    window = make_window()
    drop(window, [photos[0].parent])  # the whole folder
    wait_all_finished(qtbot, window, 4)
    assert window.controller.session.get(broken).status == PhotoStatus.FAILED
    assert window.photo_list.status_text(broken).startswith("Failed: ")
    assert "Traceback" not in window.photo_list.status_text(broken)
    assert all(window.controller.session.get(p).status == PhotoStatus.DONE for p in photos)


def test_divider_drags_and_view_zooms_in_sync(qtbot, make_window, photos):
    window = make_window()
    window.resize(1200, 800)
    drop(window, photos[:2])
    view = window.compare_view
    qtbot.waitUntil(view.has_result, timeout=30_000)

    middle_y = view.height() // 2
    QTest.mousePress(
        view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(view.divider_x(), middle_y)
    )
    target = view.width() // 4
    QTest.mouseMove(view, QPoint(target, middle_y))
    QTest.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(target, middle_y))
    assert abs(view.split_position() - 0.25) < 0.01
    view.set_split_position(0.5)
    assert view.split_position() == 0.5

    window.zoom_actual_action.trigger()
    assert view.zoom() == 1.0 and not view.is_fitted()
    window.zoom_in_action.trigger()
    assert view.zoom() == 1.25
    window.zoom_fit_action.trigger()
    assert view.is_fitted()
    window.side_action.trigger()
    assert view.mode() == SIDE_BY_SIDE
    view.grab()  # paints both panes without trouble

    view.setFocus()
    QTest.keyPress(view, Qt.Key.Key_Space)
    assert view.showing_original()
    QTest.keyRelease(view, Qt.Key.Key_Space)
    assert not view.showing_original()

    window.next_action.trigger()
    assert window.photo_list.current_path() == photos[1]
    window.previous_action.trigger()
    assert window.photo_list.current_path() == photos[0]


def test_redo_with_new_settings_then_export_beside_nothing(qtbot, make_window, photos, tmp_path):
    window = make_window()
    drop(window, [photos[0]])
    wait_all_finished(qtbot, window, 1)
    window.settings_panel.saturation.setValue(0)  # gray: an unmistakable change
    window.redo_current()
    assert window.controller.session.get(photos[0]).status in (PhotoStatus.QUEUED, PhotoStatus.WORKING)
    wait_all_finished(qtbot, window, 1)

    target = tmp_path / "exports" / "photo0_colorized.png"
    with qtbot.waitSignal(window.controller.export_finished, timeout=10_000):
        window.export_current(target)
    with Image.open(target) as image:
        rgb = np.asarray(image.convert("RGB")).astype(int)
    with Image.open(photos[0]) as original:
        assert image.size == original.size
    assert np.abs(rgb[..., 0] - rgb[..., 2]).max() <= 2  # saturation 0 made it gray

    with qtbot.waitSignal(window.controller.export_failed, timeout=5_000) as refused:
        window.export_current(photos[0])
    assert "never overwrites" in refused.args[0]


def test_settings_are_kept_between_runs(qtbot, make_window, photos, revive_home):
    shutil.copy(revive_home / "models" / f"{TINY}.safetensors", revive_home / "models" / "tiny2.safetensors")
    first = make_window()
    panel = first.settings_panel
    combo = panel.model_combo
    index = combo.findText("tiny2")
    combo.setCurrentIndex(index)
    combo.activated.emit(index)
    panel.saturation.setValue(130)
    panel.boldness.setValue(70)
    panel.auto_colorize.setChecked(False)
    first.batch_panel.set_form(
        input_dir=photos[0].parent, output_dir=revive_home / "out", recursive=False, format="png", skip_existing=False
    )
    first.controller.start_batch(first.batch_panel.form())
    qtbot.waitSignal(first.controller.batch_finished, timeout=30_000).wait()
    first.open_paths([photos[0]])
    qtbot.waitUntil(lambda: len(first.photo_list.paths()) == 1)
    first.move(31, 17)
    first.close()
    saved_geometry = first.controller.settings.window_geometry()

    second = make_window(model=None)
    panel = second.settings_panel
    assert panel.model_combo.currentText() == "tiny2"
    qtbot.waitUntil(lambda: second.model_label.text() == "Model: tiny2", timeout=10_000)
    assert (panel.saturation.value(), panel.boldness.value()) == (130, 70)
    assert not panel.auto_colorize.isChecked()
    form = second.batch_panel.form()
    assert (form.input_dir, form.output_dir, form.recursive, form.format, form.skip_existing) == (
        photos[0].parent,
        revive_home / "out",
        False,
        "png",
        False,
    )
    assert second.controller.settings.recent()[0] == photos[0]
    assert [a.text() for a in second.recent_menu.actions()][0] == str(photos[0])
    assert saved_geometry is not None and second.restoreGeometry(saved_geometry)  # the offscreen screen clamps it

    # The list comes back (colorizing on add is off: the restored photo waits too).
    qtbot.waitUntil(lambda: second.photo_list.paths() == [photos[0]])
    assert second.controller.session.get(photos[0]).status == PhotoStatus.NEW
    # Colorizing on add is off: photos wait for the button.
    second.open_paths([photos[1]])
    qtbot.waitUntil(lambda: len(second.photo_list.paths()) == 2)
    assert second.controller.session.get(photos[1]).status == PhotoStatus.NEW
    second.settings_panel.colorize_button.click()
    wait_all_finished(qtbot, second, 2)
    assert second.controller.session.get(photos[1]).status == PhotoStatus.DONE


def test_no_model_installed_is_said_plainly(qtbot, make_window, photos, revive_home, monkeypatch, tmp_path):
    for model in (revive_home / "models").iterdir():
        model.unlink()
    monkeypatch.setattr("engine.models.registry.shipped_models_dir", lambda: tmp_path / "no-shipped-models")
    window = make_window(model=None)
    drop(window, [photos[0]])
    wait_all_finished(qtbot, window, 1)
    assert window.photo_list.status_text(photos[0]).startswith("Failed: No colorization model is installed")


def test_uncaught_errors_are_logged_and_shown_not_fatal(qtbot, monkeypatch, caplog):
    from gui.app import install_excepthook

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    install_excepthook()
    try:
        raise ValueError("a bug")
    except ValueError as error:
        sys.excepthook(type(error), error, error.__traceback__)
    boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
    assert any("a bug" in box.text() for box in boxes)
    assert "uncaught exception" in caplog.text
    for box in boxes:
        box.close()


def test_run_app_opens_the_window_and_returns_when_it_closes(qtbot, revive_home):
    from gui.app import run_app
    from gui.main_window import MainWindow

    def close_windows():
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        assert windows
        for window in windows:
            window.close()

    QTimer.singleShot(200, close_windows)
    assert run_app(["revive"]) == 0


def test_old_results_leave_the_disk_cache_but_the_one_on_show_stays(qtbot, make_window, photos):
    window = make_window()
    window.controller.results.budget_bytes = 1  # every new result pushes older ones out
    finished = []

    def on_status(path, status, message):
        if status == PhotoStatus.DONE and not message.startswith("result dropped"):
            finished.append(path)

    window.controller.photo_status_changed.connect(on_status)
    drop(window, photos)
    wait_all_finished(qtbot, window, 3)
    controller = window.controller
    assert controller.current() == photos[0]
    last, middle = finished[-1], next(p for p in finished if p not in (photos[0], finished[-1]))
    assert controller.can_export(photos[0]) and controller.can_export(last)
    assert not controller.can_export(middle)
    assert "redo to export" in window.photo_list.status_text(middle)
    assert controller.redo(middle)
    wait_all_finished(qtbot, window, 3)
    assert controller.can_export(middle)


def test_a_dropped_pipe_named_like_a_photo_is_called_what_it_is(qtbot, make_window, tmp_path):
    import os

    os.mkfifo(tmp_path / "scan.png")
    window = make_window()
    with qtbot.waitSignal(window.controller.nothing_found, timeout=10_000) as found:
        window.controller.open_paths([tmp_path / "scan.png"], remember=False)
    assert found.args[0] == "No photos found in scan.png (a named pipe, not a photo file)"
