"""The main window: the 3-D view in the centre, docked panels around it, a toolbar
that drives runs, a timeline of every step, and a status bar.

Threading: a `SamplerWorker` on a QThread streams `Frame`s; this window only
stores and draws them. Drawing is paced by a timer: if frames arrive faster
than they can be drawn, the newest is shown and stale ones are skipped (the
timeline still keeps every step).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from poe_engine.experts import ColorReward, GenerativeExpert
from poe_engine.exports import (
    CONFIG_FORMAT,
    check_config,
    config_from_args,
    save_config,
    trajectory_meta,
    write_ply,
    write_trajectory_npz,
)
from poe_engine.precision import resolve_precision
from poe_engine.product import Composition
from poe_engine.runs import (
    build_composition,
    build_experts,
    check_checksums,
    checksums,
    resolve_device,
)
from poe_engine.steering import columns, config_from_records
from poe_engine.weights import WeightsError

from .qt_utils import grab_window, signals_blocked
from .recording import FrameInfo, Recorder, RecordingError
from .settings import decode_blob, encode_blob, read_settings, write_settings
from .view3d import CloudView
from .widgets import (
    ExpertsPanel,
    RecordingPanel,
    RewardPanel,
    SamplerPanel,
    StatsPanel,
    TimelineBar,
)
from .worker import Frame, RunConfig, SamplerWorker

DRAW_INTERVAL_MS = 30
STATS_INTERVAL_S = 0.5  # the plots redraw at most twice a second: they are the costly part
SETTINGS_RESET_NOTE = "Some saved settings were invalid and were reset"
ABOUT = """<h3>PoE Desktop</h3>
<p>Three small flow models each move one axis of a point cloud; an analytic expert only
knows that a cloud should be one colour; a reward prefers the colour you pick. Alone,
each expert fails: an axis expert leaves "Saturn rings" of points off the sphere. Their
<i>product</i> is sharper than any of them and holds the sphere in the chosen colour.</p>
<p>The product is sampled with annealed importance sampling: at every noise level an
Euler step of the experts' combined flow, Langevin refinement with their summed scores,
then importance weights from the reward and resampling when the effective sample size
drops. The view shows the best particle of every step.</p>
<p><small>Y. Zhang, C. Murtuza-Lanier, Z. Li, Y. Du, J. Wu. <i>Product of Experts for
Visual Generation</i>. arXiv:2506.08894, 2025.</small></p>"""


def default_config() -> dict:
    """The run configuration of `poe-engine sample` with no options: what a configuration
    file's missing keys mean."""
    from poe_engine.cli import Parser, add_sampler_options

    parser = Parser()
    add_sampler_options(parser)
    return config_from_args(parser.parse_args([]))


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
        self.weights_dir = weights_dir
        self.frames: list[Frame] = []
        self._experts: dict[str, dict[str, GenerativeExpert]] = {}  # per device
        self._thread: QThread | None = None
        self.worker: SamplerWorker | None = None
        self.composition: Composition | None = None
        self.device = "cpu"
        self._shown = -1  # index of the frame on screen
        self._follow = True  # the view follows the newest frame
        self._dirty = False
        self._stats_at = 0.0  # when the plots were last updated
        self.error_dialog: QMessageBox | None = None
        self.recorder: Recorder | None = None
        self.run_config: dict | None = None  # the configuration of the current or last run
        self._checksums: dict | None = None  # of the weights a loaded configuration needs
        self.last_recording: str | None = None
        self.last_error: str | None = None  # "title: message" of the last error reported
        self._from_config = config is not None  # then the saved Sampler settings stay unused
        self._saved: dict[str, str] = {}  # the settings file's raw strings, as read

        self._build_view()
        self._build_panels()
        self._build_toolbar()
        self._build_status_bar()
        self._build_menus()
        self._connect_steering()
        self.sampler_panel.paceChanged.connect(
            lambda pace: self.worker is not None and self.worker.set_pace(pace))
        self._draw_timer = QTimer(self, interval=DRAW_INTERVAL_MS, timeout=self._draw_pending)
        self._draw_timer.start()
        self._restore_settings()
        if config is not None:
            self.apply_config(config)
        self._update_controls()

    # ------------------------------------------------------------------ construction
    def _build_view(self) -> None:
        self.view3d = CloudView()
        self.timeline = TimelineBar()
        self.timeline.stepChosen.connect(self._on_timeline)
        centre = QWidget()
        layout = QVBoxLayout(centre)
        layout.setContentsMargins(0, 0, 0, 4)
        layout.addWidget(self.view3d, 1)
        layout.addWidget(self.timeline)
        self.setCentralWidget(centre)

    def _dock(self, title: str, name: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_panels(self) -> None:
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        self.experts_panel = ExpertsPanel()
        self.reward_panel = RewardPanel()
        self.sampler_panel = SamplerPanel()
        self.stats_panel = StatsPanel()
        self.recording_panel = RecordingPanel()
        self.docks = [
            self._dock("Experts", "expertsDock", self.experts_panel, left),
            self._dock("Reward colour", "rewardDock", self.reward_panel, left),
            self._dock("Sampler", "samplerDock", self.sampler_panel, left),
            self._dock("Run statistics", "statsDock", self.stats_panel, right),
            self._dock("Recording", "recordingDock", self.recording_panel, left),
        ]
        self.tabifyDockWidget(self.docks[2], self.docks[4])
        self.docks[2].raise_()
        # the view gets most of the width; saved layouts override this
        self.resizeDocks([self.docks[0], self.docks[3]], [260, 330], Qt.Orientation.Horizontal)

    def _action(self, text: str, slot, shortcut=None, name: str | None = None) -> QAction:
        action = QAction(text, self)
        action.triggered.connect(slot)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if name:
            action.setObjectName(name)
        return action

    def _build_toolbar(self) -> None:
        bar = QToolBar("Run", self)
        bar.setObjectName("runToolbar")
        self.addToolBar(bar)
        self.run_action = self._action("Run", self.run, "F5")
        self.pause_action = self._action("Pause", self.toggle_pause, Qt.Key.Key_Space)
        self.pause_action.setCheckable(True)
        self.stop_action = self._action("Stop", self.stop)
        self.step_action = self._action("Step", self.step, "F10")
        self.reset_action = self._action("Reset", self.reset)
        self.record_action = QAction("● Record", self, checkable=True)
        self.record_action.setToolTip("Record every step of the 3-D view (see the Recording panel)")
        self.record_action.toggled.connect(self.set_recording)
        for action, name in [(self.run_action, "runButton"), (self.pause_action, "pauseButton"),
                             (self.stop_action, "stopButton"), (self.step_action, "stepButton"),
                             (self.reset_action, "resetButton"),
                             (self.record_action, "recordButton")]:
            bar.addAction(action)
            bar.widgetForAction(action).setObjectName(name)
        bar.addSeparator()
        bar.addWidget(QLabel(" point size "))
        self.point_size = QDoubleSpinBox()
        self.point_size.setObjectName("pointSizeSpin")
        self.point_size.setRange(1.0, 30.0)
        self.point_size.setValue(self.view3d.point_size)
        self.point_size.valueChanged.connect(self.view3d.set_point_size)
        bar.addWidget(self.point_size)

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.step_label, self.t_label = QLabel("step –"), QLabel("t –")
        self.rate_label, self.device_label = QLabel("– steps/s"), QLabel("device –")
        self.progress = QProgressBar()
        self.progress.setObjectName("runProgress")
        self.progress.setMaximumWidth(180)
        for widget in (self.step_label, self.t_label, self.rate_label, self.device_label,
                       self.progress):
            status.addPermanentWidget(widget)
        status.showMessage("Ready")

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self._action("Save screenshot…", self.save_screenshot_dialog,
                                         QKeySequence.StandardKey.Save))
        file_menu.addAction(self._action("Export…", self.export_dialog, "Ctrl+E"))
        file_menu.addSeparator()
        file_menu.addAction(self._action("Quit", self.close, QKeySequence.StandardKey.Quit))

        view = self.menuBar().addMenu("&View")
        for dock in self.docks:
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        self.trails_action = self._toggle(view, "Trails", False, self._set_trails)
        self.cube_action = self._toggle(view, "Reference cube", True, self.view3d.cube.setVisible)
        self.sphere_action = self._toggle(view, "Reference sphere", True,
                                          self.view3d.sphere.setVisible)
        view.addAction(self._action("Reset camera", self.view3d.reset_camera, "Home"))

        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self._action("About", self.show_about))

    def _toggle(self, menu, text: str, on: bool, slot) -> QAction:
        action = QAction(text, self, checkable=True, checked=on)
        action.toggled.connect(slot)
        menu.addAction(action)
        return action

    def _connect_steering(self) -> None:
        ep, rp = self.experts_panel, self.reward_panel
        ep.expertToggled.connect(lambda n, on: self._steer(
            lambda c: c.set_enabled(n, on), f"{n} {'on' if on else 'off'}"))
        ep.weightChanged.connect(lambda n, w: self._steer(
            lambda c: c.set_weight(n, w), f"{n} ×{w:g}"))
        ep.rewardToggled.connect(lambda on: self._steer(
            lambda c: c.set_reward_enabled(on), f"reward {'on' if on else 'off'}"))
        rp.colorChanged.connect(lambda _: self._steer(
            lambda c: c.set_reward(self._reward()), f"→ {rp.color}"))
        rp.strengthChanged.connect(lambda s: self._steer(
            lambda c: c.set_reward(self._reward()), f"strength {s:g}"))

    # ------------------------------------------------------------------ runs
    @property
    def running(self) -> bool:
        return self._thread is not None

    def _reward(self) -> ColorReward:
        return ColorReward(self.reward_panel.color, self.reward_panel.strength.exact_value())

    def _experts_on(self, device: str) -> dict[str, GenerativeExpert]:
        if device not in self._experts:
            self._experts[device] = build_experts(self.weights_dir, device)
        return self._experts[device]

    def run(self, start_paused: bool = False, pause_after: int | None = None) -> bool:
        """Start a run with the panels' settings (or resume a paused one). `pause_after`:
        pause right after that step (1-based), before the next one is computed."""
        if self.running:
            if self.worker is not None and self.worker.paused:
                self.toggle_pause()
            return True
        try:
            settings = self.sampler_panel.settings()
            self.device = str(resolve_device(self.sampler_panel.device.currentText()))
            experts = self._experts_on(self.device)
            check_checksums(self._checksums, checksums(experts), "the run configuration")
        except (ValueError, WeightsError, RuntimeError) as err:
            self._report_error("Cannot start the run", str(err))
            return False
        self.composition = build_composition(experts, self.experts_panel.enabled_experts(),
                                             self._reward())
        self.composition.set_reward_enabled(self.experts_panel.reward.isChecked())
        for name, spin in self.experts_panel.weights.items():
            self.composition.set_weight(name, spin.value())
        config = RunConfig(settings, self.sampler_panel.sampler_name(),
                           self.sampler_panel.seed.value(), self.device,
                           self.sampler_panel.pace_value())
        self.set_playing(False)
        self.run_config = self._config_at_start(config, experts)
        self._clear_run()
        self.worker = SamplerWorker(self.composition, config)
        self._thread = QThread(self)
        self.worker.moveToThread(self._thread)
        self._thread.started.connect(self.worker.run)
        # The worker lives on that thread: it must be deleted there, as the thread ends
        # (a deleteLater() called after the thread stopped would never be carried out).
        self._thread.finished.connect(self.worker.deleteLater)
        self.worker.frameReady.connect(self._on_frame)
        self.worker.finished.connect(self._on_worker_finished)
        self.worker.failed.connect(self._on_worker_failed)
        self.worker.pausedAt.connect(self._on_paused_at)
        if start_paused:
            self.worker.pause()
        self.worker.pause_after(pause_after)
        self.pause_action.setChecked(start_paused)
        self._thread.start()
        self.device_label.setText(f"device {self.device}")
        self.statusBar().showMessage(f"Running {config.sampler.upper()} on {self.device}…")
        self._update_controls()
        return True

    def _config_at_start(self, config: RunConfig, experts: dict) -> dict:
        """The run as `poe-engine sample --config` / `poe-desktop record --config` read it,
        as it starts; `recorded_config` says what it did (and the precision that ran)."""
        st = config.settings
        return check_config({
            "format": CONFIG_FORMAT,
            "sampler": config.sampler,
            "experts": ",".join(self.experts_panel.enabled_experts()) or "none",
            "reward": self.reward_panel.color if self.experts_panel.reward.isChecked()
            else "none",
            "strength": self.reward_panel.strength.exact_value(), "seed": config.seed,
            "particles": st.particles, "points": st.points, "steps": st.steps,
            "langevin": st.langevin_steps, "kappa": st.kappa, "ode_scale": st.ode_scale,
            "ess_threshold": st.ess_threshold, "resampling": st.resampling,
            "weighting": st.weighting, "device": config.device,
            # the precision that runs, never 'auto', so that a replay computes the same numbers
            "precision": resolve_precision(st.precision, config.device),
            "expert_weights": {n: s.value() for n, s in self.experts_panel.weights.items()},
            "checksums": checksums(experts), "steering": [],
        })

    def recorded_config(self) -> dict | None:
        """The configuration of the current or last run as it went: the controls its first
        step used, each change made later at the step it took effect (from the frames: a
        change reaches the sampler between steps, whenever the user made it) and the
        precision that ran."""
        if self.run_config is None:
            return None
        return config_from_records(self.run_config, self.frames)

    def toggle_pause(self) -> None:
        if self.worker is None:
            self.pause_action.setChecked(False)
            return
        if self.worker.paused:
            self.worker.resume()
            self.statusBar().showMessage("Running…")
        else:
            self.worker.pause()
            self.statusBar().showMessage("Paused: Step advances one denoising step")
        self.pause_action.setChecked(self.worker.paused)
        self._update_controls()

    def step(self) -> None:
        """One denoising step while paused (a new run starts paused if none is going)."""
        if not self.running and not self.run(start_paused=True):
            return
        if self.worker is not None and self.worker.paused:
            self.worker.step_once()

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()

    def reset(self) -> None:
        self.stop()
        self._wait_for_thread()
        self._clear_run()
        self.view3d.clear_cloud()
        self.statusBar().showMessage("Ready")

    def _clear_run(self) -> None:
        self.frames.clear()
        self._shown, self._follow, self._dirty = -1, True, False
        self.stats_panel.clear()
        self.timeline.clear()
        self.progress.setValue(0)

    def _steer(self, change, label: str) -> None:
        """Apply a panel change to the running composition; mark it on the plots."""
        if not self.running or self.composition is None:
            return
        try:
            change(self.composition)
        except ValueError as err:
            self.statusBar().showMessage(str(err), 5000)
            return
        step = len(self.frames) + 1
        self.stats_panel.mark_change(step, label)
        self.statusBar().showMessage(f"Step {step}: {label}", 4000)

    def apply_config(self, config: dict) -> None:
        """Fill the panels from a run configuration (`poe_engine.exports.load_config`);
        keys it lacks take `poe-engine sample`'s defaults. Raises ValueError (one line)
        for a value the panels cannot hold."""
        full = default_config() | config
        sampler = {"sampler": full["sampler"], "device": full["device"], "seed": full["seed"],
                   "particles": full["particles"], "points": full["points"],
                   "steps": full["steps"], "langevin_steps": full["langevin"],
                   "kappa": full["kappa"], "precision": full["precision"]}
        rejected = self.sampler_panel.apply(sampler)
        strength = full["strength"]
        spin = self.reward_panel.strength
        if not spin.minimum() <= strength <= spin.maximum():
            rejected.append("strength")
        weights = full["expert_weights"]
        for name, spin_ in self.experts_panel.weights.items():
            if round(weights.get(name, 1.0), spin_.decimals()) != weights.get(name, 1.0):
                rejected.append(f"expert_weights.{name}")
        if rejected:
            raise ValueError(f"the app cannot take {', '.join(rejected)} from this "
                             "configuration (out of the panels' ranges or precision)")
        self.sampler_panel.advanced.update({k: full[k] for k in self.sampler_panel.advanced})
        enabled = set(full["experts"].split(","))
        for name, box in self.experts_panel.toggles.items():
            box.setChecked(name in enabled)
        for name, spin_ in self.experts_panel.weights.items():
            spin_.setValue(weights.get(name, 1.0))
        self._checksums = config.get("checksums")
        if full["steering"]:
            self.statusBar().showMessage(
                f"The panels hold the configuration's first step; its {len(full['steering'])} "
                "steering change(s) are replayed by poe-engine sample --config, not here",
                10_000)
        reward = full["reward"]
        self.experts_panel.reward.setChecked(reward.lower() != "none")
        if reward.lower() != "none":
            self.reward_panel.set_color(reward)
        spin.set_exact(strength)

    # ------------------------------------------------------------------ worker signals
    def _on_paused_at(self, index: int) -> None:
        self.pause_action.setChecked(True)
        self.statusBar().showMessage(f"Paused after step {index + 1}: "
                                     "Step advances one denoising step")
        self._update_controls()

    def _on_frame(self, frame: Frame) -> None:
        self.frames.append(frame)
        self._dirty = True
        if self.recorder is not None:
            self._record_frame(frame)
        self.stepArrived.emit(frame.index)

    # ------------------------------------------------------------------ recording
    def set_recording(self, on: bool) -> None:
        """Record button: start capturing every step, or finish the file."""
        if on and self.recorder is None:
            opts = self.recording_panel.options()
            try:
                self.recorder = Recorder(opts["path"], opts["size"], overlay=opts["overlay"],
                                         turntable=opts["turntable"],
                                         hold_seconds=opts["hold_seconds"],
                                         point_size=self.view3d.point_size,
                                         camera_from=self.view3d)
            except (RecordingError, ValueError) as err:
                self.record_action.setChecked(False)
                self._report_error("Cannot record", str(err))
                return
            self.statusBar().showMessage(f"Recording to {self.recorder.path}")
        elif not on and self.recorder is not None:
            self._finish_recording()

    def _record_frame(self, frame: Frame) -> None:
        info = FrameInfo(frame.index + 1, frame.steps, frame.t, frame.experts, frame.reward,
                         frame.ess, len(frame.log_weights))
        try:
            self.recorder.add(frame.cloud, info)
        except RecordingError as err:  # the run goes on; only the recording stops
            self.recorder.abort()
            self.recorder = None
            self.record_action.setChecked(False)
            self._report_error("Recording stopped", str(err))

    def _finish_recording(self) -> None:
        recorder, self.recorder = self.recorder, None
        frames = recorder.encoder.frames
        try:
            path = recorder.finish()
        except RecordingError as err:
            self._report_error("Recording failed", str(err))
        else:
            self.last_recording = str(path)
            self.statusBar().showMessage(f"Recorded {frames} frames to {path}")
        with signals_blocked(self.record_action):
            self.record_action.setChecked(False)

    def _on_worker_finished(self, reason: str) -> None:
        done = "Run complete" if reason == "completed" else "Run stopped"
        if self.frames:
            f = self.frames[-1]
            done += (f" at step {f.index + 1} of {f.steps}: radial error {f.radial_error:.4f}, "
                     f"off-sphere {100 * f.off_sphere:.1f} %")
        self.statusBar().showMessage(done)
        self._end_run(reason)

    def _on_worker_failed(self, message: str) -> None:
        self._report_error("The run stopped with an error", message)
        self._end_run("failed")

    def _end_run(self, reason: str) -> None:
        self._wait_for_thread()
        self._draw_pending()  # the last frames, at once
        self._update_stats(force=True)
        if self.recorder is not None:
            self._finish_recording()
        self.pause_action.setChecked(False)
        self._update_controls()
        self.runFinished.emit(reason)

    def _wait_for_thread(self) -> None:
        """Let the run's thread end. The worker is deleted on it as it ends (see `run`);
        the thread itself here, on the GUI thread."""
        thread = self._thread
        if thread is None:
            return
        self._thread, self.worker = None, None
        thread.quit()
        thread.wait()
        thread.deleteLater()

    def _report_error(self, title: str, message: str) -> None:
        self.last_error = f"{title}: {message}"
        self.statusBar().showMessage(self.last_error)
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok,
                          self)
        box.setObjectName("errorDialog")
        box.open()  # not exec(): the event loop, and the app, keep going
        self.error_dialog = box

    # ------------------------------------------------------------------ drawing
    def _draw_pending(self) -> None:
        if not self._dirty or not self.frames:
            return
        self._dirty = False
        newest = len(self.frames) - 1
        self.timeline.set_count(len(self.frames), follow=self._follow)
        if self._follow:
            self.show_frame(newest)
        self._update_stats()
        f = self.frames[-1]
        left = "" if f.seconds_left is None else f" · {f.seconds_left:.0f} s left"
        self.rate_label.setText(f"{f.steps_per_second:.1f} steps/s{left}")
        if f.threads:
            self.device_label.setText(f"device {self.device} · {f.threads.split(' (')[0]}")
            self.device_label.setToolTip(f"sampler threads, chosen by timing: {f.threads}")
        self.progress.setRange(0, f.steps)
        self.progress.setValue(f.index + 1)

    def _update_stats(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._stats_at >= STATS_INTERVAL_S:
            self._stats_at = now
            self.stats_panel.update_from(self.frames)

    def show_frame(self, index: int) -> None:
        """Put step `index` of the timeline on screen."""
        frame = self.frames[index]
        self.view3d.show_cloud(frame.cloud)
        if self.trails_action.isChecked() and frame.trail is not None:
            self.view3d.show_trails(frame.trail, frame.cloud)
        self._shown = index
        self.step_label.setText(f"step {frame.index + 1} of {frame.steps}")
        self.t_label.setText(f"t {frame.t:.3f}")
        self.timeline.set_text(f"step {frame.index + 1} / {frame.steps} · t {frame.t:.3f}")

    def show_newest(self) -> None:
        """Put the newest step on screen now (view, timeline, plots), not at the next redraw."""
        if self.frames:
            self._follow, self._dirty = True, True
            self._draw_pending()
            self._update_stats(force=True)

    def shown_frame(self) -> Frame | None:
        return self.frames[self._shown] if 0 <= self._shown < len(self.frames) else None

    def _on_timeline(self, value: int) -> None:
        if not self.frames:
            return
        self._follow = value >= len(self.frames) - 1
        self.show_frame(min(value, len(self.frames) - 1))

    def set_playing(self, on: bool) -> None:
        """▶: replay the finished run's steps on the timeline (see TimelineBar)."""
        self.timeline.set_playing(on)

    def _set_trails(self, on: bool) -> None:
        self.view3d.trails.setVisible(on)
        if self.shown_frame() is not None:
            self.show_frame(self._shown)

    def _update_controls(self) -> None:
        running = self.running
        paused = running and self.worker is not None and self.worker.paused
        self.run_action.setEnabled(not running or paused)
        self.pause_action.setEnabled(running)
        self.stop_action.setEnabled(running)
        self.step_action.setEnabled(not running or paused)
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
            self._report_error("Cannot save the screenshot", f"{path.parent}: {err.strerror}")
            return False
        if not self.grab_image().save(str(path)):
            self._report_error("Cannot save the screenshot", f"{path} could not be written")
            return False
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    EXPORT_FILTERS = ("Trajectory (*.npz);;Final cloud, binary PLY (*.ply);;"
                      "Run configuration (*.json);;Screenshot (*.png)")

    def export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export", "poe-run.npz", self.EXPORT_FILTERS)
        if path:
            self.export_to(path)

    def export_to(self, path: str | Path) -> bool:
        """Write the run by the file's suffix: .npz trajectory (as `poe-engine sample`
        writes it), .ply final cloud, .json run configuration, .png screenshot."""
        path = Path(path)
        kind = path.suffix.lower()
        if kind == ".png":
            return self.save_screenshot(path)
        if kind not in (".npz", ".ply", ".json"):
            self._report_error("Cannot export", f"{path.name}: use .npz, .ply, .json or .png")
            return False
        if not self.frames or self.run_config is None:
            self._report_error("Nothing to export", "Run the sampler first.")
            return False
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            f, config = self.frames, self.recorded_config()
            if kind == ".npz":
                write_trajectory_npz(
                    path, np.stack([x.cloud for x in f]), np.stack([x.log_weights for x in f]),
                    np.array([x.ess for x in f]), np.array([x.resampled for x in f]),
                    np.array([x.t for x in f]), trajectory_meta(config, f[-1].index + 1),
                    steered=columns(f))
            elif kind == ".ply":
                write_ply(path, f[-1].cloud)
            else:
                save_config(path, config)
        except (OSError, ValueError) as err:
            self._report_error("Cannot export", f"{path}: {getattr(err, 'strerror', None) or err}")
            return False
        self.statusBar().showMessage(f"Exported {path}", 5000)
        return True

    def save_screenshot_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save screenshot", "poe-desktop.png",
                                              "PNG images (*.png)")
        if path:
            self.save_screenshot(path)

    def show_about(self) -> None:
        QMessageBox.about(self, "About PoE Desktop", ABOUT)

    # ------------------------------------------------------------------ settings, close
    def _restore_settings(self) -> None:
        """Restore the window's layout and, unless a run configuration fills the panels,
        the Sampler settings. Every value is untrusted text (see settings.py): checked,
        and on any doubt the default stays, with a note in the status bar."""
        self._saved, invalid = read_settings()
        for key, restore in (("geometry", self.restoreGeometry),
                             ("windowState", self.restoreState)):
            if key in self._saved:
                blob = decode_blob(self._saved[key])
                if blob is None or not restore(QByteArray(blob)):
                    invalid = True
        if "sampler" in self._saved and not self._from_config:
            try:
                values = json.loads(self._saved["sampler"])
            except (ValueError, RecursionError):
                values = None
            if not isinstance(values, dict) or self.sampler_panel.apply(values):
                invalid = True
        if invalid:
            self.statusBar().showMessage(SETTINGS_RESET_NOTE, 10_000)

    def _save_settings(self) -> None:
        values = {"geometry": encode_blob(self.saveGeometry().data()),
                  "windowState": encode_blob(self.saveState().data()),
                  "sampler": json.dumps(self.sampler_panel.values())}
        if self._from_config:  # the configuration's settings are not the user's
            values.pop("sampler")
            if "sampler" in self._saved:
                values["sampler"] = self._saved["sampler"]
        write_settings(values)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.stop()
        self._wait_for_thread()
        if self.recorder is not None:
            self._finish_recording()
        self._draw_timer.stop()
        self._save_settings()
        super().closeEvent(event)

