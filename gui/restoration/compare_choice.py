"""Which two versions of the photo on show the before/after view compares: Original | Colorized
(the view's own pair), Original | Restored, or Restored | Colorized. A small combo box for the
toolbar; the pairs with the restored photo are offered once the photo has one."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QComboBox, QWidget

ORIGINAL, RESTORED, COLORIZED = "Original", "Restored", "Colorized"
ORIGINAL_COLORIZED = (ORIGINAL, COLORIZED)
ORIGINAL_RESTORED = (ORIGINAL, RESTORED)
RESTORED_COLORIZED = (RESTORED, COLORIZED)
PAIRS = (ORIGINAL_COLORIZED, ORIGINAL_RESTORED, RESTORED_COLORIZED)


class ComparePairBox(QComboBox):
    pair_chosen = Signal(tuple)  # (before, after): two of ORIGINAL, RESTORED, COLORIZED

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ComparePairBox")
        self.setToolTip("Which two versions of the photo the view compares")
        for before, after in PAIRS:
            self.addItem(f"{before} | {after}", (before, after))
        self.set_restored_available(False)
        self.currentIndexChanged.connect(self._on_current_index_changed)

    def pair(self) -> tuple[str, str]:
        return tuple(self.currentData())

    def set_pair(self, pair: tuple[str, str]) -> None:
        """Choose ``pair`` (one of PAIRS; refused while it is not offered)."""
        index = PAIRS.index(tuple(pair))
        if self._offered(index):
            self.setCurrentIndex(index)

    def set_restored_available(self, available: bool) -> None:
        """Offer the pairs with the restored photo, or not (then Original | Colorized is chosen)."""
        model = self.model()
        assert isinstance(model, QStandardItemModel)
        for index, pair in enumerate(PAIRS):
            if RESTORED in pair:
                model.item(index).setEnabled(available)
        if not available and RESTORED in self.pair():
            self.setCurrentIndex(0)

    def _offered(self, index: int) -> bool:
        model = self.model()
        return isinstance(model, QStandardItemModel) and model.item(index).isEnabled()

    def _on_current_index_changed(self, index: int) -> None:
        if index >= 0:
            self.pair_chosen.emit(PAIRS[index])
