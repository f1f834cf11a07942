"""Zoom and pan of the before/after view, as plain arithmetic (no Qt), shared by both sides.

Coordinates: ``zoom`` is screen pixels per pixel of the original photo (1.0 is "100 %"); ``pan`` is
the offset, in screen pixels, of the photo's centre from the viewport's centre. Both sides of the
view use the same transform, so they always stay in sync.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_ZOOM = 0.01
MAX_ZOOM = 32.0
ZOOM_STEP = 1.25

Rect = tuple[float, float, float, float]  # x, y, width, height


@dataclass
class ViewTransform:
    image_size: tuple[int, int] = (1, 1)  # the original photo's (width, height)
    zoom: float = 1.0
    pan: tuple[float, float] = (0.0, 0.0)
    fitted: bool = True  # follow the viewport's size (re-fit on resize)

    def fit_zoom(self, viewport: tuple[float, float]) -> float:
        width, height = self.image_size
        return max(MIN_ZOOM, min(viewport[0] / width, viewport[1] / height))

    def fit(self, viewport: tuple[float, float]) -> None:
        self.zoom = self.fit_zoom(viewport)
        self.pan = (0.0, 0.0)
        self.fitted = True

    def set_zoom(self, zoom: float, viewport: tuple[float, float], anchor: tuple[float, float] = (0.0, 0.0)) -> None:
        """Zoom to ``zoom`` keeping the photo point under ``anchor`` (offset from the viewport's
        centre, screen pixels) where it is."""
        zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
        ratio = zoom / self.zoom
        self.pan = (anchor[0] - (anchor[0] - self.pan[0]) * ratio, anchor[1] - (anchor[1] - self.pan[1]) * ratio)
        self.zoom = zoom
        self.fitted = False
        self.clamp(viewport)

    def pan_by(self, dx: float, dy: float, viewport: tuple[float, float]) -> None:
        self.pan = (self.pan[0] + dx, self.pan[1] + dy)
        self.fitted = False
        self.clamp(viewport)

    def clamp(self, viewport: tuple[float, float]) -> None:
        """A photo smaller than the viewport stays centred; a larger one cannot leave a gap at an edge."""
        limits = [max(0.0, (size * self.zoom - view) / 2.0) for size, view in zip(self.image_size, viewport)]
        self.pan = tuple(max(-limit, min(limit, offset)) for offset, limit in zip(self.pan, limits))  # type: ignore[assignment]

    def image_rect(self, viewport: Rect) -> Rect:
        """Where the whole photo lands in a viewport ``(x, y, width, height)``."""
        vx, vy, vw, vh = viewport
        width, height = self.image_size[0] * self.zoom, self.image_size[1] * self.zoom
        return (vx + vw / 2.0 + self.pan[0] - width / 2.0, vy + vh / 2.0 + self.pan[1] - height / 2.0, width, height)
