"""Wizard page 5: name the new model, compare it with the base model, install it (and make it active).

The comparison is measured, not only shown: beside the previews of the held-out old photos, a table
gives base vs fine-tuned scores on the held-out colour photos (``training.cyclegan.scores``), and one
sentence says plainly whether the new model is better. A better model installs with Finish
("Install"): the best step's G, not the last. A worse (or unmeasured) one is not installed: Finish
stays off, and only the explicit **Install anyway** button installs it (the run's current G).

Finishing exports the model (``training.cyclegan.export.export_cyclegan``, which loads the whole
training state: seconds for a big run) on the wizard's background pool, with a busy bar and the
page's controls off meanwhile; once it is written, the name goes to ``on_installed`` and the wizard
closes. The installed models' names (for the "it replaces a model" warning while typing) are listed
once when the page is entered and after an install, never per keystroke.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWizard,
    QWizardPage,
)

from engine.errors import ReviveError
from engine.models.registry import list_models, user_model_path
from gui.training_wizard.preview_grid import PreviewGrid
from gui.training_wizard.texts import ERROR_COLOUR, WARNING_COLOUR, score_table_html, suggest_model_name, verdict_html
from gui.workers.background_tasks import BackgroundTasks
from training.cyclegan.events import HoldoutScored, PreviewReady
from training.cyclegan.export import export_cyclegan


@dataclass(frozen=True)
class TrainingOutcome:
    """What the training page leaves for this one."""

    run_dir: Path | None  # None: nothing to install (no run, or it failed)
    base: str  # the base model's name
    old: Path | None  # the old photos' folder (for the suggested name)
    base_preview: PreviewReady | None  # the base model's previews (step 0)
    preview: PreviewReady | None  # the previews of the step that would be installed
    scores: HoldoutScored | None  # the newest held-out scores (None: not measured)

    @property
    def better(self) -> bool:
        """True when a step of the run beats the base model (the one Install adds)."""
        return self.scores is not None and self.scores.best_step is not None


class FinishPage(QWizardPage):
    def __init__(
        self,
        outcome: Callable[[], TrainingOutcome],
        on_installed: Callable[[str, bool], None],
        tasks: BackgroundTasks,
        parent=None,
    ) -> None:
        """``outcome()`` gives the run's ``TrainingOutcome``; ``on_installed(name, make_active)`` is
        called after a successful export, which runs on ``tasks``."""
        super().__init__(parent)
        self._tasks = tasks
        self._installed_names: set[str] = set()  # listed on entering the page, not per keystroke
        self._exporting = False
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # an indeterminate bar while the model is written
        self.busy.setTextVisible(False)
        self.busy.setMaximumHeight(8)
        self.busy.hide()
        self.setTitle("Your new model")
        self.setSubTitle("Compare it with the model it started from, on your own photos. Give it a name to install it.")
        self._outcome, self._on_installed = outcome, on_installed
        self.name = QLineEdit()
        self.name_problem = QLabel()
        self.name_problem.setTextFormat(Qt.TextFormat.RichText)
        self.name_problem.setWordWrap(True)
        self.make_active = QCheckBox("Make it the active model")
        self.make_active.setChecked(True)
        self.previews = PreviewGrid("Fine-tuned")
        self.scores = QLabel()
        self.scores.setTextFormat(Qt.TextFormat.RichText)
        self.scores.setToolTip(
            "Colour photos of yours kept aside (never trained on), turned gray and colorized\n"
            "as the installed model would, then compared with the originals."
        )
        self.verdict = QLabel()
        self.verdict.setTextFormat(Qt.TextFormat.RichText)
        self.verdict.setWordWrap(True)
        self.install_anyway = QPushButton("Install anyway")
        self.install_anyway.setToolTip("Install the fine-tuned model although it does worse than the base model")
        self.install_anyway.hide()
        self.result = QLabel()
        self.result.setTextFormat(Qt.TextFormat.RichText)
        self.result.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Model name:", self.name)
        form.addRow("", self.name_problem)
        side = QVBoxLayout()
        side.addWidget(QLabel("<b>On your colour photos kept aside</b>"))
        side.addWidget(self.scores)
        side.addWidget(self.verdict)
        side.addWidget(self.install_anyway, 0, Qt.AlignmentFlag.AlignLeft)
        side.addStretch(1)
        comparison = QHBoxLayout()
        comparison.addWidget(self.previews, 3)
        comparison.addLayout(side, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.make_active)
        layout.addLayout(comparison, 1)
        layout.addWidget(self.busy)
        layout.addWidget(self.result)
        self.name.textChanged.connect(self._on_name_text_changed)
        self.install_anyway.clicked.connect(self._on_install_anyway_clicked)
        self.installed_path: Path | None = None
        self._forced = False  # the user chose Install anyway

    def initializePage(self) -> None:
        outcome = self._outcome()
        self.refresh_installed()
        self.installed_path = None
        self.name.setText(
            suggest_model_name(outcome.base or "model", outcome.old or Path("photos"), self._installed_names)
        )
        if outcome.base_preview is not None:
            self.previews.set_base(outcome.base_preview.images)
        if outcome.preview is not None:
            self.previews.set_current(outcome.preview.images, f"Fine-tuned (step {outcome.preview.step})")
        base = outcome.base or "the base model"
        self.scores.setText(score_table_html(base, outcome.scores) if outcome.scores is not None else "")
        self.verdict.setText(verdict_html(base, outcome.scores))
        self._forced = False
        self.install_anyway.setVisible(outcome.run_dir is not None and not outcome.better)
        self.setButtonText(QWizard.WizardButton.FinishButton, "Install")
        self.result.setText("")

    def refresh_installed(self) -> None:
        """List the installed models' names again (one folder scan)."""
        self._installed_names = {m.name for m in list_models()}

    def is_exporting(self) -> bool:
        return self._exporting

    def is_worse(self) -> bool:
        """True when the new model does not beat the base (or was not measured): Install stays off."""
        return not self._outcome().better

    def name_problem_text(self) -> str:
        """Why the name cannot be used ('' when it can); a replaced model is a warning, not a problem."""
        name = self.name.text().strip()
        if not name:
            return "Type a name for the model."
        try:
            user_model_path(name)
        except ValueError as error:
            message = str(error)
            return message[:1].upper() + message[1:] + "."
        return ""

    def isComplete(self) -> bool:
        outcome = self._outcome()
        return (
            not self._exporting
            and not self.name_problem_text()
            and outcome.run_dir is not None
            and (outcome.better or self._forced)
        )

    def _on_name_text_changed(self, _text: str) -> None:
        problem = self.name_problem_text()
        name = self.name.text().strip()
        if problem:
            self.name_problem.setText(f'<span style="color:{ERROR_COLOUR}">{html.escape(problem)}</span>')
        elif name in self._installed_names:
            self.name_problem.setText(
                f'<span style="color:{WARNING_COLOUR}">A model called {html.escape(name)} '
                "is installed; Finish replaces it (a shipped one is only hidden).</span>"
            )
        else:
            self.name_problem.setText("")
        self.install_anyway.setEnabled(not problem)
        self.completeChanged.emit()

    def _on_install_anyway_clicked(self) -> None:
        """The user insists: install the worse model through the wizard's own Finish."""
        self._forced = True
        self.setButtonText(QWizard.WizardButton.FinishButton, "Install anyway")
        self.completeChanged.emit()
        wizard = self.wizard()
        if wizard is not None and self.isComplete():
            wizard.button(QWizard.WizardButton.FinishButton).click()

    def validatePage(self) -> bool:
        """Finish: the first press starts the export in the background (False: the wizard stays);
        once the model is written, Finish is pressed again for the user and passes (True)."""
        if self.installed_path is not None:
            return True
        run_dir = self._outcome().run_dir
        name = self.name.text().strip()
        if not self.isComplete() or run_dir is None:
            return False
        if name in self._installed_names and not self.confirm_replace(name):
            return False  # the warning under the name was not enough to replace a model unasked
        self._set_exporting(True)
        self.result.setText(f"Saving the model {html.escape(name)}…")
        self._tasks.submit(
            export_model,
            run_dir,
            name,
            self._forced,
            on_done=lambda path: self._on_tasks_exported(name, path),
            on_failed=self._on_tasks_export_failed,
        )
        return False

    def confirm_replace(self, name: str) -> bool:
        """Ask before replacing an installed model of that name (a method, so tests can answer)."""
        answer = QMessageBox.question(
            self,
            "Replace a model",
            f"A model called {name} is installed. Replace it with this one? (A shipped model is only"
            " hidden, and comes back when this one is removed.)",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _set_exporting(self, exporting: bool) -> None:
        self._exporting = exporting
        self.busy.setVisible(exporting)
        for widget in (self.name, self.make_active, self.install_anyway):
            widget.setEnabled(not exporting)
        wizard = self.wizard()
        if wizard is not None:
            for button in (QWizard.WizardButton.BackButton, QWizard.WizardButton.CancelButton):
                wizard.button(button).setEnabled(not exporting)
        self.completeChanged.emit()

    def _on_tasks_exported(self, name: str, path: Path) -> None:
        self.installed_path = path
        self._set_exporting(False)
        self.refresh_installed()
        self._on_installed(name, self.make_active.isChecked())
        wizard = self.wizard()
        if wizard is not None:
            wizard.button(QWizard.WizardButton.FinishButton).click()  # validatePage passes now: closes

    def _on_tasks_export_failed(self, message: str) -> None:
        self._set_exporting(False)
        self.result.setText(
            f'<span style="color:{ERROR_COLOUR}"><b>Could not save the model:</b> {html.escape(message)}</span>'
        )


def export_model(run_dir: Path, name: str, keep_worse: bool) -> Path:
    """``export_cyclegan`` for the background pool: a bad name or an unwritable folder becomes a
    ReviveError (its message reaches the page as is)."""
    try:
        return export_cyclegan(run_dir, name, keep_worse=keep_worse)
    except (ValueError, OSError) as error:
        raise ReviveError(str(error)) from error
