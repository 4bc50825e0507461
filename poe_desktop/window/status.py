"""What the status bar says about a run beyond its frames (display.py shows those): that
a run is paused and after which step, and that a reward colour chosen late in a run may
not be reached. Reset clears the bar through `FrameDisplay.clear`. Every message fits its
room: one longer than the room the bar's permanent widgets leave is drawn elided, its
whole text in the bar's tooltip (`ElidedMessages`)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRect, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QSizeGrip, QStatusBar, QStyle, QStyleOption, QWidget

# Below this noise level a cloud's colour has mostly settled (t = 1 is noise, t = 0 the
# clean cloud): a new reward colour can then still reweight the particles, but their
# colours have little room left to move towards it.
LATE_T = 0.2


def paused_message(frames) -> str:
    """Where a paused run stands, and what the buttons do now."""
    if not frames:
        where = "before its first step"
    else:
        f = frames[-1]
        where = f"after step {f.index + 1} of {f.steps} (t {f.t:.3f})"
    return f"Paused {where} · Step (F10): one more · Resume (F5)"


def late_color_message(frames, color: str) -> str | None:
    """The warning for a reward colour changed at the newest frame's noise level, or None
    while it is early enough."""
    if not frames or frames[-1].t >= LATE_T:
        return None
    f = frames[-1]
    return (f"Reward → {color} at step {f.index + 2} of {f.steps}, t {f.t:.2f}: this late "
            "the cloud's colour has mostly settled, so it may not reach the new colour")


def permanent_widgets(bar: QStatusBar) -> list[QWidget]:
    """The widgets shown in the bar beside its message (all of this app's are permanent)."""
    return [w for w in bar.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly)
            if w.isVisible() and not isinstance(w, QSizeGrip) and not w.isWindow()]


def message_rect(bar: QStatusBar) -> QRect:
    """Where the bar draws its message: from its left margin to its first permanent
    widget (or its size grip, or its right margin), as QStatusBar itself measures it."""
    left, right = 6, bar.width() - 12
    grip = bar.findChild(QSizeGrip)
    if grip is not None and grip.isVisible():
        right = grip.x()
    for widget in permanent_widgets(bar):
        right = min(right, widget.x() - 2)
    return QRect(left, 0, max(right - left, 0), bar.height())


def shown_message(bar: QStatusBar) -> str:
    """The bar's message as drawn: on one line, elided (…) to `message_rect`'s width."""
    text = " ".join(bar.currentMessage().split("\n"))
    return bar.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight,
                                        message_rect(bar).width())


class ElidedMessages(QObject):
    """Draws a status bar's message elided where it does not fit (QStatusBar cuts it off at
    its first permanent widget), the whole message then in the bar's tooltip. The message
    itself stays whole (`currentMessage`, `messageChanged`)."""

    def __init__(self, bar: QStatusBar) -> None:
        super().__init__(bar)
        self.bar, self.tip, self.drawn = bar, "", ""
        bar.installEventFilter(self)
        bar.messageChanged.connect(lambda _text: self.bar.update())

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if watched is self.bar and event.type() == QEvent.Type.Paint:
            self.paint(event.rect())
            return True
        return False

    def paint(self, region: QRect) -> None:
        """What QStatusBar.paintEvent paints, the message elided."""
        bar, style = self.bar, self.bar.style()
        painter = QPainter(bar)
        option = QStyleOption()
        option.initFrom(bar)
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelStatusBar, option, painter, bar)
        for widget in permanent_widgets(bar):
            frame = widget.geometry().adjusted(-2, -1, 2, 1)
            if region.intersects(frame):
                item = QStyleOption()
                item.rect, item.palette = frame, bar.palette()
                style.drawPrimitive(QStyle.PrimitiveElement.PE_FrameStatusBarItem, item,
                                    painter, widget)
        shown = shown_message(bar)
        if shown:
            painter.setPen(bar.palette().windowText().color())
            painter.drawText(message_rect(bar), Qt.AlignmentFlag.AlignLeading
                             | Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextSingleLine, shown)
        painter.end()
        if shown != self.drawn:
            self.drawn = shown
            if not region.contains(message_rect(bar)):  # the rest of it shows the new text
                bar.update()  # too (a second composition of the window: not when not needed)
        whole = bar.currentMessage()
        tip = whole if shown != " ".join(whole.split("\n")) else ""
        if tip != self.tip and bar.toolTip() in (self.tip, ""):  # never another's tooltip
            self.tip = tip
            bar.setToolTip(tip)


def connect_status(window) -> None:
    """Keep `window`'s status bar true to its session (see the module's docstring)."""
    session, bar = window.session, window.statusBar()
    window.elided_messages = ElidedMessages(bar)

    def show_pause_state(*_args) -> None:
        paused = session.running and session.paused
        window.display.set_paused(paused)
        if paused:
            bar.showMessage(paused_message(session.frames))

    def warn_late_color(color: str) -> None:
        message = late_color_message(session.frames, color) if session.running else None
        if message is not None:
            bar.showMessage(message, 15_000)
            window.late_color_warning = message

    window.late_color_warning = None
    session.stateChanged.connect(show_pause_state)
    session.frameAdded.connect(lambda _f: session.paused and show_pause_state())
    window.reward_panel.colorChanged.connect(warn_late_color)
