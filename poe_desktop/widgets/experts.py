"""The Experts panel: a checkbox and a weight per generative expert, and the reward's switch."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QGridLayout, QLabel, QWidget

from poe_engine.experts import EXPERT_NAMES
from poe_engine.product import MAX_WEIGHT

EXPERT_LABELS = {"x": "x axis (flow)", "y": "y axis (flow)", "z": "z axis (flow)",
                 "color": "colour (monochrome)"}


class ExpertsPanel(QWidget):
    """A checkbox and a weight per generative expert, and the reward's switch."""

    expertToggled = Signal(str, bool)
    weightChanged = Signal(str, float)
    rewardToggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.addWidget(QLabel("<b>Generative experts</b>"), 0, 0, 1, 2)
        grid.addWidget(QLabel("weight"), 0, 2)
        self.toggles: dict[str, QCheckBox] = {}
        self.weights: dict[str, QDoubleSpinBox] = {}
        for row, name in enumerate(EXPERT_NAMES, start=1):
            box = QCheckBox(EXPERT_LABELS[name])
            box.setObjectName(f"expertToggle_{name}")
            box.setChecked(True)
            box.toggled.connect(lambda on, n=name: self.expertToggled.emit(n, on))
            weight = QDoubleSpinBox()
            weight.setObjectName(f"expertWeight_{name}")
            weight.setRange(0.0, MAX_WEIGHT)
            weight.setSingleStep(0.1)
            weight.setValue(1.0)
            weight.setToolTip("Exponent of this expert's density in the product")
            weight.valueChanged.connect(lambda w, n=name: self.weightChanged.emit(n, w))
            grid.addWidget(box, row, 0, 1, 2)
            grid.addWidget(weight, row, 2)
            self.toggles[name], self.weights[name] = box, weight
        self.reward = QCheckBox("colour reward (discriminative)")
        self.reward.setObjectName("rewardToggle")
        self.reward.setChecked(True)
        self.reward.toggled.connect(self.rewardToggled)
        grid.addWidget(QLabel("<b>Discriminative expert</b>"), len(EXPERT_NAMES) + 1, 0, 1, 3)
        grid.addWidget(self.reward, len(EXPERT_NAMES) + 2, 0, 1, 3)
        grid.setRowStretch(len(EXPERT_NAMES) + 3, 1)

    def enabled_experts(self) -> list[str]:
        return [n for n, box in self.toggles.items() if box.isChecked()]
