"""Reopen is resume: the Experts and Reward panels follow the timeline of a finished or
opened run, an opened run gets its steering marks back, and a loaded configuration's
steering is replayed by the run started from it.

- Panels that follow. When the timeline shows a step of a finished or opened run, the
  Experts and Reward panels hold the controls in force at that step (from the frames
  themselves, `model.steering_marks`), set without a signal (nothing steers), and their
  docks say "as at step k". A change the user makes there, or a configuration loaded
  into them, ends that: the panels then hold the next run's settings. A run that starts
  makes them live controls again.
- Replays. A configuration loaded into the panels (`--config`, File › Open of a .json or
  of a run's .npz) keeps its steering: the next run started while the panels still hold
  it (or a step of the run it came with) starts from its first step's controls and
  applies each change at its step, as `poe-engine sample --config` does. A change the
  user makes to the Experts or Reward panel before that run drops the steering. A
  composed configuration's expressions (`compose_steering`) replay the same way in a run
  started with the Compose panel on; a composed run's panels do not follow the timeline
  (the Compose panel holds its expression).
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from poe_engine.steering import Controls, events_from_config

from ..model.steering_marks import controls_per_step, marks, run_events
from .panel_config import show_controls

TITLES = ("Experts", "Reward colour")  # the docks of the panels that follow the timeline


class PanelsFollow(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.replay: dict | None = None  # the configuration whose steering a run replays
        self.following = False  # the panels show the timeline's step of the shown run
        self.shown_step: int | None = None  # 1-based step the panels show, if following
        self._cache: tuple = (None, 0, None)  # first frame, count, start: of `_per_step`
        self._per_step: list[Controls] = []
        ep, rp = window.experts_panel, window.reward_panel
        cp = window.compose_panel
        for signal in (ep.expertToggled, ep.weightChanged, ep.rewardToggled,
                       rp.colorChanged, rp.strengthChanged, cp.expressionChanged,
                       cp.composeToggled):
            signal.connect(lambda *_: self.panels_edited())
        window.timeline.stepChosen.connect(self.step_chosen)
        window.session.replayedAt.connect(self.replayed)
        window.runFinished.connect(lambda _: self.run_finished())
        window.reset_action.triggered.connect(lambda: self.stop_following())

    # ------------------------------------------------------------------ what happened
    def configuration_loaded(self, config: dict) -> None:
        """The panels were filled from `config`: its steering waits for the next run."""
        self.stop_following()
        changes = len(config.get("steering", ())) + len(config.get("compose_steering", ()))
        self.replay = config if changes else None
        if self.replay is not None:
            self.window.statusBar().showMessage(
                f"The panels hold the configuration's first step; Run replays its "
                f"{changes} steering change(s) at their steps", 10_000)

    def run_shown(self) -> None:
        """An opened run is on the timeline (its configuration, if any, is the session's
        `run_config`): its steering marks on the plots, the panels at the shown step."""
        config = self.window.session.run_config
        frames = self.window.frames
        if config is None or not frames or config.get("compose"):
            self.stop_following()
            for before, frame in zip(frames[:-1], frames[1:], strict=True):  # its changes
                if frame.compose != before.compose:
                    self.window.stats_panel.mark_change(frame.index + 1, f"→ {frame.compose}")
            return
        start, events = run_events(Controls.from_config(config), frames)
        for step, label in marks(start, events):
            self.window.stats_panel.mark_change(step, label)
        self.following = True
        self.step_chosen(len(frames) - 1)

    def run_finished(self) -> None:
        """The run's frames stay on the timeline: the panels follow it when it moves."""
        config = self.window.session.run_config
        self.following = config is not None and not config.get("compose")

    def panels_edited(self) -> None:
        """The user changed an Experts or Reward control (a run going steers instead)."""
        if self.window.running:
            return
        self.stop_following()
        if self.replay is not None:
            self.replay = None
            self.window.statusBar().showMessage(
                "The configuration's steering is dropped: the next run starts from the "
                "panels as they are", 8000)

    def replayed(self, _step: int, controls: Controls) -> None:
        """A replayed change reached the shown run: the panels say what now runs."""
        show_controls(self.window.experts_panel, self.window.reward_panel, controls)

    def step_chosen(self, index: int) -> None:
        """The timeline shows step `index` (0-based) of a finished or opened run."""
        frames = self.window.frames
        if self.window.running or not self.following or not 0 <= index < len(frames):
            return
        controls = self.controls_at(index)
        show_controls(self.window.experts_panel, self.window.reward_panel, controls)
        self.shown_step = index + 1
        self._set_titles(f" · as at step {index + 1}")

    # ------------------------------------------------------------------ a run to start
    def request(self, request: dict) -> dict:
        """`run_request`'s arguments, with the waiting configuration's first controls and
        steering when there is one; the panels then show its first step. A run starts:
        the panels are its live controls."""
        self.stop_following()
        if self.replay is None:
            return request
        spec = request["spec"]
        if spec.compose is not None:  # a composed run replays the expressions' changes
            if self.replay.get("compose"):
                spec = spec.replace(compose=self.replay["compose"], compose_steering=tuple(
                    (e["step"], e["compose"]) for e in self.replay.get("compose_steering", ())))
                self.window.compose_panel.show_in_force(self.replay["compose"])
            return request | {"spec": spec}
        controls = Controls.from_config(self.replay)
        spec = request["spec"].replace(controls=controls,
                                       steering=tuple(events_from_config(self.replay)))
        show_controls(self.window.experts_panel, self.window.reward_panel, controls)
        return request | {"spec": spec}

    def controls_at(self, index: int) -> Controls:
        """The controls in force at step `index` (0-based) of the shown run."""
        frames = self.window.frames
        start = Controls.from_config(self.window.session.run_config or {})
        key = (frames[0], len(frames), start)
        if self._cache[0] is not key[0] or self._cache[1:] != key[1:]:
            self._cache, self._per_step = key, controls_per_step(start, frames)
        return self._per_step[index]

    def stop_following(self) -> None:
        """The panels hold what they hold (a run started, Reset, a configuration)."""
        self.following, self.shown_step = False, None
        self._set_titles("")

    def _set_titles(self, suffix: str) -> None:
        for dock, title in zip(self.window.docks[:2], TITLES, strict=True):
            dock.setWindowTitle(title + suffix)
