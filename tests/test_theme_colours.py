"""What paints its own colours follows the theme (issue 19, section 3): the colour bar over
the view, the Population panel and its tiles, and the statistics' series."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QColor, QImage

from poe_desktop.model.population import render_cloud
from poe_desktop.panels import PopulationPanel
from poe_desktop.qt_utils import qimage_to_array
from poe_desktop.view.gl_points import contrast_ratio, relative_luminance
from poe_desktop.window.theme import THEMES

pytestmark = pytest.mark.gui


def rgb_of(color) -> np.ndarray:
    return np.array(pg.mkColor(color).getRgbF()[:3])


def test_render_cloud_draws_on_the_background_it_is_given() -> None:
    cloud = np.zeros((8, 6))
    cloud[:, :3], cloud[:, 3:] = 0.5, (0.0, 0.0, 1.0)  # blue, at the centre
    light = (236, 236, 240)
    image = render_cloud(cloud, 40, background=light)
    assert (image[0, 0] == light).all() and (image[-1, -1] == light).all()
    drawn = image[np.abs(image.astype(int) - light).sum(-1) > 6]
    assert len(drawn) >= 4
    # a point fades toward the background with depth, never toward black on light
    assert (drawn[:, 2] >= 236).all() and (drawn[:, 0] == drawn[:, 1]).all()
    assert (render_cloud(cloud, 40)[0, 0] == (22, 22, 27)).all()  # the dark default


def test_a_tile_outlines_a_point_near_the_background_and_keeps_its_colour() -> None:
    dark = (20, 20, 24)
    point = np.array([[0.5, 0.5, 1.0, 0.0, 0.0, 0.0]])  # black, near the camera
    plain = render_cloud(point, 40, background=dark)
    assert (plain != dark).any(-1).sum() == 4 and (plain <= 6).all(-1).sum() == 4
    image = render_cloud(point, 40, background=dark, outline=[1.0], outline_rgb=(200,) * 3)
    black = (image <= 6).all(-1)  # black, up to the depth cue's fade
    ring = (image >= 150).all(-1)
    assert black.sum() == 4 and ring.sum() == 12, "its 2x2 pixels, and a ring around them"
    ys, xs = np.nonzero(black)
    assert ring[ys.min() - 1, xs.min() - 1] and ring[ys.max() + 1, xs.max() + 1]


def test_the_population_panel_and_its_tiles_follow_set_theme(qtbot) -> None:
    panel = PopulationPanel()
    qtbot.addWidget(panel)
    panel.resize(300, 240)
    with qtbot.waitExposed(panel):
        panel.show()
    cloud = np.zeros((16, 6), dtype=np.float32)
    cloud[:, :3], cloud[:, 3] = 0.5, 1.0
    frame = SimpleNamespace(index=0, particles=np.stack([cloud] * 4),
                            log_weights=np.zeros(4))
    panel.show_frame(frame)
    qtbot.waitUntil(lambda: panel.drawn is frame, timeout=2000)
    light = THEMES["light"]
    renders = panel.renders
    panel.set_theme(light.base, light.text, light.view_background)
    assert panel.renders == renders + 1, "the tiles are drawn again on the new background"
    tile = qimage_to_array(panel.tiles[0])
    assert (tile[0, 0] == light.view_background).all()
    image = qimage_to_array(panel.grab().toImage())
    assert (image[-2, -2] == [255, 255, 255]).all()  # the panel: light.base


def bar_pixels(bar, under) -> np.ndarray:
    """The colour bar painted over a view of colour `under`."""
    image = QImage(bar.size() * bar.devicePixelRatioF(), QImage.Format.Format_RGB32)
    image.setDevicePixelRatio(bar.devicePixelRatioF())
    image.fill(QColor(*under))
    bar.render(image)
    return qimage_to_array(image)


def test_the_light_theme_reaches_the_colour_bar_the_population_and_the_series(window):
    bar, population = window.display.colour_bar, window.population_panel
    stats = window.stats_panel
    for name in ("light", "dark"):
        theme = THEMES[name]
        window.theme_actions[name].trigger()
        pixels = bar_pixels(bar, theme.view_background)
        h, w = pixels.shape[:2]
        box = pixels[h // 2, w - 8].astype(float)  # right of the map, between the labels
        text = np.array(bar.text.getRgb()[:3])
        assert bar.text == QColor(theme.text)
        assert contrast_ratio(text / 255, box / 255) >= 4.5, (name, text, box)
        assert population.background == QColor(theme.base)
        assert population.foreground == QColor(theme.text)
        assert population.tile_background.getRgb()[:3] == theme.view_background
        background = rgb_of(theme.plot_background)
        if name == "light":
            assert relative_luminance(box / 255) > 0.6, "a light box over a light view"
            # pale series (chosen for dark) are drawn darker, at their hue, to read on light
            for item in (stats.ess_curve, stats.off_curve, stats.threshold_line):
                pen = item.opts["pen"] if hasattr(item, "opts") else item.pen
                assert contrast_ratio(rgb_of(pen.color()), background) >= 3.0 - 1e-3
            brush = stats.weight_bars.opts["brush"]
            assert contrast_ratio(rgb_of(brush), background) >= 3.0 - 1e-3
            legend = stats.ess_plot.legend_row.pens[0].color()  # the ESS sample
            assert contrast_ratio(rgb_of(legend), background) >= 3.0 - 1e-3
            stats.mark_change(2, "a steering change")  # drawn after the theme: follows it
            mark = stats.ess_plot.mark_lines[-1].pen.color()
            assert contrast_ratio(rgb_of(mark), background) >= 3.0 - 1e-3
        else:  # back to the colours they were made with
            assert relative_luminance(box / 255) < 0.05
            assert stats.ess_curve.opts["pen"].color().name() == "#7fc8ff"
            assert pg.mkColor(stats.weight_bars.opts["brush"]).name() == "#9be08a"
