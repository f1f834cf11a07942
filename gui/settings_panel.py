"""The tuning panel: model, render size, saturation, colour boldness; redo, colorize, export.

It holds values and says when the user changed or asked for something; what the values mean lives
in ``gui.tuning`` and what happens lives in the controller.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSlider, QSpinBox, QStyle,
    QVBoxLayout, QWidget,
)

from gui.icons import icon
from gui.export_naming import EXPORT_FORMATS, FORMAT_LABELS
from gui.tuning import BOLDNESS_NEUTRAL, Tuning


class SettingsPanel(QWidget):
    model_chosen = Signal(str)
    tuning_changed = Signal()
    auto_colorize_toggled = Signal(bool)
    redo_requested = Signal()
    colorize_requested = Signal()
    export_requested = Signal()
    export_format_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SettingsPanel")
        style = self.style()

        self.model_combo = QComboBox()
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_combo.setMinimumContentsLength(12)
        self.model_details = QLabel()
        self.model_details.setObjectName("Hint")
        self.model_details.setWordWrap(True)

        self.render_size = QSpinBox()
        self.render_size.setRange(0, 2048)
        self.render_size.setSingleStep(32)
        self.render_size.setSpecialValueText("Model default")
        self.render_size.setSuffix(" px")
        self.render_size.setToolTip("The size at which colour is predicted (short side). Larger sees more "
                                    "detail but is slower; the result always keeps the photo's full resolution.")

        self.saturation = self._slider(0, 300, 100, "Multiplies the predicted colour: 0 % is gray, 100 % as predicted.")
        self.saturation_label = QLabel()
        self.boldness = self._slider(0, 100, BOLDNESS_NEUTRAL,
                                     "Bolder picks more vivid colours, calmer picks safer, muted ones.")
        self.boldness_label = QLabel()

        self.auto_colorize = QCheckBox("Colorize as soon as photos are added")
        self.auto_colorize.setToolTip("Off: photos wait for the Colorize button")
        self.export_format = QComboBox()
        for name in EXPORT_FORMATS:
            self.export_format.addItem(FORMAT_LABELS[name], name)

        self.colorize_button = QPushButton(icon("play", QStyle.StandardPixmap.SP_MediaPlay, self), "Colorize")
        self.colorize_button.setToolTip("Colorize the photos that are waiting")
        self.redo_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_BrowserReload), "Redo photo")
        self.redo_button.setToolTip("Colorize the photo on show again with these settings (Ctrl+R)")
        self.export_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_DialogSaveButton), "Export…")
        self.export_button.setObjectName("PrimaryButton")
        self.export_button.setToolTip("Save the colorized photo (Ctrl+E); the original is never overwritten")

        model_box = QGroupBox("Model")
        model_layout = QVBoxLayout(model_box)
        model_layout.addWidget(self.model_combo)
        model_layout.addWidget(self.model_details)

        tuning_box = QGroupBox("Colour")
        form = QFormLayout(tuning_box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Render size", self.render_size)
        form.addRow("Saturation", self._with_value(self.saturation, self.saturation_label))
        form.addRow("Boldness", self._with_value(self.boldness, self.boldness_label))

        actions_box = QGroupBox("Photo")
        actions = QVBoxLayout(actions_box)
        actions.addWidget(self.auto_colorize)
        buttons = QHBoxLayout()
        buttons.addWidget(self.colorize_button)
        buttons.addWidget(self.redo_button)
        actions.addLayout(buttons)
        export_row = QFormLayout()
        export_row.addRow("Export as", self.export_format)
        actions.addLayout(export_row)
        actions.addWidget(self.export_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.setSpacing(10)
        layout.addWidget(model_box)
        layout.addWidget(tuning_box)
        layout.addWidget(actions_box)
        layout.addStretch(1)

        self.model_combo.activated.connect(self._on_model_combo_activated)
        self.render_size.valueChanged.connect(self._on_any_tuning_changed)
        self.saturation.valueChanged.connect(self._on_any_tuning_changed)
        self.boldness.valueChanged.connect(self._on_any_tuning_changed)
        self.auto_colorize.toggled.connect(self.auto_colorize_toggled)
        self.export_format.currentIndexChanged.connect(self._on_export_format_current_index_changed)
        self.colorize_button.clicked.connect(self.colorize_requested)
        self.redo_button.clicked.connect(self.redo_requested)
        self.export_button.clicked.connect(self.export_requested)
        self._update_labels()
        self.set_photo_actions(can_redo=False, can_export=False)

    @staticmethod
    def _slider(low: int, high: int, value: int, tip: str) -> QSlider:
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(low, high)
        slider.setValue(value)
        slider.setToolTip(tip)
        slider.setPageStep(10)
        return slider

    @staticmethod
    def _with_value(slider: QSlider, label: QLabel) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(slider, 1)
        label.setMinimumWidth(44)
        label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(label)
        return row

    # -- values -------------------------------------------------------------------------------------------
    def set_models(self, names: list[str], current: str, tooltips: dict[str, str] | None = None) -> None:
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for name in names:
            self.model_combo.addItem(name)
            if tooltips and name in tooltips:
                self.model_combo.setItemData(self.model_combo.count() - 1, tooltips[name], Qt.ItemDataRole.ToolTipRole)
        index = self.model_combo.findText(current)
        self.model_combo.setCurrentIndex(max(0, index))
        self.model_combo.blockSignals(False)

    def set_model_details(self, text: str) -> None:
        self.model_details.setText(text)

    def tuning(self) -> Tuning:
        return Tuning(self.model_combo.currentText(), self.render_size.value(),
                      self.saturation.value(), self.boldness.value())

    def set_tuning(self, render_size: int, saturation_percent: int, boldness: int) -> None:
        for widget, value in ((self.render_size, render_size), (self.saturation, saturation_percent),
                              (self.boldness, boldness)):
            widget.blockSignals(True)
            widget.setValue(value)
            widget.blockSignals(False)
        self._update_labels()

    def set_export_format(self, name: str) -> None:
        index = self.export_format.findData(name)
        self.export_format.setCurrentIndex(max(0, index))

    def chosen_export_format(self) -> str:
        return self.export_format.currentData()

    def set_photo_actions(self, can_redo: bool, can_export: bool) -> None:
        self.redo_button.setEnabled(can_redo)
        self.export_button.setEnabled(can_export)

    def set_colorize_enabled(self, enabled: bool) -> None:
        self.colorize_button.setEnabled(enabled)

    # -- handlers -------------------------------------------------------------------------------------------
    def _update_labels(self) -> None:
        self.saturation_label.setText(f"{self.saturation.value()} %")
        offset = self.boldness.value() - BOLDNESS_NEUTRAL
        self.boldness_label.setText("model" if offset == 0 else f"{offset:+d}")

    def _on_any_tuning_changed(self, _value: int) -> None:
        self._update_labels()
        self.tuning_changed.emit()

    def _on_model_combo_activated(self, index: int) -> None:
        self.model_chosen.emit(self.model_combo.itemText(index))

    def _on_export_format_current_index_changed(self, _index: int) -> None:
        self.export_format_changed.emit(self.chosen_export_format())
