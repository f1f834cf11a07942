"""Tools > Manage Added Models…: every model added from another project, and Remove.

Colorization models (DDColor) are also in the Adjust tab's model picker; upscalers and face models
are listed only here. The dialog shows rows it is given (``set_rows``) and asks for a removal
with ``remove_requested``; its owner removes the model and lists the rows again.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.models.added_models import AddedModelRow

COLUMNS = ("Name", "Task", "Architecture", "Scale", "Source")
EMPTY_TEXT = "No models added yet: Tools > Add Model… adds one (DDColor, Real-ESRGAN, GFPGAN, CodeFormer…)."


class AddedModelsDialog(QDialog):
    remove_requested = Signal(str)  # the name of the model to remove

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Added Models")
        self.resize(720, 320)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.empty = QLabel(EMPTY_TEXT)
        self.empty.setWordWrap(True)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.remove_button = self.buttons.addButton("Remove", QDialogButtonBox.ButtonRole.ActionRole)
        self.remove_button.setToolTip("Delete Revive's copy of the model and its card (your own file stays)")
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(self.empty)
        layout.addWidget(self.note)
        layout.addWidget(self.buttons)
        self.buttons.rejected.connect(self.reject)
        self.remove_button.clicked.connect(self._on_remove_button_clicked)
        self.table.itemSelectionChanged.connect(self._on_table_item_selection_changed)
        self.set_rows([])

    def set_rows(self, rows: list[AddedModelRow]) -> None:
        """Show ``rows`` (a damaged model's problem is its tooltip); the selection is cleared."""
        self.table.setRowCount(0)
        for row in rows:
            index = self.table.rowCount()
            self.table.insertRow(index)
            values = (row.name, row.task, row.architecture, row.scale_text, row.source)
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, row.name)
                if row.problem:
                    item.setToolTip(f"Damaged: {row.problem}")
                self.table.setItem(index, column, item)
        self.table.setVisible(bool(rows))
        self.empty.setVisible(not rows)
        self.table.clearSelection()
        self._on_table_item_selection_changed()

    def names(self) -> list[str]:
        return [self.table.item(i, 0).text() for i in range(self.table.rowCount())]

    def select(self, name: str) -> None:
        for index in range(self.table.rowCount()):
            if self.table.item(index, 0).text() == name:
                self.table.selectRow(index)
                return

    def selected_name(self) -> str:
        items = self.table.selectedItems()
        return items[0].data(Qt.ItemDataRole.UserRole) if items else ""

    def set_note(self, text: str) -> None:
        """One line under the table (e.g. why a removal failed)."""
        self.note.setText(text)

    def _on_table_item_selection_changed(self) -> None:
        self.remove_button.setEnabled(bool(self.selected_name()))

    def _on_remove_button_clicked(self) -> None:
        name = self.selected_name()
        if name:
            self.remove_requested.emit(name)
