"""The view's controls on the window: the view toolbar (presets, colour by, x0_hat), its
colour bar over the view, the View menu's toggles and File › Save view image…. The
controls emit; the window's display draws what they choose."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QMenu

from ..model.colour_by import previous_positions
from ..record.recorder import OffscreenView
from ..view.colour_bar import ColourBar
from ..view.draw import apply_look
from ..view.view_image import SaveImageDialog, write_image
from ..view.view_menu import add_view_options
from ..view.view_toolbar import ViewToolbar
from .looks import current_look


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
    write_view_image(window, path, scale=scale, transparent=transparent)


def write_view_image(window, path, size: tuple[int, int] | None = None, scale: int = 1,
                     transparent: bool = False) -> bool:
    """The shown step drawn as the window's Look, alone, `size` (default: the view's) times
    `scale`, as a PNG: the path recordings take (record/recorder.OffscreenView). A failure
    is reported as a problem; returns whether the file was written."""
    view3d, display = window.view3d, window.display
    frame = display.shown_frame()
    view = OffscreenView(size or (view3d.width(), view3d.height()))
    try:
        if frame is None:
            apply_look(view, current_look(window))
            view.clear_cloud()
        else:
            index = display.shown_index()
            previous = display.frames[index - 1] if index > 0 else None
            view.draw(current_look(window), frame.cloud,
                      previous=previous_positions(frame, previous), denoised=frame.denoised,
                      denoised_previous=previous_positions(frame, previous, True))
        error = write_image(view, path, scale, transparent)
    finally:
        view.close()
        view.deleteLater()
    if error is None:
        window.statusBar().showMessage(f"Saved {path}", 5000)
        return True
    window.report_problem("Cannot save the view image", error)
    return False
