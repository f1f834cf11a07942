"""The training wizard: base model -> folders -> preset -> live training -> install, plus stopping,
closing mid-run, the folder check blocking Next, the time estimate, the worker adapter and the texts."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtWidgets import QWizard

from engine.cancel import CancelToken
from engine.errors import ReviveError
from engine.models.files import load_model
from gui.training_wizard.loss_curve import curve_values
from gui.training_wizard.texts import ERROR_COLOUR, format_estimate, format_eta, suggest_model_name, unique_run_dir
from gui.training_wizard.training_worker import TrainingWorker
from gui.training_wizard.wizard import TrainingWizard
from tests.gui.conftest import TINY
from tests.test_cyclegan import scripted_scores  # noqa: F401 (fixture)
from training.cyclegan.config import STATE_FILE
from training.events import StepDone, TrainingFinished, TrainingStarted

TRAINING_TIMEOUT_MS = 120_000  # generous: the test machine is shared and loaded


class FakeController:
    """The controller's face the wizard uses; records what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def tuning(self):
        return SimpleNamespace(model=TINY)

    def refresh_models(self) -> None:
        self.calls.append(("refresh",))

    def choose_model(self, name: str, reload: bool = False) -> None:
        self.calls.append(("choose", name))


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Two busy torch threads on a loaded 2-core machine spin against each other; one is faster."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def quick_estimate(monkeypatch):
    """The real estimate runs real steps (covered by the training tests); here it answers at once."""
    monkeypatch.setattr(
        "gui.training_wizard.options_page.estimate",
        lambda config, lane, cancel: (config.steps * 0.6, "CPU, 1 thread, fp32"),
    )


@pytest.fixture
def folders(tmp_path) -> tuple[Path, Path]:
    """10 gray-ish and 10 colour 48x48 PNGs."""
    rng = np.random.default_rng(0)
    old, colour = tmp_path / "old", tmp_path / "colour"
    old.mkdir()
    colour.mkdir()
    y, x = np.mgrid[0:48, 0:48] / 48
    for i in range(10):
        base = (np.sin(x * rng.uniform(2, 8) + rng.uniform(0, 6)) * np.cos(y * rng.uniform(2, 8)) + 1) / 2
        gray = (base * 255).astype(np.uint8)
        Image.fromarray(np.stack([gray, gray, np.clip(gray.astype(int) + 3, 0, 255).astype(np.uint8)], 2)).save(
            old / f"old{i:02d}.png"
        )
        phases = rng.uniform(0, 6, 3)
        rgb = np.stack([(np.sin(x * 5 + p) * np.cos(y * 3 - p) + 1) / 2 for p in phases], axis=2)
        Image.fromarray((rgb * 255).astype(np.uint8)).save(colour / f"colour{i:02d}.png")
    return old, colour


@pytest.fixture
def make_wizard(qtbot, revive_home):
    """A wizard on a fake controller whose stop question is answered Yes; stopped and closed afterwards."""
    made = []

    def make() -> TrainingWizard:
        controller = FakeController()
        wizard = TrainingWizard(controller)
        wizard.asked: list[bool] = []
        wizard.confirm_stop = lambda: wizard.asked.append(True) or True
        qtbot.addWidget(wizard)
        wizard.show()
        made.append(wizard)
        return wizard

    yield make
    for wizard in made:
        wizard.shutdown()
        wizard.close()


def to_options(qtbot, wizard: TrainingWizard, folders: tuple[Path, Path], preset: str = "tiny", **values) -> None:
    """Base model -> folders (checked) -> options with ``preset`` and spin-box ``values``."""
    assert wizard.currentId() == wizard.BASE_PAGE
    assert wizard.base_page.chosen_model() == "revive-base"  # the shipped model, not the app's
    assert wizard.base_page.choose(TINY)
    wizard.next()
    page = wizard.folders_page
    page.old_field.set_folder(folders[0])
    page.color_field.set_folder(folders[1])
    qtbot.waitUntil(page.isComplete, timeout=30_000)
    wizard.next()
    assert wizard.currentId() == wizard.OPTIONS_PAGE
    wizard.options_page.set_preset(preset)
    for name, value in values.items():
        getattr(wizard.options_page, name).setValue(value)
    assert wizard.options_page.isComplete()


def start_training(qtbot, wizard, folders, **values) -> None:
    to_options(qtbot, wizard, folders, **values)
    wizard.next()
    assert wizard.currentId() == wizard.TRAIN_PAGE
    qtbot.waitUntil(lambda: wizard.train_page.step() >= 1, timeout=TRAINING_TIMEOUT_MS)


def test_the_wizard_trains_and_installs_a_model_that_loads(qtbot, make_wizard, folders, revive_home, scripted_scores):
    scripted_scores(10.0, 9.0, 9.5)  # better at step 2, then less so: step 2 is installed
    wizard = make_wizard()
    to_options(qtbot, wizard, folders)
    findings = wizard.folders_page.findings.text()
    assert "Old photos:</b> 10" in findings and "10 colour" in findings
    qtbot.waitUntil(lambda: "Training should take" in wizard.options_page.estimate_label.text())
    wizard.next()
    page = wizard.train_page
    assert not wizard.button(QWizard.WizardButton.BackButton).isVisible()  # no going back mid-run
    qtbot.waitUntil(page.isComplete, timeout=TRAINING_TIMEOUT_MS)
    assert page.error == ""
    assert page.finished.step == 4 and not page.finished.cancelled
    assert page.curve.point_count() == 4
    assert page.progress.value() == 4
    assert page.base_preview.base and page.last_preview.step == 4
    assert page.previews.photo_count() == len(page.last_preview.images) > 0
    assert "Finished" in page.status.text() and "beats the base model" in page.status.text()
    assert not page.is_running()
    # The second plot: the base's CIEDE2000 as a flat line, the fine-tune's at each scored step.
    assert page.score_curve.base_value() == 10.0
    assert page.score_curve.values() == [(0, 10.0), (2, 9.0), (4, 9.5)] and page.score_curve.best_step() == 2
    wizard.grab().save("/tmp/wizard.png")

    wizard.next()
    finish = wizard.finish_page
    assert "Better than" in finish.verdict.text() and "step 2" in finish.verdict.text()
    assert "9.00" in finish.scores.text() and "10.00" in finish.scores.text()
    assert not finish.install_anyway.isVisible()
    assert finish.previews.photo_count() > 0 and "step 2" in finish.previews.current_title()
    assert finish.name.text() == f"{TINY}-old"
    finish.name.setText("bad/name")
    assert not finish.isComplete() and ERROR_COLOUR in finish.name_problem.text()
    finish.name.setText(TINY)  # the base model's own name: replaced only when the user says so
    asked = []
    finish.confirm_replace = lambda name: asked.append(name) or False
    wizard.button(QWizard.WizardButton.FinishButton).click()
    assert asked == [TINY] and not finish.is_exporting() and wizard.isVisible()
    finish.name.setText("family-album")
    assert finish.isComplete() and finish.make_active.isChecked()
    wizard.button(QWizard.WizardButton.FinishButton).click()
    assert finish.is_exporting() and finish.busy.isVisible()  # written in the background

    path = revive_home / "models" / "family-album.safetensors"
    qtbot.waitUntil(lambda: not wizard.isVisible() or "Could not" in finish.result.text(), timeout=30_000)
    assert not wizard.isVisible(), finish.result.text()
    assert path.is_file()
    module, card = load_model(path)
    assert card.name == "family-album" and card.base_model == TINY and card.training["steps_done"] == 2
    assert wizard.controller.calls == [("choose", "family-album"), ("refresh",)]
    assert not wizard.isVisible()


def test_the_finish_page_says_worse_plainly_and_installs_only_when_asked(
    qtbot, make_wizard, folders, revive_home, scripted_scores
):
    scripted_scores(10.0, 10.4, 10.8)  # every step worse than the base
    wizard = make_wizard()
    to_options(qtbot, wizard, folders)
    wizard.next()
    page = wizard.train_page
    qtbot.waitUntil(page.isComplete, timeout=TRAINING_TIMEOUT_MS)
    assert "worse than the base model" in page.status.text()
    wizard.next()
    finish = wizard.finish_page
    text = finish.verdict.text()
    assert "worse than" in text and "Nothing is installed" in text and "10.80" in text
    finish_button = wizard.button(QWizard.WizardButton.FinishButton)
    assert not finish.isComplete() and not finish_button.isEnabled()  # no silent install
    assert finish.install_anyway.isVisible() and finish.install_anyway.isEnabled()
    assert not list((revive_home / "models").glob(f"{TINY}-old*.safetensors"))
    wizard.grab().save("/tmp/wizard-worse.png")

    finish.name.setText("bad/name")
    assert not finish.install_anyway.isEnabled()
    finish.name.setText("worse-but-mine")
    finish.install_anyway.click()
    path = revive_home / "models" / "worse-but-mine.safetensors"
    qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=30_000)
    assert path.is_file()
    card = load_model(path)[1]
    assert card.metrics["held_out_scores"]["beats_base"] is False and card.training["steps_done"] == 4
    assert wizard.controller.calls == [("choose", "worse-but-mine"), ("refresh",)]
    assert not wizard.isVisible()


def test_stop_saves_a_resumable_run_and_stops_the_thread(qtbot, make_wizard, folders):
    wizard = make_wizard()
    start_training(qtbot, wizard, folders, steps=500)
    page = wizard.train_page
    page.stop_button.click()
    qtbot.waitUntil(page.isComplete, timeout=TRAINING_TIMEOUT_MS)
    assert page.finished.cancelled and page.finished.step < 500
    assert (page.run_dir / STATE_FILE).is_file()
    assert not page.run.thread.isRunning()
    assert "Stopped at step" in page.status.text()
    assert wizard.asked == []  # the Stop button does not ask; it is the user's explicit choice


def test_closing_mid_run_asks_then_stops_cleanly_even_when_paused(qtbot, make_wizard, folders):
    wizard = make_wizard()
    start_training(qtbot, wizard, folders, steps=500)
    page = wizard.train_page
    page.pause_button.click()
    assert page.pause_button.text() == "Resume"
    # the step in progress finishes, then the worker waits at the gate
    qtbot.waitUntil(page.run.worker.held.is_set, timeout=TRAINING_TIMEOUT_MS)
    qtbot.wait(300)  # let the GUI thread take the progress signals sent before the gate closed
    paused_at = page.step()
    qtbot.wait(500)
    assert page.step() == paused_at and page.is_running()

    wizard.confirm_stop = lambda: wizard.asked.append(False) or False  # "No": keep training
    wizard.reject()
    assert wizard.isVisible() and page.is_running() and not page.run.cancel_token.cancelled

    wizard.confirm_stop = lambda: wizard.asked.append(True) or True
    wizard.reject()
    assert page.run.cancel_token.cancelled  # set at once, not through the event queue
    qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=TRAINING_TIMEOUT_MS)
    assert wizard.asked == [False, True]
    assert not page.run.thread.isRunning()
    assert page.finished.cancelled
    assert (page.run_dir / STATE_FILE).is_file()


def test_the_folder_page_blocks_next_while_a_folder_is_missing(qtbot, make_wizard, folders, tmp_path):
    wizard = make_wizard()
    wizard.next()
    page = wizard.folders_page
    next_button = wizard.button(QWizard.WizardButton.NextButton)
    page.old_field.set_folder(folders[0])
    assert not page.isComplete() and "colour photos" in page.findings.text()
    page.color_field.set_folder(tmp_path / "nowhere")
    assert "Checking" in page.findings.text()
    qtbot.waitUntil(lambda: not page.is_checking(), timeout=30_000)
    assert not page.isComplete() and not next_button.isEnabled()
    assert ERROR_COLOUR in page.findings.text() and "does not exist" in page.findings.text()

    page.color_field.set_folder(folders[1])
    qtbot.waitUntil(page.isComplete, timeout=30_000)
    assert next_button.isEnabled()
    wizard.next()  # the folders are remembered for next time
    settings = wizard.settings
    settings.sync()
    assert settings.value("gui/training/old_folder") == str(folders[0])
    assert settings.value("gui/training/color_folder") == str(folders[1])


def test_the_estimate_follows_the_options_and_bad_values_block_next(qtbot, make_wizard, folders):
    wizard = make_wizard()
    to_options(qtbot, wizard, folders, preset="quick-cpu")
    page = wizard.options_page
    assert page.steps.value() == 300 and page.f_blocks.value() == 3  # the preset's values
    qtbot.waitUntil(lambda: "about 3 min" in page.estimate_label.text())
    assert "CPU, 1 thread, fp32" in page.estimate_label.text()
    page.steps.setValue(200)
    assert "Estimating" in page.estimate_label.text()
    qtbot.waitUntil(lambda: "about 2 min" in page.estimate_label.text())
    page.size.setValue(40)  # not a multiple of 16
    assert not page.isComplete() and "multiple of 16" in page.estimate_label.text()
    page.size.setValue(48)
    assert page.isComplete() and page.config().size == 48 and page.config().base == TINY


def test_the_worker_batches_steps_and_reports_errors_as_messages(qtbot):
    import threading

    def train(config, cancel):
        yield TrainingStarted(Path("run"), 0, 200, "CPU", 20, 2)
        for step in range(1, 201):
            yield StepDone(step, 200, {"G_adv": 1.0, "cycle_A": 0.5, "cycle_B": 0.5, "D_A": 0.2, "D_B": 0.4}, 0.01, 1.0)
        yield TrainingFinished(200, None)
        raise ReviveError("the colour folder vanished")

    gate = threading.Event()
    gate.set()
    worker = TrainingWorker(None, CancelToken(), gate, train)
    batches, finished, failures, stops = [], [], [], []
    worker.steps_done.connect(batches.append)
    worker.run_finished.connect(finished.append)
    worker.run_failed.connect(failures.append)
    worker.stopped.connect(lambda: stops.append(True))
    worker.run()  # on this thread: signals are direct
    assert [e.step for batch in batches for e in batch] == list(range(1, 201))
    assert len(batches) < 20  # throttled, not one signal per step
    assert finished[0].step == 200
    assert failures == ["the colour folder vanished"] and stops == [True]
    assert curve_values(batches[0][0].losses) == {"G_adv": 1.0, "cycle": 1.0, "D": pytest.approx(0.3)}


def test_texts_and_names():
    assert format_estimate(42) == "about 42 s"
    assert format_estimate(185) == "about 3 min"
    assert format_estimate(2 * 3600 + 15 * 60) == "about 2 h 15 min"
    assert format_eta(65) == "1:05" and format_eta(3725) == "1:02:05"
    assert suggest_model_name("revive-base", Path("/photos/Grandma's album")) == "revive-base-Grandma's-album"
    assert suggest_model_name("tiny", Path("old"), {"tiny-old", "tiny-old-2"}) == "tiny-old-3"


def test_the_verdict_names_what_made_the_fine_tune_worse():
    from gui.training_wizard.texts import verdict_html
    from tests.test_cyclegan import fake_summary
    from training.cyclegan.events import HoldoutScored

    base = fake_summary(10.0, cast_b=-1.0)
    bluer = HoldoutScored(300, base, fake_summary(9.5, cast_b=-3.0), False, None, None, 8)
    assert "worse than revive-base" in verdict_html("revive-base", bluer)
    assert "stronger colour cast at step 300: 3.0 against 1.0" in verdict_html("revive-base", bluer)
    best = fake_summary(9.0, cast_b=-1.2)
    better = HoldoutScored(300, base, fake_summary(9.5, cast_b=-3.0), False, 200, best, 8)
    text = verdict_html("revive-base", better)
    assert "Better than revive-base" in text and "step 200" in text
    assert "Not measured" in verdict_html("revive-base", None)


def test_unique_run_dir_never_reuses_a_run(tmp_path):
    (tmp_path / "tiny-old").mkdir()
    assert unique_run_dir(tmp_path, "tiny-old") == tmp_path / "tiny-old-2"
    assert unique_run_dir(tmp_path / "none-yet", "a b") == tmp_path / "none-yet" / "a-b"


def test_the_main_window_opens_the_wizard_and_closing_the_window_stops_it(qtbot, make_window):
    window = make_window()
    window.train_action.trigger()
    wizards = window.findChildren(TrainingWizard)
    assert len(wizards) == 1 and wizards[0].isVisible()
    window.train_action.trigger()  # the open one comes to the front; no second wizard
    assert len(window.findChildren(TrainingWizard)) == 1
    assert wizards[0].base_page.chosen_model() == "revive-base"  # the shipped one, though the app uses tiny
    window.close()
    assert not wizards[0].isVisible()


def test_a_stopped_run_is_resumed_not_restarted(qtbot, make_wizard, folders):
    wizard = make_wizard()
    start_training(qtbot, wizard, folders, steps=500)
    page = wizard.train_page
    first_dir = page.run_dir
    page.stop_button.click()
    qtbot.waitUntil(page.isComplete, timeout=TRAINING_TIMEOUT_MS)
    stopped_at = page.finished.step
    assert page.can_resume() and page.resume_button.isVisible()

    wizard.back()  # the options as they were, then Next: the same run carries on
    wizard.next()
    assert page.run_dir == first_dir and page.config.resume
    started = []
    page.run.worker.run_started.connect(started.append)
    qtbot.waitUntil(lambda: page.step() > stopped_at, timeout=TRAINING_TIMEOUT_MS)
    page.stop()
    qtbot.waitUntil(page.isComplete, timeout=TRAINING_TIMEOUT_MS)
    assert started and started[0].start_step == stopped_at
    assert [p.name for p in first_dir.parent.iterdir()] == [first_dir.name]  # no second run folder

    page.resume_button.click()  # the button does the same
    qtbot.waitUntil(page.is_running, timeout=TRAINING_TIMEOUT_MS)
    page.stop()
    qtbot.waitUntil(page.isComplete, timeout=TRAINING_TIMEOUT_MS)
    assert page.run_dir == first_dir


def test_manage_runs_lists_resumes_and_deletes_runs(qtbot, make_wizard, folders, revive_home, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from gui.training_wizard.runs_dialog import RunsDialog

    wizard = make_wizard()
    start_training(qtbot, wizard, folders, steps=500)
    page = wizard.train_page
    run_dir = page.run_dir
    page.stop()
    qtbot.waitUntil(page.isComplete, timeout=TRAINING_TIMEOUT_MS)
    wizard.restart()
    dialog = wizard.manage_runs()
    assert isinstance(dialog, RunsDialog) and dialog.run_names() == [run_dir.name]
    assert "stopped at step" in dialog.table.item(0, 3).text()
    dialog.select(run_dir.name)
    assert dialog.resume_button.isEnabled()
    dialog.resume_button.click()
    assert wizard.currentId() == wizard.TRAIN_PAGE and page.run_dir == run_dir and page.config.resume
    qtbot.waitUntil(page.is_running, timeout=10_000)
    # While it trains, the list says so and neither deletes it from under its trainer nor resumes it
    busy = wizard.manage_runs()
    busy.select(run_dir.name)
    assert busy.table.item(0, 3).text() == "training now"
    assert not busy.delete_button.isEnabled() and not busy.resume_button.isEnabled()
    busy.confirm_delete = lambda infos: True
    warned = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: warned.append(args[2]))
    busy._on_delete_button_clicked()
    assert run_dir.exists() and "training now" in warned[0]
    busy.close()
    page.stop()
    qtbot.waitUntil(page.isComplete, timeout=TRAINING_TIMEOUT_MS)

    dialog = RunsDialog(run_dir.parent)
    qtbot.addWidget(dialog)
    dialog.select(run_dir.name)
    asked = []
    dialog.confirm_delete = lambda infos: asked.append([i.name for i in infos]) or False
    dialog.delete_button.click()
    assert run_dir.exists() and asked == [[run_dir.name]]
    dialog.confirm_delete = lambda infos: True
    dialog.select(run_dir.name)
    dialog.delete_button.click()
    assert not run_dir.exists() and dialog.run_names() == []


def test_presets_and_base_models_as_people_see_them(qtbot, make_wizard, folders, revive_home):
    import shutil

    from PySide6.QtWidgets import QApplication

    from gui.app import load_style

    shutil.copy(revive_home / "models" / f"{TINY}.safetensors", revive_home / "models" / "tiny2.safetensors")
    wizard = make_wizard()
    app = QApplication.instance()
    load_style(app)
    try:
        models = wizard.base_page.models
        assert not models.alternatingRowColors()
        image = models.viewport().grab().toImage()
        unselected = [
            models.visualItemRect(models.item(r))
            for r in range(models.count())
            if models.item(r) is not models.currentItem()
        ]
        assert len(unselected) >= 2  # an odd row too (the alternating one)
        for rect in unselected:
            background = image.pixelColor(min(rect.right(), image.width()) - 4, rect.center().y())
            assert background.lightness() < 100  # dark like the rest of the window, so its light text reads
    finally:
        app.setStyleSheet("")
    to_options(qtbot, wizard, folders, preset="quick-cpu")
    page = wizard.options_page
    assert "tiny" not in page.visible_presets() and "quick-cpu" in page.visible_presets()
    assert "minute" not in page.preset_description.text()  # no promise: the estimate is measured
    qtbot.waitUntil(lambda: "measured" in page.estimate_label.text())
    page.set_preset("tiny")  # still there for tests
    assert page.config().steps == 4
