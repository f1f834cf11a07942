"""The Upscale and Faces choices of the Batch tab and of the Adjust tab's export: two combo boxes
listing the added upscalers and face models (``gui.models.added_models.finishing_choices``), with
None first. A list may be empty: its box then says how to add one and cannot be opened."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QComboBox, QWidget


class FinishingChoice(QObject):
    changed = Signal()  # the user chose another upscaler or face model

    def __init__(self, upscale_tip: str, faces_tip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.upscale = QComboBox(parent)
        self.faces = QComboBox(parent)
        self._tips = {self.upscale: upscale_tip, self.faces: faces_tip}
        self._names: dict[QComboBox, list[str]] = {self.upscale: [], self.faces: []}
        self.upscale.activated.connect(self.changed)
        self.faces.activated.connect(self.changed)
        self.set_models([], [])

    def set_models(self, upscalers: list[str], faces: list[str]) -> None:
        """List these (each may be empty); a choice still listed stays chosen."""
        for combo, names, what in ((self.upscale, upscalers, "upscaling"), (self.faces, faces, "face")):
            chosen = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem("None", None)
            for name in names:
                combo.addItem(name, name)
            combo.setCurrentIndex(max(0, combo.findData(chosen)) if chosen in names else 0)
            combo.blockSignals(False)
            self._names[combo] = list(names)
            combo.setToolTip(
                self._tips[combo]
                if names
                else f"No {what} model is added: Tools > Add Model… adds one (Real-ESRGAN, GFPGAN, CodeFormer…)"
            )

    def choose(self, upscale: str | None, faces: str | None) -> None:
        """Choose these (names; None: none) where they are listed; a name not listed leaves None."""
        for combo, name in ((self.upscale, upscale), (self.faces, faces)):
            combo.setCurrentIndex(max(0, combo.findData(name)) if name else 0)

    def choice(self) -> tuple[str | None, str | None]:
        """(upscaler, face model) chosen; None for none."""
        return self.upscale.currentData(), self.faces.currentData()

    def any_listed(self) -> bool:
        return any(self._names.values())

    def set_enabled(self, enabled: bool) -> None:
        """Enable the boxes that have something to choose (``enabled`` False: neither)."""
        for combo in (self.upscale, self.faces):
            combo.setEnabled(enabled and bool(self._names[combo]))
