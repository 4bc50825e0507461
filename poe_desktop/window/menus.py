"""The main window's menu bar (File, View, Help) and its dialogs: About, and the file
choosers of Export and Save screenshot (the writing itself is the window's `export_to`
and `save_screenshot`)."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from .help import app_version
from .keep_armed import connect_keep_armed
from .looks import add_look_actions
from .open_files import install_file_actions
from .view_controls import install_view_controls

ABOUT = """<h3>PoE Desktop</h3>
<p>Three small flow models each move one axis of a point cloud; an analytic expert only
knows that a cloud should be one colour; a reward prefers the colour you pick. Alone,
each expert fails: an axis expert leaves "Saturn rings" of points off the sphere. Their
<i>product</i> is sharper than any of them and holds the sphere in the chosen colour.</p>
<p>The product is sampled with annealed importance sampling: at every noise level an
Euler step of the experts' combined flow, Langevin refinement with their summed scores,
then importance weights from the reward and resampling when the effective sample size
drops. The view shows the best particle of every step.</p>
<p><small>Y. Zhang, C. Murtuza-Lanier, Z. Li, Y. Du, J. Wu. <i>Product of Experts for
Visual Generation</i>. arXiv:2506.08894, 2025.</small></p>"""
EXPORT_FILTERS = ("Trajectory (*.npz);;Final cloud, binary PLY (*.ply);;"
                  "Run configuration (*.json);;Screenshot (*.png)")


def about(window: QWidget) -> None:
    QMessageBox.about(window, "About PoE Desktop", ABOUT + f"<p>Version {app_version()}</p>")


def export(window) -> None:
    path, _ = QFileDialog.getSaveFileName(window, "Export", "poe-run.npz", EXPORT_FILTERS)
    if path:
        window.export_to(path)


def save_screenshot(window) -> None:
    path, _ = QFileDialog.getSaveFileName(window, "Save screenshot", "poe-desktop.png",
                                          "PNG images (*.png)")
    if path:
        window.save_screenshot(path)


def _action(window, text: str, slot, shortcut=None, checked: bool | None = None) -> QAction:
    action = QAction(text, window, checkable=checked is not None, checked=bool(checked))
    (action.triggered if checked is None else action.toggled).connect(slot)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    return action


def build_menus(window) -> None:
    """File, View and Help; the View menu's toggles become `window.trails_action`,
    `cube_action` and `sphere_action`; File › Open gives the window `open_file` (see
    open_files.py)."""
    bar, view3d = window.menuBar(), window.view3d
    file_menu = bar.addMenu("&File")
    file_menu.addAction(_action(window, "Save screenshot…", lambda: save_screenshot(window),
                                QKeySequence.StandardKey.Save))
    file_menu.addAction(_action(window, "Export…", lambda: export(window), "Ctrl+E"))
    file_menu.addSeparator()
    file_menu.addAction(_action(window, "Quit", window.close, QKeySequence.StandardKey.Quit))
    install_file_actions(window, file_menu)  # Open…, Open Recent, drag and drop
    connect_keep_armed(window)  # the Recording panel's "keep armed" re-arms Record
    view = bar.addMenu("&View")
    for dock in window.docks:
        view.addAction(dock.toggleViewAction())
    view.addSeparator()
    window.trails_action = _action(window, "Trails", window.display.set_trails, checked=False)
    window.cube_action = _action(window, "Reference cube", view3d.cube.setVisible, checked=True)
    window.sphere_action = _action(window, "Reference sphere", view3d.sphere.setVisible,
                                   checked=True)
    for action in (window.trails_action, window.cube_action, window.sphere_action):
        view.addAction(action)
    add_look_actions(window, view)  # Ring guide, Save look…, Load look…
    window.reset_camera_action = _action(window, "Reset camera", view3d.reset_camera, "Home")
    install_view_controls(window, file_menu, view)  # toggles, presets, colour by, x0_hat
    bar.addMenu("&Help").addAction(_action(window, "About", lambda: about(window)))
