"""The main window: the 3-D view in the centre, docked panels around it, a toolbar that
drives runs, a timeline of every step, and a status bar.

It builds the layout and wires the widgets to a `RunSession` (session.py), which runs
the sampler, steers it and records it; a `FrameDisplay` (display.py) keeps the view,
the timeline and the plots up with the run's frames.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMessageBox, QVBoxLayout, QWidget

from ..model.frames import Frame
from ..panels import (
    ExpertsPanel,
    PopulationPanel,
    RecordingPanel,
    RewardPanel,
    RunToolbar,
    SamplerPanel,
    StatsPanel,
    TimelineBar,
)
from ..qt_utils import grab_window, set_checked_quietly
from ..run.session import RunSession
from ..view.view3d import CloudView
from .display import FrameDisplay
from .looks import current_look
from .menus import build_menus
from .panel_config import apply_config_to, connect_steering, run_request_of
from .problems import show_problem
from .setup import setup_window
from .state import save_window


class MainWindow(QMainWindow):
    runFinished = Signal(str)  # "completed" | "stopped" | "failed"
    stepArrived = Signal(int)  # index of a step that just reached the timeline

    def __init__(self, weights_dir: str | Path | None = None, config: dict | None = None
                 ) -> None:
        """`config`: a run configuration (`poe_engine.exports.load_config`) that fills the
        panels instead of the saved Sampler settings; a value the panels cannot hold
        raises ValueError."""
        super().__init__()
        self.setWindowTitle("PoE Desktop")
        self.resize(1280, 820)
        self.session = RunSession(weights_dir, self)
        self.frames: list[Frame] = self.session.frames
        self.error_dialog: QMessageBox | None = None
        self.last_error: str | None = None  # "title: message" of the last error reported
        self.from_config = config is not None  # then the saved Sampler settings stay unused
        self.view3d, self.timeline = CloudView(), TimelineBar()
        self.experts_panel, self.reward_panel = ExpertsPanel(), RewardPanel()
        self.sampler_panel, self.stats_panel = SamplerPanel(), StatsPanel()
        self.recording_panel, self.population_panel = RecordingPanel(), PopulationPanel()
        self.display = FrameDisplay(self.frames, self.view3d, self.timeline, self.stats_panel,
                                    self, self.population_panel)
        self._build_layout()
        self.toolbar = RunToolbar(self.view3d.point_size, self)
        self.addToolBar(self.toolbar)
        for name in ("run", "pause", "stop", "step", "reset", "record"):
            setattr(self, f"{name}_action", getattr(self.toolbar, f"{name}_action"))
        build_menus(self)
        self._connect()
        setup_window(self)  # scrolling docks, status, help, theme, tooltips; saved state
        if config is not None:
            self.apply_config(config)
        self._update_controls()

    # ------------------------------------------------------------------ construction
    def _build_layout(self) -> None:
        centre = QWidget()
        layout = QVBoxLayout(centre)
        layout.setContentsMargins(0, 0, 0, 4)
        layout.addWidget(self.view3d, 1)
        layout.addWidget(self.timeline)
        self.setCentralWidget(centre)
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        self.docks = []
        for title, name, widget, area in [
                ("Experts", "expertsDock", self.experts_panel, left),
                ("Reward colour", "rewardDock", self.reward_panel, left),
                ("Sampler", "samplerDock", self.sampler_panel, left),
                ("Run statistics", "statsDock", self.stats_panel, right),
                ("Recording", "recordingDock", self.recording_panel, left),
                ("Population", "populationDock", self.population_panel, right)]:
            dock = QDockWidget(title, self)
            dock.setObjectName(name)
            dock.setWidget(widget)
            self.addDockWidget(area, dock)
            self.docks.append(dock)
        self.tabifyDockWidget(self.docks[2], self.docks[4])
        self.splitDockWidget(self.docks[3], self.docks[5], Qt.Orientation.Vertical)
        self.docks[2].raise_()
        # the view gets most of the width; saved layouts override this
        self.resizeDocks([self.docks[0], self.docks[3]], [260, 330], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks[3], self.docks[5]], [560, 220], Qt.Orientation.Vertical)
        for widget in self.display.status_widgets():
            self.statusBar().addPermanentWidget(widget)
        self.statusBar().showMessage("Ready")

    def _connect(self) -> None:
        s, ep, rp = self.session, self.experts_panel, self.reward_panel
        for signal, slot in [
                (self.run_action.triggered, self.run), (self.stop_action.triggered, self.stop),
                (self.pause_action.triggered, self.toggle_pause),
                (self.step_action.triggered, self.step), (self.reset_action.triggered, self.reset),
                (self.record_action.toggled, self.set_recording),
                (self.toolbar.point_size.valueChanged, self.view3d.set_point_size),
                (s.frameAdded, lambda f: (self.display.frame_added(f),
                                          self.stepArrived.emit(f.index))),
                (s.finished, self._on_finished), (s.steered, self.stats_panel.mark_change),
                (s.pausedAt, lambda _: self.pause_action.setChecked(True)),
                (s.problem, self.report_problem), (s.message, self.statusBar().showMessage),
                (s.stateChanged, self._update_controls),
                (s.recordingStopped, lambda: set_checked_quietly(self.record_action, False)),
                (self.sampler_panel.paceChanged, s.set_pace)]:
            signal.connect(slot)
        connect_steering(ep, rp, s)

    # ------------------------------------------------------------------ the session's state
    worker = property(lambda self: self.session.worker)
    recorder = property(lambda self: self.session.recorder)
    running = property(lambda self: self.session.running)
    run_config = property(lambda self: self.session.run_config)
    last_recording = property(lambda self: self.session.last_recording)
    recorded_config = property(lambda self: self.session.recorded_config)
    show_newest = property(lambda self: self.display.show_newest)
    shown_frame = property(lambda self: self.display.shown_frame)

    # ------------------------------------------------------------------ runs
    def run(self, start_paused: bool = False, pause_after: int | None = None) -> bool:
        """Start a run with the panels' settings (or resume a paused one). `pause_after`:
        pause right after that step (1-based), before the next one is computed."""
        if self.running:
            if self.session.paused:
                self.toggle_pause()
            return True
        try:
            request = run_request_of(self)
        except ValueError as err:
            self.report_problem("Cannot start the run", str(err))
            return False
        self.timeline.set_playing(False)
        if not self.session.start(**self.resume.request(request), start_paused=start_paused,
                                  pause_after=pause_after):  # (a configuration's steering)
            return False
        self.display.clear(run_starts=True)
        self.display.set_device(self.session.device)
        self.pause_action.setChecked(start_paused)
        self._update_controls()
        return True

    def apply_config(self, config: dict) -> None:
        """Fill the panels from a run configuration (see `panel_config.apply_config`)."""
        apply_config_to(self, config)
        self.session.checksums = config.get("checksums")
        self.session.layers = config.get("layers")  # replayed as they ran, not measured
        self.resume.configuration_loaded(config)  # its steering: replayed by the next run

    def toggle_pause(self) -> None:
        self.session.toggle_pause()
        self.pause_action.setChecked(self.session.paused)

    def step(self) -> None:
        """One denoising step while paused (a new run starts paused if none is going)."""
        if not self.running and not self.run(start_paused=True):
            return
        self.session.step()

    def stop(self) -> None:
        self.session.stop()

    def reset(self) -> None:
        self.session.reset()
        self.display.clear()
        self.view3d.clear_cloud()
        self.statusBar().showMessage("Ready")

    def set_recording(self, on: bool) -> None:
        """Record button: start capturing every step, or finish the file."""
        if on and self.recorder is None:
            opts = self.recording_panel.confirmed_options()  # None: the user said no
            look = partial(current_look, self)  # the window's, step by step
            if opts is None or not self.session.start_recording(opts, look):
                set_checked_quietly(self.record_action, False)
        elif not on and self.recorder is not None:
            self.session.finish_recording()

    def _on_finished(self, reason: str) -> None:
        self.display.flush()
        self.pause_action.setChecked(False)
        self._update_controls()
        self.runFinished.emit(reason)

    def report_problem(self, title: str, message: str) -> None:
        """The one way a problem reaches the user: the status bar and the problems dialog
        (which never stops the app)."""
        self.last_error = f"{title}: {message}"
        self.statusBar().showMessage(self.last_error)
        self.error_dialog = show_problem(self, self.error_dialog, title, message)

    def _update_controls(self) -> None:
        running = self.running
        self.toolbar.set_running(running, self.session.paused)
        self.sampler_panel.set_running(running)
        self.timeline.set_running(running)

    # ------------------------------------------------------------------ files, help
    def grab_image(self):
        return grab_window(self)

    def save_screenshot(self, path: str | Path) -> bool:
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            self.report_problem("Cannot save the screenshot", f"{path.parent}: {err.strerror}")
            return False
        if not self.grab_image().save(str(path)):
            self.report_problem("Cannot save the screenshot", f"{path} could not be written")
            return False
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def export_to(self, path: str | Path) -> bool:
        """Write the run by the file's suffix: .npz trajectory (as `poe-engine sample`
        writes it), .ply final cloud, .json run configuration, .png screenshot."""
        path = Path(path)
        if path.suffix.lower() == ".png":
            return self.save_screenshot(path)
        if path.suffix.lower() not in (".npz", ".ply", ".json"):
            self.report_problem("Cannot export", f"{path.name}: use .npz, .ply, .json or .png")
            return False
        return self.session.export(path, current_look(self).to_dict(),
                                   particles=self.recording_panel.save_particles.isChecked())

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.session.stop()
        self.session.wait_for_thread()
        self.session.finish_recording()
        self.display.stop()
        save_window(self)
        super().closeEvent(event)
