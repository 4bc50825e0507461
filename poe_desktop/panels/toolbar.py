"""The run toolbar: Run, Pause, Stop, Step, Reset, Record, Pin this run and the point size.
Its actions say what the user did; the window decides what that means for a run."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDoubleSpinBox, QLabel, QToolBar, QWidget

from ..qt_utils import with_shortcut

RUN_TIP = "Start a run with the panels' settings"
RESUME_TIP = "Go on with the paused run"
PIN_TIP = ("Keep this run: the next run plays beside it, in two views with linked cameras, "
           "its statistics dashed on the same plots, what differs in the status bar")
UNPIN_TIP = "Forget the pinned run: back to one view"


class RunToolbar(QToolBar):
    def __init__(self, point_size: float, parent: QWidget | None = None) -> None:
        super().__init__("Run", parent)
        self.setObjectName("runToolbar")
        self.run_action = self._action("Run", "runButton", RUN_TIP, "F5")
        self.pause_action = self._action("Pause", "pauseButton", "Pause the run, or go on",
                                         Qt.Key.Key_Space, True)
        self.stop_action = self._action("Stop", "stopButton",
                                        "End the run; its steps stay on the timeline")
        self.step_action = self._action(
            "Step", "stepButton", "Compute one denoising step while paused (a new run starts "
            "paused if none is going)", "F10")
        self.reset_action = self._action(
            "Reset", "resetButton", "End the run and clear the view, the timeline, the plots "
            "and the status bar")
        self.record_action = self._action(
            "● Record", "recordButton", "Record every step of the 3-D view (see the Recording "
            "panel)", checkable=True)
        self.pin_action = self._action("Pin this run", "pinRunButton", PIN_TIP, checkable=True)
        self.pin_action.setObjectName("pinRunAction")
        self.pin_action.setEnabled(False)  # until a run has ended (set_pin)
        self.addSeparator()
        self.addWidget(QLabel(" point size "))
        self.point_size = QDoubleSpinBox()
        self.point_size.setObjectName("pointSizeSpin")
        self.point_size.setRange(1.0, 30.0)
        self.point_size.setValue(point_size)
        self.point_size.setToolTip("Bigger or smaller points, in the view, images and "
                                   "recordings alike: n is n x 0.005 cube units (the sphere is "
                                   "1 across), about n pixels at the default camera in a "
                                   "640-pixel view")
        self.addWidget(self.point_size)

    def _action(self, text: str, name: str, tip: str, shortcut=None,
                checkable: bool = False) -> QAction:
        action = QAction(text, self.parent() or self, checkable=checkable)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(with_shortcut(tip, action))
        self.addAction(action)
        self.widgetForAction(action).setObjectName(name)
        return action

    def set_running(self, running: bool, paused: bool) -> None:
        """Run reads Resume while a run is paused, and Run otherwise."""
        resume = running and paused
        self.run_action.setText("Resume" if resume else "Run")
        self.run_action.setToolTip(with_shortcut(RESUME_TIP if resume else RUN_TIP,
                                                 self.run_action))
        self.run_action.setEnabled(not running or paused)
        self.pause_action.setEnabled(running)
        self.stop_action.setEnabled(running)
        self.step_action.setEnabled(not running or paused)

    def set_pin(self, can_pin: bool, pinned: bool) -> None:
        """Pin this run is enabled where a finished or stopped run can be pinned, or one is
        pinned (then it reads Unpin)."""
        self.pin_action.setChecked(pinned)
        self.pin_action.setText("Unpin" if pinned else "Pin this run")
        self.pin_action.setToolTip(UNPIN_TIP if pinned else PIN_TIP)
        self.pin_action.setEnabled(pinned or can_pin)
