"""Entry point for the ``poe-desktop`` command."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QWidget

NO_DISPLAY_MESSAGE = (
    "poe-desktop: no display found (DISPLAY / WAYLAND_DISPLAY unset); "
    "run it under a virtual X server: xvfb-run -a poe-desktop"
)
SCREENSHOT_DELAY_MS = 500


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="poe-desktop", description="Desktop viewer for the PoE point-cloud sampler."
    )
    parser.add_argument(
        "--screenshot",
        metavar="PATH",
        type=Path,
        help="show the window, save a screenshot of it to PATH after rendering, and exit",
    )
    return parser.parse_args(argv)


def display_available() -> bool:
    """False on Linux/BSD when Qt would have no display server and no explicit platform."""
    if sys.platform in ("win32", "darwin"):
        return True
    env = os.environ
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or env.get("QT_QPA_PLATFORM"))


def grab_window(window: QWidget) -> QImage:
    """Screenshot ``window`` as a QImage, making sure its OpenGL view is really in it.

    ``QWidget.grab()`` normally includes QOpenGLWidget content, but some platform/driver
    combinations leave that area black. Then the view's own framebuffer is painted over it.
    """
    import numpy as np
    from pyqtgraph.opengl import GLViewWidget
    from PySide6.QtCore import QPoint, QRect
    from PySide6.QtGui import QImage, QPainter

    image = window.grab().toImage().convertToFormat(QImage.Format.Format_RGBA8888)
    dpr = image.devicePixelRatio()
    for view in window.findChildren(GLViewWidget):
        if not view.isVisible():
            continue
        top_left = view.mapTo(window, QPoint(0, 0))
        logical = QRect(top_left, view.size())
        device = QRect(
            round(logical.x() * dpr),
            round(logical.y() * dpr),
            round(logical.width() * dpr),
            round(logical.height() * dpr),
        ).intersected(image.rect())
        if device.isEmpty():
            continue
        crop = image.copy(device)
        pixels = np.frombuffer(crop.constBits(), dtype=np.uint8).reshape(
            crop.height(), crop.bytesPerLine() // 4, 4
        )[:, : crop.width()]
        if pixels[..., :3].max() > 2 and pixels[..., 3].max() > 0:
            continue  # grab() already shows rendered GL content
        frame = view.grabFramebuffer()
        frame.setDevicePixelRatio(dpr)
        painter = QPainter(image)
        painter.drawImage(logical.topLeft(), frame)
        painter.end()
    return image


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    if not display_available():
        print(NO_DISPLAY_MESSAGE, file=sys.stderr)
        return 2

    import pyqtgraph as pg
    from PySide6.QtCore import QTimer

    from .main_window import MainWindow

    app = pg.mkQApp("PoE Desktop")
    window = MainWindow()
    window.show()

    if args.screenshot is not None:
        target: Path = args.screenshot
        result: list[int] = [1]

        def capture() -> None:
            image = grab_window(window)
            target.parent.mkdir(parents=True, exist_ok=True)
            if image.save(str(target)):
                print(target)
                result[0] = 0
            else:
                print(f"poe-desktop: could not write screenshot to {target}", file=sys.stderr)
            window.close()
            app.quit()

        QTimer.singleShot(SCREENSHOT_DELAY_MS, capture)
        app.exec()
        return result[0]

    return int(app.exec())


if __name__ == "__main__":
    raise SystemExit(main())
