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
EXIT_FAILURE, EXIT_USAGE = 1, 2


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="poe-desktop", description="Watch and steer a Product-of-Experts sampler."
    )
    parser.add_argument("--weights", type=Path, default=None,
                        help="folder of expert weights (default: the shipped ones)")
    parser.add_argument("--autorun", action="store_true", help="start a run at launch")
    parser.add_argument("--config", metavar="PATH", type=Path,
                        help="run configuration (.json from --save-config or Export, or a "
                        "run's .npz) that fills the panels; the saved Sampler settings are "
                        "then left unused")
    parser.add_argument(
        "--screenshot",
        metavar="PATH",
        type=Path,
        help="save a screenshot of the window to PATH, then exit (with --autorun: once the "
        "run reaches --screenshot-step, or ends)",
    )
    parser.add_argument("--screenshot-step", type=int, default=None, metavar="K",
                        help="with --autorun --screenshot: the step to capture (1-based)")
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
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["record"]:
        from .record_cli import main as record_main

        return record_main(argv[1:])
    args = _parse_args(argv)
    config = None
    if args.config is not None:
        from poe_engine.exports import load_config

        try:
            config = load_config(args.config)
        except ValueError as err:
            print(f"poe-desktop: error: {err}", file=sys.stderr)
            return EXIT_USAGE
    if not display_available():
        print(NO_DISPLAY_MESSAGE, file=sys.stderr)
        return EXIT_USAGE

    import pyqtgraph as pg
    from PySide6.QtCore import QTimer

    from .main_window import MainWindow

    app = pg.mkQApp("PoE Desktop")
    try:
        window = MainWindow(args.weights, config=config)
    except ValueError as err:  # a configuration the panels cannot hold
        print(f"poe-desktop: error: {args.config}: {err}", file=sys.stderr)
        return EXIT_USAGE
    window.show()
    if args.autorun:
        QTimer.singleShot(0, window.run)
    if args.screenshot is None:
        return int(app.exec())

    result = [1]
    captured = []

    def capture() -> None:
        if captured:
            return
        captured.append(True)
        if window.save_screenshot(args.screenshot):
            print(args.screenshot)
            result[0] = 0
        else:
            print(f"poe-desktop: could not write {args.screenshot}", file=sys.stderr)
        window.close()
        app.quit()

    if args.autorun:
        def on_step(index: int) -> None:  # pause mid-run at the chosen step, then capture
            reached = args.screenshot_step is not None and index + 1 >= args.screenshot_step
            if reached and window.worker is not None and not window.worker.paused:
                window.toggle_pause()
                QTimer.singleShot(SCREENSHOT_DELAY_MS, capture)

        window.stepArrived.connect(on_step)
        window.runFinished.connect(lambda _: QTimer.singleShot(SCREENSHOT_DELAY_MS, capture))
    else:
        QTimer.singleShot(SCREENSHOT_DELAY_MS, capture)
    app.exec()
    return result[0]


if __name__ == "__main__":
    raise SystemExit(main())
