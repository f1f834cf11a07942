"""The tuning panel: model, render size, saturation, colour boldness; redo, colorize, export.

It holds values and says when the user changed or asked for something; what the values mean lives
in ``gui.models.tuning`` and what happens lives in the controller. Saturation and boldness are applied to
the photo on show as the sliders move (no model run); a new render size or model needs Redo.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from gui.models.export_naming import EXPORT_FORMATS, FORMAT_LABELS
from gui.models.tuning import (
    BOLDNESS_NEUTRAL,
    RENDER_SIZES,
    SATURATION_MAX,
    SATURATION_STEP,
    Tuning,
    describe_boldness,
)
from gui.widgets.finishing_choice import FinishingChoice
from gui.widgets.icons import icon

BOLDNESS_TIP = (
    "How daring the colours are. The model weighs several plausible colours for every spot: "
    "bolder picks the vivid ones (more colour, more mistakes), calmer the safe, muted ones. "
    "The middle is the model's own choice."
)
SATURATION_TIP = "How strong the colour is: 0 % is gray, 100 % as predicted, 200 % twice as strong."
RENDER_TIP = (
    "The size at which colour is predicted (short side). Larger sees more detail but is slower; "
    "the result always keeps the photo's full resolution. Needs Redo."
)


class SettingsPanel(QWidget):
    model_chosen = Signal(str)
    tuning_changed = Signal()
    auto_colorize_toggled = Signal(bool)
    restore_session_toggled = Signal(bool)
    redo_requested = Signal()
    colorize_requested = Signal()
    export_requested = Signal()
    export_format_changed = Signal(str)
    export_finishing_changed = Signal(object, object)  # upscaler, face model (names; None: none)

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

        self.render_size = QComboBox()
        for size in RENDER_SIZES:
            self.render_size.addItem("Model default" if size == 0 else f"{size} px", size)
        self.render_size.setToolTip(RENDER_TIP)

        self.saturation = self._slider(0, SATURATION_MAX, 100, SATURATION_TIP)
        self.saturation.setSingleStep(SATURATION_STEP)
        self.saturation.setPageStep(25)
        self.saturation.setTickInterval(50)
        self.saturation.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.saturation_label = QLabel()
        self.boldness = self._slider(0, 100, BOLDNESS_NEUTRAL, BOLDNESS_TIP)
        self.boldness.setSingleStep(5)
        self.boldness.setTickInterval(50)
        self.boldness.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.boldness_label = QLabel()
        self.boldness_hint = QLabel("Calmer: safe, muted colours · Bolder: vivid colours, more mistakes")
        self.boldness_hint.setObjectName("Hint")
        self.boldness_hint.setWordWrap(True)
        self.reset_button = QPushButton("Reset to Defaults")
        self.reset_button.setToolTip("Model default render size, saturation 100 %, the model's own boldness")
        self.made_with = QLabel()
        self.made_with.setObjectName("Hint")
        self.made_with.setWordWrap(True)

        self.auto_colorize = QCheckBox("Colorize as soon as photos are added")
        self.auto_colorize.setToolTip("Off: photos wait for the Colorize button")
        self.restore_session = QCheckBox("Reopen this list next time")
        self.restore_session.setToolTip("At start, open the photos that were in the list when Revive was closed")
        self.export_format = QComboBox()
        for name in EXPORT_FORMATS:
            self.export_format.addItem(FORMAT_LABELS[name], name)

        self.export_finishing = FinishingChoice(
            "Enlarge the exported photos with this added upscaling model (as colorize --upscale); slow on a CPU",
            "Restore each face in the exported photos with this added face model (as colorize --faces)",
            self,
        )

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
        boldness_title = QLabel("Colour boldness")
        boldness_title.setToolTip(BOLDNESS_TIP)
        form.addRow(boldness_title, self._with_value(self.boldness, self.boldness_label))
        form.addRow(self.boldness_hint)
        form.addRow(self.reset_button)
        form.addRow(self.made_with)

        actions_box = QGroupBox("Photo")
        actions = QVBoxLayout(actions_box)
        actions.addWidget(self.auto_colorize)
        actions.addWidget(self.restore_session)
        buttons = QHBoxLayout()
        buttons.addWidget(self.colorize_button)
        buttons.addWidget(self.redo_button)
        actions.addLayout(buttons)
        export_row = QFormLayout()
        export_row.addRow("Export as", self.export_format)
        export_row.addRow("Upscale", self.export_finishing.upscale)
        export_row.addRow("Faces", self.export_finishing.faces)
        self._export_rows = export_row
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
        self.render_size.currentIndexChanged.connect(self._on_any_tuning_changed)
        self.saturation.valueChanged.connect(self._on_any_tuning_changed)
        self.boldness.valueChanged.connect(self._on_any_tuning_changed)
        self.reset_button.clicked.connect(self.reset_tuning)
        self.auto_colorize.toggled.connect(self.auto_colorize_toggled)
        self.restore_session.toggled.connect(self.restore_session_toggled)
        self.export_format.currentIndexChanged.connect(self._on_export_format_current_index_changed)
        self.colorize_button.clicked.connect(self.colorize_requested)
        self.redo_button.clicked.connect(self.redo_requested)
        self.export_button.clicked.connect(self.export_requested)
        self.export_finishing.changed.connect(self._on_export_finishing_changed)
        self._update_labels()
        self.set_photo_actions(can_redo=False, can_export=False)
        self.set_finishing_models([], [])

    @staticmethod
    def _slider(low: int, high: int, value: int, tip: str) -> QSlider:
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(low, high)
        slider.setValue(value)
        slider.setToolTip(tip)
        slider.setPageStep(10)
        slider.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # Left/Right move a focused slider
        return slider

    @staticmethod
    def _with_value(slider: QSlider, label: QLabel) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(slider, 1)
        label.setMinimumWidth(84)
        label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(label)
        return row

    # -- values -------------------------------------------------------------------------------------------
    def set_models(
        self,
        names: list[str],
        current: str,
        tooltips: dict[str, str] | None = None,
        labels: dict[str, str] | None = None,
    ) -> None:
        """Offer ``names``; an item shows its ``labels`` entry when it has one ("DDColor (added)")
        and keeps the name itself as its data (what ``model_chosen`` and ``tuning`` give)."""
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for name in names:
            self.model_combo.addItem((labels or {}).get(name, name), name)
            if tooltips and name in tooltips:
                self.model_combo.setItemData(self.model_combo.count() - 1, tooltips[name], Qt.ItemDataRole.ToolTipRole)
        index = self.model_combo.findData(current)
        self.model_combo.setCurrentIndex(max(0, index))
        self.model_combo.blockSignals(False)

    def chosen_model(self) -> str:
        """The name of the model the picker shows ('' when it lists none)."""
        name = self.model_combo.currentData()
        return name if isinstance(name, str) else self.model_combo.currentText()

    def set_model_details(self, text: str, tooltip: str = "") -> None:
        self.model_details.setText(text)
        self.model_details.setToolTip(tooltip)

    def tuning(self) -> Tuning:
        return Tuning(
            self.chosen_model(),
            self.render_size.currentData() or 0,
            self.saturation.value(),
            self.boldness.value(),
        )

    def set_tuning(self, render_size: int, saturation_percent: int, boldness: int) -> None:
        for widget in (self.render_size, self.saturation, self.boldness):
            widget.blockSignals(True)
        self._choose_render_size(render_size)
        self.saturation.setValue(saturation_percent)
        self.boldness.setValue(boldness)
        for widget in (self.render_size, self.saturation, self.boldness):
            widget.blockSignals(False)
        self._update_labels()

    def reset_tuning(self) -> None:
        """Back to the model's own settings (and say so to the controller)."""
        self.set_tuning(0, 100, BOLDNESS_NEUTRAL)
        self.tuning_changed.emit()

    def set_made_with(self, text: str, needs_redo: bool = False) -> None:
        """What the result on show was made with ('' when none), and whether Redo would change it."""
        if not text:
            self.made_with.setText("")
            return
        extra = "<br><b>Redo (Ctrl+R) to use the new render size or model.</b>" if needs_redo else ""
        self.made_with.setText(f"On show: {text}{extra}")

    def set_export_format(self, name: str) -> None:
        index = self.export_format.findData(name)
        self.export_format.setCurrentIndex(max(0, index))

    def chosen_export_format(self) -> str:
        return self.export_format.currentData()

    def set_finishing_models(self, upscalers: list[str], faces: list[str]) -> None:
        """The added upscalers and face models an export can be finished with; their rows are
        shown only while one of either kind is added (most people never add one)."""
        self.export_finishing.set_models(upscalers, faces)
        self.export_finishing.set_enabled(True)
        for combo in (self.export_finishing.upscale, self.export_finishing.faces):
            self._export_rows.setRowVisible(combo, self.export_finishing.any_listed())

    def choose_export_finishing(self, upscale: str | None, faces: str | None) -> None:
        self.export_finishing.choose(upscale, faces)

    def chosen_export_finishing(self) -> tuple[str | None, str | None]:
        return self.export_finishing.choice()

    def set_photo_actions(self, can_redo: bool, can_export: bool) -> None:
        self.redo_button.setEnabled(can_redo)
        self.export_button.setEnabled(can_export)

    def set_colorize_enabled(self, enabled: bool) -> None:
        self.colorize_button.setEnabled(enabled)

    # -- handlers -------------------------------------------------------------------------------------------
    def _choose_render_size(self, size: int) -> None:
        index = self.render_size.findData(size)
        if index < 0:  # a size from an older version's free spin box: offer it too
            self.render_size.addItem(f"{size} px", size)
            index = self.render_size.count() - 1
        self.render_size.setCurrentIndex(index)

    def _update_labels(self) -> None:
        self.saturation_label.setText(f"{self.saturation.value()} %")
        self.boldness_label.setText(describe_boldness(self.boldness.value()))

    def _on_any_tuning_changed(self, _value: int) -> None:
        self._update_labels()
        self.tuning_changed.emit()

    def _on_model_combo_activated(self, index: int) -> None:
        name = self.model_combo.itemData(index)
        self.model_chosen.emit(name if isinstance(name, str) else self.model_combo.itemText(index))

    def _on_export_format_current_index_changed(self, _index: int) -> None:
        self.export_format_changed.emit(self.chosen_export_format())

    def _on_export_finishing_changed(self) -> None:
        self.export_finishing_changed.emit(*self.chosen_export_finishing())
