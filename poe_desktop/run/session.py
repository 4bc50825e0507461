"""A run in the app, apart from the window: `RunSession` owns the composition the sampler
reads, the worker thread that streams the run's frames, the frames themselves and the
recorder, and says what happens through signals. The window builds the layout and
wires its widgets to a session; a script or a test can drive a session without one.

Threading: a `StreamWorker` on a QThread iterates a `FrameSource` (sampler steps as
host-memory `Frame`s); the session, on the GUI thread, only stores and forwards them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace
from pathlib import Path

import torch
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QThread, Signal

from poe_engine.compose import build_mixture, compose_steering, steer_mixture
from poe_engine.errors import InputError
from poe_engine.experts import EXPERT_NAMES, GenerativeExpert
from poe_engine.exports import save_config, trajectory_meta, write_ply
from poe_engine.expression import branches, canonical, parse
from poe_engine.mixture import Mixture, sample_mixture
from poe_engine.precision import DTYPES, resolve_precision
from poe_engine.product import Composition
from poe_engine.reward import ColorReward
from poe_engine.runs import (
    OUT_OF_MEMORY,
    build_composition,
    build_experts,
    check_checksums,
    checksums,
    resolve_device,
)
from poe_engine.samplers import SAMPLERS
from poe_engine.spec import RunSpec
from poe_engine.stacked import resolve_layers
from poe_engine.steering import Controls, config_from_records, replayed
from poe_engine.trajectory import Trajectory
from poe_engine.weights import WeightsError

from ..model.colour_by import previous_positions
from ..model.frames import Frame, FrameSource, cost_text
from ..model.pacing import frames_per_step, pacing_note
from ..model.steering_marks import marks
from ..record.encoders import RecordingError, padding_note
from ..record.recorder import FrameInfo, Recorder
from .worker import StreamWorker, end_thread, start_on_thread


def failure_message(err: BaseException) -> str:
    """An exception of a run, as one line for the user."""
    if isinstance(err, torch.cuda.OutOfMemoryError):
        return f"{OUT_OF_MEMORY[0].upper()}{OUT_OF_MEMORY[1:]}."
    return f"{type(err).__name__}: {err}"


class RunSession(QObject):
    frameAdded = Signal(object)  # Frame, in step order
    finished = Signal(str)  # "completed" | "stopped" | "failed", once the thread has ended
    failed = Signal(str)  # the run's error, for the user (then `finished("failed")`)
    steered = Signal(int, str)  # step (1-based) from which a change holds, and what it was
    replayedAt = Signal(int, object)  # a replayed change's step and its Controls from then on
    pausedAt = Signal(int)  # index of the step after which a `pause_after` request paused
    problem = Signal(str, str)  # title, message: something the user must be told
    message = Signal(str, int)  # a status line and how long it shows (ms; 0: until replaced)
    stateChanged = Signal()  # started, paused, resumed or ended
    recordingStopped = Signal()  # the recorder finished or gave up on its own
    composeReplayed = Signal(int, str)  # a replayed expression's step and its text

    def __init__(self, weights_dir: str | Path | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.weights_dir = weights_dir
        self.frames: list[Frame] = []  # the current or last run's (never rebound)
        self._experts: dict[str, dict[str, GenerativeExpert]] = {}  # per device
        self.thread: QThread | None = None
        self.worker: StreamWorker | None = None
        self.source: FrameSource | None = None
        self.composition: Composition | None = None
        self.mixture: Mixture | None = None  # a composed run's (then `composition` is None)
        self._compose_pending: deque[str] = deque()  # expressions for the next step
        self._compose_replays: dict[int, str] = {}  # step -> a configuration's expression
        self.device = "cpu"
        self.recorder: Recorder | None = None
        self.run_config: dict | None = None  # the configuration of the current or last run
        self.checksums: dict | None = None  # of the weights a loaded configuration needs
        self.layers: str | None = None  # the CPU layers a loaded configuration ran with
        self.last_recording: str | None = None
        self._replaying: dict[int, tuple[Controls, str]] = {}  # step -> controls, label
        self.fidelity_wanted = False  # each step's fidelity made with it (FrameSource)

    # ------------------------------------------------------------------ state
    @property
    def running(self) -> bool:
        return self.thread is not None

    @property
    def paused(self) -> bool:
        return self.running and self.worker is not None and self.worker.paused

    def experts_on(self, device: str) -> dict[str, GenerativeExpert]:
        if device not in self._experts:
            self._experts[device] = build_experts(self.weights_dir, device)
        return self._experts[device]

    # ------------------------------------------------------------------ run control
    def start(self, spec: RunSpec, reward: ColorReward | None = None,
              pace: float | None = None, start_paused: bool = False,
              pause_after: int | None = None) -> bool:
        """Start the run of `spec`, its steering (`spec.steering`) replayed as
        `poe-engine sample --config` replays it: each change applied just before its step
        is computed (`replayedAt` and `steered` say so as that step arrives); the user may
        steer too. False, and `problem` said why, where it cannot start. `reward`: the
        reward switched on later in the run if `spec` starts without one (default: red at
        the spec's strength).
        `pace`: at most so many steps a second. `pause_after`: pause right after that step
        (1-based)."""
        try:
            self.device = str(resolve_device(spec.device))
            experts = self.experts_on(self.device)
            check_checksums(self.checksums, checksums(experts), "the run configuration")
        except (ValueError, WeightsError, RuntimeError) as err:
            self.problem.emit("Cannot start the run", str(err))
            return False
        controls = spec.controls
        self.mixture, self.composition = None, None
        self._compose_pending.clear()
        if spec.compose is not None:
            try:
                self.mixture = build_mixture(spec.compose, experts, controls.strength)
                self.mixture.sizes(spec.settings.particles)
            except InputError as err:
                self.problem.emit("Cannot start the run", str(err))
                return False
        if controls.reward is not None:
            reward = ColorReward(controls.reward, controls.strength)
        if self.mixture is None:
            self.composition = build_composition(
                experts, controls.enabled, reward or ColorReward("red", controls.strength))
            self.composition.set_reward_enabled(controls.reward is not None)
            for name, weight in zip(EXPERT_NAMES, controls.weights, strict=True):
                self.composition.set_weight(name, weight)
        # as `poe-engine sample --config` / `poe-desktop record --config` read it, as it
        # starts, with the precision that runs, never 'auto', so that a replay computes the
        # same numbers; `recorded_config` says what it did
        precision = resolve_precision(spec.precision, self.device)
        # the CPU layers too: the spec's, else a loaded configuration's, else measured
        layers = spec.settings.layers if spec.settings.layers != "auto" else self.layers
        layers = resolve_layers(layers or "auto", self.device, DTYPES[precision])
        events = spec.steering
        self._replaying = {e.step: (e.controls, label) for e, (_, label) in
                           zip(events, marks(controls, events), strict=True)}
        compose_events = list(spec.compose_steering)
        self._compose_replays = dict(compose_events)
        spec = spec.replace(device=self.device, steering=(), compose_steering=(),
                            settings=replace(spec.settings, precision=precision,
                                             layers=layers),
                            checksums=tuple(checksums(experts).items()))
        self.run_config = spec.to_dict()
        self.frames.clear()
        # every particle is needed to follow the shown particle's own ancestry for its trail
        settings = replace(spec.settings, keep_particles=True)
        composition, sampler, mixture = self.composition, SAMPLERS[spec.sampler], self.mixture
        if mixture is not None:
            def stream():
                return self._composed(mixture, compose_events, sample_mixture(
                    mixture, settings, spec.sampler, spec.seed, spec.device))
        else:
            def stream():
                return replayed(composition, events,
                                sampler(composition, settings, spec.seed, spec.device))
        self.source = FrameSource(stream, spec.device,
                                  (settings.particles, settings.points, settings.precision))
        self.source.fidelity_wanted = self.fidelity_wanted
        self.worker = StreamWorker(self.source, pace)
        self.worker.yielded.connect(self._on_frame)
        self.worker.finished.connect(self._on_finished)
        self.worker.errored.connect(self._on_errored)
        self.worker.pausedAt.connect(self._on_paused_at)
        if start_paused:
            self.worker.pause()
        self.worker.pause_after(pause_after)
        self.thread = start_on_thread(self.worker, self)
        self.message.emit(f"Running {spec.sampler.upper()} on {self.device}…", 0)
        self.stateChanged.emit()
        return True

    def _composed(self, mixture: Mixture, events: list, stream):
        """On the worker thread: `stream` (`sample_mixture`) with a configuration's
        expressions (`events`: (step, text)) and the user's put in force just before a step
        is computed, as `compose.replayed_mixture` replays them."""
        due, step = dict(events), 1
        while True:
            if step in due:
                steer_mixture(mixture, due[step])
            while self._compose_pending:
                steer_mixture(mixture, self._compose_pending.popleft())
            record = next(stream, None)
            if record is None:
                return
            yield record
            step += 1

    def recorded_config(self) -> dict | None:
        """The configuration of the current or last run as it went: the controls its first
        step used, each change made later at the step it took effect (from the frames: a
        change reaches the sampler between steps, whenever the user made it) and the
        precision that ran; for a composed run, the expressions put in force later
        (`compose_steering`), as `poe-engine sample` writes them."""
        if self.run_config is None:
            return None
        if self.run_config.get("compose") and self.frames:
            changes = compose_steering(self.frames)
            return dict(self.run_config) | {"precision": self.frames[0].precision,
                                            "steering": []} | (
                {"compose_steering": changes} if changes else {})
        return config_from_records(self.run_config, self.frames)

    def toggle_pause(self) -> None:
        if self.worker is None:
            return
        if self.worker.paused:
            self.worker.resume()
            self.message.emit("Running…", 0)
        else:
            self.worker.pause()
            self.message.emit("Paused: Step advances one denoising step", 0)
        self.stateChanged.emit()

    def step(self) -> None:
        """One denoising step while paused."""
        if self.worker is not None and self.worker.paused:
            self.worker.step_once()

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()

    def want_fidelity(self, on: bool) -> None:
        """Whether the sampler's thread computes each step's fidelity as it makes the step
        (something shows every step's), from the next step on, and in later runs."""
        self.fidelity_wanted = on
        if self.source is not None:
            self.source.fidelity_wanted = on

    def set_pace(self, pace: float | None) -> None:
        if self.worker is not None:
            self.worker.set_pace(pace)

    def reset(self) -> None:
        """Stop the run, wait for its thread and forget its frames. What the thread had
        still queued for the session (frames, its end) is dropped, so that nothing of the
        run shows up after the reset; the run's end is announced here instead."""
        was_running = self.running
        self.stop()
        self.wait_for_thread()
        QCoreApplication.removePostedEvents(self, QEvent.Type.MetaCall)
        self.frames.clear()
        if was_running:
            self._end_run("stopped")

    def steer(self, change, label: str) -> None:
        """Apply `change` (a function of the composition) to the running composition; the
        change holds from the next step on (`steered`)."""
        if not self.running or self.composition is None:
            if self.running and self.mixture is not None:
                self.message.emit("This run follows the Compose panel: change its "
                                  "expression instead", 5000)
            return
        try:
            change(self.composition)
        except ValueError as err:
            self.message.emit(str(err), 5000)
            return
        step = len(self.frames) + 1
        self.steered.emit(step, label)
        self.message.emit(f"Step {step}: {label}", 4000)

    def steer_compose(self, text: str) -> bool:
        """Put the expression `text` in force in the running composed run from its next
        step; refused (False, and said in the status bar) where it does not parse, or
        changes the number of branches (the population's split holds for the whole run)."""
        if not self.running or self.mixture is None:
            return False
        before = len(self.mixture.branches)
        try:
            parts = branches(parse(text))
            if len(parts) != before:
                raise InputError(f"the run has {before} branch{'es' * (before != 1)} and "
                                 f"'{text}' has {len(parts)}: a change during a run must keep "
                                 "them")
            build_mixture(text, self.mixture.experts, self.mixture.strength)  # checked whole
        except InputError as err:
            self.message.emit(f"Not applied: {err}", 10_000)
            return False
        self._compose_pending.append(canonical(parse(text)))
        self.message.emit(f"From step {len(self.frames) + 1}: {text}", 4000)
        return True

    def wait_for_thread(self) -> None:
        """Let the run's thread end. The worker is deleted on it as it ends (see
        `worker.start_on_thread`); the thread itself here, on the GUI thread."""
        thread = self.thread
        if thread is None:
            return
        self.thread, self.worker = None, None
        end_thread(thread)

    # ------------------------------------------------------------------ worker signals
    def _on_frame(self, frame: Frame) -> None:
        before = self.frames[-1].compose if self.frames else None
        self.frames.append(frame)
        if before is not None and frame.compose != before:  # the step it took effect
            self.steered.emit(frame.index + 1, f"→ {frame.compose}")
        if frame.index + 1 in self._compose_replays:
            self.composeReplayed.emit(frame.index + 1, self._compose_replays[frame.index + 1])
        if frame.index + 1 in self._replaying:
            controls, label = self._replaying[frame.index + 1]
            self.replayedAt.emit(frame.index + 1, controls)
            self.steered.emit(frame.index + 1, label)
        if self.recorder is not None:
            self._record_frame(frame)
        self.frameAdded.emit(frame)

    def _on_paused_at(self, index: int) -> None:
        self.message.emit(f"Paused after step {index + 1}: Step advances one denoising step", 0)
        self.pausedAt.emit(index)
        self.stateChanged.emit()

    def _on_finished(self, reason: str) -> None:
        done = "Run complete" if reason == "completed" else "Run stopped"
        if self.frames:
            f = self.frames[-1]
            done += (f" at step {f.index + 1} of {f.steps}: radial error {f.radial_error:.4f}, "
                     f"off-sphere {100 * f.off_sphere:.1f} %" + cost_text(f, ", "))
        self.message.emit(done, 0)
        self._end_run(reason)

    def _on_errored(self, err: BaseException) -> None:
        message = failure_message(err)
        self.problem.emit("The run stopped with an error", message)
        self.failed.emit(message)
        self._end_run("failed")

    def _end_run(self, reason: str) -> None:
        self.wait_for_thread()
        if self.recorder is not None:
            self.finish_recording()
        self.stateChanged.emit()
        self.finished.emit(reason)

    # ------------------------------------------------------------------ recording
    def start_recording(self, opts: dict, look) -> bool:
        """Capture every step from now on (`opts`: the Recording panel's), drawn as `look`
        (a function that gives the window's Look at each step) says."""
        try:
            self.recorder = Recorder(opts["path"], opts["size"], overlay=opts["overlay"],
                                     turntable=opts["turntable"],
                                     hold_seconds=opts["hold_seconds"], look=look)
        except (RecordingError, ValueError) as err:
            self.problem.emit("Cannot record", str(err))
            return False
        note = padding_note(self.recorder.path, opts["size"])
        steps = self.frames[-1].steps if self.frames else (self.run_config or {}).get("steps")
        if isinstance(steps, int) and steps > 0:  # how long the run will last in the file
            fps = self.recorder.fps
            paced = pacing_note(steps, fps, frames_per_step(steps, fps))
            note = f"{note}; {paced}" if note else paced
        self.message.emit(f"Recording to {self.recorder.path}" + (f" ({note})" if note else ""),
                          0)
        return True

    def _record_frame(self, frame: Frame) -> None:
        info = FrameInfo(frame.index + 1, frame.steps, frame.t, frame.experts, frame.reward,
                         frame.ess, len(frame.log_weights))
        previous = self.frames[frame.index - 1] if 0 < frame.index <= len(self.frames) else None
        x0 = self.recorder.draws_denoised()  # else x0_hat is not computed (frames.Lazy)
        try:
            self.recorder.add(frame.cloud, info, previous=previous_positions(frame, previous),
                              denoised=frame.denoised if x0 else None,
                              denoised_previous=previous_positions(frame, previous, True)
                              if x0 else None)
        except RecordingError as err:  # the run goes on; only the recording stops
            self.recorder.abort()
            self.recorder = None
            self.recordingStopped.emit()
            self.problem.emit("Recording stopped", str(err))

    def finish_recording(self) -> None:
        recorder, self.recorder = self.recorder, None
        if recorder is None:
            return
        frames = recorder.encoder.frames
        try:
            path = recorder.finish()
        except RecordingError as err:
            self.problem.emit("Recording failed", str(err))
        else:
            self.last_recording = str(path)
            self.message.emit(f"Recorded {frames} frames to {path}", 0)
        self.recordingStopped.emit()

    # ------------------------------------------------------------------ exports
    def export(self, path: Path, look: dict | None = None, particles: bool = False) -> bool:
        """Write the run by the file's suffix: .npz trajectory (as `poe-engine sample`
        writes it), .ply final cloud, .json run configuration; `look` (a Look's values),
        how the run was drawn, goes into the configuration and the .npz meta. `particles`:
        the .npz keeps the final population too, where the last frame holds it (as
        `poe-engine sample --save-particles`)."""
        if not self.frames or self.run_config is None:
            self.problem.emit("Nothing to export", "Run the sampler first.")
            return False
        kind = path.suffix.lower()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            f, config = self.frames, self.recorded_config()
            if look is not None:
                config = config | {"look": look}
            if kind == ".npz":
                particles = particles and f[-1].particles is not None
                Trajectory.from_records(f).save_npz(
                    path, trajectory_meta(config, f[-1].index + 1), particles)
            elif kind == ".ply":
                write_ply(path, f[-1].cloud)
            else:
                save_config(path, config)
        except (OSError, ValueError) as err:
            self.problem.emit("Cannot export",
                              f"{path}: {getattr(err, 'strerror', None) or err}")
            return False
        self.message.emit(f"Exported {path}", 5000)
        return True
