"""A small live chart of the key training losses, painted with QPainter (log scale, one polyline each).

The losses come from ``StepDone.losses`` (``training.cyclegan.step.LOSS_NAMES``, unweighted). Four
curves are drawn: G's adversarial loss, the cycle loss (A->B->A plus B->A->B), the paired colour loss
and the discriminators (mean of D_A and D_B). Long runs are averaged into one point per pixel column.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

# (key, legend, colour)
CURVES = (
    ("G_adv", "G adv.", "#1e88e5"),
    ("cycle", "cycle", "#43a047"),
    ("paired", "paired", "#8e24aa"),
    ("D", "D (mean)", "#e53935"),
)
_FLOOR = 1e-4  # log scale: smaller values are drawn at the floor


def curve_values(losses: Mapping[str, float]) -> dict[str, float]:
    """The four plotted values from one step's losses (missing terms count as absent)."""
    values = {}
    if "G_adv" in losses:
        values["G_adv"] = losses["G_adv"]
    cycle = [losses[k] for k in ("cycle_A", "cycle_B") if k in losses]
    if cycle:
        values["cycle"] = sum(cycle)
    if "paired" in losses:
        values["paired"] = losses["paired"]
    d = [losses[k] for k in ("D_A", "D_B") if k in losses]
    if d:
        values["D"] = sum(d) / len(d)
    return values


class LossCurve(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._steps: list[int] = []
        self._values: dict[str, list[float]] = {key: [] for key, _, _ in CURVES}
        self._total = 0
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(140)
        self.setToolTip(
            "G adv.: G's adversarial loss (LSGAN); cycle: old->colour->old plus colour->old->colour (L1);\n"
            "paired: G colouring gray copies of the colour photos; D (mean): the two discriminators"
        )

    def sizeHint(self) -> QSize:
        return QSize(420, 200)

    # -- data ------------------------------------------------------------------------------------
    def clear(self, total_steps: int = 0) -> None:
        self._steps = []
        self._values = {key: [] for key, _, _ in CURVES}
        self._total = total_steps
        self.update()

    def add_steps(self, steps: Iterable[tuple[int, Mapping[str, float]]]) -> None:
        """Append ``(step, losses)`` pairs and repaint once."""
        for step, losses in steps:
            values = curve_values(losses)
            self._steps.append(step)
            for key in self._values:
                self._values[key].append(values.get(key, math.nan))
        self.update()

    def point_count(self) -> int:
        return len(self._steps)

    # -- painting ----------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.base())
        text_colour = palette.text().color()
        metrics = painter.fontMetrics()
        left, top, right, bottom = (
            metrics.horizontalAdvance("0.001") + 10,
            metrics.height() + 8,
            10,
            metrics.height() + 6,
        )
        plot = QRectF(left, top, max(10, self.width() - left - right), max(10, self.height() - top - bottom))
        self._paint_legend(painter, text_colour)
        if not self._steps:
            painter.setPen(text_colour)
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, "Losses appear after the first steps")
            painter.end()
            return
        series = {
            key: self._bucketed(np.asarray(values, dtype=np.float64), int(plot.width()))
            for key, values in self._values.items()
        }
        steps = self._bucketed(np.asarray(self._steps, dtype=np.float64), int(plot.width()))
        finite = np.concatenate([v[np.isfinite(v)] for v in series.values()] or [np.zeros(0)])
        low = math.floor(math.log10(max(_FLOOR, float(finite.min())))) if finite.size else -2
        high = math.ceil(math.log10(max(_FLOOR, float(finite.max())))) if finite.size else 1
        high = max(high, low + 1)
        # The x axis spans the steps so far (the curve grows to fill it), not the whole run.
        x_start = float(self._steps[0])
        x_span = max(float(self._steps[-1]) - x_start, 1.0)

        grid = QColor(text_colour)
        grid.setAlpha(50)
        for power in range(low, high + 1):
            y = plot.bottom() - (power - low) / (high - low) * plot.height()
            painter.setPen(QPen(grid, 1))
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            painter.setPen(text_colour)
            label = f"{10.0**power:g}"
            painter.drawText(
                QRectF(0, y - metrics.height() / 2, left - 4, metrics.height()),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                label,
            )
        painter.drawText(
            QRectF(plot.left(), plot.bottom() + 2, plot.width(), metrics.height()),
            Qt.AlignmentFlag.AlignRight,
            f"step {self._steps[-1]}" + (f" of {self._total}" if self._total else ""),
        )
        painter.drawText(
            QRectF(plot.left(), plot.bottom() + 2, plot.width(), metrics.height()),
            Qt.AlignmentFlag.AlignLeft,
            f"step {self._steps[0]}",
        )

        for key, _, colour in CURVES:
            path = QPainterPath()
            drawing = False
            for step, value in zip(steps, series[key]):
                if not math.isfinite(value):
                    drawing = False
                    continue
                x = plot.left() + (step - x_start) / x_span * plot.width()
                y = plot.bottom() - (math.log10(max(_FLOOR, value)) - low) / (high - low) * plot.height()
                if drawing:
                    path.lineTo(x, y)
                else:
                    path.moveTo(x, y)
                    drawing = True
            painter.setPen(QPen(QColor(colour), 1.6))
            painter.drawPath(path)
        painter.end()

    def _paint_legend(self, painter: QPainter, text_colour: QColor) -> None:
        metrics = painter.fontMetrics()
        x = 8.0
        for _, legend, colour in CURVES:
            painter.setPen(QPen(QColor(colour), 3))
            y = metrics.height() / 2 + 3
            painter.drawLine(QPointF(x, y), QPointF(x + 14, y))
            painter.setPen(text_colour)
            painter.drawText(QPointF(x + 18, metrics.ascent() + 2), legend)
            x += 18 + metrics.horizontalAdvance(legend) + 14

    @staticmethod
    def _bucketed(values: np.ndarray, buckets: int) -> np.ndarray:
        """At most ``buckets`` points: the mean of each run of consecutive values (NaN-aware)."""
        if len(values) <= max(1, buckets):
            return values
        groups = np.array_split(values, buckets)
        return np.array([np.nanmean(g) if np.isfinite(g).any() else np.nan for g in groups])
