"""Make the README's screenshots in docs/ from real runs in the app (needs a display: run it
under xvfb-run). Each picture is taken from a fresh window with default settings (its own
settings file: a window remembers what the previous one set).

    xvfb-run -a -s "-screen 0 1600x1200x24" .venv/bin/python scripts/docs_screenshots.py [docs]

The first launch on a laptop's screen, dark and light (docs/window-1366x768*.png), needs that
screen: the window takes its share of it as a first launch does.

    xvfb-run -a -s "-screen 0 1366x768x24" .venv/bin/python scripts/docs_screenshots.py \
        --first-launch [docs]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pyqtgraph as pg  # noqa: E402
from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QAbstractButton  # noqa: E402

from poe_desktop import MainWindow  # noqa: E402

LAPTOP = (1366, 768)


def settle(ms: int = 400) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait(signal, timeout_ms: int = 300_000) -> None:
    loop = QEventLoop()
    signal.connect(loop.quit)
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    signal.disconnect(loop.quit)


def window(size=LAPTOP) -> MainWindow:
    os.environ["POE_DESKTOP_SETTINGS"] = os.path.join(tempfile.mkdtemp(), "settings.ini")
    w = MainWindow()
    w.show()
    w.resize(*size)
    settle()
    return w


def first_launch(out: Path) -> None:
    """The window as a first launch opens it on the screen there is (its share of a 1366x768
    one), before any run: dark, then light."""
    from poe_desktop.window.theme import apply_theme

    os.environ["POE_DESKTOP_SETTINGS"] = os.path.join(tempfile.mkdtemp(), "settings.ini")
    w = MainWindow()
    w.show()
    settle(1500)
    for theme, name in (("dark", "window-1366x768.png"), ("light", "window-1366x768-light.png")):
        apply_theme(w, theme)
        settle(800)
        w.grab_image().save(str(out / name))
    w.close()


def click(w: MainWindow, name: str) -> None:
    w.findChild(QAbstractButton, name).click()


def run_to_end(w: MainWindow) -> None:
    w.run()
    wait(w.runFinished)
    settle(800)


def finished_sphere(out: Path) -> None:
    """The final red sphere, shaded, without the reference wireframe: the view alone."""
    w = window()
    run_to_end(w)
    w.sphere_action.setChecked(False)
    settle()
    w.view3d.save_image(out / "sphere-shaded.png", scale=1)
    w.close()


def saturn_ring(out: Path) -> None:
    """The x expert off, seen through the ring preset: the whole window at 1366x768."""
    w = window()
    click(w, "expertToggle_x")
    run_to_end(w)
    w.view_toolbar.show_ring()
    settle()
    w.grab().save(str(out / "ring-x-off.png"))
    w.close()


def steered_statistics(out: Path) -> None:
    """A steered run (green from step 40, y off from step 41) scrubbed back to step 60:
    the statistics' three tabs side by side."""
    w = window()
    w.sampler_panel.steps.setValue(64)  # long enough to steer at step 40 (the default has 16)
    w.run(pause_after=39)
    wait(w.session.pausedAt)
    settle()
    click(w, "rewardColor_green")
    w.step()
    wait(w.stepArrived)
    settle()
    click(w, "expertToggle_y")
    w.toggle_pause()
    wait(w.runFinished)
    settle(800)
    w.timeline.slider.setValue(59)
    settle(800)
    w.stats_panel.resize(420, 640)
    pictures = []
    for tab in range(w.stats_panel.tabs.count()):
        w.stats_panel.tabs.setCurrentIndex(tab)
        settle(500)
        pictures.append(w.stats_panel.grab())
    from PySide6.QtGui import QPainter, QPixmap

    width = sum(p.width() for p in pictures)
    sheet = QPixmap(width, max(p.height() for p in pictures))
    painter = QPainter(sheet)
    x = 0
    for p in pictures:
        painter.drawPixmap(x, 0, p)
        x += p.width()
    painter.end()
    sheet.save(str(out / "statistics-steered.png"))
    w.close()


def main(argv: list[str]) -> int:
    pictures = [finished_sphere, saturn_ring, steered_statistics]
    if argv[:1] == ["--first-launch"]:
        argv, pictures = argv[1:], [first_launch]
    out = Path(argv[0] if argv else "docs")
    out.mkdir(parents=True, exist_ok=True)
    app = pg.mkQApp()
    for picture in pictures:
        picture(out)
        print(f"{picture.__name__}: done")
    app.processEvents()
    print(f"screenshots in {out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
