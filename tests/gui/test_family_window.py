"""Issue 11 in the real window with a tiny model: the app as a family with a shoebox of scans uses it."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QDesktopServices
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox, QToolButton

from engine.batch.ledger import OutputLedger
from gui.models.photo_session import ColourChoice, PhotoStatus
from gui.widgets.compare_view import EMPTY_HINT
from gui.widgets.shortcuts_dialog import ShortcutsDialog
from tests.gui.conftest import write_photo_file
from tests.gui.test_gui_window import drop, wait_all_finished


def open_boxes() -> list[QMessageBox]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]


def close_boxes() -> None:
    for box in open_boxes():
        box.close()


def colour_photo(path: Path, size=(96, 64)) -> Path:
    rng = np.random.default_rng(3)
    image = np.zeros((size[1], size[0], 3), np.uint8)
    image[:, : size[0] // 2] = (200, 40, 40)
    image[:, size[0] // 2 :] = (40, 80, 200)
    image[: size[1] // 2, :, 1] = 180
    image = np.clip(image.astype(int) + rng.integers(-10, 10, image.shape), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)
    return path


def hold_model_load(monkeypatch) -> threading.Event:
    """Make loading the model wait for the returned gate (set it before the test ends)."""
    from engine.models.colorizer import Colorizer

    gate = threading.Event()
    original = Colorizer.load

    def slow_load(cls, *args, **kwargs):
        gate.wait(60)
        return original(*args, **kwargs)

    monkeypatch.setattr(Colorizer, "load", classmethod(slow_load))
    return gate


# -- 1: export from every place, never over a stranger's file, then Show in Folder ------------------------------------
def test_export_works_from_the_shortcut_the_menu_and_the_toolbar(qtbot, make_window, photos, tmp_path, monkeypatch):
    window = make_window()
    drop(window, [photos[0]])
    wait_all_finished(qtbot, window, 1)
    asked = []
    targets = iter(tmp_path / "out" / f"export{i}.png" for i in range(3))

    def save_dialog(*args):
        asked.append(args)
        return str(next(targets)), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(save_dialog))
    toolbar_button = window.toolbar.widgetForAction(window.export_action)
    for trigger in (
        lambda: QTest.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier),
        window.export_action.trigger,
        toolbar_button.click,
    ):
        with qtbot.waitSignal(window.controller.export_finished, timeout=10_000):
            trigger()
    assert [p.name for p in sorted((tmp_path / "out").glob("*.png"))] == ["export0.png", "export1.png", "export2.png"]
    assert all(QFileDialog.Option.DontConfirmOverwrite in args for args in asked)  # Revive decides about a file there
    assert window.show_folder_button.isVisible()
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    window.show_folder_button.click()
    assert opened == [str(tmp_path / "out")]


def test_export_refuses_a_file_revive_did_not_write_and_asks_before_replacing_its_own(
    qtbot, make_window, photos, tmp_path, monkeypatch
):
    window = make_window()
    drop(window, [photos[0]])
    wait_all_finished(qtbot, window, 1)
    out = tmp_path / "out"
    out.mkdir()
    stranger = out / "grandma.png"
    stranger.write_bytes(b"a scan the family made")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *args: (str(stranger), "")))
    window.export_action.trigger()
    assert any("Revive did not write it" in box.text() for box in open_boxes())
    close_boxes()
    assert stranger.read_bytes() == b"a scan the family made"
    with qtbot.waitSignal(window.controller.export_failed, timeout=10_000) as refused:
        window.export_current(stranger)  # without the dialog, the background export refuses it too
    assert "did not write it" in refused.args[0]
    close_boxes()

    ours = out / "ours.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *args: (str(ours), "")))
    with qtbot.waitSignal(window.controller.export_finished, timeout=10_000):
        window.export_action.trigger()
    assert OutputLedger.load(out).owns(ours)
    questions = []
    window.confirm_replace = lambda target: questions.append(target) or False
    window.export_action.trigger()
    assert questions == [ours]
    window.confirm_replace = lambda target: True
    with qtbot.waitSignal(window.controller.export_finished, timeout=10_000):
        window.export_action.trigger()


# -- 2: the window first, the model behind it -------------------------------------------------------------------------
def test_photos_added_while_the_model_loads_wait_and_then_colorize(qtbot, make_window, photos, monkeypatch):
    gate = hold_model_load(monkeypatch)
    try:
        window = make_window()
        assert window.model_label.text() == "Loading the colorizer…"
        drop(window, photos[:2])
        qtbot.waitUntil(
            lambda: all(
                window.controller.session.get(p) is not None
                and window.controller.session.get(p).status == PhotoStatus.QUEUED
                for p in photos[:2]
            ),
            timeout=10_000,
        )
        assert window.queue_label.isVisible() and window.queue_label.text() == "Colorizing: 0 of 2 done"
    finally:
        gate.set()
    wait_all_finished(qtbot, window, 2)
    qtbot.waitUntil(lambda: window.model_label.text() == "Model: tiny", timeout=10_000)
    qtbot.waitUntil(lambda: not window.queue_label.isVisible())


# -- 3: the list runs through the overlapped pipeline, "N of M done", the photo on show first -------------------------
def test_the_list_counts_done_photos_and_colorizes_the_one_on_show_first(qtbot, make_window, tmp_path):
    album = [write_photo_file(tmp_path / "album" / f"p{i}.jpg", seed=i) for i in range(5)]
    window = make_window()
    window.settings_panel.auto_colorize.setChecked(False)
    drop(window, album)
    qtbot.waitUntil(lambda: len(window.photo_list.paths()) == 5)
    window.photo_list.select_path(album[3])
    texts, started = [], []
    window.controller.queue_progressed.connect(lambda done, total: texts.append(window.queue_label.text()))
    window.controller.photo_status_changed.connect(
        lambda path, status, message: started.append(path) if status == PhotoStatus.WORKING else None
    )
    window.colorize_action.trigger()
    wait_all_finished(qtbot, window, 5)
    assert started[0] == album[3]
    assert "Colorizing: 0 of 5 done" in texts and "Colorizing: 4 of 5 done" in texts
    qtbot.waitUntil(lambda: not window.queue_label.isVisible())


# -- 4: removing, clearing, several at once, exporting them, quitting with photos waiting -----------------------------
def test_remove_clear_and_export_a_selection_to_a_folder(qtbot, make_window, photos, tmp_path, monkeypatch):
    window = make_window()
    drop(window, photos)
    wait_all_finished(qtbot, window, 3)
    listing = window.photo_list
    assert window.remove_action in listing.actions() and window.export_selected_action in listing.actions()
    listing.select_path(photos[0])
    listing.item(1).setSelected(True)
    assert listing.selected_paths() == photos[:2]

    out = tmp_path / "chosen"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *args: str(out)))
    with qtbot.waitSignal(window.controller.folder_export_finished, timeout=10_000) as exported:
        window.export_selected_action.trigger()
    assert sorted(p.name for p in exported.args[0].written) == ["photo0.jpg", "photo1.jpg"]  # 'same' format
    assert OutputLedger.load(out).owns(out / "photo0.jpg", photos[0])
    assert window.show_folder_button.isVisible()

    listing.setFocus()
    QTest.keyClick(listing, Qt.Key.Key_Delete)
    assert listing.paths() == [photos[2]]
    assert window.controller.session.paths() == [photos[2]]
    window.clear_action.trigger()
    assert listing.paths() == [] and window.controller.session.paths() == []
    assert window.compare_view._placeholder == EMPTY_HINT


def test_quitting_with_photos_waiting_asks_first(qtbot, make_window, photos, monkeypatch):
    gate = hold_model_load(monkeypatch)
    try:
        window = make_window()
        drop(window, photos[:2])
        qtbot.waitUntil(lambda: window.controller.waiting_count() == 2, timeout=10_000)
        window.confirm_quit = lambda waiting: window.quit_questions.append(waiting) or False
        window.close()
        assert window.isVisible() and window.quit_questions == [2]
        window.confirm_quit = lambda waiting: True
    finally:
        gate.set()
    window.close()
    assert not window.isVisible()


# -- 5: the viewer in the original's pixels, full resolution past the display copy, clicks move the divider -----------
def test_zoom_is_in_original_pixels_and_100_percent_shows_full_resolution(qtbot, make_window, tmp_path):
    big = write_photo_file(tmp_path / "scan.jpg", (3000, 1800))
    window = make_window()
    window.resize(1200, 800)
    drop(window, [big])
    wait_all_finished(qtbot, window, 1)
    view = window.compare_view
    qtbot.waitUntil(view.has_result, timeout=10_000)
    assert view.image_size() == (3000, 1800)
    assert view.display_scale() < 1.0  # the pixmaps are the display copy
    window.zoom_actual_action.trigger()
    assert view.zoom() == 1.0 and window.zoom_label.text() == "Zoom 100 %"
    qtbot.waitUntil(lambda: view.detail_rect() is not None, timeout=10_000)
    x, y, width, height = view.visible_region()
    dx, dy, dw, dh = view.detail_rect()
    assert dx <= x and dy <= y and dx + dw >= x + width - 1 and dy + dh >= y + height - 1
    view.grab()  # paints the full-resolution pixels without trouble


def test_a_click_moves_the_divider(qtbot, make_window, photos):
    window = make_window()
    window.resize(1200, 800)
    drop(window, [photos[0]])
    view = window.compare_view
    qtbot.waitUntil(view.has_result, timeout=30_000)
    QTest.mouseClick(
        view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(view.width() // 5, view.height() // 2)
    )
    assert abs(view.split_position() - 0.2) < 0.01


# -- 6: the Adjust panel ----------------------------------------------------------------------------------------------
def test_the_adjust_panel_offers_useful_values_and_applies_saturation_at_once(qtbot, make_window, photos):
    window = make_window()
    panel = window.settings_panel
    sizes = [panel.render_size.itemText(i) for i in range(panel.render_size.count())]
    assert sizes == ["Model default", "96 px", "128 px", "160 px", "192 px", "256 px", "384 px", "512 px"]
    assert panel.saturation.maximum() == 200 and panel.saturation.singleStep() == 5
    assert "bolder" in panel.boldness.toolTip().lower() and panel.boldness_label.text() == "model's own"
    drop(window, [photos[0], photos[1]])
    wait_all_finished(qtbot, window, 2)
    qtbot.waitUntil(lambda: "On show:" in panel.made_with.text())
    assert "saturation 100\u00a0%" in panel.made_with.text()

    panel.saturation.setFocus()
    QTest.keyClick(panel.saturation, Qt.Key.Key_Left)
    assert panel.saturation.value() == 95  # the slider moved; the photo on show did not change
    assert window.photo_list.current_path() == photos[0]
    panel.saturation.setValue(100)

    runs = []
    window.controller.worker.photo_started.connect(runs.append)
    with qtbot.waitSignal(window.controller.worker.retune_saved, timeout=10_000):
        panel.saturation.setValue(0)
    qtbot.waitUntil(lambda: "saturation 0\u00a0%" in panel.made_with.text())
    assert runs == []  # decoded again from the kept network output: no model run
    assert window.controller.session.get(photos[0]).status == PhotoStatus.DONE
    after = window.compare_view._after.toImage()
    pixel = after.pixelColor(after.width() // 2, after.height() // 2)
    assert abs(pixel.red() - pixel.blue()) <= 2
    qtbot.waitUntil(window.export_action.isEnabled)

    panel.render_size.setCurrentIndex(panel.render_size.findData(128))
    assert "Redo" in panel.made_with.text()  # a new render size needs a model run
    panel.reset_button.click()
    assert (panel.tuning().render_size, panel.saturation.value(), panel.boldness.value()) == (0, 100, 50)


# -- 7: the batch panel says what it uses, opens its folder or says where it is, keeps its report ---------------------
def test_the_batch_panel_names_its_settings_and_its_report(qtbot, make_window, tmp_path, monkeypatch):
    album = [write_photo_file(tmp_path / "album" / f"img{i}.jpg", seed=i) for i in range(2)]
    window = make_window()
    panel = window.batch_panel
    assert "Adjust tab" in panel.settings_label.text() and "saturation 100\u00a0%" in panel.settings_label.text()
    window.settings_panel.saturation.setValue(150)
    assert "saturation 150\u00a0%" in panel.settings_label.text()
    panel.set_form(
        input_dir=album[0].parent, output_dir=tmp_path / "out", recursive=True, format="png", skip_existing=False
    )
    with qtbot.waitSignal(window.controller.batch_finished, timeout=30_000):
        panel.start_button.click()
    assert panel.count_label.wordWrap()
    assert "revive-report" in panel.report_label.text()

    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: False)
    monkeypatch.setattr("gui.widgets.folder_opener.launcher_command", lambda folder: None)
    panel.open_button.click()
    assert any(str(tmp_path / "out") in box.text() for box in open_boxes())
    assert QApplication.clipboard().text() == str(tmp_path / "out")
    close_boxes()


# -- 8: a colour photo is asked about, and the answer is remembered ---------------------------------------------------
def test_a_colour_photo_is_not_recoloured_without_asking(qtbot, make_window, tmp_path):
    photo = colour_photo(tmp_path / "holiday.png")
    window = make_window()
    asked = []
    window.ask_colour_choice = lambda paths: asked.append(list(paths))
    drop(window, [photo])
    qtbot.waitUntil(lambda: asked == [[photo]], timeout=10_000)
    entry = window.controller.session.get(photo)
    assert entry.status == PhotoStatus.ASK and entry.kind == "colour"
    window.controller.set_colour_choice([photo], ColourChoice.KEEP)
    assert entry.status == PhotoStatus.KEPT and window.controller.waiting_count() == 0
    window.colorize_action.trigger()
    assert entry.status == PhotoStatus.KEPT  # kept ones stay as they are
    window.controller.set_colour_choice([photo], ColourChoice.RESTORE)
    wait_all_finished(qtbot, window, 1)
    assert entry.status == PhotoStatus.DONE and entry.hints is not None and entry.hints.adjust.reference is not None
    window.close()

    again = make_window()  # remembered for that photo: no question
    again.ask_colour_choice = lambda paths: asked.append(list(paths))
    wait_all_finished(qtbot, again, 1)
    assert len(asked) == 1 and again.controller.session.get(photo).colour_choice == ColourChoice.RESTORE


def test_asking_shows_three_answers(qtbot, make_window, tmp_path):
    window = make_window()
    photo = colour_photo(tmp_path / "colour.png")
    drop(window, [photo])
    qtbot.waitUntil(lambda: any("already a colour photo" in box.text() for box in open_boxes()), timeout=10_000)
    box = next(b for b in open_boxes() if "already a colour photo" in b.text())
    labels = [b.text() for b in box.buttons()]
    assert {"Keep Its Colours", "Restore Its Colours", "Re-colorize"} <= set(labels)
    next(b for b in box.buttons() if b.text() == "Re-colorize").click()
    wait_all_finished(qtbot, window, 1)
    assert window.controller.session.get(photo).colour_choice == ColourChoice.RECOLOR


# -- 10: failures read well, the count is of photos, Redo is off on failures ------------------------------------------
def test_failures_show_their_reason_and_counts_are_of_photos(qtbot, make_window, photos, tmp_path):
    folder = photos[0].parent
    broken = folder / "broken-scan-from-the-attic-of-grandma.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    (folder / "notes.txt").write_text("who is who")
    window = make_window()
    messages = []
    window.controller.status_message.connect(messages.append)
    drop(window, [folder])
    wait_all_finished(qtbot, window, 4)
    assert "Added 4 photos; 1 other file skipped (not a photo)" in messages
    line = window.photo_list.status_text(broken)
    assert line.startswith("Failed: ") and broken.name not in line
    assert window.photo_list.tooltip(broken).endswith(line)
    assert window.photo_list.textElideMode() == Qt.TextElideMode.ElideRight
    window.photo_list.select_path(broken)
    assert not window.redo_action.isEnabled() and not window.settings_panel.redo_button.isEnabled()


# -- 11: it fits a laptop, the toolbar overflows, shortcuts, version, a first-run hint --------------------------------
def test_the_window_fits_a_laptop_and_keeps_its_tools_reachable(qtbot, make_window):
    window = make_window()
    minimum = window.minimumSizeHint().expandedTo(window.minimumSize())
    assert minimum.width() <= 1280 and minimum.height() <= 680
    assert window.compare_view._placeholder == "Drop photos or folders here, or press Ctrl+O"
    window.resize(minimum.width(), 600)  # narrower than the toolbar's actions
    qtbot.waitUntil(lambda: window.width() < window.toolbar.sizeHint().width())
    extension = window.toolbar.findChild(QToolButton, "qt_toolbar_ext_button")
    qtbot.waitUntil(lambda: extension is not None and extension.isVisible(), timeout=5_000)

    window.resize(5000, 4000)
    window.keep_on_screen()
    available = window.screen().availableGeometry()
    assert available.contains(window.frameGeometry()) or window.frameGeometry().width() <= available.width()

    dialog = window.show_shortcuts()
    assert isinstance(dialog, ShortcutsDialog)
    rows = {what: keys for keys, what in dialog.rows()}
    assert rows["Export"] == "Ctrl+E" and rows["Remove From List"] == "Del" and "Space (hold)" in dict(dialog.rows())
    dialog.close()
