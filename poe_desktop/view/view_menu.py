"""The 3-D view's own menu entries: File › Save view image… and the View toggles for
shaded points, fog and axes. They follow the view's options both
ways: a toggle sets the option, and an option set elsewhere (a restored state) ticks
or clears its toggle, and sets the toolbar's point size, without firing them again."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from ..qt_utils import set_checked_quietly, signals_blocked, with_shortcut

# (attribute, objectName, text, view state key, setter name, tooltip)
TOGGLES = (
    ("shading_action", "shadingAction", "Shaded points", "shading", "set_shading",
     "Draw points as lit spheres (off: flat discs)"),
    ("fog_action", "fogAction", "Depth fog", "fog", "set_fog",
     "Fade far points toward the background, as a cue to depth"),
    ("axes_action", "axesAction", "Axes", "axes", "set_axes_visible",
     "Show the axes gizmo in the corner and the x, y, z labels on the cube"),
)


def add_view_options(view, point_size, file_menu: QMenu, view_menu: QMenu,
                     save_image: Callable[[], None]) -> dict[str, QAction]:
    """Add the entries to the File and View menus; returns the actions by name:
    `shading_action`, `fog_action`, `axes_action` and
    `save_view_image_action` (which calls `save_image`). `point_size` is the spin box that
    follows the view's point size."""
    parent = file_menu.parent()
    save = QAction("Save view image…", parent, objectName="saveViewImageAction")
    save.setShortcut(QKeySequence("Ctrl+Shift+S"))
    save.setToolTip(with_shortcut("Write the 3-D view alone as a PNG at 1x, 2x or 4x its "
                                  "size, optionally on a transparent background", save))
    save.triggered.connect(save_image)
    actions = file_menu.actions()  # it goes right after Save screenshot…
    after = [i for i, a in enumerate(actions) if a.text().startswith("Save screenshot")]
    following = actions[after[0] + 1] if after and after[0] + 1 < len(actions) else None
    file_menu.insertAction(following, save)
    made = {"save_view_image_action": save}
    state = view.state()
    toggles = {}
    for attribute, name, text, key, setter, tip in TOGGLES:
        action = QAction(text, parent, checkable=True, checked=state[key], objectName=name)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.toggled.connect(getattr(view, setter))
        view_menu.addAction(action)
        made[attribute] = action
        toggles[key] = action
    view_menu.setToolTipsVisible(True)
    file_menu.setToolTipsVisible(True)

    def follow_view() -> None:
        values = view.state()
        for key, action in toggles.items():
            if action.isChecked() != values[key]:
                set_checked_quietly(action, values[key])
        if point_size.value() != values["pointSize"]:
            with signals_blocked(point_size):
                point_size.setValue(values["pointSize"])
    view.optionsChanged.connect(follow_view)
    return made
