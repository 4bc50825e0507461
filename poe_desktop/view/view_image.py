"""Images of the 3-D view for papers: the view alone, rendered offscreen at 1x, 2x or 4x
its size (points, lines, text and arrows all scaled, so the image looks like the view,
only sharper), optionally on a transparent background; and File › Save view image….

The scene is drawn into a framebuffer object of the image's size, not by enlarging a
screenshot; the axes overlay is then painted on the image at the same scale.
"""

from __future__ import annotations

import numbers
from pathlib import Path

import pyqtgraph.opengl as gl
from OpenGL import GL
from PySide6.QtGui import QImage, QPainter
from PySide6.QtOpenGL import QOpenGLFramebufferObject, QOpenGLFramebufferObjectFormat
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QWidget,
)

IMAGE_SCALES = (1, 2, 4)
# Additive items (the reference lines) add their colour; on a transparent background
# their alpha must add up the same way, or the PNG would show them washed out.
TRANSPARENT_ADDITIVE = {GL.GL_DEPTH_TEST: False, GL.GL_BLEND: True, GL.GL_CULL_FACE: False,
                        "glBlendFuncSeparate": (GL.GL_SRC_ALPHA, GL.GL_ONE,
                                                GL.GL_ONE, GL.GL_ONE)}


def render_view(view, scale: int = 1, transparent: bool = False) -> QImage:
    """`view` (a CloudView) drawn at `scale` times its size in device pixels. Raises
    ValueError when this OpenGL cannot make a framebuffer that large."""
    width, height = view.deviceWidth() * scale, view.deviceHeight() * scale
    view.makeCurrent()
    lines = [item for item in view.items if isinstance(item, gl.GLLinePlotItem)]
    saved = view.opts["bgcolor"], {item: item.width for item in lines}
    additive = [item for item in view.reference_lines()
                if transparent and getattr(item, "gl_options", None) == "additive"]
    fbo = None
    try:
        limit = int(GL.glGetIntegerv(GL.GL_MAX_RENDERBUFFER_SIZE))
        if max(width, height) > limit:
            raise ValueError(f"{width} x {height} pixels is more than this OpenGL allows "
                             f"({limit} a side); choose a smaller scale")
        fbo_format = QOpenGLFramebufferObjectFormat()
        fbo_format.setAttachment(QOpenGLFramebufferObject.Attachment.CombinedDepthStencil)
        fbo = QOpenGLFramebufferObject(width, height, fbo_format)
        if not fbo.isValid() or not fbo.bind():
            raise ValueError(f"OpenGL could not make a {width} x {height} image")
        for item in lines:
            item.width = item.width * scale
        for item in additive:
            item.setGLOptions(TRANSPARENT_ADDITIVE)
        if transparent:
            view.opts["bgcolor"] = (*saved[0][:3], 0.0)
        view.render_scale = float(scale)
        GL.glViewport(0, 0, width, height)
        view.paint(region=(0, 0, width, height), viewport=(0, 0, width, height))
        image = fbo.toImage()
    finally:
        if fbo is not None:
            fbo.release()
        view.opts["bgcolor"] = saved[0]
        view.render_scale = 1.0
        for item, line_width in saved[1].items():
            item.width = line_width
        for item in additive:
            item.setGLOptions("additive")
        view.doneCurrent()
    if view.axes.visible:
        painter = QPainter(image)
        view.axes.paint(painter, width, height, scale * view.devicePixelRatioF(),
                        cube_labels=view.cube.visible())
        painter.end()
    return image


def valid_scale(scale) -> bool:
    """One of IMAGE_SCALES, as an integer (never raises, whatever `scale` is)."""
    return isinstance(scale, numbers.Integral) and not isinstance(scale, bool) and \
        int(scale) in IMAGE_SCALES


def write_image(view, path, scale, transparent: bool) -> str | None:
    """Render and write a PNG; returns why it could not (None when written)."""
    if not valid_scale(scale):
        return f"scale must be one of {', '.join(f'{s}x' for s in IMAGE_SCALES)}, not {scale!r}"
    try:
        path = Path(path)
    except TypeError:
        return f"not a file name: {path!r}"
    if path.suffix.lower() != ".png":
        return f"{path.name}: a view image is a PNG; use a name ending in .png"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        return f"{path.parent}: {err.strerror}"
    try:
        image = render_view(view, int(scale), bool(transparent))
    except (ValueError, RuntimeError, GL.GLError) as err:
        return str(err)
    if not image.save(str(path), "PNG"):
        return f"{path} could not be written"
    return None


class SaveImageDialog(QDialog):
    """Scale, transparent background and file name for Save view image…."""

    def __init__(self, view, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Save view image")
        self.setObjectName("saveImageDialog")
        self.scale = QComboBox(objectName="imageScaleCombo")
        for s in IMAGE_SCALES:
            self.scale.addItem(f"{s}x ({view.deviceWidth() * s} x {view.deviceHeight() * s})", s)
        self.scale.setCurrentIndex(max(0, self.scale.findData(view.image_options["scale"])))
        self.scale.setToolTip("Render the view at this many times its size on screen")
        self.transparent = QCheckBox("Transparent background",
                                     objectName="imageTransparentCheck")
        self.transparent.setChecked(view.image_options["transparent"])
        self.transparent.setToolTip("Leave the background out (alpha 0); the points stay opaque")
        last = view.image_options.get("path") or str(Path.home() / "poe-view.png")
        self.path = QLineEdit(last, objectName="imagePathEdit")
        self.path.setToolTip("The PNG file to write")
        browse = QPushButton("Browse…", objectName="imageBrowseButton")
        browse.setToolTip("Choose the PNG file in a file dialog")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Size", self.scale)
        form.addRow("", self.transparent)
        form.addRow("File", row)
        form.addRow(buttons)
        self.setMinimumWidth(460)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save view image", self.path.text(),
                                              "PNG images (*.png)")
        if path:
            self.path.setText(path)

    def choice(self) -> tuple[str, int, bool]:
        return self.path.text().strip(), self.scale.currentData(), self.transparent.isChecked()

