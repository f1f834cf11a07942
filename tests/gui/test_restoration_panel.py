"""Issue 14 in the app: the Restore tab repairs a photo before colour. The damage mask is painted,
erased, undone and cleared with the mouse and the panel; Apply fills the edited mask (only there)
and colorizes the photo again from the repair; the view compares original, restored and colorized;
Cancel stops a job; a batch repairs its photos as ``colorize --restore`` does. Photos and the damage
detector are generated here (a detector that marks near-white pixels), so the tests are exact."""

from __future__ import annotations

import argparse
import json
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from engine.batch.plan import REPORT_NAME
from engine.cli.restore import add_restore_option, restore_request
from engine.restoration.detection import DamageDetector
from engine.restoration.detector_file import DetectorCard
from engine.restoration.pipeline import Restorer
from engine.restoration.stages import STAGE_CARDS, STAGE_ORDER
from gui.models.damage_mask import DamageMaskEdits
from gui.models.photo_session import PhotoStatus
from gui.models.restoration_choice import RestorationChoice, strength_card
from gui.restoration.compare_choice import ORIGINAL_COLORIZED, ORIGINAL_RESTORED, RESTORED_COLORIZED
from gui.restoration.panel import slider_strength, slider_value
from gui.workers.display_images import load_cached
from tests.gui.test_gui_batch import start as start_batch
from tests.gui.test_gui_window import drop, wait_all_finished
from tests.gui.test_hint_overlay import drag
from tests.helpers import torch_threads
from tests.restoration_images import draw_scratch, photo_like

LEFT, RIGHT = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton
CTRL = Qt.KeyboardModifier.ControlModifier
HEIGHT, WIDTH = 192, 256


@pytest.fixture(autouse=True)
def _one_torch_thread():
    with torch_threads(1):
        yield


class NearWhiteIsDamage(torch.nn.Module):
    """A stand-in damage detector: pixels above 243 of 255 are damage (the photos here stay below
    218, their scratches are 250). ``gate``, when given, is called at every tile (a test holds it)."""

    size_multiple = 4

    def __init__(self, gate=None) -> None:
        super().__init__()
        self.gate = gate

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: luma / 255 - 0.5
        if self.gate is not None:
            self.gate()
        return 200.0 * (x - 0.455)


def tiny_restorer(gate=None) -> Restorer:
    card = DetectorCard(name="near-white", architecture="test", arguments={}, min_area=3, min_share=0.0)
    return Restorer(DamageDetector(NearWhiteIsDamage(gate), card))


@pytest.fixture
def scratched(tmp_path) -> tuple[Path, np.ndarray, np.ndarray]:
    """(a gray PNG with a bright scratch from top to bottom, the clean luma, the scratch's pixels)."""
    clean = np.round(photo_like(HEIGHT, WIDTH, seed=5) * 0.85).astype(np.uint8)  # at most 217
    photo, truth = draw_scratch(clean, value=250, thickness=2, seed=1)
    path = tmp_path / "photos" / "scratched.png"
    path.parent.mkdir(parents=True)
    Image.fromarray(photo, "L").save(path)
    return path, clean, truth


def at(window, x: float, y: float) -> QPoint:
    """The position over the view of (x, y), 0..1 of the photo on show."""
    (rect,) = window.compare_view.photo_rects()
    return QPoint(round(rect.x() + x * rect.width()), round(rect.y() + y * rect.height()))


def open_in_restore_tab(qtbot, window, photo: Path, restorer: Restorer | None = None):
    """Drop ``photo``, wait for its colorized result, show the Restore tab; the restoration mode."""
    mode = window.restoration
    mode.worker.restorer = restorer or tiny_restorer()  # before any job: the worker has none yet
    drop(window, [photo])
    wait_all_finished(qtbot, window, 1)
    qtbot.waitUntil(window.compare_view.has_result, timeout=20_000)
    window.side_tabs.setCurrentWidget(window.restore_tab)
    assert mode.overlay.is_active()
    return mode


def pixel(mask: np.ndarray, x: float, y: float) -> bool:
    return bool(mask[round(y * HEIGHT - 0.5), round(x * WIDTH - 0.5)])


# -- plain data -------------------------------------------------------------------------------------


def test_the_choice_uses_the_engines_ranges_and_restores_as_the_command_line_does():
    choice = RestorationChoice()
    assert choice.is_empty and choice.cli_arguments() == []
    for stage in STAGE_ORDER:
        card = strength_card(stage)
        assert card is next(p for p in STAGE_CARDS[stage].parameters if p.name == "strength")
        assert choice.strength(stage) == card.default
        assert slider_strength(stage, slider_value(stage, card.default)) == pytest.approx(card.default)
        assert slider_strength(stage, 0) == card.low and slider_strength(stage, 100) == card.high
    choice = RestorationChoice(("fading", "scratches")).with_strength("fading", 0.9)
    assert choice.stages == ("scratches", "fading")  # the engine's order, whatever the order asked
    with pytest.raises(ValueError, match="fading strength must be from 0 to 1"):
        choice.with_strength("fading", 1.5)

    parser = argparse.ArgumentParser()
    add_restore_option(parser)
    assert choice.request() == restore_request(parser.parse_args(choice.cli_arguments()))


def test_mask_edits_paint_erase_undo_redo_and_clear():
    edits = DamageMaskEdits((WIDTH, HEIGHT))
    assert edits.is_empty() and not edits.can_undo()
    assert edits.paint([(0.2, 0.5), (0.8, 0.5)], diameter=9)
    assert pixel(edits.mask, 0.5, 0.5) and not pixel(edits.mask, 0.5, 0.2)
    assert edits.paint([(0.5, 0.3), (0.5, 0.7)], diameter=21, erase=True)
    assert not pixel(edits.mask, 0.5, 0.5) and pixel(edits.mask, 0.3, 0.5)
    assert edits.undo() and pixel(edits.mask, 0.5, 0.5)
    assert edits.redo() and not pixel(edits.mask, 0.5, 0.5)
    assert edits.clear() and edits.is_empty()
    assert edits.undo() and pixel(edits.mask, 0.3, 0.5)
    overlay = edits.overlay(max_side=128)
    assert overlay.shape == (96, 128, 4) and overlay[48, 38, 3] > 0 and overlay[10, 10, 3] == 0


# -- the window -------------------------------------------------------------------------------------


def test_painting_adds_to_the_mask_erasing_removes_and_undo_takes_back_the_last_stroke(qtbot, make_window, scratched):
    window = make_window()
    window.resize(1200, 800)
    mode = open_in_restore_tab(qtbot, window, scratched[0])
    panel, overlay = mode.panel, mode.overlay
    assert mode.edits() is None and not panel.undo_button.isEnabled()

    panel.brush_slider.setValue(9)
    drag(qtbot, overlay, at(window, 0.2, 0.5), at(window, 0.8, 0.5))
    mask = mode.edits().mask
    assert pixel(mask, 0.5, 0.5) and pixel(mask, 0.25, 0.5) and not pixel(mask, 0.5, 0.2)
    assert overlay.has_mask_image() and panel.undo_button.isEnabled() and panel.clear_button.isEnabled()

    panel.erase_tool.click()
    panel.brush_slider.setValue(21)
    drag(qtbot, overlay, at(window, 0.5, 0.3), at(window, 0.5, 0.7))
    mask = mode.edits().mask
    assert not pixel(mask, 0.5, 0.5) and pixel(mask, 0.25, 0.5)

    panel.paint_tool.click()
    drag(qtbot, overlay, at(window, 0.25, 0.4), at(window, 0.25, 0.6), button=RIGHT)  # right drag erases
    assert not pixel(mode.edits().mask, 0.25, 0.5)

    panel.undo_button.click()  # the last stroke: the right-button erase
    assert pixel(mode.edits().mask, 0.25, 0.5) and not pixel(mode.edits().mask, 0.5, 0.5)
    QTest.keyClick(overlay, Qt.Key.Key_Z, CTRL)  # the one before: the eraser's
    assert pixel(mode.edits().mask, 0.5, 0.5)
    panel.redo_button.click()
    assert not pixel(mode.edits().mask, 0.5, 0.5)

    panel.clear_button.click()
    assert mode.edits().is_empty() and not panel.clear_button.isEnabled()
    panel.undo_button.click()
    assert pixel(mode.edits().mask, 0.25, 0.5)

    window.side_tabs.setCurrentWidget(window.hint_tab)  # another tool takes the left button
    assert not overlay.is_active()


def test_apply_fills_the_edited_mask_only_and_the_view_compares_the_three_versions(qtbot, make_window, scratched):
    path, clean, truth = scratched
    window = make_window()
    window.resize(1200, 800)
    mode = open_in_restore_tab(qtbot, window, path)
    panel, view = mode.panel, window.compare_view
    panel.stage_boxes["scratches"].setChecked(True)
    assert panel.find_button.isEnabled()
    assert view.labels() == ("Before", "After") and mode.compare_box.pair() == ORIGINAL_COLORIZED

    panel.find_button.click()
    assert panel.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not panel.cancel_button.isEnabled(), timeout=20_000)  # the job has reported
    assert np.array_equal(mode.edits().mask, truth)  # what the detector found is shown to be edited
    assert "damage found" in panel.status.text().lower()

    # The user says the lower part is no damage: the eraser across it.
    panel.erase_tool.click()
    panel.brush_slider.setValue(40)
    drag(qtbot, mode.overlay, at(window, 0.0, 0.75), at(window, 1.0, 0.75), steps=12)
    edited = mode.edits().mask.copy()
    kept, erased = truth & edited, truth & ~edited
    assert kept.sum() > 100 and erased.sum() > 20

    scratched_luma = np.asarray(Image.open(path))
    entry = window.controller.session.get(path)
    panel.apply_button.click()
    qtbot.waitUntil(lambda: not panel.cancel_button.isEnabled(), timeout=20_000)
    applied = entry.restoration  # the photo is colorized again from the repair
    assert applied is not None and applied.choice == panel.choice()
    luma = np.load(applied.luma_path)
    assert luma.shape == (HEIGHT, WIDTH)
    changed = luma != scratched_luma
    assert not (changed & ~edited).any()  # nothing outside the edited mask moves
    assert np.abs(luma[kept].astype(int) - clean[kept]).mean() < 20  # the scratch is filled in
    assert (luma[erased] == 250).all()  # the part erased from the mask stays as it was

    def recolorized() -> None:
        assert entry.status == PhotoStatus.DONE and entry.cache_path is not None
        result = np.asarray(load_cached(entry.cache_path), dtype=np.float64)
        gray = result @ [0.299, 0.587, 0.114]
        assert gray[kept].mean() < 215  # was 250 before the repair

    qtbot.waitUntil(recolorized, timeout=30_000)
    # and the panel says so once that colour is in, not "colorizing it again…" for good
    qtbot.waitUntil(lambda: "colorized again from the repair" in panel.status.text(), timeout=10_000)

    # The view compares the pair chosen: Original | Restored was chosen on apply.
    assert mode.compare_box.pair() == ORIGINAL_RESTORED and view.labels() == ORIGINAL_RESTORED
    ys, xs = np.nonzero(kept)
    darkest = int(np.argmin(clean[ys, xs]))  # a spot of the scratch where the photo under it is dark
    spot = (int(xs[darkest]), int(ys[darkest]))
    assert clean[spot[1], spot[0]] < 150

    def gray_at(pixmap) -> int:
        colour = pixmap.toImage().pixelColor(*spot)
        return round(0.299 * colour.red() + 0.587 * colour.green() + 0.114 * colour.blue())

    before, after = view.images()
    assert gray_at(before) >= 245 and gray_at(after) == luma[spot[1], spot[0]]
    mode.compare_box.set_pair(RESTORED_COLORIZED)
    before, after = view.images()
    assert view.labels() == RESTORED_COLORIZED and gray_at(before) == luma[spot[1], spot[0]]
    assert gray_at(after) < 200
    mode.compare_box.set_pair(ORIGINAL_COLORIZED)
    before, after = view.images()
    assert view.labels() == ("Before", "After") and gray_at(before) >= 245 and gray_at(after) < 200

    panel.revert_button.click()  # colorize from the original again
    assert entry.restoration is None and not applied.luma_path.exists()
    assert not mode.compare_box.model().item(1).isEnabled()
    assert panel.status.text() == "Colorizing the original again…"
    qtbot.waitUntil(lambda: panel.status.text() == "Colorized from the original again.", timeout=30_000)


def test_cancel_stops_a_job_and_leaves_the_mask_as_it_was(qtbot, make_window, scratched):
    entered, release = threading.Event(), threading.Event()

    def gate() -> None:
        entered.set()
        release.wait(10)

    window = make_window()
    mode = open_in_restore_tab(qtbot, window, scratched[0], tiny_restorer(gate))
    panel = mode.panel
    panel.stage_boxes["scratches"].setChecked(True)
    panel.find_button.click()
    assert panel.cancel_button.isEnabled() and not panel.find_button.isEnabled()
    qtbot.waitUntil(entered.is_set, timeout=20_000)  # the detector is at work on the inference thread
    panel.cancel_button.click()
    release.set()
    qtbot.waitUntil(lambda: not panel.cancel_button.isEnabled(), timeout=20_000)
    assert panel.status.text() == "Cancelled." and panel.find_button.isEnabled()
    assert mode.edits() is None  # nothing was found, nothing changed


def test_the_batch_repairs_its_photos_when_the_restore_tab_says_so(qtbot, make_window, tmp_path):
    album = tmp_path / "album"
    album.mkdir()
    faded = np.round(110 + 40 * (photo_like(HEIGHT, WIDTH, seed=3) / 255.0)).astype(np.uint8)  # 110..150
    Image.fromarray(faded, "L").save(album / "faded.png")
    window = make_window()
    panel = window.restoration.panel
    panel.stage_boxes["fading"].setChecked(True)
    panel.batch_box.setChecked(True)

    def contrast(folder: Path) -> float:
        with Image.open(folder / "faded.png") as image:
            gray = np.asarray(image.convert("L"), dtype=np.float64)
        return float(np.percentile(gray, 99) - np.percentile(gray, 1))

    with qtbot.waitSignal(window.controller.batch_finished, timeout=60_000):
        start_batch(window, album, tmp_path / "repaired")
    report = json.loads((tmp_path / "repaired" / REPORT_NAME).read_text())
    assert report["restore"] == {"stages": ["fading"]}  # what colorize --restore fading reports
    panel.batch_box.setChecked(False)
    with qtbot.waitSignal(window.controller.batch_finished, timeout=60_000):
        start_batch(window, album, tmp_path / "plain")
    assert "restore" not in json.loads((tmp_path / "plain" / REPORT_NAME).read_text())
    assert contrast(tmp_path / "repaired") > contrast(tmp_path / "plain") + 30


def test_the_restore_tab_opens_as_it_was_left_and_ignores_a_damaged_setting(qtbot, make_window):
    window = make_window()
    panel = window.restoration.panel
    panel.stage_boxes["fading"].setChecked(True)
    panel.strength_sliders["fading"].setValue(30)
    panel.batch_box.setChecked(True)
    left = panel.choice()
    window.close()

    again = make_window().restoration.panel
    assert again.choice() == left and "fading" in again.choice().stages
    assert again.strength_sliders["fading"].value() == 30 and again.batch_box.isChecked()

    settings = window.controller.settings
    settings._set("gui/restore/stages", "fading,teleport")  # a hand-edited INI line
    settings._set("gui/restore/strengths", "fading=9000")
    assert settings.restoration_choice() == RestorationChoice()
    settings._set("gui/restore/stages", "fading")
    settings._set("gui/restore/strengths", "fading=oops,,=")
    assert settings.restoration_choice() == RestorationChoice(("fading",))
