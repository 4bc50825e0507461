"""Recordings of runs: the 3-D view's framebuffer at every step, encoded off the GUI thread.

Rendering (OpenGL) must happen on the GUI thread; encoding happens on a background
thread fed through a queue, so neither the sampler nor the GUI waits for the encoder.
MP4 (H.264) goes through PyAV, GIF through Pillow, a folder gets numbered PNGs.
"""

from __future__ import annotations

import math
import queue
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

from poe_engine.errors import InputError, OutputError, shown
from poe_engine.paths import check_output_path

from .qt_utils import qimage_to_array
from .view3d import CloudView

DEFAULT_SIZE = (800, 800)
DEFAULT_FPS = 24
DEFAULT_HOLD_SECONDS = 1.5
TURNTABLE_DEGREES_PER_STEP = 0.75


class RecordingError(RuntimeError):
    """A recording that cannot go on (unwritable path, full disk, encoder failure)."""


def parse_size(text: str) -> tuple[int, int]:
    """'800x600' -> (800, 600); sizes from 64 to 4096 pixels."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InputError(f"size must look like 800x800, got {shown(text)}") from None
    if not (64 <= w <= 4096 and 64 <= h <= 4096):
        raise InputError(f"size must lie between 64 and 4096 pixels a side, got {shown(text)}")
    return w, h


def output_format(path: str | Path, option: str | None = None) -> str:
    """mp4 | gif by suffix; a path without suffix (or ending in /) is a folder of PNGs.
    An empty or blank path is refused (it is no folder to fill). Messages start with
    `option` when given."""
    text = str(path)
    if not text.strip():
        raise InputError(f"{option or 'recording'}: empty path; record to a .mp4 or .gif "
                         "file or a folder (frames_dir/)")
    suffix = Path(text).suffix.lower()
    if text.endswith(("/", "\\")) or suffix == "":
        return "frames"
    if suffix in (".mp4", ".gif"):
        return suffix[1:]
    label = f"{option} {text}" if option else text
    raise InputError(f"{label}: record to .mp4, .gif or a folder (frames_dir/)")


# --------------------------------------------------------------------------- writers


class Mp4Writer:
    def __init__(self, path: Path, size: tuple[int, int], fps: int) -> None:
        import av

        # PyAV opens the file only when the first packet leaves the encoder (many frames
        # later): create it now, so an unwritable path fails when the recording starts.
        with open(path, "wb"):
            pass
        self.container = av.open(str(path), mode="w")
        self.stream = self.container.add_stream("libx264", rate=fps)
        self.stream.width, self.stream.height = size  # even sizes: yuv420p halves chroma
        self.stream.pix_fmt = "yuv420p"
        self.stream.options = {"crf": "20", "preset": "veryfast"}

    def write(self, rgb: np.ndarray) -> None:
        import av

        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def close(self) -> None:
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()


class GifWriter:
    """Frames are quantised as they come (small in memory); the file is written at the end."""

    def __init__(self, path: Path, size: tuple[int, int], fps: int) -> None:
        self.path, self.fps = path, fps
        with open(path, "wb"):  # fail now, not after the whole run, if unwritable
            pass
        self.frames: list = []

    def write(self, rgb: np.ndarray) -> None:
        from PIL import Image

        self.frames.append(Image.fromarray(rgb).quantize(colors=128, dither=Image.Dither.NONE))

    def close(self) -> None:
        if not self.frames:
            return
        self.frames[0].save(self.path, save_all=True, append_images=self.frames[1:],
                            duration=round(1000 / self.fps), loop=0, optimize=True)


class FramesWriter:
    def __init__(self, path: Path, size: tuple[int, int], fps: int) -> None:
        self.dir = path
        self.dir.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def write(self, rgb: np.ndarray) -> None:
        from PIL import Image

        self.count += 1
        Image.fromarray(rgb).save(self.dir / f"frame_{self.count:05d}.png")

    def close(self) -> None:
        pass


WRITERS = {"mp4": Mp4Writer, "gif": GifWriter, "frames": FramesWriter}


class BackgroundEncoder:
    """Encodes frames on its own thread. A failure is kept and raised at the next call."""

    def __init__(self, path: str | Path, size: tuple[int, int], fps: int = DEFAULT_FPS) -> None:
        kind = output_format(path)  # InputError for an empty path or another format
        try:
            self.path = check_output_path(None, path, folder=kind == "frames")
        except OutputError as err:
            raise RecordingError(str(err)) from None
        try:
            self.writer = WRITERS[kind](self.path, size, fps)
        except OSError as err:
            raise RecordingError(f"cannot write {self.path}: {err.strerror or err}") from None
        except Exception as err:  # the encoder library refused (codec, size, ...)
            raise RecordingError(f"cannot record to {self.path}: {err}") from None
        self.frames = 0
        self.error: str | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=64)
        self._thread = threading.Thread(target=self._loop, name="encoder", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while (rgb := self._queue.get()) is not None:
            if self.error is None:
                try:
                    self.writer.write(rgb)
                except Exception as err:
                    self.error = _describe(self.path, err)

    def submit(self, rgb: np.ndarray) -> None:
        if self.error is not None:
            raise RecordingError(self.error)
        self._queue.put(np.ascontiguousarray(rgb[..., :3]))
        self.frames += 1

    def close(self) -> Path:
        self._queue.put(None)
        self._thread.join()
        if self.error is None:
            try:
                self.writer.close()
            except Exception as err:
                self.error = _describe(self.path, err)
        if self.error is not None:
            raise RecordingError(self.error)
        return self.path


def _describe(path: Path, err: Exception) -> str:
    if isinstance(err, OSError):
        return f"writing {path} failed: {err.strerror or err}"
    return f"encoding {path} failed: {err}"


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


def burn_text(image: QImage, lines: list[str], title: str | None = None) -> QImage:
    """Write an overlay (and an optional title, centred at the top) into the image."""
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
        box = QRect(pad, image.height() - pad - len(lines) * line_h - pad, box_w,
                    len(lines) * line_h + pad)
        painter.fillRect(box, QColor(0, 0, 0, 150))
        painter.setPen(QColor(235, 235, 235))
        for i, text in enumerate(lines):
            painter.drawText(QPoint(box.x() + pad, box.y() + pad // 2 + (i + 1) * line_h - 4),
                             text)
    if title:
        font.setBold(True)
        font.setPixelSize(max(12, round(24 * scale)))
        painter.setFont(font)
        painter.setPen(QColor(245, 245, 245))
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
        self.setMinimumSize(64, 64)
        self.setFixedSize(*size)
        # the view's default look, sizes in the recording's own pixels: the Record button
        # and `poe-desktop record --config` must draw the very same frames
        self.set_world_size(False)
        self.show()

    def render(self, cloud: np.ndarray) -> QImage:
        self.show_cloud(cloud)
        return self.grabFramebuffer()


class Recorder:
    """Renders each step at a fixed size and hands it to a BackgroundEncoder.

    The camera follows `camera_from` (the on-screen view) when given; with `turntable`
    the camera also orbits a little at every step. `finish` holds the last frame for
    `hold_seconds` before closing the file.
    """

    def __init__(self, path: str | Path, size: tuple[int, int] = DEFAULT_SIZE,
                 fps: int = DEFAULT_FPS, overlay: bool = True, turntable: bool = False,
                 hold_seconds: float = DEFAULT_HOLD_SECONDS, point_size: float | None = None,
                 camera_from: CloudView | None = None) -> None:
        self.encoder = BackgroundEncoder(path, size, fps)
        self.view = OffscreenView(size)
        if point_size is not None:
            self.view.point_size = point_size
        self.overlay, self.turntable, self.camera_from = overlay, turntable, camera_from
        self.hold_frames = max(0, round(hold_seconds * fps))
        self._last: np.ndarray | None = None

    @property
    def path(self) -> Path:
        return self.encoder.path

    def add(self, cloud: np.ndarray, info: FrameInfo | None = None) -> None:
        if self.camera_from is not None:
            copy_camera(self.camera_from, self.view)
        if self.turntable:
            self.view.orbit(TURNTABLE_DEGREES_PER_STEP, 0)
        image = self.view.render(cloud)
        if self.overlay and info is not None:
            burn_text(image, overlay_lines(info))
        self._last = qimage_to_array(image)
        self.encoder.submit(self._last)

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


def copy_camera(source: CloudView, target: CloudView) -> None:
    for key in ("center", "distance", "elevation", "azimuth", "fov"):
        target.opts[key] = source.opts[key]
    target.update()


def compose_grid(images: list[QImage], titles: list[str], columns: int | None = None) -> QImage:
    """Panels side by side (wrapping after `columns`), each with its title burnt in."""
    columns = columns or len(images)
    rows = math.ceil(len(images) / columns)
    w, h = images[0].width(), images[0].height()
    grid = QImage(w * columns, h * rows, QImage.Format.Format_RGB32)
    grid.fill(QColor(20, 20, 24))
    painter = QPainter(grid)
    for i, (image, title) in enumerate(zip(images, titles, strict=True)):
        panel = burn_text(image.convertToFormat(QImage.Format.Format_RGB32), [], title)
        painter.drawImage(QPoint((i % columns) * w, (i // columns) * h), panel)
    painter.end()
    return grid


def even_size(size: tuple[int, int]) -> tuple[int, int]:
    """H.264 in yuv420p needs even sides."""
    return size[0] - size[0] % 2, size[1] - size[1] % 2


