"""The app against hostile or broken input, long sessions, and one-command runs: a planted
settings file, missing weights in a scripted run, runs that must not leak, and a run
configuration that the window, its screenshot and the recorder all share."""

from __future__ import annotations

import gc
import json
import os
import pickle
import struct
import subprocess
import sys
import weakref
from pathlib import Path

import pyqtgraph as pg
import pytest
import torch
from PySide6.QtCore import QCoreApplication, QEvent, QTimer
from PySide6.QtWidgets import QDockWidget, QSpinBox

from poe_desktop import MainWindow
from poe_desktop import app as desktop_app
from poe_desktop.run.worker import StreamWorker
from poe_desktop.window.state import SETTINGS_RESET_NOTE
from poe_engine.exports import load_config, save_config
from poe_engine.samplers import SamplerSettings
from poe_engine.spec import inapplicable_keys

pytestmark = pytest.mark.gui
TINY = {"particles": 2, "points": 32, "steps": 12, "langevin": 1}


class _Plant:
    """Unpickling this creates (opens for writing) the file `marker`."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def planted_variant(marker: Path) -> str:
    """A settings value as QSettings writes a Python object into an .ini file: a QVariant
    of PySide's PyObjectWrapper type holding a pickle, which PySide6 unpickles on reading."""
    data = pickle.dumps(_Plant(str(marker)), protocol=4)
    name = b"PySide::PyObjectWrapper\0"
    raw = struct.pack(">II", 0x7F, len(name)) + name + struct.pack(">I", len(data)) + data
    return "@Variant(" + "".join(f"\\x{b:02x}" for b in raw) + ")"


def settings_file() -> Path:
    return Path(os.environ["POE_DESKTOP_SETTINGS"])


def tiny_config(tmp_path: Path, **overrides) -> Path:
    config = {"format": "poe-run-config/1", "device": "cpu", **TINY, **overrides}
    return save_config(tmp_path / "run.json", config)


# --------------------------------------------------------------------------- 1. settings


def test_a_pickle_planted_in_the_settings_file_is_never_unpickled(qtbot, tmp_path):
    keys = ["geometry", "windowState", "sampler", "other"]
    markers = {key: tmp_path / f"ran-{key}" for key in keys}
    lines = [f"{key}={planted_variant(markers[key])}" for key in keys]
    settings_file().write_text("[General]\n" + "\n".join(lines) + "\n")
    window = MainWindow()
    qtbot.addWidget(window)
    ran = [key for key, marker in markers.items() if marker.exists()]
    assert not ran, f"a planted pickle ran while reading {ran}"
    assert window.statusBar().currentMessage() == SETTINGS_RESET_NOTE
    assert window.findChild(QSpinBox, "stepsSpin").value() == SamplerSettings().steps  # defaults
    window.close()
    assert not any(marker.exists() for marker in markers.values())
    assert "@Variant" not in settings_file().read_text()  # overwritten with plain text


def test_window_layout_and_sampler_settings_survive_a_restart(qtbot):
    first = MainWindow()
    qtbot.addWidget(first)
    with qtbot.waitExposed(first):
        first.show()
    first.resize(1000, 700)  # the docks may hold it taller
    first.findChild(QDockWidget, "statsDock").hide()
    first.findChild(QSpinBox, "seedSpin").setValue(42)
    qtbot.waitUntil(lambda: first.size().width() == 1000)
    size = (first.width(), first.height())
    assert size != (1280, 820)  # not the default size
    first.close()
    text = settings_file().read_text()
    assert "@" not in text and "geometry=" in text and "windowState=" in text
    second = MainWindow()
    qtbot.addWidget(second)
    with qtbot.waitExposed(second):
        second.show()
    assert (second.width(), second.height()) == size
    assert second.findChild(QDockWidget, "statsDock").isHidden()
    assert not second.findChild(QDockWidget, "expertsDock").isHidden()
    assert second.findChild(QSpinBox, "seedSpin").value() == 42
    assert second.statusBar().currentMessage() != SETTINGS_RESET_NOTE
    second.close()


@pytest.mark.parametrize("saved", [
    {"geometry": "!!not base64!!"},
    {"windowState": "AAAA"},  # base64, but not a state Qt accepts
    {"sampler": json.dumps({"steps": 99999, "seed": 3})},
    {"sampler": json.dumps({"seed": True, "steps": 40})},
    {"sampler": json.dumps({"kappa": "NaN", "steps": 40})},
    {"sampler": "[" * 100_000},
])
def test_invalid_saved_values_are_reset_with_a_note(qtbot, saved):
    settings_file().write_text(
        "[General]\n" + "".join(f"{k}={v}\n" for k, v in saved.items()))
    window = MainWindow()
    qtbot.addWidget(window)
    assert window.statusBar().currentMessage() == SETTINGS_RESET_NOTE
    assert window.findChild(QSpinBox, "stepsSpin").value() in (SamplerSettings().steps, 40)
    assert window.findChild(QSpinBox, "seedSpin").value() in (0, 3)
    window.close()


# --------------------------------------------------------------------------- 2. scripted runs


def test_missing_weights_in_a_screenshot_run_fail_at_once_with_the_rebuild_command(tmp_path):
    missing = tmp_path / "no-such-weights"
    shot = tmp_path / "shot.png"
    done = subprocess.run(
        [sys.executable, "-m", "poe_desktop", "--weights", str(missing), "--autorun",
         "--screenshot", str(shot)],
        capture_output=True, text=True, timeout=90)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert str(missing) in lines[0] and "poe-engine train" in lines[0]
    assert not shot.exists() and done.stdout == ""


def test_a_run_failing_mid_run_in_a_screenshot_run_exits_non_zero(tmp_path, monkeypatch,
                                                                   capsys):
    from poe_engine.experts import MonochromeColorExpert

    calls = []

    def poisoned(self, cloud, t):  # healthy for a few steps, then NaN
        calls.append(1)
        out = torch.zeros_like(cloud[..., 3:])
        return out if len(calls) < 10 else out + float("nan")

    monkeypatch.setattr(MonochromeColorExpert, "velocity", poisoned)
    shot = tmp_path / "shot.png"
    code = desktop_app.main(["--config", str(tiny_config(tmp_path)), "--autorun",
                             "--screenshot", str(shot)])
    err = capsys.readouterr().err
    assert code == 1
    assert "non-finite" in err and err.startswith("poe-desktop: error:")
    assert not shot.exists()


# --------------------------------------------------------------------------- 3. memory


def live(cls) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if issubclass(type(o), cls))


def test_runs_leave_no_workers_trails_or_steering_marks_behind(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.sampler_panel.apply({"particles": 2, "points": 32, "steps": 3, "langevin_steps": 0})
    # windows of earlier tests, closed but not yet deleted, must not count here
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    lines_before = live(pg.InfiniteLine)
    workers = []
    for i in range(6):
        assert window.run(start_paused=True)
        worker = window.worker
        workers.append(weakref.ref(worker))
        window.experts_panel.toggles["x"].setChecked(i % 2 == 1)  # steering: a mark
        window.reward_panel.set_color(("red", "blue")[i % 2])  # and another
        with qtbot.waitSignal(window.runFinished, timeout=60_000):
            window.toggle_pause()
        del worker
    # The worker is deleted on its thread as the thread ends; nothing keeps its wrapper.
    qtbot.waitUntil(lambda: sum(ref() is not None for ref in workers) == 0, timeout=5_000)
    assert live(StreamWorker) == 0
    # Only the last run's marks are alive: 2 steering changes x a line on each step plot.
    assert live(pg.InfiniteLine) - lines_before == 2 * len(window.stats_panel.step_plots)
    window.reset()
    QCoreApplication.processEvents()
    assert live(pg.InfiniteLine) - lines_before == 0
    window.close()


def test_the_worker_frees_its_trail_history_when_the_run_ends(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.sampler_panel.apply({"particles": 2, "points": 32, "steps": 3, "langevin_steps": 0})
    assert window.run(start_paused=True)
    source = window.session.source  # what the worker iterates: frames with trails
    with qtbot.waitSignal(window.runFinished, timeout=60_000):
        window.toggle_pause()
    assert source.trail.history == []
    window.close()


# --------------------------------------------------------------------------- 4. one run


def test_a_run_configuration_fills_the_panels_and_the_saved_settings_stay_unused(qtbot,
                                                                              tmp_path):
    saved = MainWindow()
    qtbot.addWidget(saved)
    saved.findChild(QSpinBox, "seedSpin").setValue(42)
    saved.findChild(QSpinBox, "pointsSpin").setValue(256)
    saved.close()

    path = tiny_config(tmp_path, sampler="euler", experts="x,z", reward="#ff8000",
                       strength=123.456, kappa=0.0125, steps=4, ode_scale=0.9,
                       resampling="multinomial")
    config = load_config(path)
    window = MainWindow(config=config)
    qtbot.addWidget(window)
    sp = window.sampler_panel
    assert sp.seed.value() == 0  # not the saved 42: a key the file lacks takes the default
    assert (sp.particles.value(), sp.points.value(), sp.steps.value()) == (2, 32, 4)
    assert sp.langevin.value() == 1 and sp.sampler_name() == "euler"
    assert sp.device.currentText() == "cpu"
    assert window.experts_panel.enabled_experts() == ["x", "z"]
    assert window.experts_panel.reward.isChecked() and window.reward_panel.color == "#ff8000"
    with qtbot.waitSignal(window.runFinished, timeout=60_000):
        assert window.run()
    # the run is the file's run, to the last digit (kappa and strength beyond the spins'),
    # and what an Euler run never reads (kappa, resampling, Langevin steps) it records as null
    assert sp.kappa.exact_value() == 0.0125
    inert = set(inapplicable_keys(config)) & set(config)
    assert {"kappa", "resampling", "langevin"} <= inert
    assert {k: window.run_config[k] for k in config} == config | dict.fromkeys(inert, None)
    window.close()

    again = MainWindow()  # a configuration's run does not overwrite the user's settings
    qtbot.addWidget(again)
    assert again.findChild(QSpinBox, "seedSpin").value() == 42
    assert again.findChild(QSpinBox, "pointsSpin").value() == 256
    again.close()


def test_the_particle_system_options_of_a_configuration_run_in_the_app(qtbot, tmp_path):
    """Options without a widget of their own (schedule, kernel, resampling every k levels)
    go from the file through the panels into the run, and back into its configuration."""
    options = {"schedule": "adaptive", "schedule_target": 0.6, "kernel": "mala",
               "resample_every": 2}
    path = tiny_config(tmp_path, format="poe-run-config/2", **options)
    window = MainWindow(config=load_config(path))
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.runFinished, timeout=60_000):
        assert window.run()
    assert {k: window.run_config[k] for k in options} == options
    # MALA ran: an acceptance at every level that has Langevin moves (t = 0 has none)
    assert all(f.acceptance == f.acceptance for f in window.frames[:-1])
    window.close()


def test_a_configuration_without_a_reward_switches_it_off(qtbot, tmp_path):
    window = MainWindow(config=load_config(tiny_config(tmp_path, reward="none")))
    qtbot.addWidget(window)
    assert not window.experts_panel.reward.isChecked()
    window.close()


@pytest.mark.parametrize("content", ["{not json", json.dumps({"format": "x"}),
                                     json.dumps({"format": "poe-run-config/1", "steps": 0})])
def test_a_bad_configuration_is_one_line_and_exit_2(tmp_path, capsys, content):
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert desktop_app.main(["--config", str(path), "--autorun"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and str(path) in err


@pytest.mark.parametrize(("asked", "frames"), [("5", 5), ("mid", 6), ("50", 12), ("end", 12)])
def test_a_screenshot_run_captures_exactly_the_step_asked_for(qtbot, tmp_path, monkeypatch,
                                                            capsys, asked, frames):
    seen = []
    original = MainWindow.save_screenshot

    def save(self, path):
        seen.append((len(self.frames), self.shown_frame().index, self.frames[-1].steps))
        return original(self, path)

    monkeypatch.setattr(MainWindow, "save_screenshot", save)
    shot = tmp_path / "shot.png"
    code = desktop_app.main(["--config", str(tiny_config(tmp_path)), "--autorun",
                             "--screenshot", str(shot), "--screenshot-step", asked])
    assert code == 0, capsys.readouterr().err
    assert seen == [(frames, frames - 1, 12)]
    assert shot.stat().st_size > 1000
    # main() left no Quit event behind, which would end the caller's next event loop at once
    QCoreApplication.processEvents()
    timer = QTimer(singleShot=True, interval=100)
    with qtbot.waitSignal(timer.timeout, timeout=5_000):
        timer.start()
