"""The window on a small screen: a 1366x768 laptop holds it with the 3-D view as its
largest part.

A dock is as tall as its content's minimum (the Sampler form, three plots of a stats tab)
unless that content scrolls, so every tall panel sits in a scroll area: the window's
minimum size is then the view's and the toolbar's, not the sum of the panels'. Docks can
still be tabbed together (drag one onto another) or hidden (View menu).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFrame, QMainWindow, QScrollArea

# panels drawn to fit whatever space they get: scrolling them would only hide tiles
UNSCROLLED = ("populationDock",)
DEFAULT_SIZE = (1280, 820)  # without a screen to measure
SCREEN_SHARE = 0.8  # the first size: this share of the screen's free area, each way
# left column (Experts, Reward, Sampler: their forms without a sideways scroll bar) and
# right column (statistics, population); the view takes the rest
DOCK_WIDTHS = {"expertsDock": 290, "statsDock": 320}


def scroll_docks(window: QMainWindow) -> None:
    """Put each dock's panel in a frameless scroll area that follows its width; the
    panels stay where the window keeps them (`window.sampler_panel`, ...)."""
    window.setDockOptions(QMainWindow.DockOption.AnimatedDocks
                          | QMainWindow.DockOption.AllowTabbedDocks
                          | QMainWindow.DockOption.AllowNestedDocks)
    for dock in window.docks:
        panel = dock.widget()
        if dock.objectName() in UNSCROLLED or isinstance(panel, QScrollArea):
            continue
        area = QScrollArea()
        area.setObjectName(f"{dock.objectName()}Scroll")
        area.setFrameShape(QFrame.Shape.NoFrame)
        area.setWidgetResizable(True)
        area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        area.setWidget(panel)
        dock.setWidget(area)


def fit_to_screen(window: QMainWindow) -> None:
    """The first size and dock widths (a saved geometry and layout replace them): about
    80 % of the screen's free area, centred on it (DEFAULT_SIZE without a screen)."""
    screen = QGuiApplication.primaryScreen() or window.screen()
    free = screen.availableGeometry() if screen is not None else None
    width, height = DEFAULT_SIZE
    if free is not None and not free.isEmpty():
        width, height = round(free.width() * SCREEN_SHARE), round(free.height() * SCREEN_SHARE)
    window.resize(width, height)
    if free is not None and not free.isEmpty():
        window.move(free.x() + (free.width() - window.width()) // 2,
                    free.y() + (free.height() - window.height()) // 2)
    docks = [d for d in window.docks if d.objectName() in DOCK_WIDTHS]
    window.resizeDocks(docks, [DOCK_WIDTHS[d.objectName()] for d in docks],
                       Qt.Orientation.Horizontal)
