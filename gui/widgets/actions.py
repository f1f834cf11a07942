"""Building menu and toolbar actions: one helper so every action gets its icon, shortcuts and tips alike."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QStyle, QToolBar, QWidget

from gui.widgets.icons import icon as themed_icon

# Revive's own icons (resources/icons/NAME.svg) and the standard icon used when one is missing.
FALLBACK_ICONS = {
    "play": QStyle.StandardPixmap.SP_MediaPlay,
    "stop": QStyle.StandardPixmap.SP_MediaStop,
    "previous": QStyle.StandardPixmap.SP_ArrowLeft,
    "next": QStyle.StandardPixmap.SP_ArrowRight,
    "fit": QStyle.StandardPixmap.SP_TitleBarMaxButton,
    "split": QStyle.StandardPixmap.SP_TitleBarNormalButton,
    "side-by-side": QStyle.StandardPixmap.SP_FileDialogDetailedView,
    "hint": QStyle.StandardPixmap.SP_DialogHelpButton,
}


def make_action(
    window: QWidget,
    text: str,
    slot: Callable,
    shortcuts: Iterable[str] = (),
    icon: QStyle.StandardPixmap | str | None = None,
    tip: str = "",
    short: str = "",
) -> QAction:
    """An action on ``window`` (so its shortcuts work wherever the focus is in the window).
    ``icon``: one of FALLBACK_ICONS' names or a standard pixmap; ``short``: the toolbar's label."""
    action = QAction(text, window)
    if short:
        action.setIconText(short)
    if isinstance(icon, str):
        action.setIcon(themed_icon(icon, FALLBACK_ICONS[icon], window))
    elif icon is not None:
        action.setIcon(window.style().standardIcon(icon))
    action.setShortcuts([QKeySequence(s) for s in shortcuts])
    if tip:
        action.setToolTip(tip)
        action.setStatusTip(tip)
    # triggered(bool checked): the flag must never reach a slot with an optional first argument
    # (``export_current(target=None)`` got False as its target path).
    action.triggered.connect(lambda *_args: slot())
    window.addAction(action)
    return action


def add_actions(target: QMenu | QToolBar, actions: Sequence[QAction | None]) -> None:
    """Add ``actions`` in order; None is a separator."""
    for action in actions:
        if action is None:
            target.addSeparator()
        else:
            target.addAction(action)
