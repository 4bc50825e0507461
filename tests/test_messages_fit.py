"""Messages fit their space (issue 22, section 5): a status bar message longer than the room
the bar's permanent widgets leave is drawn elided, whole in the bar's tooltip; the Reward
panel's error for a colour it cannot read wraps (however long a word it quotes) and is
scrolled into view in its dock. And at a first launch on a small screen, the empty
statistics plots keep a readable data area (their tab scrolls) and no panel on the left
needs sideways scrolling."""

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QDockWidget, QScrollArea

from poe_desktop.panels.plots import MIN_DATA_HEIGHT
from poe_desktop.panels.reward import RewardPanel
from poe_desktop.qt_utils import ZERO_WIDTH_SPACE, breakable
from poe_desktop.window.status import message_rect, shown_message

pytestmark = pytest.mark.gui
LONG = ("Run complete at step 16 of 16: radial error 0.0444, off-sphere 16.2 %, Chamfer "
        "0.0712, 20 expert calls (60 MLP evaluations) in 3.2 s on cpu")


def test_a_long_status_message_is_elided_with_the_whole_in_the_tooltip(qtbot, window):
    window.resize(1000, 600)
    bar = window.statusBar()
    bar.showMessage(LONG)
    qtbot.waitUntil(lambda: bar.toolTip() == LONG, timeout=5_000)
    shown = shown_message(bar)
    assert shown != LONG and shown.endswith("…") and LONG.startswith(shown[:-1])
    room = message_rect(bar)
    assert 0 < bar.fontMetrics().horizontalAdvance(shown) <= room.width()
    assert room.right() < min(w.x() for w in bar.children()
                              if getattr(w, "isVisible", lambda: False)()
                              and w.metaObject().className() in ("QLabel", "QProgressBar"))
    assert bar.currentMessage() == LONG  # the message itself stays whole
    bar.showMessage("Ready")  # one that fits: drawn whole, no tooltip
    qtbot.waitUntil(lambda: bar.toolTip() == "", timeout=5_000)
    assert shown_message(bar) == "Ready"
    window.resize(1900, 600)  # more room: more of the message
    bar.showMessage(LONG)
    qtbot.waitUntil(lambda: len(shown_message(bar)) > len(shown), timeout=5_000)


def test_a_new_message_repaints_the_bar_once(qtbot, window):
    """Beside the 3-D view each repaint composes the whole window (software OpenGL: about
    10 ms on the sampler's cores): a message that changes, drawn with the whole bar,
    schedules no second paint of it."""
    from PySide6.QtCore import QEvent, QObject

    bar = window.statusBar()
    qtbot.waitExposed(window)
    paints = []

    class Count(QObject):
        def eventFilter(self, watched, event):  # noqa: N802 (Qt's name)
            if event.type() == QEvent.Type.Paint:
                paints.append(event.rect())
            return False

    counter = Count()
    bar.installEventFilter(counter)
    try:
        for text in ("Running AIS on cpu…", "Run complete"):
            qtbot.wait(50)
            paints.clear()
            bar.showMessage(text)
            qtbot.wait(150)
            assert len(paints) == 1 and shown_message(bar) == text
    finally:
        bar.removeEventFilter(counter)


def test_the_reward_error_wraps_and_shows_in_a_narrow_short_dock(qtbot):
    panel = RewardPanel()
    area = QScrollArea()  # as the window's docks hold it (window/fit.py), at 1366x768
    area.setWidgetResizable(True)
    area.setWidget(panel)
    area.resize(290, 130)
    qtbot.addWidget(area)
    area.show()
    qtbot.waitExposed(area)
    panel.name_edit.setText("averyveryverylongcolournamethatisnotacolouratall")
    assert not panel.take_typed_color()
    label = panel.name_error
    viewport = area.viewport()

    def in_view() -> bool:
        where = QRect(label.mapTo(viewport, QPoint(0, 0)), label.size())
        return viewport.rect().contains(where)

    def all_lines_shown() -> bool:
        return label.height() >= label.heightForWidth(label.width())

    qtbot.waitUntil(lambda: in_view() and all_lines_shown(), timeout=5_000)  # scrolled to
    assert label.wordWrap() and label.heightForWidth(label.width()) > 3 * label.fontMetrics(
    ).height()  # it wraps: four lines or more in the dock's width
    assert area.horizontalScrollBar().maximum() == 0  # nothing wider than the dock
    assert label.width() <= viewport.width()
    text = label.toolTip()
    assert text.startswith("unknown colour") and label.text().replace(ZERO_WIDTH_SPACE, "") == text


def test_breakable_text_reads_the_same():
    text = "unknown colour 'averyveryverylongcolournamethatisnota': use red"
    out = breakable(text, every=8)
    assert out.replace(ZERO_WIDTH_SPACE, "") == text
    assert all(len(part) <= 8 for word in out.split(" ") for part in word.split(ZERO_WIDTH_SPACE))
    assert breakable("short words stay") == "short words stay"


def test_a_small_first_window_keeps_the_plots_readable_and_the_panels_unscrolled(qtbot, window):
    window.resize(1093, 614)  # the first size on a 1366x768 screen (80 % of it)
    stats = window.stats_panel
    qtbot.waitUntil(lambda: stats.ess_plot.vb.height() > 0, timeout=5_000)
    for tab in range(stats.tabs.count()):
        stats.tabs.setCurrentIndex(tab)
        column = stats.tabs.currentWidget()
        plots = [p for p in stats.plots if p.isVisible() and p.scene() is not None
                 and p.scene().views()[0].isVisibleTo(column)]
        qtbot.waitUntil(lambda ps=plots: all(p.vb.height() >= MIN_DATA_HEIGHT - 1 for p in ps),
                        timeout=5_000)
    assert stats.ess_plot.vb.height() >= MIN_DATA_HEIGHT - 1  # under its two legend rows
    for name in ("experts", "reward", "sampler", "recording", "compose"):  # the left docks
        dock = window.findChild(QDockWidget, f"{name}Dock")
        dock.raise_()
        area = window.findChild(QScrollArea, f"{name}DockScroll")
        qtbot.waitUntil(area.isVisible, timeout=5_000)
        assert area.horizontalScrollBar().maximum() == 0, name  # nothing wider than the dock


@pytest.mark.parametrize("text", [
    "x & y & " + "z" * 60,  # a long word in the message
    "sphere & color & red & !cap(z > 0.75) & !cap(x > 0.8) & ball(0.5, 0.5, 0.5, 0.3) & "])
def test_a_compose_error_fits_the_dock_with_its_caret_under_the_place(qtbot, text):
    from poe_desktop.panels.compose import ComposePanel

    panel = ComposePanel()
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setWidget(panel)
    area.resize(290, 400)
    qtbot.addWidget(area)
    area.show()
    qtbot.waitExposed(area)
    panel.edit.clear()
    qtbot.keyClicks(panel.edit, text)
    assert panel.expression() is None and panel.error is not None
    qtbot.waitUntil(lambda: area.horizontalScrollBar().maximum() == 0
                    and panel.status.width() <= area.viewport().width(), timeout=5_000)
    excerpt, caret = panel.status.text().split("<pre>")[1].split("</pre>")[0].split("\n")
    excerpt = excerpt.replace("&amp;", "&").replace("&gt;", ">")
    column = caret.index("^")
    at = panel.error.position
    if at < len(text):  # the offending character is the one above the caret
        assert excerpt[column] == text[at]
    else:  # past the end: the caret after the excerpt's last character
        assert column == len(excerpt)
    assert text in panel.status.toolTip() and str(panel.error) in panel.status.toolTip()
