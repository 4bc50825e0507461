"""The timeline under the 3-D view: a slider over a run's steps from noise (t = 1) to the
clean cloud (t = 0), what the shown step and its t are, and ▶, which replays the steps at a
chosen speed."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QToolButton, QWidget

from ..qt_utils import hold_size, signals_blocked
from .sampler import PACES, pace_combo

NO_RUN = "no run yet"
SLIDER_TIP = ("Show any step of the run, from noise (t = 1, left) to the clean cloud (t = 0, "
              "right); at the end it follows the newest")


class TimelineBar(QWidget):
    """A slider over the run's steps (0-based), a label, and ▶ with its speed.

    The window says how many steps there are (`set_count`) and whether a run is going
    (`set_running`); the bar says which step to show (`stepChosen`), whether the user
    dragged the slider or ▶ moved it."""

    stepChosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.count = 0  # steps on the timeline
        self.running = False
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("timelineSlider")
        self.slider.setRange(0, 0)
        self.slider.setEnabled(False)
        self.slider.setToolTip(SLIDER_TIP)
        self.slider.valueChanged.connect(self.stepChosen)
        self.label = QLabel(NO_RUN)
        hold_size(self.label, "step 9999 / 9999 · t 0.000")
        self.label.setToolTip("The step on screen and its noise level t")
        # the slider's ends in t: a run goes from noise to the clean cloud
        self.t_start, self.t_end = QLabel("t 1"), QLabel("t 0")
        for end, name, tip in ((self.t_start, "timelineStartT", "noise: t = 1, before step 1"),
                               (self.t_end, "timelineEndT", "the clean cloud: t = 0, the "
                                "last step")):
            end.setObjectName(name)
            end.setToolTip(tip)
        self.play_button = QToolButton(text="▶", checkable=True)
        self.play_button.setObjectName("playButton")
        self.play_button.setToolTip("Replay the run's steps on the timeline at the chosen speed")
        self.play_button.toggled.connect(self.set_playing)
        self.play_speed = pace_combo("playSpeedCombo", "30 steps/s",
                                     "How fast ▶ replays the run's steps")
        self.play_speed.removeItem(self.play_speed.findText("as fast as possible"))
        self.play_speed.currentTextChanged.connect(
            lambda _: self._play_timer.setInterval(self.play_interval_ms()))
        self._play_timer = QTimer(self, timeout=self._play_next)
        bar = QHBoxLayout(self)
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.play_button)
        bar.addWidget(self.play_speed)
        bar.addWidget(self.t_start)
        bar.addWidget(self.slider, 1)
        bar.addWidget(self.t_end)
        bar.addWidget(self.label)
        self._update_play_controls()

    def value(self) -> int:
        return self.slider.value()

    def set_count(self, count: int, follow: bool) -> None:
        """`count` steps on the timeline (count >= 1); with `follow` the slider moves to the
        newest. Neither announces a step: the window shows what it follows itself."""
        self.count = count
        with signals_blocked(self.slider):
            self.slider.setRange(0, count - 1)
            if follow:
                self.slider.setValue(count - 1)
        self.slider.setEnabled(True)
        self._update_play_controls()

    def clear(self) -> None:
        """No steps (a new run, or Reset)."""
        self.set_playing(False)
        self.count = 0
        with signals_blocked(self.slider):
            self.slider.setRange(0, 0)
        self.label.setText(NO_RUN)
        self.slider.setToolTip(SLIDER_TIP)
        self._update_play_controls()

    def set_text(self, text: str) -> None:
        self.label.setText(text)

    def show_step(self, step: int, steps: int, t: float) -> None:
        """The shown step (1-based) of `steps` and its level t, in the label and the
        slider's tooltip."""
        self.label.setText(f"step {step} / {steps} · t {t:.3f}")
        self.slider.setToolTip(f"step {step} of {steps}, t = {t:.3f}. {SLIDER_TIP}")

    def set_running(self, running: bool) -> None:
        """While a run goes on there is nothing to replay, and its speed waits."""
        self.running = running
        if running:
            self.set_playing(False)
        self._update_play_controls()

    def _update_play_controls(self) -> None:
        self.play_button.setEnabled(not self.running and self.count > 1)
        self.play_speed.setEnabled(not self.running)

    @property
    def playing(self) -> bool:
        return self._play_timer.isActive()

    def set_playing(self, on: bool) -> None:
        """▶: replay the steps on the timeline (from the start when at the end); the view
        follows the timeline. Not during a run, nor with fewer than two steps."""
        if on and (self.running or self.count < 2):
            on = False
        if on:
            if self.slider.value() >= self.count - 1:
                self.slider.setValue(0)
            self._play_timer.start(self.play_interval_ms())
        else:
            self._play_timer.stop()
        with signals_blocked(self.play_button):
            self.play_button.setChecked(on)
            self.play_button.setText("⏸" if on else "▶")

    def play_interval_ms(self) -> int:
        return round(1000 / PACES[self.play_speed.currentText()])

    def _play_next(self) -> None:
        following = self.slider.value() + 1
        if following >= self.count:
            self.set_playing(False)
        else:
            self.slider.setValue(following)
