"""The run toolbar: Run, Pause, Stop, Step, Reset, Record and the point size. Its actions
say what the user did; the window decides what that means for a run."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDoubleSpinBox, QLabel, QToolBar, QWidget


class RunToolbar(QToolBar):
    def __init__(self, point_size: float, parent: QWidget | None = None) -> None:
        super().__init__("Run", parent)
        self.setObjectName("runToolbar")
        self.run_action = self._action("Run", "runButton", "F5")
        self.pause_action = self._action("Pause", "pauseButton", Qt.Key.Key_Space, True)
        self.stop_action = self._action("Stop", "stopButton")
        self.step_action = self._action("Step", "stepButton", "F10")
        self.reset_action = self._action("Reset", "resetButton")
        self.record_action = self._action("● Record", "recordButton", checkable=True)
        self.record_action.setToolTip("Record every step of the 3-D view (see the Recording panel)")
        self.addSeparator()
        self.addWidget(QLabel(" point size "))
        self.point_size = QDoubleSpinBox()
        self.point_size.setObjectName("pointSizeSpin")
        self.point_size.setRange(1.0, 30.0)
        self.point_size.setValue(point_size)
        self.addWidget(self.point_size)

    def _action(self, text: str, name: str, shortcut=None, checkable: bool = False) -> QAction:
        action = QAction(text, self.parent() or self, checkable=checkable)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        self.addAction(action)
        self.widgetForAction(action).setObjectName(name)
        return action

    def set_running(self, running: bool, paused: bool) -> None:
        self.run_action.setEnabled(not running or paused)
        self.pause_action.setEnabled(running)
        self.stop_action.setEnabled(running)
        self.step_action.setEnabled(not running or paused)
