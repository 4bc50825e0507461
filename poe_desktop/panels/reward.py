"""The Reward panel: the target colour (red, green, blue, white or any: a CSS colour name,
#rrggbb or the colour chooser) and its strength."""

from __future__ import annotations

import math

import webcolors
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QButtonGroup,
    QColorDialog,
    QCompleter,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from poe_engine.errors import InputError
from poe_engine.reward import DEFAULT_STRENGTH, parse_color

from ..qt_utils import breakable, scroll_into_view
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
            button.setToolTip(f"Prefer {name} clouds (the reference's {name} reward)")
            button.clicked.connect(lambda _=False, n=name: self.set_color(n))
            self.group.addButton(button)
            row.addWidget(button, i // 2, i % 2)
            self.buttons[name] = button
        self.custom = QPushButton("Custom…")
        self.custom.setObjectName("rewardColor_custom")
        self.custom.setCheckable(True)
        self.custom.setToolTip("Choose any colour for the reward to prefer")
        self.custom.clicked.connect(self.choose_custom)
        self.group.addButton(self.custom)
        row.addWidget(self.custom, 2, 0, 1, 2)
        layout.addLayout(row)
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("rewardColorEdit")
        self.name_edit.setPlaceholderText("orange, teal, #ff8000…")
        self.name_edit.setToolTip("Type a CSS colour name or #rrggbb and press Enter to prefer "
                                  "that colour")
        self.name_edit.setClearButtonEnabled(True)
        completer = QCompleter(sorted(webcolors.names(webcolors.CSS3)), self.name_edit)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.name_edit.setCompleter(completer)
        self.name_edit.returnPressed.connect(self.take_typed_color)
        self.name_error = QLabel()
        self.name_error.setObjectName("rewardColorError")
        self.name_error.setWordWrap(True)
        self.name_error.setStyleSheet("color: #ff7b6e;")
        self.name_error.hide()
        layout.addWidget(self.name_edit)
        layout.addWidget(self.name_error)
        form = QFormLayout()
        self.strength = ExactSpinBox()
        self.strength.setObjectName("rewardStrength")
        self.strength.setRange(0.0, 5000.0)
        self.strength.setSingleStep(25.0)
        self.strength.setValue(DEFAULT_STRENGTH)
        self.strength.setToolTip(
            "How strongly the reward prefers its colour: the cloud's colour score times this "
            "weights the particles, and resampling keeps the heavy ones")
        self.strength.valueChanged.connect(self.strengthChanged)
        form.addRow("strength", self.strength)
        layout.addLayout(form)
        self.color: str = "red"
        self.buttons["red"].setChecked(True)
        self.restore_defaults_button = QPushButton("Restore defaults")
        self.restore_defaults_button.setObjectName("rewardRestoreDefaults")
        self.restore_defaults_button.setToolTip(
            "The reward back to red at its default strength; during a run, from the next step "
            "on")
        self.restore_defaults_button.clicked.connect(self.restore_defaults)
        self._defaults = self.state()
        layout.addWidget(self.restore_defaults_button)
        layout.addStretch(1)

    def set_color(self, color: str) -> None:
        """Select `color` (red, green, blue, white, a CSS colour name or '#rrggbb') and
        announce it; ValueError (one line) for anything else."""
        color = color.strip().lower()
        hex_ = parse_color(color)[0]
        if color in self.buttons:
            self.buttons[color].setChecked(True)
        else:
            self.custom.setChecked(True)
            self.custom.setStyleSheet(swatch_style(hex_))
            self.custom.setText(f"Custom {color}")
        self.color = color
        self.colorChanged.emit(color)

    def take_typed_color(self) -> bool:
        """The colour typed in the text field, or why it is not one (under the field)."""
        try:
            self.set_color(self.name_edit.text())
        except InputError as err:  # wrapped, however long a word it quotes, and in view
            self.name_error.setText(breakable(str(err)))
            self.name_error.setToolTip(str(err))
            self.name_error.show()
            scroll_into_view(self.name_error)
            return False
        self.name_error.hide()
        return True

    def state(self) -> dict:
        return {"color": self.color, "strength": self.strength.exact_value()}

    def apply_state(self, values: dict) -> list[str]:
        """Set the colour and the strength from saved values; returns the keys rejected."""
        rejected = []
        color = values.get("color", self.color)
        try:
            if color != self.color:
                self.set_color(color if isinstance(color, str) else "")
        except (InputError, AttributeError):
            rejected.append("color")
        if "strength" in values:
            x = values["strength"]
            if (isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x)
                    or not self.strength.minimum() <= x <= self.strength.maximum()):
                rejected.append("strength")
            else:
                self.strength.set_exact(float(x))
        return rejected

    def restore_defaults(self) -> None:
        """The colour and the strength back to the panel's defaults."""
        self.apply_state(self._defaults)

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
