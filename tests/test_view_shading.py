"""The 3-D view's shaded points, their rims, axes, view images and display options
(gl_points.py, axes.py, view_image.py, view_menu.py, view3d.py), checked on the pixels
that Mesa really draws."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QImage

from poe_desktop.qt_utils import qimage_to_array
from poe_desktop.view.axes import AXIS_COLORS
from poe_desktop.view.gl_points import (
    AMBIENT,
    LIGHT_DIRECTION,
    SHININESS,
    SPECULAR,
    contrast_ratio,
    fit_contrast,
    luminance_bounds,
    relative_luminance,
    rim_strength,
    rim_tone,
)
from poe_desktop.view.view3d import BACKGROUND_RGB, CENTER, CloudView

pytestmark = pytest.mark.gui

SIDE = 320
BG = np.array(BACKGROUND_RGB)


@pytest.fixture
def view(qtbot):
    """A bare CloudView: no reference lines, no axes, the default camera."""
    v = CloudView()
    qtbot.addWidget(v)
    v.setFixedSize(SIDE, SIDE)
    v.cube.setVisible(False)
    v.sphere.setVisible(False)
    v.set_axes_visible(False)
    with qtbot.waitExposed(v):
        v.show()
    return v


def one_point(view, rgb, xyz=CENTER, size=None, world=False, shading=True, fog=False):
    view.set_world_size(world)
    view.set_shading(shading)
    view.set_fog(fog)
    if size is not None:
        view.set_point_size(size)
    view.show_cloud(np.array([[*xyz, *rgb]], dtype=np.float32))
    return view.view_pixels()[..., :3].astype(float)


def drawn_mask(rgb: np.ndarray) -> np.ndarray:
    return np.abs(rgb - BG).sum(axis=-1) > 6


def ring_means(rgb: np.ndarray, mask: np.ndarray) -> tuple[float, float, float]:
    """Mean brightness of the disc's middle (r < 0.25 R) and rim (0.75 R..0.95 R), and
    the disc's radius R in pixels."""
    ys, xs = np.nonzero(mask)
    cy, cx = ys.mean(), xs.mean()
    radius = np.sqrt(mask.sum() / np.pi)
    yy, xx = np.indices(mask.shape)
    r = np.hypot(yy - cy, xx - cx) / radius
    brightness = rgb.sum(axis=-1)
    middle = brightness[mask & (r < 0.25)].mean()
    rim = brightness[mask & (r > 0.75) & (r < 0.95)].mean()
    return middle, rim, radius


def test_a_shaded_point_is_a_lit_sphere_and_an_unshaded_one_a_flat_disc(view) -> None:
    rgb = one_point(view, (0.6, 0.6, 0.6), size=30, shading=True)  # 30 px across
    mask = drawn_mask(rgb)
    middle, rim, radius = ring_means(rgb, mask)
    assert 13 <= radius <= 17, radius
    assert middle > 1.4 * rim, (middle, rim)

    rgb = one_point(view, (0.6, 0.6, 0.6), size=30, shading=False)
    mask = drawn_mask(rgb)
    pixels = rgb[mask]
    assert np.abs(pixels - pixels[0]).max() <= 1, "a flat disc has one colour"
    assert np.allclose(pixels[0], 0.6 * 255, atol=2)


def test_overlapping_spheres_cut_into_each_other_by_depth(view) -> None:
    """Two big spheres side by side at the same depth, overlapping: where they overlap,
    each one's surface is nearer on its own side of the middle, whichever is drawn last
    (flat sprites at one depth would let the first drawn cover the whole overlap)."""
    view.setCameraPosition(distance=1.0, elevation=90, azimuth=-90)  # x is screen right
    view.set_world_size(True)
    view.set_fog(False)
    view.set_point_size(30)  # 0.15 units: 42 px across, centres 14 px either side
    cloud = np.array([[0.45, 0.5, 0.5, 1, 0, 0], [0.55, 0.5, 0.5, 0, 0, 1]], np.float32)
    for order in (cloud, cloud[::-1]):
        view.show_cloud(order)
        row = view.view_pixels()[SIDE // 2, :, :3].astype(int)
        left, right = row[SIDE // 2 - 4], row[SIDE // 2 + 4]  # both inside the overlap
        assert left[0] > 2 * left[2], f"left of the middle not red: {left}"
        assert right[2] > 2 * right[0], f"right of the middle not blue: {right}"


def test_world_size_shrinks_with_distance_and_pixel_size_does_not(view) -> None:
    def diameter(world: bool, distance: float) -> float:
        view.setCameraPosition(distance=distance)
        rgb = one_point(view, (0.9, 0.9, 0.9), size=30, world=world, shading=False)
        return 2 * np.sqrt(drawn_mask(rgb).sum() / np.pi)

    near, far = diameter(True, 2.6), diameter(True, 5.2)
    assert 1.7 < near / far < 2.3, (near, far)
    # world size 30 * 0.005 = 0.15 units; the view is 2 * 2.6 * tan(30 deg) units wide
    assert near == pytest.approx(0.15 * SIDE / (2 * 2.6 * np.tan(np.pi / 6)), rel=0.15)
    assert diameter(False, 2.6) == pytest.approx(diameter(False, 5.2), abs=1.0)
    assert diameter(False, 2.6) == pytest.approx(30, abs=2.0)


def test_fog_darkens_far_points_and_leaves_near_ones(view) -> None:
    view.setCameraPosition(elevation=90, azimuth=-90)  # looking down z: depth is z
    cloud = np.array([[0.5, 0.35, 0.95, 0.9, 0.8, 0.2],   # near (top), screen lower
                      [0.5, 0.65, 0.05, 0.9, 0.8, 0.2]],  # far (bottom), screen upper
                     np.float32)
    view.set_point_size(20)
    view.set_world_size(False)
    view.set_shading(False)

    def brightness(fog: bool) -> tuple[float, float]:
        view.set_fog(fog)
        view.show_cloud(cloud)
        rgb = view.view_pixels()[..., :3].astype(float)
        mask = drawn_mask(rgb)
        lower, upper = mask.copy(), mask.copy()
        lower[: SIDE // 2] = False
        upper[SIDE // 2:] = False
        return rgb[lower].sum(-1).mean(), rgb[upper].sum(-1).mean()

    near_clear, far_clear = brightness(False)
    near_fog, far_fog = brightness(True)
    assert far_fog < 0.6 * far_clear, (far_fog, far_clear)
    assert near_fog > 0.95 * near_clear, (near_fog, near_clear)


def contrast_of(pixels: np.ndarray) -> np.ndarray:
    return contrast_ratio(pixels / 255.0, BG / 255.0)


def lit(rgb, xy: np.ndarray) -> np.ndarray:
    """What the shader makes of colour `rgb` at sprite coordinates `xy` (y up, |xy| < 1):
    the headlight's ambient, diffuse and specular terms, in [0, 1]."""
    normal = np.array([*xy, np.sqrt(1.0 - xy @ xy)])
    halfway = LIGHT_DIRECTION + [0.0, 0.0, 1.0]
    halfway /= np.linalg.norm(halfway)
    shade = AMBIENT + (1.0 - AMBIENT) * max(normal @ LIGHT_DIRECTION, 0.0)
    return np.clip(np.asarray(rgb) * shade + SPECULAR * max(normal @ halfway, 0.0) ** SHININESS,
                   0.0, 1.0)


def disc_geometry(mask: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """The disc's centre (x, y in pixels), its radius, and every pixel's distance from the
    centre over the radius."""
    ys, xs = np.nonzero(mask)
    centre = np.array([xs.mean() + 0.5, ys.mean() + 0.5])
    radius = np.sqrt(mask.sum() / np.pi)
    yy, xx = np.indices(mask.shape)
    return centre, radius, np.hypot(xx + 0.5 - centre[0], yy + 0.5 - centre[1]) / radius


VIRIDIS_DARK_END = (0.267, 0.005, 0.329)


@pytest.mark.parametrize("rgb", [(0.0, 0.0, 0.0), (0.0, 0.0, 1.0), VIRIDIS_DARK_END],
                         ids=["black", "blue", "viridis-dark-end"])
def test_dark_colours_keep_their_colour_and_get_a_rim_on_dark(view, rgb) -> None:
    """Black, pure blue and viridis's dark end have little contrast with the dark
    background: the view keeps them readable by a light rim at each point's edge, never
    by changing their colour (they used to be lifted to grey, lavender and magenta)."""
    assert contrast_ratio(np.array(rgb), BG / 255.0) < 2.2  # the problem being solved
    shaded = one_point(view, rgb, size=40, shading=True)
    mask = drawn_mask(shaded)
    centre, radius, r = disc_geometry(mask)
    col, row = np.floor(centre).astype(int)
    xy = np.array([col + 0.5 - centre[0], centre[1] - row - 0.5]) / radius
    expected = 255 * lit(rgb, xy)
    assert np.abs(shaded[row, col] - expected).max() <= 4, (shaded[row, col], expected)
    if rgb == (0.0, 0.0, 1.0):  # the hue stays: blue, with red and green equal and low
        assert shaded[row, col, 2] > 200 and shaded[row, col, 0] < 40
        assert abs(shaded[row, col, 0] - shaded[row, col, 1]) <= 1
    edge = shaded[mask & (r > 0.94)]
    limb = shaded[mask & (r > 0.8) & (r < 0.85)]  # just inside the rim: shaded, darker
    assert edge.sum(-1).mean() > limb.sum(-1).mean() + 60, "a light rim around the limb"
    if rgb == (0.0, 0.0, 0.0):
        assert np.median(contrast_of(edge)) >= 3.0

    flat = one_point(view, rgb, size=40, shading=False)
    mask = drawn_mask(flat)
    _, radius, r = disc_geometry(mask)
    assert 17 <= radius <= 23, radius
    inner = flat[mask & (r < 0.7)]
    assert len(inner) > 500 and np.abs(inner - np.array(rgb) * 255).max() <= 1, \
        "inside its rim a flat disc is its data colour"
    rim = flat[mask & (r > 0.94)]
    assert np.median(contrast_of(rim)) >= 3.0, "the rim keeps 3:1 with the background"


def test_a_view_image_at_2x_keeps_the_colour_and_scales_the_rim(view) -> None:
    one_point(view, (0.0, 0.0, 0.0), size=40, shading=False)
    rgb = qimage_to_array(view.render_image(2))
    mask = np.abs(rgb.astype(float) - BG).sum(axis=-1) > 6
    _, radius, r = disc_geometry(mask)
    assert 36 <= radius <= 44, radius
    assert (rgb[mask & (r < 0.85)] == 0).all(), "the disc is black inside its rim"
    rim = mask & (r > 0.85)
    assert 2 * np.pi * radius * 2 <= rim.sum(), "a rim about 3 pixels wide at 2x"


def test_colours_with_enough_contrast_are_drawn_as_they_are(view) -> None:
    flat = one_point(view, (1.0, 0.0, 0.0), size=20, shading=False)
    pixels = flat[drawn_mask(flat)]
    assert np.abs(pixels - [255, 0, 0]).max() <= 1


LIGHT = np.array([236, 236, 240])  # the light theme's view background


def test_contrast_range_maths() -> None:
    assert contrast_ratio(np.ones(3), np.zeros(3)) == pytest.approx(21.0)
    dark, light = BG / 255, LIGHT / 255
    floor, top = luminance_bounds(dark, 3.0)
    assert top == 1.0
    assert (floor + 0.05) / (relative_luminance(dark) + 0.05) == pytest.approx(3.0)
    low, ceiling = luminance_bounds(light, 3.0)
    assert low == 0.0
    assert (relative_luminance(light) + 0.05) / (ceiling + 0.05) == pytest.approx(3.0)
    for rgb in [(0, 0, 1), (0, 0, 0), (1, 1, 0), (1, 1, 1), (0.2, 0.8, 0.3)]:
        for background in (dark, light):
            fitted = fit_contrast(np.array(rgb, float), background, 3.0)
            assert contrast_ratio(fitted, background) >= 3.0 - 1e-6, (rgb, background)
    assert np.allclose(fit_contrast(np.array([1.0, 0.0, 0.0]), dark, 3.0), [1, 0, 0])
    yellow = fit_contrast(np.array([1.0, 1.0, 0.0]), light, 3.0)  # darkened, still yellow
    assert yellow[0] == pytest.approx(yellow[1]) and yellow[2] == 0 and yellow[0] < 0.7
    # the points' rim: light on dark, dark on light, full for the background's own colour
    # and none from the contrast ratio up
    assert rim_tone(dark)[0] > 0.7 and rim_tone(light)[0] < 0.3
    assert contrast_ratio(np.array(rim_tone(dark)), dark) >= 3.0
    assert contrast_ratio(np.array(rim_tone(light)), light) >= 3.0
    assert rim_strength(dark, dark) == pytest.approx(1.0)
    assert rim_strength(np.ones(3), light) > 0.8 and rim_strength(np.zeros(3), dark) > 0.8
    assert 0.2 < rim_strength(np.array([0.0, 0.0, 1.0]), dark) < 0.6
    assert rim_strength(np.array([1.0, 0.0, 0.0]), dark) == 0.0
    assert rim_strength(np.zeros(3), light) == 0.0


@pytest.mark.parametrize("rgb", [(1.0, 1.0, 1.0), (1.0, 1.0, 0.0)], ids=["white", "yellow"])
def test_on_a_light_background_light_colours_keep_their_colour_with_a_dark_rim(
        view, rgb) -> None:
    view.setBackgroundColor(tuple(LIGHT))
    flat = one_point(view, rgb, size=40, shading=False)
    mask = np.abs(flat - LIGHT).sum(axis=-1) > 6
    _, radius, r = disc_geometry(mask)
    assert mask.sum() > 900
    inner = flat[mask & (r < 0.7)]
    assert np.abs(inner - np.array(rgb) * 255).max() <= 1, "inside its rim, its own colour"
    rim = flat[mask & (r > 0.94)]
    assert np.median(contrast_ratio(rim / 255, LIGHT / 255)) >= 3.0
    shaded = one_point(view, rgb, size=40, shading=True)
    mask = np.abs(shaded - LIGHT).sum(axis=-1) > 6
    centre, radius, r = disc_geometry(mask)
    col, row = np.floor(centre).astype(int)
    xy = np.array([col + 0.5 - centre[0], centre[1] - row - 0.5]) / radius
    assert np.abs(shaded[row, col] - 255 * lit(rgb, xy)).max() <= 4
    assert np.median(contrast_ratio(shaded[mask & (r > 0.94)] / 255, LIGHT / 255)) >= 3.0


def axis_pixels(rgb: np.ndarray, name: str, tolerance: int = 40) -> np.ndarray:
    return np.abs(rgb - np.array(AXIS_COLORS[name])).max(axis=-1) <= tolerance


def test_the_axes_gizmo_shows_in_the_corner_and_turns_with_the_camera(view) -> None:
    corner = (slice(SIDE - 110, SIDE), slice(0, 110))  # bottom left
    rgb = view.view_pixels()[..., :3].astype(int)
    assert not any(axis_pixels(rgb[corner], n).any() for n in "xyz")
    view.set_axes_visible(True)
    rgb = view.view_pixels()[..., :3].astype(int)
    for name in "xyz":
        assert axis_pixels(rgb[corner], name).sum() >= 15, f"no {name} arrow"
    x_before = np.argwhere(axis_pixels(rgb[corner], "x")).mean(axis=0)
    view.orbit(90, 0)
    rgb = view.view_pixels()[..., :3].astype(int)
    x_after = np.argwhere(axis_pixels(rgb[corner], "x")).mean(axis=0)
    assert np.hypot(*(x_after - x_before)) > 5, (x_before, x_after)


def test_on_a_light_background_the_axes_are_drawn_darker_to_stay_readable(view) -> None:
    view.setBackgroundColor(tuple(LIGHT))
    view.set_axes_visible(True)
    rgb = view.view_pixels()[..., :3].astype(int)
    corner = rgb[SIDE - 110:, :110]
    for name in "xyz":
        color = np.array(view.axes.colors[name].getRgb()[:3])
        assert contrast_ratio(color / 255, LIGHT / 255) >= 4.5 - 1e-3, name
        assert (np.abs(corner - color).max(axis=-1) <= 40).sum() >= 15, f"no {name} arrow"


def test_the_cube_edges_carry_the_axis_names(view) -> None:
    view.set_axes_visible(True)
    outside_gizmo = np.ones((SIDE, SIDE), bool)
    outside_gizmo[SIDE - 110:, :110] = False

    def named() -> list[int]:
        rgb = view.view_pixels()[..., :3].astype(int)
        return [int((axis_pixels(rgb, n) & outside_gizmo).sum()) for n in "xyz"]

    assert named() == [0, 0, 0]  # the cube is hidden: no labels either
    view.cube.setVisible(True)
    assert min(named()) >= 5, named()


def test_save_image_at_2x_has_twice_the_pixels_and_transparency_is_alpha_0(
        view, tmp_path) -> None:
    one_point(view, (1.0, 0.0, 0.0), size=20, shading=False)
    assert view.save_image(tmp_path / "a.png", scale=2), view.last_save_error
    image = QImage(str(tmp_path / "a.png"))
    assert (image.width(), image.height()) == (2 * view.deviceWidth(), 2 * view.deviceHeight())
    rgba = qimage_to_array(image, alpha=True)
    assert (rgba[5, 5, :3] == BG).all() and rgba[5, 5, 3] == 255
    middle = rgba[SIDE - 4:SIDE + 4, SIDE - 4:SIDE + 4]
    assert (middle[..., 0] > 200).all() and (middle[..., 3] == 255).all()
    # pixel sizes scale with the image: the 20 px point is 40 px across at 2x
    red = (rgba[..., 0] > 100) & (rgba[..., 1] < 80)
    assert 2 * np.sqrt(red.sum() / np.pi) == pytest.approx(40, abs=3)

    assert view.save_image(tmp_path / "t.png", scale=1, transparent=True)
    rgba = qimage_to_array(QImage(str(tmp_path / "t.png")), alpha=True)
    assert rgba.shape[:2] == (view.deviceHeight(), view.deviceWidth())
    assert (rgba[:20, :20, 3] == 0).all()
    assert (rgba[SIDE // 2 - 3:SIDE // 2 + 3, SIDE // 2 - 3:SIDE // 2 + 3, 3] == 255).all()
    assert view.opts["bgcolor"][3] == 1.0  # the view itself keeps its background
    assert view.render_scale == 1.0
    assert view.cube.gl_options == "additive"  # the reference lines' blending is restored
    view.cube.setGLOptions("translucent")  # as the light theme sets it
    assert view.save_image(tmp_path / "t.png", scale=1, transparent=True)
    assert view.cube.gl_options == "translucent"


def test_save_image_reports_bad_requests_and_never_raises(view, tmp_path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for path, scale in [(blocker / "x.png", 2), (tmp_path / "x.png", 3),
                        (tmp_path / "x.png", True), (tmp_path / "x.png", np.ones(2)),
                        (tmp_path / "x.jpg", 1), (None, 1)]:
        assert not view.save_image(path, scale=scale)
        assert view.last_save_error, (path, scale)
    assert not (tmp_path / "x.png").exists()


def test_view_state_round_trips_and_rejects_garbage(qtbot, view) -> None:
    view.set_shading(False)
    view.set_fog(False)
    view.set_point_size(11.5)
    view.image_options.update(scale=4, transparent=True)
    saved = view.state()
    other = CloudView()
    qtbot.addWidget(other)
    assert other.state() != saved
    assert other.apply_state(saved) == []
    assert other.state() == saved
    assert other.scatter.shading is False and other.scatter.pxMode is False
    assert other.scatter.size == pytest.approx(11.5 * 0.005)  # cube units

    garbage = {"shading": "yes", "fog": None, "axes": [True],
               "pointSize": float("nan"), "imageScale": np.array([2, 4]),
               "imageTransparent": "no", "unknown": 1}
    assert sorted(other.apply_state(garbage)) == sorted(garbage)
    assert other.state() == saved
    assert other.apply_state({"pointSize": 1e9}) == ["pointSize"]
    assert other.apply_state({"pointSize": True, "imageScale": 3}) == ["pointSize", "imageScale"]
    assert other.apply_state(["not", "a", "dict"]) == ["state"]
    assert other.apply_state({}) == [] and other.state() == saved


def test_view_menu_toggles_follow_the_view_both_ways(window) -> None:
    view = window.view3d
    for attribute, name in [("shading_action", "shadingAction"),
                            ("fog_action", "fogAction"), ("axes_action", "axesAction"),
                            ("save_view_image_action", "saveViewImageAction")]:
        action = getattr(window, attribute)
        assert action.objectName() == name and action.toolTip()
    window.shading_action.setChecked(False)
    assert view.shading is False
    window.fog_action.setChecked(False)
    assert view.fog is False
    # an older settings file's worldSize is let be: a Look's points are in cube units
    view.apply_state({"shading": True, "axes": False, "worldSize": False, "pointSize": 9.5})
    assert window.shading_action.isChecked() and not window.axes_action.isChecked()
    assert view.scatter.pxMode is False
    assert window.toolbar.point_size.value() == 9.5
    window.toolbar.point_size.setValue(4.0)
    assert view.state()["pointSize"] == 4.0


def test_save_view_image_from_the_menu_writes_or_reports(window, tmp_path,
                                                          monkeypatch) -> None:
    from PySide6.QtWidgets import QDialog

    from poe_desktop.view import view_image

    chosen = {}

    def accept(dialog):
        dialog.path.setText(chosen["path"])
        dialog.scale.setCurrentIndex(dialog.scale.findData(1))
        dialog.transparent.setChecked(True)
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(view_image.SaveImageDialog, "exec", accept)
    chosen["path"] = str(tmp_path / "view.png")
    window.save_view_image_action.trigger()
    assert QImage(chosen["path"]).width() == window.view3d.deviceWidth()
    assert window.view3d.state()["imageScale"] == 1
    assert window.view3d.state()["imageTransparent"] is True

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    chosen["path"] = str(blocker / "view.png")
    window.save_view_image_action.trigger()
    assert window.last_error.startswith("Cannot save the view image")
    assert window.isVisible()


def test_the_experts_panel_marks_each_axis_in_its_colour(window) -> None:
    from PySide6.QtWidgets import QCheckBox

    for name, rgb in AXIS_COLORS.items():
        box = window.findChild(QCheckBox, f"expertToggle_{name}")
        image = box.icon().pixmap(12, 12).toImage()
        assert image.pixelColor(6, 6).getRgb()[:3] == rgb


def test_a_window_screenshot_keeps_the_axes(window) -> None:
    """The overlay is painted into the view's framebuffer, so grabbing the window (which
    redirects a QPainter opened on the widget itself) still shows it."""
    from PySide6.QtCore import QPoint

    view = window.view3d
    image = qimage_to_array(window.grab_image())
    dpr = window.devicePixelRatioF()
    origin = view.mapTo(window, QPoint(0, view.height()))
    x0, y1 = round(origin.x() * dpr), round(origin.y() * dpr)
    corner = image[y1 - round(110 * dpr):y1, x0:x0 + round(110 * dpr)].astype(int)
    for name in "xyz":
        assert axis_pixels(corner, name).sum() >= 15, f"no {name} arrow in the screenshot"


def test_save_view_image_sits_after_save_screenshot(window) -> None:
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    texts = [a.text() for a in file_menu.actions()]
    assert texts[texts.index("Save screenshot…") + 1] == "Save view image…"
