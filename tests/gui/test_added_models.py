"""Models from other projects in the app: Tools > Add Model…, the picker, Manage Added Models….

The model files are built as tests/test_external_models.py builds them: spandrel's own architecture
classes with random weights in their smallest recognised configuration, saved as plain state dicts;
the malicious file is a pickle whose unpickling would run a shell command. Each test has its own
REVIVE_HOME (the tiny Revive model only; no shipped models), and drives the real window through
the same menu actions and dialogs a user does, waiting with ``qtbot.waitUntil``.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from safetensors.torch import save_file

from engine.external import store
from gui.added_models import wiring
from gui.models.photo_session import PhotoStatus
from tests.gui.conftest import TINY, write_photo_file
from tests.spandrel_models import plain_state, tiny_ddcolor, tiny_upscaler_file

ADD_TIMEOUT_MS = 60_000  # spandrel's first import (torchvision) takes seconds on a busy 2-core CPU
COLORIZE_TIMEOUT_MS = 60_000


class _RunsCode:
    """Unpickling this runs a shell command that creates a file: the proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


pytestmark = pytest.mark.usefixtures("no_shipped_models")


@pytest.fixture
def upscaler_file(tmp_path):
    return tiny_upscaler_file(tmp_path / "files" / "RealESRGAN_tiny_x2.pth")


@pytest.fixture(scope="module")
def ddcolor_file(tmp_path_factory):
    """The smallest DDColor spandrel recognises, as an fp16 safetensors state dict."""
    path = tmp_path_factory.mktemp("ddcolor") / "ddcolor_tiny.safetensors"
    save_file(plain_state(tiny_ddcolor(), half=True), str(path))
    return path


def _choose_file(monkeypatch, path) -> None:
    """The file dialog answers ``path`` (as the user picking it would)."""
    monkeypatch.setattr(wiring.QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(path), ""))


def _open_add_dialog(window, monkeypatch, path):
    _choose_file(monkeypatch, path)
    window.added_models.add_action.trigger()
    dialog = window.added_models.add_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def _add(qtbot, dialog, name: str, source: str = "") -> None:
    dialog.name.setText(name)
    dialog.source.setText(source)
    assert dialog.add_button.isEnabled(), dialog.shown_problem()
    dialog.add_button.click()
    assert dialog.is_busy() and dialog.busy_bar.isVisible() and not dialog.name.isEnabled()
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=ADD_TIMEOUT_MS)


def _picker_names(window) -> list[str]:
    combo = window.settings_panel.model_combo
    return [combo.itemData(i) for i in range(combo.count())]


def test_an_added_upscaler_lands_in_the_store_and_the_manage_dialog_not_the_picker(
    qtbot, make_window, monkeypatch, upscaler_file
):
    window = make_window()
    dialog = _open_add_dialog(window, monkeypatch, upscaler_file)
    assert dialog.name.text() == "RealESRGAN_tiny_x2"  # the file's stem
    # the name is checked as it is typed, with a one-line reason, and Add waits for a good one
    for name, words in (
        (TINY, "a revive model called 'tiny' is installed"),
        ("a/b", "plain name"),
        ("", "type a name"),
    ):
        dialog.name.setText(name)
        assert words in dialog.shown_problem().lower() and not dialog.add_button.isEnabled()
    _add(qtbot, dialog, "x2", "built by the test (random weights)")
    qtbot.waitUntil(lambda: window.added_models.add_dialog is None)  # closed (and deleted)

    added = store.find_external("x2")
    assert added is not None and added.path.read_bytes() == upscaler_file.read_bytes()
    card = added.card
    assert (card.task, card.architecture, card.scale) == ("upscaling", "ESRGAN", 2)
    assert card.source == "built by the test (random weights)" and card.original_name == upscaler_file.name
    assert "Added x2" in window.statusBar().currentMessage()
    assert "x2" not in _picker_names(window)  # not a colorizer

    manage = window.added_models.show_manage_dialog()
    assert manage.isVisible() and manage.names() == ["x2"]
    row = [manage.table.item(0, column).text() for column in range(manage.table.columnCount())]
    assert row == ["x2", "upscaling", "ESRGAN", "×2", "built by the test (random weights)"]
    assert not manage.remove_button.isEnabled()  # nothing chosen yet

    manage.select("x2")
    monkeypatch.setattr(window.added_models, "confirm_removal", lambda name: True)
    manage.remove_button.click()
    assert store.find_external("x2") is None and store.list_external() == []
    assert manage.names() == [] and manage.empty.isVisibleTo(manage) and "Removed x2" in manage.note.text()
    assert upscaler_file.is_file()  # the user's own file stays


def test_a_pickle_that_would_run_code_is_refused_in_one_line_and_nothing_is_stored(
    qtbot, make_window, monkeypatch, tmp_path
):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save(_RunsCode(marker), path)
    window = make_window()
    dialog = _open_add_dialog(window, monkeypatch, path)
    _add(qtbot, dialog, "evil")
    assert dialog.isVisible()  # the user can read why, then cancel or try another name
    text = dialog.shown_problem()
    assert text.startswith("Not added: evil.pth") and "could run code" in text and "\n" not in text
    assert "could run code" in dialog.problem.text()  # shown
    assert dialog.add_button.isEnabled() and dialog.name.isEnabled()
    assert "Model not added" in window.statusBar().currentMessage()
    assert not marker.exists()
    assert store.list_external() == [] and not list(store.external_models_dir().glob("*"))
    assert window.added_models.show_manage_dialog().names() == []
    dialog.buttons.rejected.emit()
    qtbot.waitUntil(lambda: window.added_models.add_dialog is None)


def test_an_added_ddcolor_is_in_the_picker_colorizes_a_photo_and_is_removed(
    qtbot, make_window, monkeypatch, tmp_path, ddcolor_file
):
    window = make_window()
    qtbot.waitUntil(lambda: window.model_label.text() == f"Model: {TINY}", timeout=COLORIZE_TIMEOUT_MS)
    dialog = _open_add_dialog(window, monkeypatch, ddcolor_file)
    _add(qtbot, dialog, "dd", "test")
    qtbot.waitUntil(lambda: window.added_models.add_dialog is None)  # closed (and deleted)
    assert store.find_external("dd").card.task == "colorization"

    panel = window.settings_panel
    combo = panel.model_combo
    index = combo.findData("dd")
    assert index >= 0 and combo.itemText(index) == "dd (added)"
    assert combo.itemData(combo.findData(TINY)) == TINY  # Revive's models are listed as before
    assert "takes no colour hints" in combo.itemData(index, Qt.ItemDataRole.ToolTipRole)
    combo.setCurrentIndex(index)
    combo.activated.emit(index)
    panel.render_size.setCurrentIndex(panel.render_size.findData(96))  # DDColor at 96 px: quick on a CPU
    qtbot.waitUntil(lambda: window.model_label.text() == "Model: dd", timeout=COLORIZE_TIMEOUT_MS)
    assert window.controller.tuning().model == "dd" and window.controller.tuning().render_size == 96
    # the hint tool says the model takes no colour marks (its whole-photo adjustments still apply)
    assert "takes no colour marks" in window.hint_action.toolTip()
    assert not window.hints.panel.marks_box.isEnabled()

    photo = write_photo_file(tmp_path / "photos" / "old.png", size=(80, 60))
    window.open_paths([photo])
    session = window.controller.session
    qtbot.waitUntil(
        lambda: session.get(photo) is not None and session.get(photo).status == PhotoStatus.DONE,
        timeout=COLORIZE_TIMEOUT_MS,
    )
    qtbot.waitUntil(window.compare_view.has_result)
    assert "dd" in window.controller.made_with(photo)
    result = np.load(session.get(photo).cache_path)  # the full-resolution result, as exported
    assert result.shape == (60, 80, 3) and result.dtype == np.uint8

    manage = window.added_models.show_manage_dialog()
    assert manage.names() == ["dd"]
    assert [manage.table.item(0, c).text() for c in range(3)] == ["dd", "colorization", "DDColor"]
    manage.select("dd")
    monkeypatch.setattr(window.added_models, "confirm_removal", lambda name: True)
    manage.remove_button.click()
    assert store.find_external("dd") is None and manage.names() == []
    assert "dd" not in _picker_names(window) and panel.chosen_model() == TINY
    qtbot.waitUntil(lambda: window.model_label.text() == f"Model: {TINY}", timeout=COLORIZE_TIMEOUT_MS)
    assert window.controller.settings.model() == TINY


def test_the_rows_the_names_and_the_picker_entries_without_qt(revive_home, upscaler_file):
    from engine.external.adding import add_model
    from gui.models.added_models import added_colorizers, added_rows, app_name_problem

    add_model(upscaler_file, "x2", "a test")
    (store.external_models_dir() / "broken.card.json").write_text("{")
    rows = added_rows()
    assert [(r.name, r.task, r.scale_text) for r in rows] == [("broken", "?", "–"), ("x2", "upscaling", "×2")]
    assert "not valid JSON" in rows[0].problem and rows[1].problem == ""
    assert added_colorizers(set()) == []  # an upscaler is no colorizer; a damaged card is never offered
    assert app_name_problem("x2") == "An external model called 'x2' was already added: choose another name."
    assert app_name_problem(TINY) == "A Revive model called 'tiny' is installed: choose another name."
    assert app_name_problem("  ") == "Type a name for the model." and app_name_problem("x3") == ""
    store.remove("broken")  # a damaged one can still be removed
    assert [r.name for r in added_rows()] == ["x2"]
