"""Compare two runs: *Pin this run* (`pinRunAction`, on the run toolbar and in the View
menu) keeps a finished or stopped run, its frames and its configuration; the next run (or
an opened file) then plays beside it. Two views side by side, the pinned one on the left
(`compareView`), their cameras linked; the statistics of both on the same plots, the
pinned run's dashed (panels/pinned_plots.py); and a line in the status bar
(`compareStatus`) naming what differs between their settings (model/run_diff.py).

The pinned view follows the timeline: the same step, or for runs of other lengths the same
share of the run (`run_diff.pinned_index`). It is drawn as the window's Look says (theme,
colours, points, x0_hat, trails), through view/draw.py like the main view. Unpin, or Reset,
returns to one view.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QWidget

from ..model.colour_by import previous_positions
from ..model.run_diff import difference_line, pinned_index
from ..view.camera import link_cameras
from ..view.draw import apply_look, draw_cloud
from ..view.view3d import CloudView
from .looks import current_look

STATUS_TIP = ("What differs between the pinned run (left) and this run (right): the "
              "pinned run's setting → this run's")
LABEL_MAX_WIDTH = 460
COMPARE_MIN_SIZE = (160, 120)


class ViewTitle(QWidget):
    """A short title in a view's top-left corner, in the view's colours; the mouse goes
    through it to the view."""

    def __init__(self, view: CloudView, name: str) -> None:
        super().__init__(view)
        self.setObjectName(name)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.text = ""
        self.hide()

    def set_text(self, text: str) -> None:
        self.text = text
        self.resize(self.fontMetrics().horizontalAdvance(text) + 16,
                    self.fontMetrics().height() + 8)
        self.move(8, 8)
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        bg = self.parentWidget().opts["bgcolor"]
        r, g, b = (float(c) for c in bg[:3])
        scale = 255.0 if max(r, g, b) <= 1.0 else 1.0
        dark = (0.299 * r + 0.587 * g + 0.114 * b) * scale < 128
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(255, 255, 255, 30) if dark else QColor(0, 0, 0, 22))
        painter.drawRoundedRect(self.rect(), 5, 5)
        painter.setPen(QColor(230, 230, 236) if dark else QColor(30, 30, 36))
        painter.drawText(self.rect(), int(Qt.AlignmentFlag.AlignCenter), self.text)
        painter.end()


class LineLabel(QLabel):
    """A status bar line that never widens the window: elided to its width, whole in its
    tooltip."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.setObjectName(name)
        self.full = ""
        self.setMinimumWidth(60)
        self.setContentsMargins(14, 0, 4, 0)  # apart from the status message before it
        font = self.font()
        font.setBold(True)
        self.setFont(font)
        self.setMaximumWidth(LABEL_MAX_WIDTH)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def set_line(self, text: str) -> None:
        self.full = text
        self.setToolTip(f"{STATUS_TIP}:\n{text}")
        self._elide()

    def sizeHint(self):  # noqa: N802 (Qt's name)
        hint = super().sizeHint()
        hint.setWidth(min(self.fontMetrics().horizontalAdvance(self.full) + 24,
                          LABEL_MAX_WIDTH))
        return hint

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        self.setText(self.fontMetrics().elidedText(self.full, Qt.TextElideMode.ElideRight,
                                                   max(self.contentsRect().width() - 2,
                                                       20)))


class RunComparison(QObject):
    """The pinned run and what shows it: `compare_view`, its title, the dashed curves and
    the status bar line. `pinned_frames` / `pinned_config`: None while nothing is pinned."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.pinned_frames: list | None = None
        self.pinned_config: dict | None = None
        self.line = ""  # what differs, as the status bar says it
        self.active = False  # the pinned run shown beside another
        self._look_key = None
        view = self.compare_view = CloudView()
        view.setObjectName("compareView")
        view.setMinimumSize(*COMPARE_MIN_SIZE)
        self._main_min_width = window.view3d.minimumWidth()
        view.hide()
        self.pinned_title = ViewTitle(view, "pinnedTitle")
        self.current_title = ViewTitle(window.view3d, "currentTitle")
        self.status = LineLabel("compareStatus")
        self.status.hide()
        window.statusBar().insertPermanentWidget(0, self.status)
        self._place_views()
        link_cameras(window.view3d, view)

    def _place_views(self) -> None:
        """The main view in a row with the (hidden) compare view on its left."""
        view3d = self.window.view3d
        centre = view3d.parentWidget().layout()
        pair = QWidget()
        pair.setObjectName("viewPair")
        row = QHBoxLayout(pair)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        self.divider = QFrame()  # the two views apart, in either theme
        self.divider.setFrameShape(QFrame.Shape.VLine)
        self.divider.setFrameShadow(QFrame.Shadow.Sunken)
        self.divider.hide()
        centre.replaceWidget(view3d, pair)
        row.addWidget(self.compare_view, 1)
        row.addWidget(self.divider)
        row.addWidget(view3d, 1)
        centre.setStretchFactor(pair, 1)

    # ------------------------------------------------------------------ pinning
    def set_pinned(self, on: bool) -> None:
        """Pin the run on screen (a finished or stopped one), or forget the pinned one."""
        session = self.window.session
        if on and not session.running and session.frames:
            self.pinned_frames = list(session.frames)
            self.pinned_config = self._config_now()
            self.window.statusBar().showMessage(
                "Pinned: the next run plays beside this one", 5000)
        elif not on:
            self.pinned_frames = self.pinned_config = None
        self.refresh()

    def unpin(self) -> None:
        self.set_pinned(False)

    def _config_now(self) -> dict | None:
        """The configuration of the run on screen as it went (its steering included)."""
        session = self.window.session
        try:
            return session.recorded_config() or session.run_config
        except (KeyError, TypeError, ValueError, AttributeError):
            return session.run_config

    # ------------------------------------------------------------------ showing
    def _is_active(self) -> bool:
        if self.pinned_frames is None:
            return False
        session = self.window.session
        if session.running:
            return True
        return bool(session.frames) and session.frames[0] is not self.pinned_frames[0]

    def refresh(self, *_) -> None:
        """Views, plots, status line and the action as the pin and the run now say."""
        window, session = self.window, self.window.session
        window.toolbar.set_pin(not session.running and bool(session.frames),
                               self.pinned_frames is not None)
        active = self._is_active()
        if active != self.active:
            self.active = active
            self.compare_view.setVisible(active)
            self.divider.setVisible(active)
            self.pinned_title.setVisible(active)
            self.current_title.setVisible(active)
            self.status.setVisible(active)
            # two halves of the centre: the main view as small as the pinned one may be
            window.view3d.setMinimumWidth(COMPARE_MIN_SIZE[0] if active else
                                          self._main_min_width)
            window.stats_panel.set_pinned(self.pinned_frames if active else None)
            if active:
                self.current_title.set_text("this run")
                self._look_key = None
                self.update_line()
                self.follow(window.display.shown_frame())

    def run_changed(self, *_) -> None:
        """A run started or ended: its configuration (and steering) read again."""
        self.refresh()
        if self.active:
            self.update_line()

    def update_line(self) -> None:
        self.line = difference_line(self.pinned_config, self._config_now())
        self.status.set_line(f"pinned → this run: {self.line}")

    def follow(self, frame=None) -> None:
        """Show the pinned run's step beside `frame` (the main view's; None: its first)."""
        if not self.active or not self.pinned_frames:
            return
        frames = self.pinned_frames
        last = frames[-1]
        if frame is None:
            k = 0
        else:
            k = pinned_index(frame.index, frame.steps, len(frames), last.steps)
        self.draw(k)

    def draw(self, k: int) -> None:
        frames, window = self.pinned_frames, self.window
        frame = frames[k]
        previous = frames[k - 1] if k > 0 else None
        look = current_look(window)
        key = look.replace(camera=())
        if key != self._look_key:  # the theme, points, guides: only when they change
            self._look_key = key
            apply_look(self.compare_view, look, camera=False)
        trails = window.display.trails
        self.compare_view.trails.setVisible(trails)
        x0 = look.cloud == "x0"
        trail = (frame.denoised_trail if x0 else frame.trail) if trails else None
        draw_cloud(self.compare_view, look, frame.cloud, previous_positions(frame, previous),
                   frame.denoised if x0 else None,
                   previous_positions(frame, previous, True) if x0 else None, trail)
        self.pinned_title.set_text(f"pinned run · step {frame.index + 1} of {frame.steps}")
        for title in (self.pinned_title, self.current_title):
            title.update()

    def restyle(self, *_) -> None:
        """The theme or the view's options changed: the pinned view drawn again."""
        self._look_key = None
        if self.active:
            self.follow(self.window.display.shown_frame())


def install_compare(window) -> RunComparison:
    """Pin this run on the toolbar and in the View menu, wired (`window.comparison`)."""
    comparison = window.comparison = RunComparison(window)
    action = window.toolbar.pin_action
    window.pin_action = action
    action.triggered.connect(comparison.set_pinned)
    window.reset_action.triggered.connect(comparison.unpin)
    window.session.stateChanged.connect(comparison.run_changed)
    window.session.finished.connect(comparison.run_changed)
    window.display.frameShown.connect(lambda frame: (comparison.refresh(),
                                                     comparison.follow(frame)))
    window.view3d.optionsChanged.connect(comparison.restyle)
    guides = [getattr(window, name, None) for name in ("cube_action", "sphere_action",
                                                       "ring_action")]
    for toggle in [*getattr(window, "theme_actions", {}).values(), *filter(None, guides)]:
        toggle.toggled.connect(comparison.restyle)
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    view_menu.addSeparator()
    view_menu.addAction(action)
    comparison.refresh()
    return comparison
