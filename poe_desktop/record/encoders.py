"""Encoders: frames (RGB arrays) to a file, on a background thread fed through a queue, so
that neither the sampler nor the GUI waits for them. MP4 (H.264) goes through PyAV, GIF
through Pillow, a folder gets numbered PNGs."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import numpy as np

from poe_engine.errors import InputError, OutputError, shown
from poe_engine.paths import check_output_path

DEFAULT_FPS = 24


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
        self.size = even_size(size)  # yuv420p halves chroma: an odd side gets one pixel more
        self.stream.width, self.stream.height = self.size
        self.stream.pix_fmt = "yuv420p"
        self.stream.options = {"crf": "20", "preset": "veryfast"}

    def write(self, rgb: np.ndarray) -> None:
        import av

        w, h = self.size  # pad an odd side by repeating its last row or column
        rgb = np.pad(rgb, ((0, h - rgb.shape[0]), (0, w - rgb.shape[1]), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
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


def even_size(size: tuple[int, int]) -> tuple[int, int]:
    """H.264 in yuv420p needs even sides: an odd one grows by a pixel."""
    return size[0] + size[0] % 2, size[1] + size[1] % 2


def padding_note(path: str | Path, size: tuple[int, int]) -> str | None:
    """What an MP4 of `size` is written as, when that is not `size` (None otherwise)."""
    if output_format(path) != "mp4" or even_size(size) == tuple(size):
        return None
    w, h = even_size(size)
    return (f"MP4 needs even sides: {size[0]}x{size[1]} is padded to {w}x{h} by repeating "
            "the last row or column (GIF and PNG frames keep the size as asked)")


