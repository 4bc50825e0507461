"""Recordings of runs: the 3-D view's framebuffer at every step, with what an overlay says
about it, handed to an encoder (encoders.py) that writes off the GUI thread.

Rendering (OpenGL) must happen on the GUI thread, in an offscreen view of its own."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

from ..model.look import DEFAULT_LOOK, VIEW_THEMES, Look, ViewTheme
from ..model.pacing import frames_per_step
from ..qt_utils import qimage_to_array
from ..view.draw import apply_look, draw_cloud, render
from ..view.view3d import CloudView
from .encoders import DEFAULT_FPS, BackgroundEncoder, RecordingError

DEFAULT_SIZE = (800, 800)
DEFAULT_HOLD_SECONDS = 1.5
TURNTABLE_DEGREES_PER_STEP = 0.75


# --------------------------------------------------------------------------- frames


@dataclass(frozen=True)
class FrameInfo:
    """What an overlay says about a step."""

    step: int  # 1-based
    steps: int
    t: float
    experts: tuple[str, ...]
    reward: str | None
    ess: float
    particles: int


def overlay_lines(info: FrameInfo) -> list[str]:
    return [
        f"step {info.step}/{info.steps}   t = {info.t:.3f}",
        "experts: " + (" × ".join(info.experts) if info.experts else "none"),
        f"reward: {info.reward or 'off'}   ESS {info.ess:.1f}/{info.particles}",
    ]


def burn_text(image: QImage, lines: list[str], title: str | None = None,
              theme: ViewTheme = VIEW_THEMES["dark"]) -> QImage:
    """Write an overlay in the bottom-right corner (the axes gizmo has the bottom-left one)
    and an optional title, centred at the top, in the theme's colours."""
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    scale = max(image.height() / 800, 0.5)
    font = QFont("DejaVu Sans Mono")
    font.setStyleHint(QFont.StyleHint.Monospace)
    font.setPixelSize(max(10, round(18 * scale)))
    painter.setFont(font)
    metrics = painter.fontMetrics()
    pad, line_h = round(10 * scale), metrics.height()
    if lines:
        box_w = max(metrics.horizontalAdvance(t) for t in lines) + 2 * pad
        box = QRect(image.width() - pad - box_w,
                    image.height() - pad - len(lines) * line_h - pad, box_w,
                    len(lines) * line_h + pad)
        painter.fillRect(box, QColor(*theme.box_rgba))
        painter.setPen(QColor(*theme.text_rgb))
        for i, text in enumerate(lines):
            painter.drawText(QPoint(box.x() + pad, box.y() + pad // 2 + (i + 1) * line_h - 4),
                             text)
    if title:
        font.setBold(True)
        font.setPixelSize(max(12, round(24 * scale)))
        painter.setFont(font)
        painter.setPen(QColor(*theme.text_rgb))
        painter.drawText(QRect(0, pad, image.width(), 2 * line_h),
                         Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, title)
    painter.end()
    return image


class OffscreenView(CloudView):
    """A CloudView of an exact size that is never shown on screen (it still needs a
    display, or Xvfb, for its OpenGL context)."""

    def __init__(self, size: tuple[int, int]) -> None:
        super().__init__()
        self.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
        self.setMinimumSize(1, 1)
        self.setFixedSize(*size)
        self.show()

    def draw(self, look: Look, cloud: np.ndarray, **more) -> QImage:
        """`cloud` (and what `draw.draw_cloud` takes besides) drawn as `look` says, as an
        image of this view's size: the same path as Save view image."""
        apply_look(self, look)
        draw_cloud(self, look, cloud, **more)
        return render(self)


def turned(look: Look, frames: int) -> Look:
    """`look` with its camera orbited as a turntable does after `frames` frames."""
    azimuth = look.camera_dict["azimuth"] + TURNTABLE_DEGREES_PER_STEP * frames
    return look.replace(camera={"azimuth": azimuth % 360.0})


class Recorder:
    """Renders each step at a fixed size as a Look says and hands it to a BackgroundEncoder.

    `look` is a Look, or a function that gives the Look in force (the window's, so that a
    change on screen shows in the recording at the next step); with `turntable` the camera
    also orbits a little at every step. `repeats`: frames a step is shown for; None (the
    default at the default frame rate) takes `frames_per_step` of the run's steps (from the
    first step's `info`), so that a short run lasts `pacing.MIN_RUN_SECONDS`. `finish` holds the
    last frame for `hold_seconds` before closing the file.
    """

    def __init__(self, path: str | Path, size: tuple[int, int] = DEFAULT_SIZE,
                 fps: int = DEFAULT_FPS, overlay: bool = True, turntable: bool = False,
                 hold_seconds: float = DEFAULT_HOLD_SECONDS,
                 look: Look | Callable[[], Look] = DEFAULT_LOOK,
                 repeats: int | None = None) -> None:
        self.encoder = BackgroundEncoder(path, size, fps)
        self.fps, self.repeats = fps, repeats
        self.view = OffscreenView(size)
        self.look = look
        self.overlay, self.turntable = overlay, turntable
        self.hold_frames = max(0, round(hold_seconds * fps))
        self._last: np.ndarray | None = None
        self._count = 0

    @property
    def path(self) -> Path:
        return self.encoder.path

    def add(self, cloud: np.ndarray, info: FrameInfo | None = None, **more) -> None:
        """One step: `cloud` and what `draw.draw_cloud` takes besides (`previous`,
        `denoised`, ...)."""
        look = self.look() if callable(self.look) else self.look
        if self.turntable:
            look = turned(look, self._count)
        self._count += 1
        image = self.view.draw(look, cloud, **more)
        if self.overlay and info is not None:
            burn_text(image, overlay_lines(info), theme=look.view_theme)
        self._last = qimage_to_array(image)
        if self.repeats is None:
            self.repeats = frames_per_step(info.steps, self.fps) if info is not None else 1
        for _ in range(self.repeats):
            self.encoder.submit(self._last)

    def draws_denoised(self) -> bool:
        """Whether the Look in force draws x0_hat (else nobody need compute it)."""
        look = self.look() if callable(self.look) else self.look
        return look.cloud == "x0"

    def finish(self) -> Path:
        try:
            if self._last is not None:
                for _ in range(self.hold_frames):
                    self.encoder.submit(self._last)
            return self.encoder.close()
        finally:
            self.dispose()

    def abort(self) -> None:
        try:
            self.encoder.close()
        except RecordingError:
            pass
        self.dispose()

    def dispose(self) -> None:
        self.view.close()
        self.view.deleteLater()


def compose_grid(images: list[QImage], titles: list[str], columns: int | None = None,
                 theme: ViewTheme = VIEW_THEMES["dark"]) -> QImage:
    """Panels side by side (wrapping after `columns`), each with its title burnt in."""
    columns = columns or len(images)
    rows = math.ceil(len(images) / columns)
    w, h = images[0].width(), images[0].height()
    grid = QImage(w * columns, h * rows, QImage.Format.Format_RGB32)
    grid.fill(QColor(*theme.background))
    painter = QPainter(grid)
    for i, (image, title) in enumerate(zip(images, titles, strict=True)):
        panel = burn_text(image.convertToFormat(QImage.Format.Format_RGB32), [], title, theme)
        painter.drawImage(QPoint((i % columns) * w, (i // columns) * h), panel)
    painter.end()
    return grid

