"""The docked side panels: experts, reward, sampler settings and run statistics.

Panels only hold widgets and emit what the user changed; the main window
decides what that means for a run.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from poe_engine.experts import DEFAULT_STRENGTH
from poe_engine.product import MAX_WEIGHT
from poe_engine.runs import EXPERT_NAMES
from poe_engine.samplers import SAMPLERS, SamplerSettings

EXPERT_LABELS = {"x": "x axis (flow)", "y": "y axis (flow)", "z": "z axis (flow)",
                 "color": "colour (monochrome)"}
REWARD_COLORS = {"red": "#e0433a", "green": "#3cb554", "blue": "#3f6fe0", "white": "#f2f2f2"}


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
            button.setStyleSheet(_swatch_style(hex_))
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
            self.custom.setStyleSheet(_swatch_style(color))
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


def _swatch_style(hex_: str) -> str:
    text = "#111" if QColor(hex_).lightness() > 140 else "#fff"
    return (f"QPushButton {{ background: {hex_}; color: {text}; padding: 4px; }}"
            "QPushButton:checked { border: 3px solid #ffd54a; font-weight: bold; }")


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


# Settings of a run that the panel has no widget for; a run configuration can set them.
ADVANCED = ("ode_scale", "ess_threshold", "resampling", "weighting", "precision")


class SamplerPanel(QWidget):
    """Run settings: applied when a run starts."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        d = SamplerSettings()
        self.advanced = {key: getattr(d, key) for key in ADVANCED}
        lim = SamplerSettings.LIMITS
        form = QFormLayout(self)
        self.sampler = _combo("samplerCombo", [s.upper() for s in SAMPLERS])
        self.device = _combo("deviceCombo", ["auto", "cpu", "cuda"])
        if not torch.cuda.is_available():
            item = self.device.model().item(2)
            item.setEnabled(False)
            item.setToolTip("CUDA is not available on this machine")
        self.seed = _spin("seedSpin", 0, 2**31 - 1, 0)
        self.particles = _spin("particlesSpin", *lim["particles"], d.particles)
        self.points = _spin("pointsSpin", *lim["points"], d.points)
        self.steps = _spin("stepsSpin", *lim["steps"], d.steps)
        self.langevin = _spin("langevinSpin", *lim["langevin_steps"], d.langevin_steps)
        self.kappa = ExactSpinBox()
        self.kappa.setObjectName("kappaSpin")
        self.kappa.setDecimals(3)
        self.kappa.setRange(*lim["kappa"])
        self.kappa.setSingleStep(0.01)
        self.kappa.setValue(d.kappa)
        for label, widget in [("sampler", self.sampler), ("device", self.device),
                              ("seed", self.seed), ("particles", self.particles),
                              ("points", self.points), ("denoising steps", self.steps),
                              ("Langevin steps", self.langevin), ("Langevin κ", self.kappa)]:
            form.addRow(label, widget)

    def settings(self) -> SamplerSettings:
        return SamplerSettings(
            particles=self.particles.value(), points=self.points.value(),
            steps=self.steps.value(), langevin_steps=self.langevin.value(),
            kappa=self.kappa.exact_value(), **self.advanced)

    def sampler_name(self) -> str:
        return self.sampler.currentText().lower()

    def values(self) -> dict:
        return {"sampler": self.sampler_name(), "device": self.device.currentText(),
                "seed": self.seed.value(), **self.settings().to_dict()}

    def apply(self, values: dict) -> list[str]:
        """Set the widgets from `values` (saved settings or a run configuration, keyed as
        `values()` keys them). A key that is missing keeps its widget's value; so does one
        whose value is of the wrong type or out of range, and such keys are returned."""
        rejected = []
        spins = {"seed": self.seed, "particles": self.particles, "points": self.points,
                 "steps": self.steps, "langevin_steps": self.langevin}
        for key, spin in spins.items():
            if key not in values:
                continue
            value = values[key]
            if (isinstance(value, bool) or not isinstance(value, int)
                    or not spin.minimum() <= value <= spin.maximum()):
                rejected.append(key)
                continue
            spin.setValue(value)
        if "kappa" in values:
            kappa = values["kappa"]
            if (isinstance(kappa, bool) or not isinstance(kappa, int | float)
                    or not self.kappa.minimum() <= kappa <= self.kappa.maximum()):  # NaN too
                rejected.append("kappa")
            else:
                self.kappa.set_exact(float(kappa))
        for key, combo in (("sampler", self.sampler), ("device", self.device)):
            if key not in values:
                continue
            value = values[key]
            index = (combo.findText(value, Qt.MatchFlag.MatchFixedString)
                     if isinstance(value, str) else -1)
            if index < 0:
                rejected.append(key)
            elif combo.model().item(index).isEnabled():  # 'cuda' on a machine without one
                combo.setCurrentIndex(index)
        return rejected


def _spin(name: str, low: int, high: int, value: int) -> QSpinBox:
    spin = QSpinBox()
    spin.setObjectName(name)
    spin.setRange(low, high)
    spin.setValue(value)
    return spin


def _combo(name: str, items: list[str]) -> QComboBox:
    combo = QComboBox()
    combo.setObjectName(name)
    combo.addItems(items)
    return combo


class StatsPanel(QWidget):
    """Live plots: ESS over steps with resampling marked, the particles' weights, and
    the fidelity of the shown cloud over steps. Steering changes are marked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        # antialiased plot lines cost a lot under software rendering; these plots are small
        pg.setConfigOptions(antialias=False)
        self.ess_plot = _plot("essPlot", "effective sample size", "step")
        self.ess_curve = self.ess_plot.plot(pen=pg.mkPen("#7fc8ff", width=2))
        self.resample_marks = self.ess_plot.plot(pen=None, symbol="t", symbolSize=7,
                                                 symbolBrush="#ffb74a", name="resampled")
        self.weight_plot = _plot("weightPlot", "particle weights (normalised)", "particle")
        self.weight_bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush="#9be08a")
        self.weight_plot.addItem(self.weight_bars)
        self.fidelity_plot = _plot("fidelityPlot", "fidelity of the shown cloud", "step")
        self.fidelity_plot.addLegend(offset=(-5, 5), brush=(20, 20, 24, 200))
        self.radial_curve = self.fidelity_plot.plot(pen=pg.mkPen("#ff8a80", width=2),
                                                    name="radial error")
        self.off_curve = self.fidelity_plot.plot(pen=pg.mkPen("#ffd54a", width=2),
                                                 name="off-sphere")
        self.chamfer_curve = self.fidelity_plot.plot(pen=pg.mkPen("#b39ddb", width=2),
                                                     name="Chamfer")
        for plot in (self.ess_plot, self.weight_plot, self.fidelity_plot):
            layout.addWidget(plot)
        self._marks: list[tuple[pg.PlotWidget, pg.InfiniteLine]] = []

    def clear(self) -> None:
        for curve in (self.ess_curve, self.resample_marks, self.radial_curve, self.off_curve,
                      self.chamfer_curve):
            curve.setData([], [])
        self.weight_bars.setOpts(x=[], height=[])
        # PlotItem.removeItem, not the view box's: the plot item keeps a list of its items too
        for plot, mark in self._marks:
            plot.removeItem(mark)
        self._marks.clear()

    def update_from(self, frames: list) -> None:
        if not frames:
            return
        steps = np.array([f.index + 1 for f in frames])
        self.ess_curve.setData(steps, [f.ess for f in frames])
        marked = [(f.index + 1, f.ess) for f in frames if f.resampled]
        self.resample_marks.setData([m[0] for m in marked], [m[1] for m in marked])
        self.radial_curve.setData(steps, [f.radial_error for f in frames])
        self.off_curve.setData(steps, [f.off_sphere for f in frames])
        self.chamfer_curve.setData(steps, [f.chamfer for f in frames])
        self.show_weights(frames[-1])

    def show_weights(self, frame) -> None:
        lw = frame.log_weights.astype(np.float64)
        w = np.exp(lw - lw.max())
        w /= w.sum()
        self.weight_bars.setOpts(x=np.arange(len(w)), height=w, width=0.8)

    def mark_change(self, step: int, label: str) -> None:
        for plot in (self.ess_plot, self.fidelity_plot):
            line = pg.InfiniteLine(pos=step, angle=90, pen=pg.mkPen("#ff6e6e", style=Qt.DashLine),
                                   label=label, labelOpts={"position": 0.85, "color": "#ff9e9e"})
            plot.addItem(line)
            self._marks.append((plot, line))


def _plot(name: str, title: str, xlabel: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(title=title)
    plot.setObjectName(name)
    plot.setLabel("bottom", xlabel)
    plot.showGrid(x=True, y=True, alpha=0.2)
    plot.setMinimumHeight(120)
    return plot


class RecordingPanel(QWidget):
    """Where and how the Record button writes: format, size, overlays, turntable, hold."""

    SIZES = ("640x640", "800x800", "1024x1024", "1280x720")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from PySide6.QtWidgets import QHBoxLayout, QLineEdit

        form = QFormLayout(self)
        self.format = _combo("recordFormatCombo", ["MP4", "GIF", "PNG frames"])
        self.size = _combo("recordSizeCombo", list(self.SIZES))
        self.size.setCurrentText("800x800")
        self.overlay = QCheckBox("step, experts, reward, ESS")
        self.overlay.setObjectName("recordOverlayCheck")
        self.overlay.setChecked(True)
        self.turntable = QCheckBox("slow orbit during the run")
        self.turntable.setObjectName("recordTurntableCheck")
        self.hold = QDoubleSpinBox()
        self.hold.setObjectName("recordHoldSpin")
        self.hold.setRange(0.0, 10.0)
        self.hold.setSingleStep(0.5)
        self.hold.setValue(1.5)
        self.hold.setSuffix(" s")
        self.path = QLineEdit("recordings/poe-run.mp4")
        self.path.setObjectName("recordPathEdit")
        browse = QPushButton("…")
        browse.setObjectName("recordBrowseButton")
        browse.setMaximumWidth(30)
        browse.clicked.connect(self.browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        self.format.currentTextChanged.connect(self._match_suffix)
        for label, widget in [("format", self.format), ("size", self.size),
                              ("overlays", self.overlay), ("turntable", self.turntable),
                              ("hold last frame", self.hold)]:
            form.addRow(label, widget)
        form.addRow("file", row)

    def _match_suffix(self, fmt: str) -> None:
        from pathlib import Path

        path = Path(self.path.text() or "recordings/poe-run")
        stem = path.with_suffix("") if path.suffix else path
        self.path.setText(str(stem) + {"MP4": ".mp4", "GIF": ".gif"}.get(fmt, "/"))

    def browse(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getSaveFileName(self, "Record to", self.path.text(),
                                              "Video (*.mp4 *.gif)")
        if path:
            self.path.setText(path)

    def options(self) -> dict:
        from .recording import parse_size

        return {"path": self.path.text().strip(), "size": parse_size(self.size.currentText()),
                "overlay": self.overlay.isChecked(), "turntable": self.turntable.isChecked(),
                "hold_seconds": self.hold.value()}
