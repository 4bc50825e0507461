"""The Compose panel on the window: its dock (tabbed with the Sampler panel), its
expression as the next run's or, during a composed run, a change from the next step
(refused, in the status bar, where it would change the number of branches), a replayed
configuration's expressions shown in it as they take effect, and the regions of the
expression on screen drawn in the 3-D view (View › Regions)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget

from ..model.composition import regions
from ..panels import ComposePanel
from ..view.regions import RegionsItem


def install_compose(window) -> None:
    """`window.compose_panel` in its dock, `window.regions_item` in the view and
    `window.regions_action` (View › Regions) wired."""
    panel = ComposePanel()
    window.compose_panel = panel
    dock = QDockWidget("Compose", window)
    dock.setObjectName("composeDock")
    dock.setWidget(panel)
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
    # with the Sampler and Recording panels (tabbed with the Experts panel, a restored
    # layout holds the window taller than it was saved)
    window.tabifyDockWidget(window.docks[2], dock)
    window.docks[2].raise_()
    window.docks.append(dock)
    item = RegionsItem()
    window.view3d.addItem(item)
    window.regions_item = item
    action = QAction("Regions", window, checkable=True, checked=True)
    action.setObjectName("regionsAction")
    action.setToolTip("Draw the composition's regions (cap, band, ball) in the view")
    window.regions_action = action
    view_menu = next((a.menu() for a in window.menuBar().actions() if a.text() == "&View"), None)
    if view_menu is not None:
        view_menu.addAction(dock.toggleViewAction())
        view_menu.addAction(action)
    wiring = ComposeWiring(window)
    window.compose_wiring = wiring
    action.toggled.connect(lambda _: wiring.show_regions())
    panel.expressionChanged.connect(wiring.expression_changed)
    panel.composeToggled.connect(wiring.toggled)
    window.session.composeReplayed.connect(lambda _, text: panel.show_in_force(text))
    window.display.frameShown.connect(wiring.frame_shown)
    wiring.show_regions()


class ComposeWiring:
    def __init__(self, window) -> None:
        self.window = window
        self.shown_text: str | None = None  # the shown frame's expression, if composed

    def expression_changed(self, text: str) -> None:
        """A committed expression: the running composed run's from its next step, else
        the next run's."""
        session = self.window.session
        if session.running and session.mixture is not None:
            session.steer_compose(text)
        elif session.running:
            self.window.statusBar().showMessage(
                "This run was started from the Experts and Reward panels: the expression "
                "is for the next run", 6000)
        self.show_regions()

    def toggled(self, on: bool) -> None:
        if self.window.running:
            self.window.statusBar().showMessage(
                f"The next run {'composes' if on else 'follows the Experts and Reward panels'}",
                6000)
        self.show_regions()

    def frame_shown(self, frame) -> None:
        self.shown_text = None if frame is None else getattr(frame, "compose", None)
        self.show_regions()

    def text_on_screen(self) -> str | None:
        """The expression whose regions are drawn: the shown step's, else the panel's
        when it is on."""
        panel = self.window.compose_panel
        if self.shown_text is not None:
            return self.shown_text
        return panel.expression() if panel.is_composing() else None

    def show_regions(self) -> None:
        found = [(spec, sign) for _, spec, sign in regions(self.text_on_screen())]
        item = self.window.regions_item
        item.set_regions(found)
        visible = self.window.regions_action.isChecked() and bool(found)
        if item.visible() != visible:  # setVisible redraws the view even when it is the same
            item.setVisible(visible)
