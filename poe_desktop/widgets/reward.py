"""The Reward panel: the target colour (red, green, blue, white or any) and its strength."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QButtonGroup,
    QColorDialog,
    QFormLayout,
    QGridLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from poe_engine.experts import DEFAULT_STRENGTH

from .common import ExactSpinBox

REWARD_COLORS = {"red": "#e0433a", "green": "#3cb554", "blue": "#3f6fe0", "white": "#f2f2f2"}


class RewardPanel(QWidget):
    """The reward's target colour (red, green, blue, white or any) and strength."""

    colorChanged = Signal(object)  # a colour name or '#rrggbb'
    strengthChanged = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QPushButton] = {}
        row = QGridLayout()
        for i, (name, hex_) in enumerate(REWARD_COLORS.items()):
            button = QPushButton(name.capitalize())
            button.setObjectName(f"rewardColor_{name}")
            button.setCheckable(True)
            button.setStyleSheet(swatch_style(hex_))
            button.clicked.connect(lambda _=False, n=name: self.set_color(n))
            self.group.addButton(button)
            row.addWidget(button, i // 2, i % 2)
            self.buttons[name] = button
        self.custom = QPushButton("Custom…")
        self.custom.setObjectName("rewardColor_custom")
        self.custom.setCheckable(True)
        self.custom.clicked.connect(self.choose_custom)
        self.group.addButton(self.custom)
        row.addWidget(self.custom, 2, 0, 1, 2)
        layout.addLayout(row)
        form = QFormLayout()
        self.strength = ExactSpinBox()
        self.strength.setObjectName("rewardStrength")
        self.strength.setRange(0.0, 5000.0)
        self.strength.setSingleStep(25.0)
        self.strength.setValue(DEFAULT_STRENGTH)
        self.strength.valueChanged.connect(self.strengthChanged)
        form.addRow("strength", self.strength)
        layout.addLayout(form)
        layout.addStretch(1)
        self.color: str = "red"
        self.buttons["red"].setChecked(True)

    def set_color(self, color: str) -> None:
        """Select `color` (a name or '#rrggbb') and announce it."""
        color = color.lower()
        if color in self.buttons:
            self.buttons[color].setChecked(True)
        else:
            self.custom.setChecked(True)
            self.custom.setStyleSheet(swatch_style(color))
            self.custom.setText(f"Custom {color}")
        self.color = color
        self.colorChanged.emit(color)

    def choose_custom(self) -> None:
        start = QColor(self.color if self.color.startswith("#") else "#ff8000")
        chosen = QColorDialog.getColor(start, self, "Reward colour")
        if chosen.isValid():
            self.set_color(chosen.name())
        else:  # cancelled: keep the colour we had
            self.set_color(self.color)


def swatch_style(hex_: str) -> str:
    """A colour button's style: its colour, legible text, a thick border when checked."""
    text = "#111" if QColor(hex_).lightness() > 140 else "#fff"
    return (f"QPushButton {{ background: {hex_}; color: {text}; padding: 4px; }}"
            "QPushButton:checked { border: 3px solid #ffd54a; font-weight: bold; }")
