"""The hint panel: the colour and size of the marks, the model's suggestions, a reference photo,
whole-photo warmth and tint, undo/redo/clear. Dock it or put it in the side tabs.

It edits through the shared ``HintEditor`` and follows it (an undo in the view moves the sliders
back). From outside it needs only the model's suggestions for the selected spot
(``set_suggestions``) and whether the model takes hints (``set_model_takes_hints``).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QButtonGroup,
    QColorDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.hints.schema import HintPoint, PhotoHints
from gui.hints.editor import BRUSH_TOOL, POINT_TOOL, HintEditor
from gui.hints.reference_view import HintReferenceView
from gui.hints.swatch_row import SwatchRow, swatch_icon
from gui.models.hint_edits import POINT, STROKE
from gui.widgets.icons import icon
from gui.workers.background_tasks import BackgroundTasks

NO_HINTS_TEXT = (
    "This model takes no colour hints; choose revive-base (v2) or another model that does. "
    "Warmth, tint and matching a reference photo still work."
)
SIZE_STEPS_PER_UNIT = 1000  # the size slider counts tenths of a percent of the photo's short side
SP = QStyle.StandardPixmap


class HintPanel(QWidget):
    """Tools and colours for hinting the photo on show (see the module docstring)."""

    def __init__(self, editor: HintEditor, tasks: BackgroundTasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("HintPanel")
        self._editor = editor
        self._syncing = False  # True while the panel follows the editor: its own edits are not echoed back

        self.explanation = QLabel(NO_HINTS_TEXT)
        self.explanation.setObjectName("Hint")
        self.explanation.setWordWrap(True)
        self.explanation.hide()

        self.point_button = self._tool_button(
            "Point", "hint-point", SP.SP_DialogYesButton, "Click to place a colour point, drag one to move it"
        )
        self.brush_button = self._tool_button(
            "Brush", "brush", SP.SP_DialogApplyButton, "Drag to paint a stroke of colour"
        )
        self._tools = QButtonGroup(self)
        self._tools.addButton(self.point_button)
        self._tools.addButton(self.brush_button)
        self.point_button.setChecked(True)
        self.colour_button = QToolButton()
        self.colour_button.setObjectName("HintCurrentColour")
        self.colour_button.setIconSize(QSize(36, 22))
        self.colour_button.setToolTip("The colour of new marks (and of the selected one): click for all colours")
        self.more_colours_button = QPushButton("All colours…")
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setRange(2, 250)
        self.size_label = QLabel()
        self.suggestions = SwatchRow("Click a spot: the colours the model finds likely there appear here")
        self.recent = SwatchRow("Colours you use appear here")

        self.open_reference_button = QPushButton(
            icon("eyedropper", SP.SP_DialogOpenButton, self), "Open reference photo…"
        )
        self.open_reference_button.setToolTip("A colour photo of the same place or thing: click it to take a colour")
        self.reference_view = HintReferenceView(tasks)
        self.reference_status = QLabel()
        self.reference_status.setObjectName("Hint")
        self.reference_status.setWordWrap(True)
        self.match_status = QLabel()
        self.match_status.setObjectName("Hint")
        self.match_button = QPushButton("Match this photo's colours")
        self.match_button.setEnabled(False)
        self.forget_reference_button = QPushButton("Forget")
        self.match_slider = self._percent_slider(0, 100)
        self.match_label = QLabel()
        self.warmth_slider = self._percent_slider(-100, 100)
        self.warmth_label = QLabel()
        self.tint_slider = self._percent_slider(-100, 100)
        self.tint_label = QLabel()

        self.undo_button = QPushButton(icon("hint-undo", SP.SP_ArrowBack, self), "Undo")
        self.undo_button.setToolTip("Undo the last hint edit (Ctrl+Z in the view)")
        self.redo_button = QPushButton(icon("hint-redo", SP.SP_ArrowForward, self), "Redo")
        self.redo_button.setToolTip("Redo (Ctrl+Shift+Z in the view)")
        self.clear_button = QPushButton(icon("hint-clear", SP.SP_TrashIcon, self), "Clear")
        self.clear_button.setToolTip("Remove every mark and adjustment of this photo")

        self._build_layout()
        self._connect()
        self._follow_brush()
        self._on_editor_recent_changed(editor.recent)
        self._follow_hints(editor.hints)
        self._on_editor_history_changed(editor.edits.can_undo, editor.edits.can_redo)

    # -- building ---------------------------------------------------------------------------------
    def _tool_button(self, text: str, name: str, fallback: QStyle.StandardPixmap, tip: str) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setIcon(icon(name, fallback, self))
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        button.setCheckable(True)
        button.setToolTip(tip)
        return button

    @staticmethod
    def _percent_slider(low: int, high: int) -> QSlider:
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(low, high)
        slider.setPageStep(10)
        return slider

    @staticmethod
    def _row(*widgets: QWidget, stretch: int | None = None) -> QWidget:
        """Widgets side by side; the one at index ``stretch`` takes the spare room (else none does)."""
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        for i, widget in enumerate(widgets):
            layout.addWidget(widget, 1 if i == stretch else 0)
        if stretch is None:
            layout.addStretch(1)
        return row

    def _build_layout(self) -> None:
        self.marks_box = QGroupBox("Colour marks")
        marks = QFormLayout(self.marks_box)
        marks.addRow(self._row(self.point_button, self.brush_button))
        marks.addRow("Colour", self._row(self.colour_button, self.more_colours_button))
        marks.addRow("Size", self._row(self.size_slider, self.size_label, stretch=0))
        marks.addRow("Likely here", self.suggestions)
        marks.addRow("Recent", self.recent)
        self.reference_box = QGroupBox("Reference photo")
        reference = QVBoxLayout(self.reference_box)
        reference.addWidget(self.open_reference_button)
        reference.addWidget(self.reference_view)
        reference.addWidget(self.reference_status)
        reference.addWidget(self._row(self.match_button, self.forget_reference_button))
        strength = QFormLayout()
        strength.addRow("Match", self._row(self.match_slider, self.match_label, stretch=0))
        reference.addLayout(strength)
        reference.addWidget(self.match_status)
        self.whole_box = QGroupBox("Whole photo")
        whole = QFormLayout(self.whole_box)
        whole.addRow("Warmth", self._row(self.warmth_slider, self.warmth_label, stretch=0))
        whole.addRow("Tint", self._row(self.tint_slider, self.tint_label, stretch=0))
        layout = QVBoxLayout(self)
        layout.addWidget(self.explanation)
        layout.addWidget(self.marks_box)
        layout.addWidget(self.reference_box)
        layout.addWidget(self.whole_box)
        layout.addWidget(self._row(self.undo_button, self.redo_button, self.clear_button))
        layout.addStretch(1)

    def _connect(self) -> None:
        e = self._editor
        e.tool_changed.connect(self._follow_brush)
        e.colour_changed.connect(self._follow_brush)
        e.size_changed.connect(self._follow_brush)
        e.selection_changed.connect(self._on_editor_selection_changed)
        e.recent_changed.connect(self._on_editor_recent_changed)
        e.history_changed.connect(self._on_editor_history_changed)
        e.hints_edited.connect(self._follow_hints)
        e.hints_reset.connect(self._follow_hints)
        self.point_button.clicked.connect(lambda: e.set_tool(POINT_TOOL))
        self.brush_button.clicked.connect(lambda: e.set_tool(BRUSH_TOOL))
        self.colour_button.clicked.connect(self.open_colour_dialog)
        self.more_colours_button.clicked.connect(self.open_colour_dialog)
        self.suggestions.colour_chosen.connect(e.choose_colour)
        self.recent.colour_chosen.connect(e.choose_colour)
        self.size_slider.valueChanged.connect(self._on_size_slider_value_changed)
        self.open_reference_button.clicked.connect(self._on_open_reference_button_clicked)
        self.reference_view.colour_picked.connect(e.choose_colour)
        self.reference_view.photo_loaded.connect(self._on_reference_view_photo_loaded)
        self.reference_view.load_failed.connect(self._on_reference_view_load_failed)
        self.reference_view.stats_ready.connect(lambda stats: e.set_adjust(reference=stats, merge=False))
        self.match_button.clicked.connect(self.reference_view.compute_stats)
        self.forget_reference_button.clicked.connect(lambda: e.set_adjust(reference=None, merge=False))
        self.match_slider.valueChanged.connect(self._on_match_slider_value_changed)
        self.warmth_slider.valueChanged.connect(self._on_warmth_slider_value_changed)
        self.tint_slider.valueChanged.connect(self._on_tint_slider_value_changed)
        for slider in (self.size_slider, self.match_slider, self.warmth_slider, self.tint_slider):
            slider.sliderReleased.connect(e.seal)  # one drag of a slider, one undo step
        self.undo_button.clicked.connect(e.undo)
        self.redo_button.clicked.connect(e.redo)
        self.clear_button.clicked.connect(e.clear)

    # -- from outside -----------------------------------------------------------------------------
    def set_suggestions(self, colours: Sequence[str]) -> None:
        """The colours the model finds likely at the selected spot, most likely first."""
        self.suggestions.set_colours(colours)

    def set_model_takes_hints(self, takes: bool) -> None:
        """Colour marks need a model with hint channels; the whole-photo adjustments do not."""
        self.explanation.setVisible(not takes)
        self.marks_box.setEnabled(takes)
        self.reference_view.setEnabled(takes)  # its clicks pick colours for marks
        if not takes:
            self.suggestions.set_colours(())

    def open_colour_dialog(self) -> QColorDialog:
        """Every colour, in a dialog that does not block (its choice arrives when it closes)."""
        dialog = QColorDialog(QColor(self._editor.colour), self)
        dialog.setWindowTitle("Colour of the mark")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.colorSelected.connect(lambda colour: self._editor.choose_colour(colour.name()))
        dialog.open()
        return dialog

    # -- following the editor ---------------------------------------------------------------------
    def _follow_brush(self, *_args) -> None:
        e = self._editor
        self._syncing = True
        (self.point_button if e.tool == POINT_TOOL else self.brush_button).setChecked(True)
        self.colour_button.setIcon(swatch_icon(e.colour, 22))
        self.colour_button.setText(e.colour)
        self.size_slider.setValue(round(e.size * SIZE_STEPS_PER_UNIT))
        self.size_label.setText(f"{e.size * 100:.1f} %")
        self.size_slider.setToolTip(
            ("Radius of a point" if e.tool == POINT_TOOL else "Width of the brush") + ", of the photo's short side"
        )
        self._syncing = False

    def _on_editor_selection_changed(self, ref) -> None:
        e = self._editor
        if ref is None or not e.edits.exists(ref):
            return
        wanted = POINT if e.tool == POINT_TOOL else STROKE
        if ref.kind == wanted:  # the slider shows the selected mark's size, without resizing anything
            mark = e.edits.mark(ref)
            size = mark.radius if isinstance(mark, HintPoint) else mark.width
            self._syncing = True
            self.size_slider.setValue(round(size * SIZE_STEPS_PER_UNIT))
            self.size_label.setText(f"{size * 100:.1f} %")
            self._syncing = False

    def _follow_hints(self, hints: PhotoHints) -> None:
        adjust = hints.adjust
        self._syncing = True
        self.warmth_slider.setValue(round(adjust.warmth * 100))
        self.tint_slider.setValue(round(adjust.tint * 100))
        self.match_slider.setValue(round(adjust.match * 100))
        self._syncing = False
        self.warmth_label.setText(f"{adjust.warmth * 100:+.0f} %")
        self.tint_label.setText(f"{adjust.tint * 100:+.0f} %")
        self.match_label.setText(f"{adjust.match * 100:.0f} %")
        matched = adjust.reference is not None
        self.match_slider.setEnabled(matched)
        self.forget_reference_button.setEnabled(matched)
        self.match_status.setText("Colours matched to a reference photo" if matched else "")

    def _on_editor_recent_changed(self, colours: tuple[str, ...]) -> None:
        self.recent.set_colours(colours)

    def _on_editor_history_changed(self, can_undo: bool, can_redo: bool) -> None:
        self.undo_button.setEnabled(can_undo)
        self.redo_button.setEnabled(can_redo)

    # -- own controls -----------------------------------------------------------------------------
    def _on_size_slider_value_changed(self, value: int) -> None:
        if not self._syncing:
            self._editor.set_size(value / SIZE_STEPS_PER_UNIT)

    def _on_warmth_slider_value_changed(self, value: int) -> None:
        if not self._syncing:
            self._editor.set_adjust(warmth=value / 100)

    def _on_tint_slider_value_changed(self, value: int) -> None:
        if not self._syncing:
            self._editor.set_adjust(tint=value / 100)

    def _on_match_slider_value_changed(self, value: int) -> None:
        if not self._syncing:
            self._editor.set_adjust(match=value / 100)

    def _on_open_reference_button_clicked(self) -> None:
        self.reference_view.choose_file()

    def _on_reference_view_photo_loaded(self, path) -> None:
        self.match_button.setEnabled(True)
        self.reference_status.setText(f"{path.name}: click it to take a colour")

    def _on_reference_view_load_failed(self, message: str) -> None:
        self.reference_status.setText(message)
