"""A widget lying over the compare view, edited with the mouse: the base of the hint marks' and the
damage mask's overlays.

It is the view's child and follows its size; it is shown, and takes the mouse and the focus, only
while active. ``photo_rects`` says where the photo is drawn in the view (widget coordinates; one
rectangle per side shown), so an overlay maps the pointer to the photo's 0..1 coordinates. Its
keys (``_key_action``) win over the window's shortcuts while it has the focus.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QEvent, QObject, QRectF, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QWidget

PhotoRects = Callable[[], Sequence[QRectF]]


class ViewOverlay(QWidget):
    def __init__(self, photo_rects: PhotoRects | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._photo_rects: PhotoRects = photo_rects or (lambda: [QRectF(self.rect())])

    def attach(self, view: QWidget, photo_rects: PhotoRects) -> None:
        """Lie over ``view`` (as its child, following its size); ``photo_rects``: where the photo is."""
        self._photo_rects = photo_rects
        self.setParent(view)
        view.installEventFilter(self)
        self.setGeometry(view.rect())
        self.raise_()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        parent = self.parentWidget()
        if parent is not None and watched is parent and event.type() == QEvent.Type.Resize:
            self.setGeometry(parent.rect())
        return False

    def set_active(self, on: bool) -> None:
        """Shown (taking the mouse and the focus) or hidden (the view is as before); a gesture in
        progress is dropped either way."""
        self._drop_gesture()
        self.setVisible(on)
        if on:
            self.raise_()
            self.setFocus(Qt.FocusReason.OtherFocusReason)

    def is_active(self) -> bool:
        return self.isVisible()

    def _drop_gesture(self) -> None:
        """Forget a drag or stroke in progress (subclasses keep one)."""

    def _key_action(self, event: QKeyEvent) -> Callable[[], None] | None:
        """What a key does here (subclasses say); None: not ours, it goes on to the view."""
        return None

    def _keys_enabled(self) -> bool:
        """False while the overlay's keys do nothing (still claimed, so no shortcut fires instead)."""
        return True

    def event(self, event: QEvent) -> bool:
        # Our keys win over window shortcuts (Esc stops colorizing, Edit > Undo) while the overlay
        # has the focus: accepting the override makes Qt deliver them as key presses here.
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and self._key_action(event) is not None
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        action = self._key_action(event)
        if action is None or not self._keys_enabled():
            event.ignore()  # Space and the rest go on to the view
            return
        action()
        event.accept()
