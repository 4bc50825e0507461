"""The 3-D view's own menu entries: File › Save view image… and the View toggles for
shaded points, world-size points, fog and axes. They follow the view's options both
ways: a toggle sets the option, and an option set elsewhere (a restored state) ticks
or clears its toggle, and sets the toolbar's point size, without firing them again."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from .qt_utils import set_checked_quietly, signals_blocked
from .view_image import save_view_image
from .widgets.toolbar import with_shortcut

# (window attribute, objectName, text, view state key, setter name, tooltip)
TOGGLES = (
    ("shading_action", "shadingAction", "Shaded points", "shading", "set_shading",
     "Draw points as lit spheres (off: flat discs)"),
    ("world_size_action", "worldSizeAction", "World-size points", "worldSize",
     "set_world_size", "Size points in cube units, so far points look smaller "
     "(off: a fixed size in pixels)"),
    ("fog_action", "fogAction", "Depth fog", "fog", "set_fog",
     "Fade far points toward the background, as a cue to depth"),
    ("axes_action", "axesAction", "Axes", "axes", "set_axes_visible",
     "Show the axes gizmo in the corner and the x, y, z labels on the cube"),
)


def add_view_options(window, file_menu: QMenu, view_menu: QMenu) -> None:
    """Add the entries to `window`'s File and View menus; the toggles become
    `window.shading_action`, `world_size_action`, `fog_action`, `axes_action`, and the
    image entry `window.save_view_image_action`."""
    view = window.view3d
    save = QAction("Save view image…", window, objectName="saveViewImageAction")
    save.setShortcut(QKeySequence("Ctrl+Shift+S"))
    save.setToolTip(with_shortcut("Write the 3-D view alone as a PNG at 1x, 2x or 4x its "
                                  "size, optionally on a transparent background", save))
    save.triggered.connect(lambda: save_view_image(window))
    actions = file_menu.actions()  # it goes right after Save screenshot…
    after = [i for i, a in enumerate(actions) if a.text().startswith("Save screenshot")]
    following = actions[after[0] + 1] if after and after[0] + 1 < len(actions) else None
    file_menu.insertAction(following, save)
    window.save_view_image_action = save
    state = view.state()
    toggles = {}
    for attribute, name, text, key, setter, tip in TOGGLES:
        action = QAction(text, window, checkable=True, checked=state[key], objectName=name)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.toggled.connect(getattr(view, setter))
        view_menu.addAction(action)
        setattr(window, attribute, action)
        toggles[key] = action
    view_menu.setToolTipsVisible(True)
    file_menu.setToolTipsVisible(True)

    spin = window.toolbar.point_size

    def follow_view() -> None:
        values = view.state()
        for key, action in toggles.items():
            if action.isChecked() != values[key]:
                set_checked_quietly(action, values[key])
        if spin.value() != values["pointSize"]:
            with signals_blocked(spin):
                spin.setValue(values["pointSize"])
    view.optionsChanged.connect(follow_view)
