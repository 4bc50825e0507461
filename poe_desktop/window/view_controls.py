"""The view's controls on the window: the view toolbar (presets, colour by, x0_hat), its
colour bar over the view, the View menu's toggles and File › Save view image…. The
controls emit; the window's display draws what they choose."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QMenu

from ..view.colour_bar import ColourBar
from ..view.view_image import SaveImageDialog
from ..view.view_menu import add_view_options
from ..view.view_toolbar import ViewToolbar


def install_view_controls(window, file_menu: QMenu, view_menu: QMenu) -> None:
    """The View menu's toggles (as `window.shading_action`, …), the view toolbar (as
    `window.view_toolbar`, its actions also in `view_menu`) and the colour bar (as
    `window.display.colour_bar`); Show ring follows the Experts panel's switches."""
    view, display, panel = window.view3d, window.display, window.experts_panel
    actions = add_view_options(view, window.toolbar.point_size, file_menu, view_menu,
                               lambda: save_view_image(window))
    for name, action in actions.items():
        setattr(window, name, action)
    view_menu.addAction(window.reset_camera_action)
    toolbar = ViewToolbar(view, window)
    toolbar.colourByChanged.connect(display.set_colour_by)
    toolbar.denoisedToggled.connect(display.set_denoised)

    def follow_experts(*_) -> None:
        toolbar.set_experts_off(n for n, box in panel.toggles.items() if not box.isChecked())
    follow_experts()
    panel.expertToggled.connect(follow_experts)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
    display.colour_bar = ColourBar(view)
    view_menu.addSeparator()
    view_menu.addActions(toolbar.actions_for_menu())
    window.view_toolbar, window.denoised_action = toolbar, toolbar.denoised_action


def save_view_image(window) -> None:
    """File › Save view image…: ask, then write; a failure is reported as a problem, a
    success in the status bar."""
    view = window.view3d
    dialog = SaveImageDialog(view, window)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return
    path, scale, transparent = dialog.choice()
    view.image_options.update(scale=scale, transparent=transparent, path=path)
    if view.save_image(path, scale=scale, transparent=transparent):
        window.statusBar().showMessage(f"Saved {path}", 5000)
    else:
        window.report_problem("Cannot save the view image", view.last_save_error)
