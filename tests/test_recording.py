"""Recordings: what `poe-desktop record` and the Record button write, decoded again."""

import errno
import os
import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtWidgets import QLineEdit, QPushButton, QSpinBox, QToolButton

from poe_desktop.app import main as desktop_main

pytestmark = pytest.mark.gui
# 8 particles: with 2, the reward picks the colour only about half the time (measured)
QUICK = ["--steps", "24", "--particles", "8", "--points", "128", "--fps", "10"]
BACKGROUND = np.array([20, 20, 24])


def dominant(rgb: np.ndarray) -> str:
    """The largest channel of the drawn (non-background) pixels."""
    px = rgb[..., :3].reshape(-1, 3).astype(int)
    drawn = px[np.abs(px - BACKGROUND).sum(axis=1) > 80]
    return ("red", "green", "blue")[int(np.argmax(drawn.mean(axis=0)))]


def decode_mp4(path):
    import av

    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_mp4_has_every_step_plus_the_hold_and_ends_in_the_reward_colour(qapp, tmp_path):
    out = tmp_path / "run.mp4"
    assert desktop_main(["record", *QUICK, "--reward", "green", "--seed", "1", "--hold", "0.5",
                         "--size", "160x128", "--out", str(out)]) == 0
    frames = decode_mp4(out)
    assert len(frames) == 24 + 5
    assert frames[-1].shape == (128, 160, 3)
    assert dominant(frames[-1]) == "green"
    assert np.abs(frames[-1].astype(int) - frames[-2]).mean() < 2  # held


@pytest.mark.parametrize("fps", [None, 24, 10])
def test_a_default_run_recorded_lasts_four_seconds_unless_the_fps_is_given(fps, qapp,
                                                                           tmp_path, capsys):
    """Issue 21: a default run has 16 steps; at the default frame rate each step is shown
    long enough for the run to last 4 s; a frame rate given shows each step once."""
    out = tmp_path / "frames"
    given = [] if fps is None else ["--fps", str(fps)]
    assert desktop_main(["record", "--particles", "2", "--points", "64", "--size", "64x64",
                         "--hold", "0.5", *given, "--out", f"{out}/"]) == 0
    count = len(list(out.glob("*.png")))
    rate = fps or 24
    hold = round(0.5 * rate)
    if fps is None:
        assert (count - hold) / rate >= 4.0 and count - hold == 16 * 6
        assert "each shown for 6 frames at 24 fps: 4.0 s" in capsys.readouterr().err
    else:
        assert count == 16 + hold  # every step once, and the hold
        assert f"16 steps at {fps} fps" in capsys.readouterr().err


def test_gif_is_written_by_pillow_with_every_frame(qapp, tmp_path):
    from PIL import Image

    out = tmp_path / "run.gif"
    assert desktop_main(["record", *QUICK, "--reward", "blue", "--seed", "2", "--hold", "0.3",
                         "--size", "120x120", "--turntable", "--out", str(out)]) == 0
    with Image.open(out) as gif:
        assert gif.size == (120, 120)
        durations = []
        for i in range(gif.n_frames):
            gif.seek(i)
            durations.append(gif.info["duration"])
        last = np.asarray(gif.convert("RGB"))
    # every step is a frame; the held copies of the last one are merged into its duration
    assert gif.n_frames == 24
    assert sum(durations) == (24 + 3) * 100 and durations[-1] == 4 * 100
    assert dominant(last) == "blue"


def test_colour_grid_has_three_titled_panels_in_their_colours(qapp, tmp_path):
    from PIL import Image

    out = tmp_path / "grid"
    assert desktop_main(["record", "--steps", "48", "--particles", "4", "--points", "128",
                         "--grid", "colors", "--size", "128x128", "--hold", "0", "--fps",
                         "24", "--out", f"{out}/"]) == 0
    files = sorted(out.glob("frame_*.png"))
    assert len(files) == 48  # --fps given: each step one frame
    last = np.asarray(Image.open(files[-1]).convert("RGB"))
    assert last.shape == (128, 3 * 128, 3)
    panels = [last[:, i * 128:(i + 1) * 128] for i in range(3)]
    assert [dominant(p[30:]) for p in panels] == ["red", "green", "blue"]
    title_strip = last[:30].reshape(-1, 3)
    assert (title_strip.min(axis=1) > 200).sum() > 50  # white title text in every run


def test_replaying_a_saved_configuration_reproduces_the_frames(qapp, tmp_path):
    from PIL import Image

    config = tmp_path / "run.json"
    assert subprocess.run([sys.executable, "-m", "poe_engine", "sample", "--steps", "10",
                           "--particles", "3", "--points", "96", "--reward", "#20a0ff",
                           "--seed", "4", "--save-config", str(config),
                           "--out", str(tmp_path / "run.npz")],
                          capture_output=True, timeout=120).returncode == 0
    for name in ("a", "b"):
        assert desktop_main(["record", "--config", str(config), "--size", "96x96",
                             "--hold", "0", "--fps", "24", "--out", f"{tmp_path / name}/"]) == 0
    a = sorted((tmp_path / "a").glob("*.png"))
    b = sorted((tmp_path / "b").glob("*.png"))
    assert len(a) == len(b) == 10
    for fa, fb in zip(a, b, strict=True):
        assert np.array_equal(np.asarray(Image.open(fa)), np.asarray(Image.open(fb)))


@pytest.mark.parametrize("bad, message", [
    (["--out", "run.avi"], "record to .mp4, .gif or a folder"),
    (["--out", "x.mp4", "--size", "big"], "size must look like 800x800"),
    (["--out", "x.mp4", "--grid", "moods"], "invalid choice"),
])
def test_bad_record_arguments_are_one_line_errors(qapp, capsys, bad, message):
    assert desktop_main(["record", *QUICK, *bad]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_an_unwritable_output_is_reported(qapp, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert desktop_main(["record", *QUICK, "--out", str(blocker / "run.mp4")]) == 1
    assert "cannot write" in capsys.readouterr().err


@pytest.fixture
def no_sampling(monkeypatch):
    """Fail the test if `record` gets as far as sampling."""
    from poe_desktop.record import command as record_cli

    monkeypatch.setattr(record_cli, "run", lambda *a, **k: pytest.fail("sampling started"))


@pytest.mark.parametrize("option, value, message", [
    ("--hold", "inf", "must be finite"),
    ("--hold", "nan", "must be finite"),
    ("--hold", "1e9", "must lie in [0, 60]"),
    ("--hold", "-1", "must lie in [0, 60]"),
    ("--fps", "0", "must lie in [1, 120]"),
    ("--fps", "-1", "must lie in [1, 120]"),
    ("--fps", "1e12", "must be an integer"),
    ("--fps", "1000", "must lie in [1, 120]"),
    ("--point-size", "nan", "must be finite"),
    ("--point-size", "-5", "must lie in [0.005, 0.15]"),
    ("--point-size", "inf", "must be finite"),
    ("--point-size", "1e9", "must lie in [0.005, 0.15]"),
    ("--size", "10x10", "size must lie between 64 and 4096"),
])
def test_record_options_out_of_range_are_refused_before_sampling(option, value, message, qapp,
                                                                tmp_path, capsys, no_sampling):
    assert desktop_main(["record", *QUICK, option, value, "--out",
                         str(tmp_path / "x.gif")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"poe-desktop record: argument {option}: ") and message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.gif").exists()


@pytest.mark.parametrize("out", ["", "   "])
def test_an_empty_record_path_is_refused(out, qapp, tmp_path, capsys, no_sampling,
                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert desktop_main(["record", *QUICK, "--out", out]) == 2
    assert capsys.readouterr().err.startswith("poe-desktop record: error: --out: empty path")
    assert not list(tmp_path.glob("*.png"))  # nothing written where it ran


def test_an_output_under_a_file_is_refused_before_sampling(qapp, tmp_path, capsys,
                                                          no_sampling):
    blocker = tmp_path / "a"
    blocker.write_text("")
    assert desktop_main(["record", *QUICK, "--out", str(blocker / "b.mp4")]) == 1
    assert capsys.readouterr().err.strip() == (
        f"poe-desktop record: error: --out {blocker / 'b.mp4'}: cannot write there: "
        f"{blocker}/ is a file, not a folder")


def test_frames_into_an_existing_file_are_refused(qapp, tmp_path, capsys, no_sampling):
    blocker = tmp_path / "frames"
    blocker.write_text("")
    assert desktop_main(["record", *QUICK, "--out", f"{blocker}/"]) == 1
    assert "is a file, not a folder" in capsys.readouterr().err


def test_an_mp4_file_is_created_when_the_recording_starts(tmp_path):
    """PyAV opens its file only when the first packet is muxed (many frames later): the
    writer creates it at once, so a path that cannot be written fails at the start."""
    from poe_desktop.record.encoders import BackgroundEncoder, Mp4Writer

    encoder = BackgroundEncoder(tmp_path / "x.mp4", (64, 64), 10)
    assert (tmp_path / "x.mp4").exists()  # before any frame
    encoder.submit(np.zeros((64, 64, 3), np.uint8))
    assert encoder.close() == tmp_path / "x.mp4"
    (tmp_path / "folder.mp4").mkdir()
    with pytest.raises(IsADirectoryError):
        Mp4Writer(tmp_path / "folder.mp4", (64, 64), 10)


@pytest.mark.parametrize("name", ["x.mp4", "x.gif", "frames/"])
def test_an_unwritable_folder_fails_when_the_recording_starts(name, tmp_path, monkeypatch):
    import tempfile

    from poe_desktop.record.encoders import BackgroundEncoder, RecordingError

    def read_only(*args, **kwargs):  # tests may run as root, where permissions do not bite
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(RecordingError, match="cannot write in .*: Permission denied"):
        BackgroundEncoder(f"{tmp_path}/{name}", (64, 64), 10)


@pytest.mark.parametrize("path", ["", "  "])
def test_the_encoder_refuses_an_empty_path(path, tmp_path, monkeypatch):
    from poe_desktop.record.encoders import BackgroundEncoder

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="empty path"):
        BackgroundEncoder(path, (64, 64), 10)
    assert not list(tmp_path.glob("*.png"))  # nothing written where it ran


def test_without_a_display_record_says_how_to_run_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY",
                                                             "QT_QPA_PLATFORM")}
    done = subprocess.run([sys.executable, "-m", "poe_desktop", "record", "--out",
                           str(tmp_path / "x.mp4")], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 2
    assert "xvfb-run -a poe-desktop record" in done.stderr


# ---- the Record button -------------------------------------------------------------------
def small_run(window, steps=12):
    window.findChild(QSpinBox, "stepsSpin").setValue(steps)
    window.findChild(QSpinBox, "particlesSpin").setValue(2)
    window.findChild(QSpinBox, "pointsSpin").setValue(128)


def test_record_button_captures_every_step_of_a_run(qtbot, window, tmp_path):
    small_run(window)
    window.findChild(QLineEdit, "recordPathEdit").setText(str(tmp_path / "app.mp4"))
    window.recording_panel.size.setCurrentText("640x640")
    window.recording_panel.hold.setValue(0.5)
    record = window.findChild(QToolButton, "recordButton")
    qtbot.mouseClick(record, qtbot_left())
    assert window.recorder is not None
    with qtbot.waitSignal(window.runFinished, timeout=120_000):
        qtbot.mouseClick(window.findChild(QToolButton, "runButton"), qtbot_left())
    assert window.recorder is None and window.last_recording == str(tmp_path / "app.mp4")
    frames = decode_mp4(tmp_path / "app.mp4")
    # each of the 12 steps shown for 8 frames (the run lasts 4 s at 24 fps), then a 0.5 s hold
    assert len(frames) == 12 * 8 + 12
    assert frames[0].shape == (640, 640, 3)
    step = [np.abs(frames[0].astype(int) - frames[k]).mean() for k in (7, 8)]
    assert step[0] < 1 < step[1]  # frames 1-8 show step 1, frame 9 step 2


def test_a_failing_disk_stops_the_recording_but_not_the_run(qtbot, window, tmp_path,
                                                            monkeypatch):
    from poe_desktop.record import encoders

    def full_disk(self, rgb):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(encoders.FramesWriter, "write", full_disk)
    small_run(window, steps=16)
    window.findChild(QLineEdit, "recordPathEdit").setText(str(tmp_path / "frames") + "/")
    window.record_action.setChecked(True)
    with qtbot.waitSignal(window.runFinished, timeout=120_000) as blocker:
        qtbot.mouseClick(window.findChild(QToolButton, "runButton"), qtbot_left())
    assert blocker.args == ["completed"] and len(window.frames) == 16
    assert window.recorder is None and not window.record_action.isChecked()
    assert "No space left on device" in window.error_dialog.text()
    window.error_dialog.close()


def test_an_unwritable_recording_path_is_refused_with_a_message(qtbot, window, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    window.findChild(QLineEdit, "recordPathEdit").setText(str(blocker / "x.mp4"))
    window.record_action.setChecked(True)
    assert window.recorder is None and not window.record_action.isChecked()
    assert "cannot write" in window.error_dialog.text()
    window.error_dialog.close()


def test_an_empty_recording_path_is_refused_with_a_message(qtbot, window, tmp_path,
                                                           monkeypatch):
    monkeypatch.chdir(tmp_path)
    window.findChild(QLineEdit, "recordPathEdit").setText("  ")
    window.record_action.setChecked(True)
    assert window.recorder is None and not window.record_action.isChecked()
    assert "empty path" in window.error_dialog.text()
    window.error_dialog.close()
    assert not list(tmp_path.glob("*.png"))  # nothing written where it ran


def qtbot_left():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_app_exports_and_a_replayed_configuration_gives_the_apps_frames(qtbot, window,
                                                                        tmp_path):
    """File > Export...: the trajectory as `poe-engine sample` writes it, the final cloud as
    PLY, the run's configuration (which `poe-desktop record --config` replays into the very
    frames the Record button captured), and a PNG."""
    import json

    from PIL import Image
    from plyfile import PlyData

    small_run(window, steps=10)
    window.findChild(QPushButton, "rewardColor_blue").click()
    window.findChild(QLineEdit, "recordPathEdit").setText(f"{tmp_path / 'app'}/")
    window.recording_panel.size.setCurrentText("640x640")
    window.recording_panel.hold.setValue(0)
    window.record_action.setChecked(True)
    with qtbot.waitSignal(window.runFinished, timeout=120_000):
        qtbot.mouseClick(window.findChild(QToolButton, "runButton"), qtbot_left())

    for name in ("run.npz", "final.ply", "run.json", "shot.png"):
        assert window.export_to(tmp_path / name), name
    with np.load(tmp_path / "run.npz") as run:
        assert run["trajectory"].shape == (10, 128, 6) and run["log_weights"].shape == (10, 2)
        assert np.allclose(run["final"], window.frames[-1].cloud)
        assert json.loads(str(run["meta"]))["reward"] == "blue"
    ply = PlyData.read(str(tmp_path / "final.ply"))
    assert len(ply["vertex"]) == 128
    assert np.allclose(ply["vertex"]["x"], window.frames[-1].cloud[:, 0])
    assert Image.open(tmp_path / "shot.png").size[0] > 500

    assert desktop_main(["record", "--config", str(tmp_path / "run.json"), "--size", "640x640",
                         "--hold", "0", "--out", f"{tmp_path / 'replay'}/"]) == 0
    app_frames = sorted((tmp_path / "app").glob("*.png"))
    replayed = sorted((tmp_path / "replay").glob("*.png"))
    assert len(app_frames) == len(replayed) == 10 * 10  # each step 10 frames: 4 s at 24 fps
    for a, b in zip(app_frames, replayed, strict=True):
        assert np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b))), a.name


def test_exporting_before_any_run_or_to_a_bad_place_says_why(qtbot, window, tmp_path):
    assert not window.export_to(tmp_path / "run.npz")
    assert "Run the sampler first" in window.error_dialog.text()
    window.error_dialog.close()
    assert not window.export_to(tmp_path / "run.obj")
    assert "use .npz, .ply, .json or .png" in window.error_dialog.text()
    window.error_dialog.close()
