"""One look from screen to file: a Look (model/look.py) decides how a cloud is drawn, and
the window, its view images, the Record button and `poe-desktop record` all draw it
through view/draw.py, so they agree to the pixel."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from poe_desktop.app import main as desktop_main
from poe_desktop.model.look import DEFAULT_LOOK, Look, look_from_dict, read_look, write_look
from poe_engine.errors import InputError

NON_DEFAULT = {"format": "poe-look/1", "colour_by": "radial", "theme": "light",
               "point_size": 0.04, "cloud": "x0", "shading": True,
               "guides": {"sphere": False, "ring": True},
               "camera": {"azimuth": 70.0, "elevation": 25.0}}


# --------------------------------------------------------------------------- the value


def test_every_key_is_optional_and_takes_the_default():
    assert look_from_dict({}) == DEFAULT_LOOK
    look = look_from_dict({"theme": "light"})
    assert look.theme == "light" and look.replace(theme="dark") == DEFAULT_LOOK


def test_a_look_goes_to_json_and_back():
    look = look_from_dict(NON_DEFAULT)
    assert look.colour_by == "radial" and look.cloud == "x0" and look.point_size == 0.04
    assert look.guides.sphere is False and look.guides.ring is True and look.guides.box
    assert look.camera_dict["azimuth"] == 70.0 and look.camera_dict["distance"] == 2.6
    again = look_from_dict(json.loads(json.dumps(look.to_dict())))
    assert again == look


@pytest.mark.parametrize("values, named", [
    ({"colour": "own"}, "'colour'"),
    ({"colour_by": "rainbow"}, "colour_by"),
    ({"theme": "sepia"}, "theme"),
    ({"point_size": 5}, "point_size"),
    ({"point_size": float("nan")}, "point_size"),
    ({"shading": "yes"}, "shading"),
    ({"cloud": "x1"}, "cloud"),
    ({"guides": {"grid": True}}, "'grid'"),
    ({"guides": {"box": 1}}, "guides.box"),
    ({"camera": {"distance": -1}}, "camera.distance"),
    ({"camera": {"center": [0, 0]}}, "camera.center"),
    ({"camera": {"zoom": 2}}, "'zoom'"),
    ({"format": "poe-look/9"}, "format"),
])
def test_an_unknown_key_or_a_bad_value_is_an_error_naming_it(values, named):
    with pytest.raises(InputError, match=named.replace("(", r"\(")):
        look_from_dict(values, "my.json")


def test_look_files_are_read_and_written(tmp_path):
    path = write_look(look_from_dict(NON_DEFAULT), tmp_path / "look.json")
    assert json.loads(path.read_text())["format"] == "poe-look/1"
    assert read_look(path) == look_from_dict(NON_DEFAULT)
    with pytest.raises(InputError, match="cannot read the look"):
        read_look(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError, match="bad.json is not a look file"):
        read_look(tmp_path / "bad.json")


# --------------------------------------------------------------------------- drawing


def _foreground(image: np.ndarray, background) -> np.ndarray:
    return np.abs(image[..., :3].astype(int) - np.array(background)).sum(axis=-1) > 60


@pytest.mark.gui
def test_points_are_sized_in_cube_units_so_a_2x_image_has_2x_points(qtbot):
    from poe_desktop.qt_utils import qimage_to_array
    from poe_desktop.record.recorder import OffscreenView

    cloud = np.array([[0.5, 0.5, 0.5, 1.0, 0.9, 0.2]], np.float32)
    look = Look(point_size=0.1, guides=DEFAULT_LOOK.guides.__class__(
        sphere=False, box=False, gizmo=False))
    widths = []
    for side in (120, 240):
        view = OffscreenView((side, side))
        image = qimage_to_array(view.draw(look, cloud))
        columns = np.flatnonzero(_foreground(image, look.view_theme.background).any(axis=0))
        widths.append(columns[-1] - columns[0] + 1)
        view.close()
    assert widths[0] >= 4
    assert widths[1] == pytest.approx(2 * widths[0], abs=2)


@pytest.mark.gui
def test_the_window_s_controls_are_its_look_and_a_look_sets_them(window, tmp_path):
    from poe_desktop.window.looks import current_look, load_look, save_look, show_look

    assert current_look(window).replace(camera=DEFAULT_LOOK.camera_dict) == DEFAULT_LOOK
    show_look(window, look_from_dict(NON_DEFAULT))
    assert window.theme == "light" and window.view_toolbar.colour_by.currentData() == "radial"
    assert window.denoised_action.isChecked() and not window.sphere_action.isChecked()
    assert window.ring_action.isChecked() and window.view3d.ring.visible()
    assert window.view3d.point_size * 0.005 == pytest.approx(0.04)
    look = current_look(window)
    assert look == look_from_dict(NON_DEFAULT).replace(camera=look.camera_dict)
    assert look.camera_dict["azimuth"] == pytest.approx(70.0)
    assert save_look(window, tmp_path / "mine.json")
    show_look(window, DEFAULT_LOOK)
    assert load_look(window, tmp_path / "mine.json") and current_look(window) == look
    assert not load_look(window, tmp_path / "none.json")
    assert "Cannot load the look" in window.last_error


@pytest.mark.gui
def test_the_look_is_kept_across_launches(qtbot):
    from poe_desktop import MainWindow
    from poe_desktop.window.looks import current_look, show_look

    first = MainWindow()
    qtbot.addWidget(first)
    show_look(first, look_from_dict(NON_DEFAULT))
    kept = current_look(first)
    first.close()
    second = MainWindow()
    qtbot.addWidget(second)
    assert current_look(second) == kept
    second.close()


def _config(tmp_path) -> str:
    from poe_engine.cli import main as engine_main

    path = tmp_path / "run.json"
    assert engine_main(["sample", "--steps", "6", "--points", "256", "--seed", "4",
                        "--reward", "blue", "--precision", "fp32", "--save-config",
                        str(path)]) == 0
    return str(path)


@pytest.mark.gui
def test_a_recording_s_last_frame_is_the_view_image_in_a_non_default_look(qtbot, tmp_path):
    """Colour by radial error, the light theme, x0_hat, another camera: the recording (no
    overlay) and the view image at the same size agree to the pixel (the bar is 3/255)."""
    config = _config(tmp_path)
    look = write_look(look_from_dict(NON_DEFAULT), tmp_path / "look.json")
    frames = tmp_path / "frames"
    assert desktop_main(["record", "--config", config, "--look", str(look), "--size",
                         "300x220", "--no-overlay", "--hold", "0", "--out",
                         f"{frames}/"]) == 0
    image = tmp_path / "view.png"
    assert desktop_main(["--config", config, "--look", str(look), "--autorun",
                         "--view-image", str(image), "--size", "300x220"]) == 0
    last = np.asarray(Image.open(sorted(frames.glob("*.png"))[-1]).convert("RGB"), float)
    view = np.asarray(Image.open(image).convert("RGB"), float)
    assert last.shape == view.shape == (220, 300, 3)
    assert np.abs(last - view).mean(axis=(0, 1)).max() <= 3.0
    light = look_from_dict(NON_DEFAULT).view_theme.background
    assert tuple(view[2, 2].astype(int)) == light  # the light theme, not the default dark
    assert not _foreground(view.astype(np.uint8), light).all()


@pytest.mark.gui
def test_recordings_have_the_size_asked_and_an_odd_mp4_says_it_is_padded(qtbot, tmp_path,
                                                                         capsys):
    import av

    config = _config(tmp_path)
    assert desktop_main(["record", "--config", config, "--size", "201x199", "--hold", "0",
                         "--out", str(tmp_path / "odd.gif")]) == 0
    assert Image.open(tmp_path / "odd.gif").size == (201, 199)
    capsys.readouterr()
    assert desktop_main(["record", "--config", config, "--size", "201x199", "--hold", "0",
                         "--out", str(tmp_path / "odd.mp4")]) == 0
    assert "201x199 is padded to 202x200" in capsys.readouterr().err
    with av.open(str(tmp_path / "odd.mp4")) as video:
        stream = video.streams.video[0]
        assert (stream.width, stream.height) == (202, 200)


@pytest.mark.gui
def test_the_overlay_leaves_the_axes_gizmo_alone_and_follows_the_theme(qtbot):
    from PySide6.QtGui import QImage

    from poe_desktop.qt_utils import qimage_to_array
    from poe_desktop.record.recorder import burn_text

    for theme in ("dark", "light"):
        look = Look(theme=theme)
        image = QImage(400, 400, QImage.Format.Format_RGB32)
        image.fill(0xFF808080)
        before = qimage_to_array(image).copy()
        after = qimage_to_array(burn_text(image, ["step 1/2   t = 0.500", "experts: x × y",
                                                  "reward: red   ESS 8.0/8"],
                                          theme=look.view_theme))
        changed = np.argwhere((after != before).any(axis=-1))
        assert len(changed) > 0
        gizmo = (slice(400 - 120, 400), slice(0, 120))  # the axes' bottom-left corner
        assert (after[gizmo] == before[gizmo]).all()
        text = np.array(look.view_theme.text_rgb)
        assert (np.abs(after.reshape(-1, 3).astype(int) - text).sum(axis=-1) < 40).any()
