"""The Restore tab: which stages repair the photo before colour, how strongly, the damage-mask
brush, and the buttons that find the damage, apply the repair or cancel it.

Every stage's title, description and strength range come from the engine's stage cards
(``engine.restoration.stages.STAGE_CARDS``, through ``gui.models.restoration_choice``); the panel
only maps a slider's 0..100 onto a card's range. It edits nothing itself: it says what was asked
(signals) and shows what it is told (``set_*``).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.restoration.stages import STAGE_CARDS, STAGE_ORDER
from gui.models.damage_mask import BRUSH_SIZES, DEFAULT_BRUSH
from gui.models.restoration_choice import RestorationChoice, strength_card

SLIDER_STEPS = 100


def slider_value(stage: str, strength: float) -> int:
    card = strength_card(stage)
    return round((strength - card.low) / (card.high - card.low) * SLIDER_STEPS)


def slider_strength(stage: str, value: int) -> float:
    card = strength_card(stage)
    return round(card.low + (card.high - card.low) * value / SLIDER_STEPS, 4)


class RestorationPanel(QWidget):
    """The Restore tab (see the module docstring)."""

    choice_changed = Signal(object)  # RestorationChoice
    find_requested = Signal()
    apply_requested = Signal()
    cancel_requested = Signal()
    revert_requested = Signal()  # colorize from the original again
    brush_changed = Signal(float, bool)  # diameter in photo pixels, erasing
    undo_requested = Signal()
    redo_requested = Signal()
    clear_requested = Signal()
    batch_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RestorationPanel")
        self._choice = RestorationChoice()
        self._busy = self._has_photo = self._restored = False
        self.stage_boxes: dict[str, QCheckBox] = {}
        self.strength_sliders: dict[str, QSlider] = {}
        self._strength_labels: dict[str, QLabel] = {}

        stages = QGroupBox("Repair before colour")
        grid = QGridLayout(stages)
        for row, stage in enumerate(STAGE_ORDER):
            card = STAGE_CARDS[stage]
            box = QCheckBox(card.title)
            box.setToolTip(f"{card.description}\n\n{card.method}")
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(0, SLIDER_STEPS)
            slider.setValue(slider_value(stage, self._choice.strength(stage)))
            slider.setToolTip(f"Strength: {strength_card(stage).meaning}")
            slider.setEnabled(False)
            label = QLabel()
            label.setMinimumWidth(40)
            box.toggled.connect(lambda on, s=stage: self._on_stage_box_toggled(s, on))
            slider.valueChanged.connect(lambda value, s=stage: self._on_strength_slider_value_changed(s, value))
            grid.addWidget(box, 2 * row, 0, 1, 2)
            grid.addWidget(slider, 2 * row + 1, 0)
            grid.addWidget(label, 2 * row + 1, 1)
            self.stage_boxes[stage], self.strength_sliders[stage], self._strength_labels[stage] = box, slider, label
            self._show_strength(stage)

        self.find_button = QPushButton("Find Damage")
        self.find_button.setToolTip("Mark the scratches, dust and folds the detector finds (you can paint on the mask)")
        self.apply_button = QPushButton("Apply to This Photo")
        self.apply_button.setToolTip("Repair the photo with these stages (and the mask), then colorize it again")
        self.cancel_button = QPushButton("Cancel")
        self.revert_button = QPushButton("Colorize From the Original")
        self.revert_button.setToolTip("Forget this photo's repair and colorize the original again")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.status = QLabel("Choose what to repair, then Find Damage or Apply.")
        self.status.setWordWrap(True)
        actions = QGridLayout()
        actions.addWidget(self.find_button, 0, 0)
        actions.addWidget(self.apply_button, 0, 1)
        actions.addWidget(self.cancel_button, 1, 0)
        actions.addWidget(self.revert_button, 1, 1)

        mask = QGroupBox("Damage mask")
        self.paint_tool = QToolButton()
        self.paint_tool.setText("Add Damage")
        self.paint_tool.setToolTip("Left drag marks damage; right drag erases")
        self.erase_tool = QToolButton()
        self.erase_tool.setText("Erase")
        self.erase_tool.setToolTip("Left drag removes marks from the mask")
        tools = QButtonGroup(self)
        for button in (self.paint_tool, self.erase_tool):
            button.setCheckable(True)
            tools.addButton(button)
        self.paint_tool.setChecked(True)
        self.brush_slider = QSlider(Qt.Orientation.Horizontal)
        self.brush_slider.setRange(*BRUSH_SIZES)
        self.brush_slider.setValue(DEFAULT_BRUSH)
        self.brush_slider.setToolTip("Brush size, in the photo's own pixels")
        self.brush_label = QLabel()
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Undo the last stroke (Ctrl+Z on the photo)")
        self.redo_button = QPushButton("Redo")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Remove every mark")
        self.mask_status = QLabel("No mask yet.")
        self.mask_status.setWordWrap(True)
        mask_layout = QVBoxLayout(mask)
        row = QHBoxLayout()
        row.addWidget(self.paint_tool)
        row.addWidget(self.erase_tool)
        row.addStretch(1)
        mask_layout.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(QLabel("Brush"))
        row.addWidget(self.brush_slider, 1)
        row.addWidget(self.brush_label)
        mask_layout.addLayout(row)
        row = QHBoxLayout()
        for button in (self.undo_button, self.redo_button, self.clear_button):
            row.addWidget(button)
        mask_layout.addLayout(row)
        mask_layout.addWidget(self.mask_status)

        self.batch_box = QCheckBox("Also repair the photos of a batch")
        self.batch_box.setToolTip("The Batch tab's run repairs each photo with these stages before colour")

        layout = QVBoxLayout(self)
        layout.addWidget(stages)
        layout.addLayout(actions)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(mask)
        layout.addWidget(self.batch_box)
        layout.addStretch(1)

        self.find_button.clicked.connect(self.find_requested)
        self.apply_button.clicked.connect(self.apply_requested)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.revert_button.clicked.connect(self.revert_requested)
        self.undo_button.clicked.connect(self.undo_requested)
        self.redo_button.clicked.connect(self.redo_requested)
        self.clear_button.clicked.connect(self.clear_requested)
        self.batch_box.toggled.connect(self.batch_toggled)
        self.brush_slider.valueChanged.connect(self._on_brush_changed)
        self.erase_tool.toggled.connect(self._on_brush_changed)
        self._on_brush_changed()
        self.set_busy(False)
        self.set_photo_state(False, False)
        self.set_mask_state(False, False, None)

    # -- the choice -------------------------------------------------------------------------------
    def choice(self) -> RestorationChoice:
        return self._choice

    def set_choice(self, choice: RestorationChoice) -> None:
        for stage in STAGE_ORDER:
            self.strength_sliders[stage].setValue(slider_value(stage, choice.strength(stage)))
            self.stage_boxes[stage].setChecked(stage in choice.stages)
        self._choice = choice
        self._update_buttons()

    def batch_restores(self) -> bool:
        return self.batch_box.isChecked()

    def brush(self) -> tuple[float, bool]:
        """(diameter in photo pixels, erasing)."""
        return float(self.brush_slider.value()), self.erase_tool.isChecked()

    def _on_stage_box_toggled(self, stage: str, on: bool) -> None:
        self.strength_sliders[stage].setEnabled(on)
        self._set_choice(self._choice.with_stage(stage, on))

    def _on_strength_slider_value_changed(self, stage: str, value: int) -> None:
        self._show_strength(stage)
        self._set_choice(self._choice.with_strength(stage, slider_strength(stage, value)))

    def _set_choice(self, choice: RestorationChoice) -> None:
        if choice != self._choice:
            self._choice = choice
            self._update_buttons()
            self.choice_changed.emit(choice)

    def _show_strength(self, stage: str) -> None:
        self._strength_labels[stage].setText(f"{self.strength_sliders[stage].value()} %")

    def _on_brush_changed(self, *_args) -> None:
        diameter, erasing = self.brush()
        self.brush_label.setText(f"{diameter:.0f} px")
        self.brush_changed.emit(diameter, erasing)

    # -- what the panel shows ---------------------------------------------------------------------
    def set_busy(self, busy: bool, text: str = "") -> None:
        """A job runs (Cancel on, the rest off) or none does."""
        self._busy = busy
        self.cancel_button.setEnabled(busy)
        self.progress.setVisible(busy)
        if not busy:
            self.progress.setValue(0)
        if text:
            self.status.setText(text)
        self._update_buttons()

    def set_progress(self, fraction: float, text: str = "") -> None:
        self.progress.setValue(round(max(0.0, min(1.0, fraction)) * 1000))
        if text:
            self.status.setText(text)

    def set_status(self, text: str) -> None:
        self.status.setText(text)

    def set_photo_state(self, has_photo: bool, restored: bool) -> None:
        self._has_photo, self._restored = has_photo, restored
        self._update_buttons()

    def set_mask_state(self, can_undo: bool, can_redo: bool, share: float | None) -> None:
        """The mask's history and how much of the photo it marks (None: no mask for the photo)."""
        self.undo_button.setEnabled(can_undo)
        self.redo_button.setEnabled(can_redo)
        self.clear_button.setEnabled(bool(share))
        if share is None:
            self.mask_status.setText("No mask yet: Find Damage, or paint the damage on the photo.")
        elif share == 0:
            self.mask_status.setText("No damage marked. Paint on the photo to mark some.")
        else:
            self.mask_status.setText(f"{share * 100:.2f} % of the photo is marked as damage.")

    def _update_buttons(self) -> None:
        idle = not self._busy and self._has_photo
        self.find_button.setEnabled(idle and "scratches" in self._choice.stages)
        self.apply_button.setEnabled(idle and not self._choice.is_empty)
        self.revert_button.setEnabled(idle and self._restored)
