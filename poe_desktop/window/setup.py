"""What the main window gets after its panels, menus and run wiring: panels that scroll
on a small screen, a status bar true to the run, Help › Keyboard shortcuts, View › Theme
and a tooltip on every control, the Experts and Reward panels that follow the timeline
(`resume.py`); then the state saved at the last launch (`setup_window`)."""

from __future__ import annotations

from PySide6.QtWidgets import QDockWidget

from ..view.hint import ViewHint
from .compare import install_compare
from .compose_wiring import install_compose
from .fit import fit_to_screen, scroll_docks
from .help import add_help_actions
from .resume import PanelsFollow
from .selection import ParticleSelection
from .state import restore_window
from .status import connect_status
from .theme import add_theme_menu

STATS_TAB_TIPS = {
    "Run": "Effective sample size, the particles' weights and the shown cloud's fidelity",
    "Particles": "Reward scale, acceptance rate, the log Z estimate and each particle's reward",
    "Genealogy": "Which particle descends from which at each resampling",
}
# the Recording panel's controls, where the panel itself gives them no tooltip
RECORDING_TIPS = {
    "recordFormatCombo": "What Record writes: an MP4 or GIF video, or a folder of PNG frames",
    "recordSizeCombo": "The recording's size in pixels",
    "recordOverlayCheck": "Write the step, the experts, the reward and the ESS on each frame",
    "recordTurntableCheck": "Orbit the camera slowly while recording",
    "recordHoldSpin": "How long the video holds its last frame",
    "recordPathEdit": "The file (or folder, for PNG frames) Record writes to",
    "recordBrowseButton": "Choose where Record writes",
}


def fill_tooltips(window) -> None:
    """Tooltips the panels cannot give themselves: the statistics tabs', and the Recording
    panel's where it has none."""
    tabs = window.stats_panel.tabs
    for i in range(tabs.count()):
        tip = STATS_TAB_TIPS.get(tabs.tabText(i))
        if tip and not tabs.tabToolTip(i):
            tabs.setTabToolTip(i, tip)
    for name, tip in RECORDING_TIPS.items():
        for widget in window.recording_panel.findChildren(object, name):
            if hasattr(widget, "toolTip") and not widget.toolTip():
                widget.setToolTip(tip)


def install_hint(window) -> None:
    """The empty view's hint (`viewHint`): shown until a run starts or frames are shown,
    and again when Reset empties the view."""
    hint = window.view_hint = ViewHint(window.view3d)

    def refresh(*_) -> None:
        hint.setVisible(window.view3d.cloud is None and not window.session.running)

    window.view3d.emptyChanged.connect(refresh)
    window.session.stateChanged.connect(refresh)
    refresh()


def setup_window(window) -> None:
    install_compose(window)  # the Compose panel, its dock, View › Regions
    # the statistics read each run's settings (its steps, its ESS threshold) as it shows
    window.stats_panel.config_source = lambda: window.session.run_config
    # each step's fidelity made with it while the plots show it (see FrameSource)
    window.display.pace = window.sampler_panel.pace_value  # a paced run draws every step
    window.findChild(QDockWidget, "statsDock").visibilityChanged.connect(
        window.session.want_fidelity)
    window.stats_panel.plotSaved.connect(
        lambda path: window.statusBar().showMessage(f"Saved {path}", 5000))
    window.stats_panel.problem.connect(window.report_problem)
    window.resume = PanelsFollow(window)  # the panels follow the timeline; replays
    scroll_docks(window)
    fit_to_screen(window)
    connect_status(window)
    window.selection = ParticleSelection(window)  # a Population tile shown in the view
    add_help_actions(window)
    add_theme_menu(window)
    install_compare(window)  # Pin this run: the next run beside it (window.comparison)
    fill_tooltips(window)
    install_hint(window)
    restore_window(window)
