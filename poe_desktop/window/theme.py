"""One theme for the whole window: the widgets' palette, every plot's background and
foreground, the 3-D view's background, its colour bar and the Population panel's tiles.
Dark by default (a point cloud reads best on dark), light as an option (View › Theme).

Plots are found under the window with `findChildren`, so plots that a panel adds later
take the theme when it is applied again (`apply_theme`)."""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtGui import QAction, QActionGroup, QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from ..panels.population import PopulationPanel
from ..view.colour_bar import ColourBar

DEFAULT_THEME = "dark"


@dataclass(frozen=True)
class Theme:
    window: str  # panels and bars
    base: str  # text fields, lists
    text: str
    button: str
    highlight: str
    plot_background: str
    plot_foreground: str
    view_background: tuple[int, int, int]
    legend_brush: tuple[int, int, int, int]
    reference_rgba: tuple[float, float, float, float]  # the view's cube and sphere lines


THEMES = {
    "dark": Theme("#2b2b30", "#1e1e22", "#e6e6ea", "#35353b", "#3f6fe0", "#141418", "#b4b4bc",
                  (20, 20, 24), (20, 20, 24, 200), (0.55, 0.55, 0.62, 0.35)),
    "light": Theme("#eeeef1", "#ffffff", "#1c1c20", "#e2e2e7", "#3f6fe0", "#fbfbfc", "#3c3c44",
                   (236, 236, 240), (250, 250, 252, 150), (0.25, 0.25, 0.32, 0.45)),
}


def palette(theme: Theme) -> QPalette:
    p = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    for r, color in ((role.Window, theme.window), (role.Base, theme.base),
                     (role.AlternateBase, theme.window), (role.Button, theme.button),
                     (role.WindowText, theme.text), (role.Text, theme.text),
                     (role.ButtonText, theme.text), (role.ToolTipBase, theme.base),
                     (role.ToolTipText, theme.text), (role.Highlight, theme.highlight),
                     (role.HighlightedText, "#ffffff"), (role.PlaceholderText, "#8a8a94"),
                     (role.Link, theme.highlight), (role.BrightText, "#ff6e6e")):
        p.setColor(r, QColor(color))
    dimmed = QColor("#7a7a84")
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(group.Disabled, r, dimmed)
    return p


def theme_plot(plot: pg.GraphicsView, theme: Theme) -> None:
    """Background, axes, title and legend of one plot view, and the statistics' series
    (drawn legible on the background): a PlotWidget, or a layout view of several plots
    (a statistics tab)."""
    plot.setBackground(theme.plot_background)
    for item in plot_items(plot):
        for name in ("left", "bottom", "right", "top"):
            axis = item.getAxis(name)
            axis.setPen(theme.plot_foreground)
            axis.setTextPen(theme.plot_foreground)
        title = item.titleLabel
        title.setText(title.text, color=theme.plot_foreground)
        if item.legend is not None:
            item.legend.setBrush(theme.legend_brush)
            item.legend.setLabelTextColor(theme.plot_foreground)
        if hasattr(item, "set_theme"):  # the statistics: legend rows, cursor, series
            item.set_theme(theme.plot_background, theme.plot_foreground)


def plot_items(view: pg.GraphicsView) -> list[pg.PlotItem]:
    if isinstance(view, pg.PlotWidget):
        return [view.getPlotItem()]
    layout = getattr(view, "ci", None)
    return [item for item in getattr(layout, "items", {}) if isinstance(item, pg.PlotItem)]


def theme_view(view3d, theme: Theme) -> None:
    """The 3-D view's background and its reference lines: drawn additively on dark, and
    blended (additive lines vanish on light) on light."""
    view3d.setBackgroundColor(theme.view_background)
    blend = "additive" if theme is THEMES["dark"] else "translucent"
    for name in ("cube", "sphere"):
        item = getattr(view3d, name, None)
        if item is not None:
            item.setGLOptions(blend)
            item.setData(color=theme.reference_rgba)
    view3d.update()


def theme_overlays(window, theme: Theme) -> None:
    """What paints its own colours: the colour bar (a box like a plot's legend, over the
    view) and the Population panel (the panel like a text field, its tiles like the view)."""
    for bar in window.findChildren(ColourBar):
        bar.set_theme((*theme.legend_brush[:3], max(theme.legend_brush[3], 200)), theme.text)
    for panel in window.findChildren(PopulationPanel):
        panel.set_theme(theme.base, theme.text, theme.view_background)


def apply_theme(window, name: str) -> bool:
    """Put theme `name` on the whole app and `window`'s plots and view; False (nothing
    changed) for an unknown name."""
    theme = THEMES.get(name) if isinstance(name, str) else None
    if theme is None:
        return False
    app = QApplication.instance()
    if app.style().name().lower() != "fusion":  # the one style that follows a palette fully
        app.setStyle(QStyleFactory.create("Fusion"))
    app.setPalette(palette(theme))
    for plot in window.findChildren(pg.GraphicsView):
        theme_plot(plot, theme)
    theme_view(window.view3d, theme)
    theme_overlays(window, theme)
    window.theme = name
    action = getattr(window, "theme_actions", {}).get(name)
    if action is not None and not action.isChecked():
        action.setChecked(True)
    return True


def add_theme_menu(window) -> None:
    """View › Theme: Dark and Light, one checked (`window.theme_actions`)."""
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    menu = view_menu.addMenu("Theme")
    group = QActionGroup(window)
    window.theme_actions = {}
    for name in THEMES:
        action = QAction(name.capitalize(), window, checkable=True)
        action.setObjectName(f"theme{name.capitalize()}Action")
        action.setToolTip(f"Show the window in {name} colours")
        action.toggled.connect(lambda on, n=name: on and apply_theme(window, n))
        group.addAction(action)
        menu.addAction(action)
        window.theme_actions[name] = action
    apply_theme(window, DEFAULT_THEME)


def theme_state(window) -> dict:
    return {"name": getattr(window, "theme", DEFAULT_THEME)}


def apply_theme_state(window, values: dict) -> list[str]:
    if "name" not in values:
        return []
    return [] if apply_theme(window, values["name"]) else ["name"]
