"""The view toolbar: camera presets (along x, y, z, isometric), frame the cloud, zoom, the
view that shows a missing axis expert's ring, what the points' colours show, and the
predicted clean cloud x0_hat. The camera itself is `camera.py`'s; what the points' colours
show and the x0_hat cloud are emitted for the window's display to draw."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QComboBox, QLabel, QToolBar, QWidget

from ..model.colour_by import MODES, parse_mode
from ..qt_utils import with_shortcut
from .camera import AXES, apply_preset, fit_points, ring_view, zoom
from .view3d import unit_cube_edges

# name -> the menu's text, the toolbar's short one, the tooltip, the key
PRESET_LABELS = {"x": ("Look along x", "x", "Look along the x axis (y right, z up)", "1"),
                 "y": ("Look along y", "y", "Look along the y axis (x right, z up)", "2"),
                 "z": ("Look along z", "z", "Look down the z axis (x right, y up)", "3"),
                 "iso": ("Isometric view", "iso",
                         "Look at the cloud from the (1, 1, 1) diagonal", "0")}
RING_TIP = ("Look across the band of points an axis expert left off the sphere (its "
            "\"Saturn ring\"); needs exactly one axis expert switched off")


class ViewToolbar(QToolBar):
    """Camera actions on `view` (a CloudView), and two choices it emits for whoever draws
    the frames: `colourByChanged(mode)` and `denoisedToggled(on)`. `set_experts_off` says
    which experts are switched off (for Show ring)."""

    colourByChanged = Signal(str)
    denoisedToggled = Signal(bool)

    def __init__(self, view, parent: QWidget | None = None) -> None:
        super().__init__("View", parent)
        self.setObjectName("viewToolbar")
        self.view, self.experts_off = view, ()
        self.preset_actions: dict[str, QAction] = {}
        self.addWidget(QLabel(" view "))
        for name, (text, short, tip, key) in PRESET_LABELS.items():
            camel = "Isometric" if name == "iso" else f"Along{name.upper()}"
            self.preset_actions[name] = self._action(
                text, f"view{camel}Action", tip, [key],
                lambda _=False, n=name: apply_preset(self.view, n), short=short)
        self.fit_action = self._action("Frame the cloud", "frameCloudAction",
                                       "Centre the camera on the shown cloud and fit it in "
                                       "the view", ["F"], self.fit_cloud, short="frame")
        self.zoom_in_action = self._action("Zoom in", "zoomInAction", "Move the camera closer",
                                           ["+", "=", "Ctrl+=", "Ctrl++"],
                                           lambda: zoom(self.view, 1), short="+")
        self.zoom_out_action = self._action("Zoom out", "zoomOutAction",
                                            "Move the camera away", ["-", "Ctrl+-"],
                                            lambda: zoom(self.view, -1), short="−")
        self.ring_action = self._action("Show ring", "showRingAction", RING_TIP, [],
                                        self.show_ring, short="ring")
        self.addSeparator()
        self.addWidget(QLabel(" colour by "))
        self.colour_by = QComboBox()
        self.colour_by.setObjectName("colourByCombo")
        self.colour_by.setToolTip("What the points' colours show: their own colour, or a "
                                  "measure through a colormap with a colour bar")
        for mode, label in MODES.items():
            self.colour_by.addItem(label, mode)
        self.colour_by.currentIndexChanged.connect(
            lambda _: self.colourByChanged.emit(self.colour_by.currentData()))
        self.addWidget(self.colour_by)
        self.denoised_action = self._action(
            "Predicted clean cloud x₀", "denoisedAction", "Draw the clean cloud the experts "
            "predict from the shown one (x₀ = x − t v), bright, with the noisy cloud faint "
            "around it", [], self.denoisedToggled.emit, checkable=True, short="x₀")
        self.update_ring()

    def _action(self, text: str, name: str, tip: str, keys: list[str], slot,
                checkable: bool = False, short: str | None = None) -> QAction:
        """`text` in the View menu, `short` on the toolbar."""
        action = QAction(text, self.parent() or self, checkable=checkable)
        action.setObjectName(name)
        if short is not None:
            action.setIconText(short)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setToolTip(with_shortcut(tip, action))
        action.setStatusTip(action.toolTip())
        (action.toggled if checkable else action.triggered).connect(slot)
        self.addAction(action)
        self.widgetForAction(action).setObjectName(name.replace("Action", "Button"))
        return action

    def actions_for_menu(self) -> list[QAction]:
        return [*self.preset_actions.values(), self.fit_action, self.zoom_in_action,
                self.zoom_out_action, self.ring_action, self.denoised_action]

    # ------------------------------------------------------------------ camera
    def fit_cloud(self) -> None:
        """Frame what is drawn: the cloud (and x0_hat), or the unit cube without one."""
        shown = [c for c in (self.view.cloud, self.view.denoised_cloud) if c is not None]
        points = np.concatenate([c[:, :3] for c in shown]) if shown else unit_cube_edges()
        fit_points(self.view, points)

    def set_experts_off(self, names) -> None:
        self.experts_off = tuple(names)
        self.update_ring()

    def update_ring(self) -> None:
        """Enable Show ring where exactly one axis expert is off, naming the view."""
        off = [n for n in self.experts_off if n in AXES]
        preset = ring_view(off)
        self.ring_action.setEnabled(preset is not None)
        if preset is None:
            self.ring_action.setText("Show ring")
            self.ring_action.setToolTip(RING_TIP)
        else:
            self.ring_action.setText(f"Show ring ({off[0]} off: look along {preset})")
            self.ring_action.setToolTip(f"The {off[0]} expert is off: look along {preset}, "
                                        "across the band of points it left off the sphere")
        self.ring_action.setIconText("ring" if preset is None else f"ring ({off[0]} off)")

    def show_ring(self) -> None:
        preset = ring_view(self.experts_off)
        if preset is not None:
            apply_preset(self.view, preset)

    # ------------------------------------------------------------------ persistence
    def state(self) -> dict:
        return {"colour_by": self.colour_by.currentData(),
                "denoised": self.denoised_action.isChecked()}

    def apply_state(self, values: object) -> list[str]:
        """Set what `values` (from `state`) holds that is valid; returns the keys rejected."""
        if not isinstance(values, dict):
            return ["view"]
        rejected = []
        if "colour_by" in values:
            mode = parse_mode(values["colour_by"])
            if mode is None:
                rejected.append("colour_by")
            else:
                self.colour_by.setCurrentIndex(self.colour_by.findData(mode))
        if "denoised" in values:
            if isinstance(values["denoised"], bool):
                self.denoised_action.setChecked(values["denoised"])
            else:
                rejected.append("denoised")
        return rejected

