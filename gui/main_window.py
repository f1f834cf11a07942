"""The main window: photo strip, before/after view, tuning and batch panels, menus and status bar.

It arranges the widgets and turns user gestures into controller calls; everything that happens to
photos happens in the controller and the worker behind it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QRect, Qt
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QFileDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStyle,
    QTabWidget,
    QToolBar,
    QToolButton,
    QWidget,
)

from engine.imaging import IMAGE_SUFFIXES
from engine.version import app_version
from gui.added_models.wiring import AddedModelsMenu
from gui.controller import Controller
from gui.hints.wiring import HintMode
from gui.models.export_naming import default_export_path, name_filters
from gui.models.jobs import ModelInfo
from gui.models.model_text import people_description
from gui.models.photo_session import WAITING, PhotoStatus
from gui.models.window_geometry import clamp_to_screen
from gui.restoration.wiring import RestorationMode
from gui.widgets.actions import add_actions, make_action
from gui.widgets.batch_panel import BatchPanel
from gui.widgets.colour_question import ask_colour_choice
from gui.widgets.compare_view import EMPTY_HINT, SIDE_BY_SIDE, SPLIT, CompareView
from gui.widgets.dialogs import open_training, show_nonblocking, training_available
from gui.widgets.export_progress import ExportProgressField
from gui.widgets.folder_opener import open_folder
from gui.widgets.photo_list import PhotoList
from gui.widgets.qt_images import to_pixmap
from gui.widgets.settings_panel import SettingsPanel
from gui.widgets.shortcuts_dialog import ShortcutsDialog
from gui.workers.display_images import export_conflict

if TYPE_CHECKING:  # engine.batch.progress imports the batch runner (torch): not at start-up
    from engine.batch.progress import BatchProgress

log = logging.getLogger(__name__)

# Keys a focused slider, spin box or list uses itself: they must not turn into the window's
# shortcuts (Left/Right are also Previous/Next Photo).
_WIDGET_KEYS = {
    Qt.Key.Key_Left,
    Qt.Key.Key_Right,
    Qt.Key.Key_Up,
    Qt.Key.Key_Down,
    Qt.Key.Key_PageUp,
    Qt.Key.Key_PageDown,
    Qt.Key.Key_Home,
    Qt.Key.Key_End,
}
MINIMUM_SIZE = (780, 520)  # fits a 1280x680 desktop, and 1600x1000 at 1.5x scaling (1067x667)


def _scrolled(widget: QWidget) -> QScrollArea:
    """``widget`` in a vertical scroll area: a tall panel never sets the window's minimum height."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return area


class MainWindow(QMainWindow):
    def __init__(self, controller: Controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._asked_to_quit = False  # a signal (Ctrl+C, SIGTERM) asked: close without the waiting-photos question
        self.controller = controller
        self.setWindowTitle("Revive")
        self.setObjectName("MainWindow")
        self.setAcceptDrops(True)
        self.resize(1280, 800)
        self._shown: Path | None = None  # the photo the view shows
        self._last_model_problem = ""

        self.photo_list = PhotoList()
        self.compare_view = CompareView()
        self.settings_panel = SettingsPanel()
        self.batch_panel = BatchPanel()
        self.side_tabs = QTabWidget()
        self.side_tabs.setObjectName("SideTabs")
        self.side_tabs.addTab(_scrolled(self.settings_panel), "Adjust")
        self.side_tabs.addTab(_scrolled(self.batch_panel), "Batch")
        self.hints = HintMode(self)  # the hint tool: overlay on the view, panel, preview, saved hints
        self.hint_action = self.hints.action
        self.hint_tab = _scrolled(self.hints.panel)
        self.side_tabs.addTab(self.hint_tab, "Hints")
        self.side_tabs.setMinimumWidth(340)
        self.setMinimumSize(*MINIMUM_SIZE)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("MainSplitter")
        self.splitter.addWidget(self.photo_list)
        self.splitter.addWidget(self.compare_view)
        self.splitter.addWidget(self.side_tabs)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([250, 690, 340])
        self.splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.splitter)

        self.status_message = QLabel()
        self.queue_label = QLabel()
        self.zoom_label = QLabel()
        self.model_label = QLabel("Loading the colorizer…")
        self.device_label = QLabel("Device: —")
        for label in (self.queue_label, self.zoom_label, self.model_label, self.device_label):
            label.setObjectName("StatusField")
        self.zoom_label.hide()  # until a photo is on show
        self.queue_label.hide()  # while photos are being colorized
        self.show_folder_button = QPushButton("Show in Folder")
        self.show_folder_button.setToolTip("Open the folder of the last export")
        self.show_folder_button.hide()  # after an export
        self._last_export: Path | None = None
        self.export_progress = ExportProgressField()  # an export upscaled or with faces restored
        self.statusBar().addPermanentWidget(self.export_progress)
        self.statusBar().addPermanentWidget(self.show_folder_button)
        self.statusBar().addPermanentWidget(self.queue_label)
        self.statusBar().addPermanentWidget(self.zoom_label)
        self.statusBar().addPermanentWidget(self.model_label)
        self.statusBar().addPermanentWidget(self.device_label)

        self._build_actions()
        self.added_models = AddedModelsMenu(self)  # Tools > Add Model…, Manage Added Models…
        self._build_menus()
        self._build_toolbar()
        self._load_settings()
        self._connect()
        # Restoration before colour (after _connect: it shows its chosen pair over the window's own).
        self.restoration = RestorationMode(self)
        self.restore_tab = _scrolled(self.restoration.panel)
        self.side_tabs.addTab(self.restore_tab, "Restore")
        self.restoration.follow_tab(self.side_tabs, self.restore_tab)
        self.toolbar.addWidget(self.restoration.compare_box)
        self._update_photo_actions()
        self.compare_view.set_placeholder(EMPTY_HINT)
        QApplication.instance().installEventFilter(self)

    # -- building --------------------------------------------------------------------------------------------
    def _action(self, *args, **kwargs) -> QAction:
        return make_action(self, *args, **kwargs)

    def _build_actions(self) -> None:
        SP = QStyle.StandardPixmap  # noqa: N806 - as Qt spells it
        self.open_action = self._action(
            "&Open Photos…",
            self._on_open_action_triggered,
            ["Ctrl+O"],
            SP.SP_DialogOpenButton,
            "Open photos to colorize",
            "Open",
        )
        self.open_folder_action = self._action(
            "Open &Folder…",
            self._on_open_folder_action_triggered,
            ["Ctrl+Shift+O"],
            SP.SP_DirOpenIcon,
            "Open every photo in a folder",
            "Folder",
        )
        self.export_action = self._action(
            "&Export…", self.export_current, ["Ctrl+E"], SP.SP_DialogSaveButton, "Save the colorized photo", "Export"
        )
        self.quit_action = self._action(
            "&Quit", self.close, [QKeySequence(QKeySequence.StandardKey.Quit).toString() or "Ctrl+Q"]
        )
        self.colorize_action = self._action(
            "&Colorize Waiting Photos",
            self.controller.colorize_waiting,
            ["Ctrl+Return"],
            "play",
            "Colorize the photos not done yet",
            "Colorize",
        )
        self.redo_action = self._action(
            "&Redo With These Settings",
            self.redo_current,
            ["Ctrl+R"],
            SP.SP_BrowserReload,
            "Colorize the photo on show again with the current settings",
            "Redo",
        )
        self.stop_action = self._action(
            "&Stop Colorizing", self.controller.cancel_photos, ["Esc"], "stop", "Drop the photos still waiting"
        )
        self.next_action = self._action(
            "&Next Photo", self.photo_list.select_next, ["Right", "PgDown"], "next", "Next photo (→)", "Next"
        )
        self.previous_action = self._action(
            "&Previous Photo",
            self.photo_list.select_previous,
            ["Left", "PgUp"],
            "previous",
            "Previous photo (←)",
            "Previous",
        )
        self.zoom_in_action = self._action("Zoom &In", self.compare_view.zoom_in, ["Ctrl++", "Ctrl+="])
        self.zoom_out_action = self._action("Zoom &Out", self.compare_view.zoom_out, ["Ctrl+-"])
        self.zoom_fit_action = self._action(
            "&Fit to Window", self.compare_view.zoom_fit, ["Ctrl+0"], "fit", "Fit the photo in the view (Ctrl+0)", "Fit"
        )
        self.zoom_actual_action = self._action(
            "&Actual Size (100 %)",
            self.compare_view.zoom_actual,
            ["Ctrl+1"],
            None,
            "One photo pixel per screen pixel (Ctrl+1)",
            "100 %",
        )
        self.split_action = self._action(
            "&Split View",
            lambda: self.compare_view.set_mode(SPLIT),
            ["Ctrl+T"],
            "split",
            "Before and after split by a divider you drag (Ctrl+T)",
            "Split",
        )
        self.side_action = self._action(
            "Si&de by Side",
            lambda: self.compare_view.set_mode(SIDE_BY_SIDE),
            ["Ctrl+Shift+T"],
            "side-by-side",
            "Before and after next to each other (Ctrl+Shift+T)",
            "Side by side",
        )
        modes = QActionGroup(self)
        for action in (self.split_action, self.side_action):
            action.setCheckable(True)
            modes.addAction(action)
        self.split_action.setChecked(True)
        self.reload_models_action = self._action("Reload &Models", self.controller.refresh_models)
        self.about_action = self._action("&About Revive", self._on_about_action_triggered)
        self.shortcuts_action = self._action("&Keyboard Shortcuts", self.show_shortcuts, ["F1"])
        self.remove_action = self._action(
            "&Remove From List",
            self.remove_selected,
            ["Delete"],
            None,
            "Take the selected photos off the list (the files stay where they are)",
        )
        # Delete acts in the list only (not in the batch panel's text fields).
        self.removeAction(self.remove_action)
        self.remove_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.clear_action = self._action(
            "C&lear List", self.clear_list, [], None, "Take every photo off the list (the files stay where they are)"
        )
        self.export_selected_action = self._action(
            "Export &Selected to Folder…",
            self.export_selected,
            ["Ctrl+Shift+E"],
            None,
            "Save the selected results into a folder",
        )
        self.export_all_action = self._action(
            "Export &All to Folder…", self.export_all, [], None, "Save every colorized photo of the list into a folder"
        )
        separator = QAction(self)
        separator.setSeparator(True)
        self.photo_list.addActions(
            [self.remove_action, self.clear_action, separator, self.export_selected_action, self.export_all_action]
        )

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.open_action)
        file_menu.addAction(self.open_folder_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        file_menu.addSeparator()
        add_actions(
            file_menu, [self.export_action, self.export_selected_action, self.export_all_action, None, self.quit_action]
        )
        add_actions(
            bar.addMenu("&Photo"),
            [
                self.colorize_action,
                self.redo_action,
                self.stop_action,
                None,
                self.remove_action,
                self.clear_action,
                None,
                self.next_action,
                self.previous_action,
            ],
        )
        view_menu = bar.addMenu("&View")
        add_actions(
            view_menu,
            [
                self.zoom_in_action,
                self.zoom_out_action,
                self.zoom_fit_action,
                self.zoom_actual_action,
                None,
                self.split_action,
                self.side_action,
                None,
                self.hint_action,
            ],
        )
        hint = view_menu.addAction("Hold Space to See the Original")
        hint.setEnabled(False)
        tools_menu = bar.addMenu("&Tools")
        self.train_action: QAction | None = None
        if training_available():  # the wizard is an optional module: the app works without it
            self.train_action = self._action("&Train a Model…", lambda: open_training(self, self.controller))
            tools_menu.addAction(self.train_action)
        add_actions(tools_menu, [*self.added_models.actions, self.reload_models_action])
        add_actions(bar.addMenu("&Help"), [self.shortcuts_action, None, self.about_action])
        self._fill_recent_menu(self.controller.settings.recent())

    def _build_toolbar(self) -> None:
        toolbar = QToolBar("Main")
        toolbar.setObjectName("MainToolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        add_actions(
            toolbar,
            [
                self.open_action,
                self.open_folder_action,
                None,
                self.colorize_action,
                self.redo_action,
                self.export_action,
                None,
                self.previous_action,
                self.next_action,
                None,
                self.zoom_fit_action,
                self.zoom_actual_action,
                self.split_action,
                self.side_action,
                None,
                self.hint_action,
            ],
        )
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
        self.toolbar = toolbar
        # A narrow window hides the last actions behind the toolbar's extension button: make sure
        # it is visible under the style sheet (it has no text of its own).
        extension = toolbar.findChild(QToolButton, "qt_toolbar_ext_button")
        if extension is not None:
            extension.setToolTip("More tools")
            extension.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_ToolBarHorizontalExtensionButton))

    def _load_settings(self) -> None:
        settings = self.controller.settings
        geometry, state = settings.window_geometry(), settings.window_state()
        if geometry is not None:
            self.restoreGeometry(geometry)
            self.keep_on_screen()
        if state is not None:
            self.restoreState(state)
        self.settings_panel.restore_session.setChecked(settings.restore_session())
        tuning = self.controller.tuning()
        self.settings_panel.set_tuning(tuning.render_size, tuning.saturation_percent, tuning.boldness)
        self.settings_panel.auto_colorize.setChecked(self.controller.auto_colorize())
        self.settings_panel.set_export_format(settings.export_format())
        self._list_finishing_models()
        self.settings_panel.choose_export_finishing(*self.controller.export_finishing())
        self.controller.set_export_finishing(*self.settings_panel.chosen_export_finishing())  # one since removed: none
        self.batch_panel.set_form(
            input_dir=settings.batch_input(),
            output_dir=settings.batch_output(),
            recursive=settings.batch_recursive(),
            format=settings.batch_format(),
            skip_existing=settings.batch_skip_existing(),
        )
        self.batch_panel.set_cluster(
            settings.batch_cluster(), settings.batch_cluster_address(), settings.batch_cluster_workers()
        )
        self.batch_panel.set_settings_text(tuning.describe())
        self.batch_panel.choose_finishing(*settings.batch_finishing())

    def keep_on_screen(self) -> None:
        """Shrink and move the window into its screen's available area (a layout saved on a
        larger screen, or before the display scaling grew, must not run off the edge)."""
        screen = self.screen() or QApplication.primaryScreen()
        if screen is None:
            return
        available, frame, inner = screen.availableGeometry(), self.frameGeometry(), self.geometry()
        extra_w, extra_h = frame.width() - inner.width(), frame.height() - inner.height()
        x, y, width, height = clamp_to_screen(
            (frame.x(), frame.y(), frame.width(), frame.height()),
            (available.x(), available.y(), available.width(), available.height()),
            (self.minimumWidth() + extra_w, self.minimumHeight() + extra_h),
        )
        if (x, y, width, height) != (frame.x(), frame.y(), frame.width(), frame.height()):
            self.setGeometry(
                QRect(x + (inner.x() - frame.x()), y + (inner.y() - frame.y()), width - extra_w, height - extra_h)
            )

    def _connect(self) -> None:
        c = self.controller
        c.photos_added.connect(self._on_controller_photos_added)
        c.photo_status_changed.connect(self._on_controller_photo_status_changed)
        c.thumbnail_ready.connect(self._on_controller_thumbnail_ready)
        c.preview_ready.connect(self._on_controller_preview_ready)
        c.preview_failed.connect(self._on_controller_preview_failed)
        c.nothing_found.connect(self.show_message)
        c.status_message.connect(self.show_message)
        c.photos_removed.connect(self._on_controller_photos_removed)
        c.queue_progressed.connect(self._on_controller_queue_progressed)
        c.colour_photos_found.connect(self._on_controller_colour_photos_found)
        c.made_with_changed.connect(self._on_controller_made_with_changed)
        c.detail_ready.connect(self._on_controller_detail_ready)
        c.folder_export_finished.connect(self._on_controller_folder_export_finished)
        c.folder_export_failed.connect(self._on_controller_folder_export_failed)
        c.models_listed.connect(self._on_controller_models_listed)
        c.model_loading.connect(self._on_controller_model_loading)
        c.model_changed.connect(self._on_controller_model_changed)
        c.model_problem.connect(self._on_controller_model_problem)
        c.export_finished.connect(self._on_controller_export_finished)
        c.export_failed.connect(self._on_controller_export_failed)
        c.export_progressed.connect(self.export_progress.show_progress)
        c.export_cancelled.connect(self._on_controller_export_cancelled)
        c.export_waiting.connect(self._on_controller_export_waiting)
        self.export_progress.cancel_requested.connect(c.cancel_exports)
        c.batch_started.connect(self.batch_panel.show_started)
        c.batch_progressed.connect(self.batch_panel.show_progress)
        c.batch_finished.connect(self._on_controller_batch_finished)
        c.batch_failed.connect(self._on_controller_batch_failed)
        c.recent_changed.connect(self._fill_recent_menu)
        c.added_models_changed.connect(self._on_controller_added_models_changed)
        self.photo_list.current_photo_changed.connect(self._on_photo_list_current_photo_changed)
        self.compare_view.zoom_changed.connect(self._on_compare_view_zoom_changed)
        self.compare_view.detail_wanted.connect(self._on_compare_view_detail_wanted)
        self.show_folder_button.clicked.connect(self._on_show_folder_button_clicked)
        panel = self.settings_panel
        panel.model_chosen.connect(c.choose_model)
        panel.tuning_changed.connect(self._on_settings_panel_tuning_changed)
        panel.auto_colorize_toggled.connect(c.set_auto_colorize)
        panel.restore_session_toggled.connect(c.settings.set_restore_session)
        panel.redo_requested.connect(self.redo_current)
        panel.colorize_requested.connect(c.colorize_waiting)
        panel.export_requested.connect(self.export_current)
        panel.export_format_changed.connect(c.settings.set_export_format)
        panel.export_finishing_changed.connect(c.set_export_finishing)
        self.batch_panel.start_requested.connect(self._on_batch_panel_start_requested)
        self.batch_panel.cancel_requested.connect(c.cancel_batch)
        self.batch_panel.open_output_requested.connect(self.open_batch_output)
        self.hints.mode_changed.connect(self._on_hints_mode_changed)
        self.side_tabs.currentChanged.connect(self._on_side_tabs_current_changed)

    # -- public entry points (menus, drops, tests) ---------------------------------------------------------------
    def open_paths(self, paths: Iterable[Path]) -> None:
        """The one opener behind drops, the Open dialogs and recent items."""
        self.controller.open_paths([Path(p) for p in paths])

    def show_message(self, text: str, milliseconds: int = 6000) -> None:
        self.statusBar().showMessage(text, milliseconds)

    def redo_current(self) -> None:
        if self.controller.redo():
            self.show_message("Colorizing again with the new settings…")

    def export_current(self, target: Path | None = None) -> None:
        """Export the photo on show; asks where (a save dialog) unless ``target`` is given. A file
        already there is replaced only if Revive wrote it (asked first); anything else is refused."""
        self.hints.commit_now()  # the result follows the newest hints (written once they are applied)
        source = self.controller.current()
        if source is None or not self.controller.can_export(soon=True):
            self.show_message("Colorize a photo before exporting it")
            return
        if target is None:
            fmt = self.settings_panel.chosen_export_format()
            suggested = default_export_path(source, fmt, self.controller.settings.export_folder())
            filters, selected = name_filters(suggested.suffix)
            # Revive decides about an existing file itself (below): Qt's own question would offer
            # to replace any file, a stranger's original included.
            name, _ = QFileDialog.getSaveFileName(
                self,
                "Export colorized photo",
                str(suggested),
                ";;".join(filters),
                selected,
                QFileDialog.Option.DontConfirmOverwrite,
            )
            if not name:
                return
            target = Path(name)
            if not target.suffix:
                target = target.with_suffix(suggested.suffix)
            conflict = export_conflict(target) if target.resolve() != source.resolve() else None
            if conflict == "other":
                self._show_nonblocking(
                    QMessageBox.Icon.Warning,
                    "Choose another name",
                    f"{target.name} is already in {target.parent} and Revive did not write it. "
                    "Revive never replaces a file it did not write: choose another name.",
                )
                return
            if conflict == "revive" and not self.confirm_replace(target):
                return
        self.controller.export(Path(target))  # refuses the original and strangers' files (export_failed says why)
        self._export_sent(f"Exporting {source.name}…")

    def confirm_replace(self, target: Path) -> bool:
        """Ask before replacing an earlier export of Revive's (a method, so tests can answer)."""
        answer = QMessageBox.question(
            self,
            "Replace the earlier export?",
            f"{target.name} is an earlier export of Revive's. Replace it?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def export_selected(self) -> None:
        self._export_to_folder(self.photo_list.selected_paths())

    def export_all(self) -> None:
        self._export_to_folder(self.photo_list.paths())

    def _export_to_folder(self, paths: list[Path], folder: Path | None = None) -> None:
        """Save the results of ``paths`` into a folder (asked for unless given)."""
        if not self.controller.exportable(paths):
            self.show_message("None of these photos is colorized yet")
            return
        if folder is None:
            start = self.controller.settings.export_folder() or Path.home()
            chosen = QFileDialog.getExistingDirectory(self, "Export into which folder?", str(start))
            if not chosen:
                return
            folder = Path(chosen)
        self.controller.export_to_folder(paths, folder, self.settings_panel.chosen_export_format())
        self._export_sent(f"Exporting into {folder.name}…")

    def _export_sent(self, text: str) -> None:
        """Show the progress field at once for an export finished by added models (it may wait for
        the device, and loading the models takes seconds); plain exports take milliseconds."""
        if self.controller.exports_running() and not self.export_progress.isVisible():
            self.export_progress.show_waiting(text)

    def remove_selected(self) -> None:
        paths = self.photo_list.selected_paths()
        if paths:
            self.controller.remove_photos(paths)

    def clear_list(self) -> None:
        self.controller.clear_photos()

    def show_shortcuts(self) -> ShortcutsDialog:
        dialog = ShortcutsDialog(self.actions() + self.photo_list.actions(), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def ask_colour_choice(self, paths: list[Path]) -> None:
        """Ask what to do with photos already in colour (a method, so tests can answer)."""
        ask_colour_choice(self, paths, self.controller.set_colour_choice)

    def confirm_quit(self, waiting: int) -> bool:
        """Ask before quitting while photos wait to be colorized (a method, so tests can answer)."""
        noun = "photo is" if waiting == 1 else "photos are"
        answer = QMessageBox.question(
            self,
            "Quit Revive?",
            f"{waiting} {noun} still waiting to be colorized. Quit anyway?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def open_batch_output(self) -> None:
        folder = self.controller.last_batch_output
        if folder is not None:
            self.show_folder(folder)

    def show_folder(self, folder: Path) -> bool:
        """Open ``folder`` in the file manager; when none can be opened, say where it is."""
        if open_folder(folder):
            return True
        QApplication.clipboard().setText(str(folder))
        self._show_nonblocking(
            QMessageBox.Icon.Information,
            "Open folder",
            f"No file manager could be opened on this computer. The folder is:\n\n{folder}\n\n"
            "(Its path is on the clipboard.)",
        )
        return False

    # -- drag and drop --------------------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    # -- holding Space shows the original, wherever the focus is (except text fields) ----------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and event.key() in _WIDGET_KEYS
            and isinstance(watched, (QAbstractSlider, QAbstractSpinBox, QComboBox, QLineEdit))
            and self.isAncestorOf(watched)
        ):
            event.accept()  # the focused control gets the key, not Previous/Next Photo
            return True
        if event.type() in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) and event.key() == Qt.Key.Key_Space:
            focus = QApplication.focusWidget()
            if (
                self.isActiveWindow()
                and focus is not None
                and self.isAncestorOf(focus)
                and not isinstance(focus, (QLineEdit, QAbstractSpinBox, QComboBox))
            ):
                if not event.isAutoRepeat():
                    self.compare_view.show_original(event.type() == QEvent.Type.KeyPress)
                return True
        return super().eventFilter(watched, event)

    def close_without_asking(self) -> None:
        """Close as the close button does, without asking about waiting photos (a signal asked)."""
        self._asked_to_quit = True
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        waiting = self.controller.waiting_count()
        if (
            waiting
            and not self._asked_to_quit
            and not self.controller.is_shut_down()
            and not self.confirm_quit(waiting)
        ):
            event.ignore()
            return
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        settings = self.controller.settings
        settings.set_window_geometry(self.saveGeometry())
        settings.set_window_state(self.saveState())
        self.hints.shutdown()  # the hint edits still waiting are written
        self.restoration.shutdown()  # its job stops within a tile, before the thread is stopped
        self.controller.shutdown()
        event.accept()

    # -- handlers ----------------------------------------------------------------------------------------------
    def _on_open_action_triggered(self) -> None:
        settings = self.controller.settings
        pattern = " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES))
        names, _ = QFileDialog.getOpenFileNames(
            self, "Open photos", str(settings.open_folder() or Path.home()), f"Photos ({pattern});;All files (*)"
        )
        if names:
            settings.set_open_folder(Path(names[0]).parent)
            self.open_paths(Path(n) for n in names)

    def _on_open_folder_action_triggered(self) -> None:
        settings = self.controller.settings
        folder = QFileDialog.getExistingDirectory(
            self, "Open a folder of photos", str(settings.open_folder() or Path.home())
        )
        if folder:
            settings.set_open_folder(Path(folder))
            self.open_paths([Path(folder)])

    def _fill_recent_menu(self, items: list[Path]) -> None:
        self.recent_menu.clear()
        for path in items:
            action = self.recent_menu.addAction(str(path))
            action.triggered.connect(lambda _=False, p=path: self.open_paths([p]))
        if items:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear List", self._on_clear_recent_triggered)
        self.recent_menu.setEnabled(bool(items))

    def _on_clear_recent_triggered(self) -> None:
        self.controller.settings.clear_recent()
        self._fill_recent_menu([])

    def _on_controller_photos_added(self, paths: list[Path]) -> None:
        for path in paths:
            self.photo_list.add_photo(path)
        if self.photo_list.current_path() is None and paths:
            self.photo_list.select_path(paths[0])

    def _on_controller_photos_removed(self, paths: list[Path]) -> None:
        if self._shown in paths:
            self.compare_view.clear()
            self._shown = None
        self.photo_list.remove_photos(paths)
        if not self.photo_list.count():
            self.compare_view.set_placeholder(EMPTY_HINT)
        self._update_photo_actions()

    def _on_controller_queue_progressed(self, done: int, total: int) -> None:
        self.queue_label.setText(f"Colorizing: {done} of {total} done")
        self.queue_label.setVisible(total > 0)

    def _on_controller_colour_photos_found(self, paths: list[Path]) -> None:
        self.ask_colour_choice(paths)

    def _on_controller_made_with_changed(self, path: Path, text: str, stale: bool) -> None:
        if path == self.photo_list.current_path():
            self.settings_panel.set_made_with(text, stale)

    def _on_controller_detail_ready(self, path: Path, rect, before, after) -> None:
        if path == self._shown:
            self.compare_view.set_detail(rect, to_pixmap(before), to_pixmap(after))

    def _on_controller_folder_export_finished(self, export, left_out: int) -> None:
        self._export_reported()
        text = export.summary() + (f"; {left_out} not colorized yet, left out" if left_out else "")
        self._offer_folder(export.folder)
        self.show_message(text, 15000)
        if export.failed:
            self._show_nonblocking(QMessageBox.Icon.Warning, "Some photos were not exported", text)

    def _on_controller_folder_export_failed(self, message: str) -> None:
        self._export_reported()
        self._show_nonblocking(QMessageBox.Icon.Warning, "Export failed", message[0].upper() + message[1:])

    def _offer_folder(self, folder: Path) -> None:
        self._last_export = folder
        self.show_folder_button.show()

    def _on_show_folder_button_clicked(self) -> None:
        if self._last_export is not None:
            self.show_folder(self._last_export)

    def _on_controller_photo_status_changed(self, path: Path, status: PhotoStatus, message: str) -> None:
        self.photo_list.set_status(path, status, message)
        if path == self.photo_list.current_path():
            self._update_photo_actions()
            if status == PhotoStatus.FAILED:
                self.compare_view.set_placeholder(f"{path.name} could not be colorized:\n{message}")
            elif status == PhotoStatus.KEPT and self.compare_view.has_result():
                self.compare_view.set_after(None)  # its own colours, nothing else
            elif status == PhotoStatus.DONE:
                self.compare_view.refresh_detail()  # e.g. a re-tune was saved: sharp again past 100 %

    def _on_controller_thumbnail_ready(self, path: Path, image) -> None:
        self.photo_list.set_thumbnail(path, to_pixmap(image))

    def _on_controller_preview_ready(self, path: Path, before, after, size: tuple[int, int]) -> None:
        if path != self.photo_list.current_path():
            return
        if path == self._shown and self.compare_view.has_photo():
            if not self.hints.shows_preview():  # else the hint preview is the result on show
                self.compare_view.set_after(to_pixmap(after), size)
        elif before is None:
            return  # a re-tuned result for a photo no longer on show
        else:
            self.compare_view.set_photo(to_pixmap(before), to_pixmap(after), size)
            self._shown = path
        self._update_photo_actions()

    def _on_controller_preview_failed(self, path: Path, message: str) -> None:
        if path == self.photo_list.current_path():
            self.compare_view.clear()
            self._shown = None
            self.compare_view.set_placeholder(f"Cannot show {path.name}:\n{message}")

    def _on_photo_list_current_photo_changed(self, path: Path | None) -> None:
        if path != self._shown:
            self.compare_view.clear()
            self._shown = None
            self.compare_view.set_placeholder("Loading…" if path else EMPTY_HINT)
        self.controller.select(path)
        self._update_photo_actions()

    def _update_photo_actions(self) -> None:
        path = self.photo_list.current_path()
        entry = self.controller.session.get(path) if path is not None else None
        # A failed photo is not "redone" with other settings: Colorize retries it.
        can_redo = entry is not None and entry.status not in (*WAITING, PhotoStatus.FAILED)
        can_export = self.controller.can_export(path, soon=True) if path is not None else False
        self.settings_panel.set_photo_actions(can_redo, can_export)
        self.redo_action.setEnabled(can_redo)
        self.export_action.setEnabled(can_export)
        has_photos = self.photo_list.count() > 0
        for action in (self.remove_action, self.clear_action, self.export_selected_action, self.export_all_action):
            action.setEnabled(has_photos)

    def _on_compare_view_zoom_changed(self, zoom: float) -> None:
        fit = " (fit)" if self.compare_view.is_fitted() else ""
        self.zoom_label.setText(f"Zoom {zoom * 100:.0f} %{fit}")
        self.zoom_label.show()

    def _on_settings_panel_tuning_changed(self) -> None:
        tuning = self.settings_panel.tuning()
        self.controller.set_tuning(tuning.render_size, tuning.saturation_percent, tuning.boldness)
        self.batch_panel.set_settings_text(self.controller.tuning().describe())
        self.hints.settings_changed()

    def _on_compare_view_detail_wanted(self, rect) -> None:
        # The hint preview on show is newer than the cached result: the original's pixels only.
        self.controller.load_detail(rect, with_result=not self.hints.shows_preview())

    def _on_controller_added_models_changed(self) -> None:
        self._list_finishing_models()
        self.controller.set_export_finishing(*self.settings_panel.chosen_export_finishing())

    def _list_finishing_models(self) -> None:
        """The added upscalers and face models, read once, for the Batch tab and the export."""
        upscalers, faces = self.controller.finishing_models()
        self.batch_panel.set_finishing_models(upscalers, faces)
        self.settings_panel.set_finishing_models(upscalers, faces)

    def _on_batch_panel_start_requested(self, form) -> None:
        self.hints.flush_saves()  # the batch reads each photo's saved hints
        self.controller.start_batch(self.restoration.batch_form(form))  # repaired first when the Restore tab says so

    def _on_hints_mode_changed(self, on: bool) -> None:
        if on:
            self.side_tabs.setCurrentWidget(self.hint_tab)

    def _on_side_tabs_current_changed(self, index: int) -> None:
        if self.side_tabs.widget(index) is self.hint_tab:
            self.hints.set_on(True)  # the Hints tab is the hint tool's (without a model, nothing happens)

    def _on_controller_models_listed(self, names: list[str], current: str, tooltips: dict, labels: dict) -> None:
        self.settings_panel.set_models(names, current, tooltips, labels)
        if not names:
            self.settings_panel.set_model_details("No model installed")

    def _on_controller_model_loading(self, name: str) -> None:
        loaded = self.controller.model_info()
        self.model_label.setText(
            f"Loading the colorizer {name}…" if loaded is not None and name else "Loading the colorizer…"
        )
        if loaded is None:
            self.show_message("Loading the colorizer… Photos you add now are colorized as soon as it is ready.", 0)

    def _on_controller_model_changed(self, info: ModelInfo) -> None:
        self.model_label.setText(f"Model: {info.name}")
        self.device_label.setText(f"Device: {info.device}")
        if self.statusBar().currentMessage().startswith("Loading the colorizer"):
            self.statusBar().clearMessage()
        details = people_description(info.name, info.description, info.trained_on)
        self.settings_panel.set_model_details(f"{details}\nRenders colour at {info.render_size} px.", info.description)
        self.batch_panel.set_settings_text(self.controller.tuning().describe())

    def _on_controller_model_problem(self, message: str) -> None:
        if self.controller.model_info() is None:
            self.model_label.setText("No model loaded")
        self.show_message(message, 15000)
        if message != self._last_model_problem:  # each photo of a drop may meet the same problem: say it once
            self._last_model_problem = message
            self._show_nonblocking(QMessageBox.Icon.Warning, "Model problem", message)

    def _on_controller_export_finished(self, path: Path) -> None:
        self._export_reported()
        self._offer_folder(Path(path).parent)
        self.show_message(f"Exported {path}", 15000)

    def _on_controller_export_failed(self, message: str) -> None:
        self._export_reported()
        self._show_nonblocking(QMessageBox.Icon.Warning, "Export failed", message[0].upper() + message[1:])

    def _on_controller_export_cancelled(self, message: str) -> None:
        self._export_reported()
        self.show_message(message, 15000)

    def _on_controller_export_waiting(self, text: str) -> None:
        if self.controller.exports_running():
            self.export_progress.show_waiting(text)

    def _export_reported(self) -> None:
        """An export ended: the progress field goes once no finished export is left."""
        if not self.controller.exports_running():
            self.export_progress.hide()

    def _on_controller_batch_finished(self, progress: BatchProgress) -> None:
        self.batch_panel.show_finished(progress)
        if progress.summary is not None:
            verb = "cancelled" if progress.summary.cancelled else "finished"
            self.show_message(f"Batch {verb}: {progress.summary.done} photos colorized")

    def _on_controller_batch_failed(self, message: str) -> None:
        self.batch_panel.show_error(message)
        self._show_nonblocking(QMessageBox.Icon.Warning, "Batch could not start", message)

    def _on_about_action_triggered(self) -> None:
        QMessageBox.about(
            self,
            "About Revive",
            f"<b>Revive</b> {app_version()}<br>"
            "Colorize old photographs with a deep model.<br>"
            "Drop photos or folders on the window to begin.",
        )

    def _show_nonblocking(self, icon: QMessageBox.Icon, title: str, text: str) -> None:
        show_nonblocking(self, icon, title, text)
