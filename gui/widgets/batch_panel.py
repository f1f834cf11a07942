"""The batch panel: pick an input and an output folder and options, then watch the progress.

The form's values go out as a ``BatchForm``; progress comes in as a ``BatchProgress``. Starting,
cancelling and opening the output folder are requests the controller carries out.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gui.models.batch_form import MAX_CLUSTER_WORKERS, BatchForm, ClusterChoice, cluster_unavailable
from gui.models.export_naming import EXPORT_FORMATS, FORMAT_LABELS
from gui.models.tuning import describe_eta
from gui.widgets.finishing_choice import FinishingChoice
from gui.widgets.icons import icon

if TYPE_CHECKING:  # engine.batch.progress imports the batch runner (torch): not at start-up
    from engine.batch.progress import BatchProgress


class BatchPanel(QWidget):
    start_requested = Signal(object)  # BatchForm
    cancel_requested = Signal()
    open_output_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("BatchPanel")
        style = self.style()
        self.input_edit = QLineEdit()
        self.input_edit.setPlaceholderText("Folder of photos to colorize")
        self.output_edit = QLineEdit()
        self.output_edit.setPlaceholderText("Folder for the results")
        self.recursive = QCheckBox("Include subfolders")
        self.skip_existing = QCheckBox("Skip photos already done (resume)")
        self.format = QComboBox()
        for name in EXPORT_FORMATS:
            self.format.addItem(FORMAT_LABELS[name], name)
        self.cluster = QCheckBox("Run on a Ray cluster")
        self.cluster_address = QLineEdit("local")
        self.cluster_address.setPlaceholderText("local, auto or ray://host:10001")
        self.cluster_address.setToolTip(
            "local: start Ray on this computer; auto: the cluster this computer is a node of;"
            " ray://HOST:10001: a cluster elsewhere"
        )
        self.cluster_workers = QSpinBox()
        self.cluster_workers.setRange(0, MAX_CLUSTER_WORKERS)
        self.cluster_workers.setSpecialValueText("Automatic")
        self.cluster_workers.setToolTip("0 (automatic): one worker per GPU of the cluster, else one per CPU")
        self.finishing = FinishingChoice(
            "Enlarge each result with this added upscaling model (as colorize --upscale); slow on a CPU",
            "Restore each face found in a result with this added face model (as colorize --faces)",
            self,
        )
        self.upscale, self.faces = self.finishing.upscale, self.finishing.faces
        self.cluster_problem_label = QLabel()
        self.cluster_problem_label.setObjectName("Hint")
        self.cluster_problem_label.setWordWrap(True)
        self._cluster_unavailable: str | None = None

        self.start_button = QPushButton(icon("play", QStyle.StandardPixmap.SP_MediaPlay, self), "Start batch")
        self.start_button.setObjectName("PrimaryButton")
        self.cancel_button = QPushButton(icon("stop", QStyle.StandardPixmap.SP_MediaStop, self), "Cancel")
        self.open_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon), "Open output folder")

        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(True)
        self.settings_label = QLabel()
        self.settings_label.setObjectName("Hint")
        self.settings_label.setWordWrap(True)
        self.count_label = QLabel("Not started")
        self.count_label.setObjectName("Strong")
        self.count_label.setWordWrap(True)  # "Finished: 1,204 colorized, 3 failed in 412.7 s" fits
        self.report_label = QLabel()
        self.report_label.setObjectName("Hint")
        self.report_label.setWordWrap(True)
        self.report_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.eta_label = QLabel()
        self.current_label = QLabel()
        self.current_label.setObjectName("Hint")
        self.current_label.setWordWrap(True)
        self.failures = QListWidget()
        self._listed = (0, 0)  # (inputs that could not be used, photos that failed) in the list
        self.failures.setObjectName("FailureList")
        self.failures.setMaximumHeight(140)

        folders = QGroupBox("Folders")
        form = QFormLayout(folders)
        form.addRow("Photos", self._with_browse(self.input_edit, "Choose the folder of photos"))
        form.addRow("Results", self._with_browse(self.output_edit, "Choose the folder for the results"))
        options = QGroupBox("Options")
        options_layout = QFormLayout(options)
        options_layout.addRow(self.recursive)
        options_layout.addRow(self.skip_existing)
        options_layout.addRow("Format", self.format)
        options_layout.addRow("Upscale", self.upscale)
        options_layout.addRow("Faces", self.faces)
        options_layout.addRow(self.cluster)
        options_layout.addRow("Cluster address", self.cluster_address)
        options_layout.addRow("Ray workers", self.cluster_workers)
        options_layout.addRow(self.cluster_problem_label)
        options_layout.addRow(self.settings_label)

        progress = QGroupBox("Progress")
        progress_layout = QVBoxLayout(progress)
        progress_layout.addWidget(self.progress_bar)
        progress_layout.addWidget(self.count_label)
        progress_layout.addWidget(self.eta_label)
        progress_layout.addWidget(self.current_label)
        progress_layout.addWidget(self.report_label)
        progress_layout.addWidget(QLabel("Failures"))
        progress_layout.addWidget(self.failures)
        buttons = QHBoxLayout()
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.open_button)
        progress_layout.addLayout(buttons)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.setSpacing(10)
        layout.addWidget(folders)
        layout.addWidget(options)
        layout.addWidget(self.start_button)
        layout.addWidget(progress)
        layout.addStretch(1)

        self.start_button.clicked.connect(self._on_start_button_clicked)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.open_button.clicked.connect(self.open_output_requested)
        self.input_edit.textChanged.connect(self._update_start)
        self.output_edit.textChanged.connect(self._update_start)
        self.cluster.toggled.connect(self._update_cluster)
        self.cluster_address.textChanged.connect(self._update_cluster)
        self.set_running(False)
        self.set_finishing_models([], [])
        self.set_cluster_unavailable(cluster_unavailable())
        self.open_button.setEnabled(False)

    def _with_browse(self, edit: QLineEdit, caption: str) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(edit, 1)
        button = QToolButton()
        button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_DirIcon))
        button.setToolTip(caption)
        button.clicked.connect(lambda: self._browse(edit, caption))
        layout.addWidget(button)
        return row

    def _browse(self, edit: QLineEdit, caption: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, caption, edit.text() or str(Path.home()))
        if folder:
            edit.setText(folder)

    # -- form -------------------------------------------------------------------------------------------
    def set_form(
        self,
        form: BatchForm | None = None,
        *,
        input_dir: Path | None = None,
        output_dir: Path | None = None,
        recursive: bool = True,
        format: str = "same",
        skip_existing: bool = True,
        cluster: ClusterChoice | None = None,
    ) -> None:
        """Show these values (``cluster`` None: on this computer, the address and workers as they are)."""
        if form is not None:
            input_dir, output_dir = form.input_dir, form.output_dir
            recursive, format, skip_existing = form.recursive, form.format, form.skip_existing
            cluster = form.cluster
        self.input_edit.setText(str(input_dir) if input_dir else "")
        self.output_edit.setText(str(output_dir) if output_dir else "")
        self.recursive.setChecked(recursive)
        self.skip_existing.setChecked(skip_existing)
        self.format.setCurrentIndex(max(0, self.format.findData(format)))
        if cluster is not None:
            self.set_cluster(True, cluster.address, cluster.workers)
        else:
            self.set_cluster(False)

    def set_cluster(self, on: bool, address: str | None = None, workers: int | None = None) -> None:
        """Run on a Ray cluster or not (never while it is unavailable); the address and the number
        of workers are kept as they are when None."""
        if address is not None:
            self.cluster_address.setText(address)
        if workers is not None:
            self.cluster_workers.setValue(workers)
        self.cluster.setChecked(on and self._cluster_unavailable is None)
        self._update_cluster()

    def set_cluster_unavailable(self, reason: str | None) -> None:
        """Batches cannot run on a Ray cluster here (Ray is not installed): the choice is off and
        disabled, ``reason`` in its tooltip. None makes it available again."""
        self._cluster_unavailable = reason
        if reason is not None:
            self.cluster.setChecked(False)
            self.cluster.setToolTip(f"Not available: {reason}")
        else:
            self.cluster.setToolTip(
                "Colorize on the workers of a Ray cluster (as colorize --cluster does). The photos, the"
                " results folder and Revive must be at the same paths on every node."
            )
        self.set_running(self._running)

    def cluster_choice(self) -> ClusterChoice | None:
        """The Ray cluster the batch runs on, or None (on this computer)."""
        if not self.cluster.isChecked() or self._cluster_unavailable is not None:
            return None
        return ClusterChoice(self.cluster_address.text().strip(), self.cluster_workers.value())

    def form(self) -> BatchForm | None:
        """The form's values, or None while a folder is missing."""
        input_text, output_text = self.input_edit.text().strip(), self.output_edit.text().strip()
        if not input_text or not output_text:
            return None
        upscale, faces = self.finishing_choice()
        return BatchForm(
            Path(input_text).expanduser(),
            Path(output_text).expanduser(),
            self.recursive.isChecked(),
            self.format.currentData(),
            self.skip_existing.isChecked(),
            cluster=self.cluster_choice(),
            upscale=upscale,
            faces=faces,
        )

    def set_finishing_models(self, upscalers: list[str], faces: list[str]) -> None:
        """The added upscalers and face models a batch can finish its results with (each list may be
        empty); a choice that is still listed stays chosen."""
        self.finishing.set_models(upscalers, faces)
        self.set_running(self._running)

    def choose_finishing(self, upscale: str | None, faces: str | None) -> None:
        self.finishing.choose(upscale, faces)

    def finishing_choice(self) -> tuple[str | None, str | None]:
        """(upscaler, face model) chosen for the batch; None for none."""
        return self.finishing.choice()

    # -- progress ------------------------------------------------------------------------------------------
    def set_running(self, running: bool) -> None:
        self._running = running
        for widget in (self.input_edit, self.output_edit, self.recursive, self.skip_existing, self.format):
            widget.setEnabled(not running)
        self.cluster.setEnabled(not running and self._cluster_unavailable is None)
        on = self.cluster.isChecked() and self._cluster_unavailable is None
        self.cluster_address.setEnabled(not running and on)
        self.cluster_workers.setEnabled(not running and on)
        self.finishing.set_enabled(not running)
        self.cancel_button.setEnabled(running)
        if running:
            self.open_button.setEnabled(False)
        self._update_start()

    def set_settings_text(self, text: str) -> None:
        """Which colour settings a batch uses (the Adjust tab's, said here so it is no surprise)."""
        self.settings_label.setText(f"Colour settings from the Adjust tab: {text}")

    def show_started(self) -> None:
        self.failures.clear()
        self._listed = (0, 0)
        self.report_label.clear()
        self.progress_bar.setRange(0, 0)  # busy until the plan is known
        choice = self.cluster_choice()
        self.count_label.setText(f"Starting the Ray workers ({choice.address})…" if choice else "Preparing…")
        self.eta_label.clear()
        self.current_label.clear()
        self.set_running(True)

    def show_progress(self, progress: BatchProgress) -> None:
        self.progress_bar.setRange(0, max(1, progress.to_do))
        self.progress_bar.setValue(progress.finished_count)
        parts = [f"{progress.finished_count} of {progress.to_do} photos"]
        if progress.skipped:
            parts.append(f"{progress.skipped} already done")
        failed = len(progress.failed) + len(progress.problems)  # as the summary counts them
        if failed:
            parts.append(f"{failed} failed")
        self.count_label.setText(" · ".join(parts))
        self.eta_label.setText(describe_eta(progress.eta_seconds()))
        self.current_label.setText(f"Now: {progress.current.name}" if progress.current else "")
        # Inputs that could not be used (a pipe, a missing folder) are failures the user must see
        # too; the two lists grow independently, so each keeps its own count of rows shown.
        problems, photos = self._listed
        for source, message in progress.problems[problems:] + progress.failed[photos:]:
            prefix = f"{source.name}: "
            self.failures.addItem(prefix + (message[len(prefix) :] if message.startswith(prefix) else message))
        self._listed = (len(progress.problems), len(progress.failed))

    def show_finished(self, progress: BatchProgress) -> None:
        self.show_progress(progress)
        summary = progress.summary
        self.set_running(False)
        self.open_button.setEnabled(True)
        self.eta_label.clear()
        self.current_label.clear()
        if summary is None:
            return
        verb = "Cancelled" if summary.cancelled else "Finished"
        text = f"{verb}: {summary.done} colorized"
        if summary.skipped:
            text += f", {summary.skipped} already done"
        if summary.failed:
            text += f", {len(summary.failed)} failed"
        self.count_label.setText(f"{text} in {summary.seconds:.1f} s")
        if summary.report_path is not None:
            self.report_label.setText(f"Report: {summary.report_path}")

    def show_error(self, message: str) -> None:
        self.set_running(False)
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.count_label.setText("The batch could not start")
        self.current_label.setText(message)

    def _update_cluster(self) -> None:
        """Say at once what is wrong with the address (the batch is refused with the same line)."""
        choice = self.cluster_choice()
        problem = choice.problem() if choice is not None else None
        self.cluster_problem_label.setText(problem or "")
        self.cluster_problem_label.setVisible(bool(problem))
        self.set_running(self._running)

    def _update_start(self) -> None:
        self.start_button.setEnabled(not self._running and self.form() is not None)

    def _on_start_button_clicked(self) -> None:
        form = self.form()
        if form is not None:
            self.start_requested.emit(form)
