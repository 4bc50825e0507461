"""The window's Look: read off its controls (`current_look`), put back on them
(`show_look`), kept in the settings, saved and loaded as a file (View › Save look…,
Load look…, `poe-desktop --look FILE`). Recordings and view images take the window's
Look, so they show what the window shows."""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu

from poe_engine.errors import InputError

from ..model.look import Look, look_from_dict, read_look, write_look
from ..view.draw import apply_look, look_camera
from ..view.view3d import WORLD_UNITS_PER_SIZE
from .theme import apply_theme

LOOK_FILTER = "Looks (*.json);;All files (*)"


def current_look(window) -> Look:
    """What the window draws a cloud with, now."""
    view, display = window.view3d, window.display
    return display.look.replace(
        theme=getattr(window, "theme", "dark"),
        point_size=round(view.point_size * WORLD_UNITS_PER_SIZE, 6),
        shading=bool(view.shading), fog=bool(view.fog),
        guides={"sphere": window.sphere_action.isChecked(),
                "box": window.cube_action.isChecked(), "gizmo": bool(view.axes_visible),
                "ring": window.ring_action.isChecked()},
        camera=look_camera(view))


def show_look(window, look: Look) -> None:
    """Put `look` on the window: its view, the toolbar's choices, the View menu, the theme."""
    apply_theme(window, look.theme)
    apply_look(window.view3d, look)
    for action, on in ((window.sphere_action, look.guides.sphere),
                       (window.cube_action, look.guides.box),
                       (window.ring_action, look.guides.ring)):
        action.setChecked(on)
    window.view_toolbar.apply_state({"colour_by": look.colour_by,
                                     "denoised": look.cloud == "x0"})
    window.display.set_look(look)


def apply_look_state(window, values: dict) -> list[str]:
    """The settings' entry: a look's JSON values; returns ['look'] if they do not check out."""
    try:
        show_look(window, look_from_dict(values, "saved look"))
    except InputError:
        return ["look"]
    return []


def load_look(window, path) -> bool:
    try:
        look = read_look(path)
    except InputError as err:
        window.report_problem("Cannot load the look", str(err))
        return False
    show_look(window, look)
    window.statusBar().showMessage(f"Look loaded from {path}", 5000)
    return True


def save_look(window, path) -> bool:
    try:
        write_look(current_look(window), path)
    except OSError as err:
        window.report_problem("Cannot save the look", f"{path}: {err.strerror or err}")
        return False
    window.statusBar().showMessage(f"Look saved to {path}", 5000)
    return True


def add_look_actions(window, view_menu: QMenu) -> None:
    """View › Ring guide, Save look…, Load look…"""
    window.ring_action = QAction("Ring guide", window, checkable=True, objectName="ringAction")
    window.ring_action.setToolTip("Draw the sphere's three great circles, where an axis "
                                  "expert switched off leaves its band of points")
    window.ring_action.toggled.connect(window.view3d.set_ring_visible)
    view_menu.addAction(window.ring_action)
    view_menu.addSeparator()
    for text, name, slot in (("Save look…", "saveLookAction", _ask_save),
                             ("Load look…", "loadLookAction", _ask_load)):
        action = QAction(text, window, objectName=name)
        action.setToolTip("A look is how a cloud is drawn (colours, theme, points, guides, "
                          "camera): recordings and images use the window's")
        action.triggered.connect(lambda _=False, s=slot: s(window))
        view_menu.addAction(action)


def _ask_save(window) -> None:
    path, _ = QFileDialog.getSaveFileName(window, "Save look", "look.json", LOOK_FILTER)
    if path:
        save_look(window, path)


def _ask_load(window) -> None:
    path, _ = QFileDialog.getOpenFileName(window, "Load look", "", LOOK_FILTER)
    if path:
        load_look(window, path)
