"""The Recording panel: where and how the Record button writes."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QWidget,
)

from ..recording import parse_size
from .common import combo

SUFFIXES = {"MP4": ".mp4", "GIF": ".gif"}  # any other format: a folder of PNG frames


class RecordingPanel(QWidget):
    """Where and how the Record button writes: format, size, overlays, turntable, hold."""

    SIZES = ("640x640", "800x800", "1024x1024", "1280x720")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        form = QFormLayout(self)
        self.format = combo("recordFormatCombo", ["MP4", "GIF", "PNG frames"])
        self.size = combo("recordSizeCombo", list(self.SIZES))
        self.size.setCurrentText("800x800")
        self.overlay = QCheckBox("step, experts, reward, ESS")
        self.overlay.setObjectName("recordOverlayCheck")
        self.overlay.setChecked(True)
        self.turntable = QCheckBox("slow orbit during the run")
        self.turntable.setObjectName("recordTurntableCheck")
        self.hold = QDoubleSpinBox()
        self.hold.setObjectName("recordHoldSpin")
        self.hold.setRange(0.0, 10.0)
        self.hold.setSingleStep(0.5)
        self.hold.setValue(1.5)
        self.hold.setSuffix(" s")
        self.path = QLineEdit("recordings/poe-run.mp4")
        self.path.setObjectName("recordPathEdit")
        browse = QPushButton("…")
        browse.setObjectName("recordBrowseButton")
        browse.setMaximumWidth(30)
        browse.clicked.connect(self.browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        self.format.currentTextChanged.connect(self._match_suffix)
        for label, widget in [("format", self.format), ("size", self.size),
                              ("overlays", self.overlay), ("turntable", self.turntable),
                              ("hold last frame", self.hold)]:
            form.addRow(label, widget)
        form.addRow("file", row)

    def _match_suffix(self, fmt: str) -> None:
        path = Path(self.path.text() or "recordings/poe-run")
        stem = path.with_suffix("") if path.suffix else path
        self.path.setText(str(stem) + SUFFIXES.get(fmt, "/"))

    def browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Record to", self.path.text(),
                                              "Video (*.mp4 *.gif)")
        if path:
            self.path.setText(path)

    def options(self) -> dict:
        """The Recorder's arguments: path, size, overlay, turntable, hold_seconds."""
        return {"path": self.path.text().strip(), "size": parse_size(self.size.currentText()),
                "overlay": self.overlay.isChecked(), "turntable": self.turntable.isChecked(),
                "hold_seconds": self.hold.value()}
