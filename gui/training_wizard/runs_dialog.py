"""Manage Runs: the training runs kept on disk (size, date, how far each got), to resume or delete.

Deleting asks first; resuming hands the run folder to ``on_resume`` (the wizard continues it).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.errors import ReviveError
from gui.training_wizard.runs import RunInfo, delete_run, describe_size, list_runs

_PATH_ROLE = Qt.ItemDataRole.UserRole


class RunsDialog(QDialog):
    def __init__(
        self,
        runs: Path,
        on_resume: Callable[[Path], None] | None = None,
        parent: QWidget | None = None,
        training_now: Callable[[], Path | None] = lambda: None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Training Runs")
        self._runs, self._on_resume = Path(runs), on_resume
        # The run folder being trained right now (None: none): it is neither deleted from under
        # its trainer (which then lost everything when it saved) nor resumed a second time.
        self._training_now = training_now
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Run", "Last change", "Size", "Progress"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.ExtendedSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.delete_button = QPushButton("Delete…")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setVisible(on_resume is not None)
        buttons = QHBoxLayout()
        buttons.addWidget(self.delete_button)
        buttons.addWidget(self.resume_button)
        buttons.addStretch(1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.delete_button.clicked.connect(self._on_delete_button_clicked)
        self.resume_button.clicked.connect(self._on_resume_button_clicked)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.resize(720, 420)
        self.refresh()

    def refresh(self) -> None:
        self._infos: dict[str, RunInfo] = {}
        runs = list_runs(self._runs)
        self.table.setRowCount(len(runs))
        for row, info in enumerate(runs):
            self._infos[str(info.path)] = info
            cells = (
                info.name,
                info.modified.strftime("%Y-%m-%d %H:%M"),
                describe_size(info.size_bytes),
                "training now" if self._is_training(info) else info.progress_text(),
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(_PATH_ROLE, str(info.path))
                self.table.setItem(row, column, item)
        total = sum(info.size_bytes for info in runs)
        self.summary.setText(
            f"{len(runs)} run{'s' if len(runs) != 1 else ''} in {self._runs}, {describe_size(total)} in all."
            if runs
            else f"No training runs in {self._runs}."
        )
        self._update_buttons()

    def run_names(self) -> list[str]:
        return [self.table.item(row, 0).text() for row in range(self.table.rowCount())]

    def select(self, name: str) -> None:
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).text() == name:
                self.table.selectRow(row)

    def selected(self) -> list[RunInfo]:
        paths = {item.data(_PATH_ROLE) for item in self.table.selectedItems()}
        return [self._infos[p] for p in paths if p in self._infos]

    def confirm_delete(self, infos: list[RunInfo]) -> bool:
        """Ask before deleting (a method, so tests can answer)."""
        names = ", ".join(info.name for info in infos[:3]) + ("…" if len(infos) > 3 else "")
        size = describe_size(sum(info.size_bytes for info in infos))
        answer = QMessageBox.question(
            self,
            "Delete training runs",
            f"Delete {names} ({size})? A deleted run cannot be resumed; models you installed from it stay.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _is_training(self, info: RunInfo) -> bool:
        now = self._training_now()
        return now is not None and Path(now).resolve() == Path(info.path).resolve()

    def _update_buttons(self) -> None:
        chosen = self.selected()
        self.delete_button.setEnabled(bool(chosen) and not any(self._is_training(info) for info in chosen))
        self.resume_button.setEnabled(len(chosen) == 1 and chosen[0].resumable and self._training_now() is None)
        busy = self._training_now()
        self.resume_button.setToolTip("A run is training now: stop it first" if busy is not None else "")

    def _on_delete_button_clicked(self) -> None:
        chosen = self.selected()
        if not chosen or not self.confirm_delete(chosen):
            return
        problems = []
        for info in chosen:
            if self._is_training(info):  # it may have started since the selection
                problems.append(f"{info.name} is training now: stop it before deleting it")
                continue
            try:
                delete_run(info.path, self._runs)
            except ReviveError as error:
                problems.append(str(error))
        self.refresh()
        if problems:
            QMessageBox.warning(self, "Delete training runs", "\n".join(problems))

    def _on_resume_button_clicked(self) -> None:
        chosen = self.selected()
        if self._training_now() is not None:
            QMessageBox.information(self, "Resume a training run", "A run is training now: stop it first.")
            return
        if len(chosen) == 1 and chosen[0].resumable and self._on_resume is not None:
            self._on_resume(chosen[0].path)
            self.accept()
