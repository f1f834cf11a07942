"""Wizard page 3: a preset and the advanced options, with a time estimate measured off the GUI thread.

The estimate (``training.cyclegan.presets.estimate_seconds``: real steps on random images, a few seconds) is
redone on the wizard's background pool when an option changes, after a short pause (debounced); a
newer estimate supersedes an older one (its token is set: one still waiting for the device gives up).
The estimate runs real training steps, so it takes the app's device lane (``gui.workers.device_lane``)
like colorizing and training do; while it is on the device, Next waits for it (no estimate runs beside
the training it would delay), and an estimate still waiting for the device is dropped by Next.
The presets' texts here make no promise about time: the
measured estimate is the only duration shown (a 2-core laptop measured "about 12 min" for the
quick preset where its description once said "a few minutes").

The "tiny" preset exists for tests: it is in the list but hidden (``set_preset("tiny")`` works).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

import torch
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWizardPage,
)

from engine.cancel import CancelToken
from engine.device import select_device
from engine.errors import Cancelled
from gui.training_wizard.texts import ERROR_COLOUR, format_estimate, preset_text
from gui.workers.background_tasks import BackgroundTasks
from gui.workers.device_lane import ESTIMATING, DeviceLane, LaneState, waiting_text
from training.cyclegan.config import CycleGANConfig
from training.cyclegan.presets import DEFAULT_PRESET, PRESETS, estimate_seconds, make_config

PRESET_KEY = "gui/training/preset"
HIDDEN_PRESETS = ("tiny",)  # for tests only
ESTIMATE_DELAY_MS = 600
NORMS = (("instance", "Instance (paper)"), ("batch", "Batch"), ("none", "None"))
ACTIVATIONS = (("relu", "ReLU (paper)"), ("leaky_relu", "Leaky ReLU"))
DOWNSAMPLING = (("strided", "Strided convolutions (paper)"), ("pool", "Pooling"))
DEVICES = (("auto", "Automatic"), ("cpu", "CPU"), ("cuda", "CUDA GPU"))


def estimate(config: CycleGANConfig, lane: DeviceLane, cancel: CancelToken) -> tuple[float, str]:
    """(seconds, device description): runs in the background pool, holding the device lane;
    ``Cancelled`` when ``cancel`` is set while it waits for the lane."""
    with lane.hold(ESTIMATING, give_up=lambda: cancel.cancelled) as granted:
        if not granted:
            raise Cancelled("the estimate was dropped before it ran")
        return estimate_seconds(config), select_device(config.device, config.precision).description


class OptionsPage(QWizardPage):
    def __init__(
        self,
        tasks: BackgroundTasks,
        settings: QSettings,
        choices: Callable[[], tuple[str, Path | None, Path | None]],
        parent=None,
        lane: DeviceLane | None = None,
    ) -> None:
        """``choices()`` gives (base model, old folder, colour folder) from the earlier pages;
        ``lane``: the app's device lane (None: one of its own)."""
        super().__init__(parent)
        self._lane = lane if lane is not None else DeviceLane(self)
        self.setTitle("How to train")
        self.setSubTitle("A preset sets sensible values; the advanced options change them.")
        self._tasks, self._settings, self._choices = tasks, settings, choices

        self.preset = QComboBox()
        for name, preset in PRESETS.items():
            self.preset.addItem(preset.title, name)
            self.preset.setItemData(self.preset.count() - 1, preset_text(preset), Qt.ItemDataRole.ToolTipRole)
            if name in HIDDEN_PRESETS:
                self.preset.view().setRowHidden(self.preset.count() - 1, True)
        self.preset_description = QLabel()
        self.preset_description.setWordWrap(True)
        self.preset_description.setObjectName("Hint")

        self.steps = _spin(1, 1_000_000, 50, "", "Training steps (one batch of each folder per step)")
        self.size = _spin(32, 1024, 16, " px", "Side of the random crops trained on (a multiple of 16)")
        self.f_blocks = _spin(
            0, 24, 1, "", "Residual blocks in F, the colour-to-old-photo generator (paper: 9 at 256 px)"
        )
        self.norm = _combo(NORMS)
        self.activation = _combo(ACTIVATIONS)
        self.downsampling = _combo(DOWNSAMPLING)
        self.diversity = QDoubleSpinBox()
        self.diversity.setRange(0.0, 100.0)
        self.diversity.setSingleStep(0.5)
        self.diversity.setToolTip("Weight of the mode-collapse guard: keeps G from giving every photo the same colours")
        self.device = _combo(DEVICES)
        if not torch.cuda.is_available():
            _disable(self.device, "cuda", "No CUDA GPU on this computer")

        self.advanced = QGroupBox("Advanced options")
        form = QFormLayout(self.advanced)
        form.addRow("Steps:", self.steps)
        form.addRow("Crop size:", self.size)
        form.addRow("Residual blocks (F):", self.f_blocks)
        form.addRow("Normalisation:", self.norm)
        form.addRow("Activation:", self.activation)
        form.addRow("Downsampling:", self.downsampling)
        form.addRow("Mode-collapse guard:", self.diversity)
        form.addRow("Device:", self.device)
        self.advanced.hide()
        self.advanced_toggle = QToolButton()
        self.advanced_toggle.setText("Advanced options")
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.estimate_label = QLabel()
        self.estimate_label.setWordWrap(True)
        self.estimate_label.setTextFormat(Qt.TextFormat.RichText)

        top = QFormLayout()
        top.addRow("Preset:", self.preset)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.preset_description)
        layout.addWidget(self.advanced_toggle)
        layout.addWidget(self.advanced)
        layout.addStretch(1)
        layout.addWidget(self.estimate_label)

        self._config: CycleGANConfig | None = None
        self._problem = ""
        self._generation = 0
        self._running = 0  # estimates submitted and not yet answered (superseded ones too)
        self._estimate_cancel = CancelToken()
        self._lane.changed.connect(self._on_lane_changed)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(ESTIMATE_DELAY_MS)
        self._timer.timeout.connect(self._on_timer_timeout)
        self.advanced_toggle.toggled.connect(self._on_advanced_toggle_toggled)
        self.preset.currentIndexChanged.connect(self._on_preset_current_index_changed)
        for spin in (self.steps, self.size, self.f_blocks, self.diversity):
            spin.valueChanged.connect(self._on_option_changed)
        for combo in (self.norm, self.activation, self.downsampling, self.device):
            combo.currentIndexChanged.connect(self._on_option_changed)
        stored = settings.value(PRESET_KEY, DEFAULT_PRESET)
        self.set_preset(stored if stored in PRESETS and stored not in HIDDEN_PRESETS else DEFAULT_PRESET)
        self._on_preset_current_index_changed()

    # -- public ----------------------------------------------------------------------------------------
    def set_preset(self, name: str) -> None:
        """Choose preset ``name``: the advanced options take its values."""
        self.preset.setCurrentIndex(self.preset.findData(name))

    def config(self) -> CycleGANConfig | None:
        """The training config from the pages so far (no run folder yet); None when an option is invalid."""
        return self._config

    def initializePage(self) -> None:
        self._rebuild()

    def isComplete(self) -> bool:
        return self._config is not None and not self.estimating()

    def estimating(self) -> bool:
        """True while an estimate of this page is on the device (Next waits for it)."""
        return self._running > 0 and self._lane.state().holder == ESTIMATING

    def cancel_estimates(self) -> None:
        """Drop the estimates still waiting for the device, and the one not yet started."""
        self._timer.stop()
        self._estimate_cancel.cancel()

    def validatePage(self) -> bool:
        if self.estimating():
            return False
        self.cancel_estimates()  # none may start (or wait) beside the training
        if self.preset.currentData() not in HIDDEN_PRESETS:
            self._settings.setValue(PRESET_KEY, self.preset.currentData())
        return self._config is not None

    def visible_presets(self) -> list[str]:
        """The presets a person can pick from the list."""
        view = self.preset.view()
        return [self.preset.itemData(i) for i in range(self.preset.count()) if not view.isRowHidden(i)]

    # -- options -> config -----------------------------------------------------------------------------------
    def _on_preset_current_index_changed(self, _index: int = 0) -> None:
        preset = PRESETS[self.preset.currentData()]
        self.preset_description.setText(preset_text(preset))
        values = make_config(preset.name, Path("."), Path("."))  # the preset over the config's defaults
        widgets = (self.steps, self.size, self.f_blocks, self.diversity, self.norm, self.activation, self.downsampling)
        for widget in widgets:
            widget.blockSignals(True)
        self.steps.setValue(values.steps)
        self.size.setValue(values.size)
        self.f_blocks.setValue(values.f_blocks)
        self.diversity.setValue(values.diversity_weight)
        _choose(self.norm, values.norm)
        _choose(self.activation, values.activation)
        _choose(self.downsampling, values.downsampling)
        for widget in widgets:
            widget.blockSignals(False)
        self._rebuild()

    def _on_option_changed(self, *_args) -> None:
        self._rebuild()

    def _on_advanced_toggle_toggled(self, shown: bool) -> None:
        self.advanced.setVisible(shown)
        self.advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def _rebuild(self) -> None:
        base, old, color = self._choices()
        self._generation += 1
        try:
            self._config = make_config(
                self.preset.currentData(),
                old or Path("."),
                color or Path("."),
                base=base or None,
                steps=self.steps.value(),
                size=self.size.value(),
                f_blocks=self.f_blocks.value(),
                norm=self.norm.currentData(),
                activation=self.activation.currentData(),
                downsampling=self.downsampling.currentData(),
                diversity_weight=self.diversity.value(),
                device=self.device.currentData(),
            )
        except ValueError as error:
            self._config = None
            self._timer.stop()
            self._show_problem(str(error))
        else:
            self.estimate_label.setText("Estimating the training time…")
            self._timer.start()
        self.completeChanged.emit()

    def _show_problem(self, message: str) -> None:
        text = html.escape(message[:1].upper() + message[1:])
        self.estimate_label.setText(f'<span style="color:{ERROR_COLOUR}">{text}</span>')

    def _on_timer_timeout(self) -> None:
        if self._config is None or not self.isVisible():
            return
        generation = self._generation
        self._estimate_cancel.cancel()  # an older estimate still waiting for the device gives up
        self._estimate_cancel = CancelToken()
        self._running += 1
        self._tasks.submit(
            estimate,
            self._config,
            self._lane,
            self._estimate_cancel,
            on_done=lambda result: self._on_tasks_estimated(generation, result),
            on_failed=lambda message: self._on_tasks_estimate_failed(generation, message),
        )

    def _on_lane_changed(self, state: LaneState) -> None:
        if self._running and self._generation and state.waits(ESTIMATING) and self._config is not None:
            self.estimate_label.setText(f"Estimating the training time… ({waiting_text(state).lower()})")
        self.completeChanged.emit()

    def _on_tasks_estimated(self, generation: int, result: tuple[float, str]) -> None:
        self._answered()
        if generation == self._generation:
            seconds, device = result
            self.estimate_label.setText(
                f"Training should take <b>{format_estimate(seconds)}</b> on "
                f"{html.escape(device)} (measured: a few real training steps on "
                "this computer, times the steps)."
            )

    def _on_tasks_estimate_failed(self, generation: int, message: str) -> None:
        self._answered()
        if generation == self._generation and not self._estimate_cancel.cancelled:
            self._show_problem(f"no time estimate: {message}")

    def _answered(self) -> None:
        self._running = max(0, self._running - 1)
        self.completeChanged.emit()


def _spin(low: int, high: int, step: int, suffix: str, tip: str) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setSingleStep(step)
    spin.setSuffix(suffix)
    spin.setToolTip(tip)
    spin.setGroupSeparatorShown(True)
    return spin


def _combo(items: tuple[tuple[str, str], ...]) -> QComboBox:
    combo = QComboBox()
    for value, label in items:
        combo.addItem(label, value)
    return combo


def _choose(combo: QComboBox, value: str) -> None:
    combo.setCurrentIndex(max(0, combo.findData(value)))


def _disable(combo: QComboBox, value: str, why: str) -> None:
    item = combo.model().item(combo.findData(value))
    item.setEnabled(False)
    item.setToolTip(why)
