"""Pieces the panels share: named spin boxes and combo boxes, and a spin box that keeps
the exact number a run configuration gave it."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QSpinBox, QWidget


class ExactSpinBox(QDoubleSpinBox):
    """Shows its value rounded to its decimals but keeps the exact number it was given by
    `set_exact` (a run configuration's), until the user changes it: a replayed run must
    use kappa 0.0125, not the 0.013 on screen."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._exact: float | None = None
        self.valueChanged.connect(self._forget)

    def _forget(self, _value: float) -> None:
        self._exact = None

    def set_exact(self, value: float) -> None:
        self.setValue(value)
        shown = abs(self.value() - value) <= 10.0 ** -self.decimals()
        self._exact = float(value) if shown else None

    def exact_value(self) -> float:
        return self._exact if self._exact is not None else round(self.value(), self.decimals())


def spin(name: str, low: int, high: int, value: int) -> QSpinBox:
    box = QSpinBox()
    box.setObjectName(name)
    box.setRange(low, high)
    box.setValue(value)
    return box


def combo(name: str, items: list[str]) -> QComboBox:
    box = QComboBox()
    box.setObjectName(name)
    box.addItems(items)
    return box
