"""The Recording panel: where and how the Record button writes, whether Record stays armed
for the runs that follow, a question before a recording replaces a file, and what Export
puts in a run's .npz (the final population or not)."""

from __future__ import annotations

import math
import re
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QWidget,
)

from ..record.encoders import parse_size
from .common import combo

FORMATS = ("MP4", "GIF", "PNG frames")
SUFFIXES = {"MP4": ".mp4", "GIF": ".gif"}  # any other format: a folder of PNG frames
TYPICAL_PATH = "~/poe-desktop/recordings/poe-run.mp4"  # the path field fits this
MAX_PATH_CHARS = 4096


def default_path() -> Path:
    """Where recordings go unless the user says otherwise: under the home folder, not
    wherever the app was started."""
    return Path.home() / "poe-desktop" / "recordings" / "poe-run.mp4"


def is_taken(path: str) -> bool:
    """Whether recording to `path` would replace something: an existing file, or a
    folder of frames that is not empty."""
    target = Path(path).expanduser()
    if target.is_dir():
        return any(target.iterdir())
    return target.exists()


def next_free_path(path: str) -> str:
    """`path` if it is free, else the first free numbered name beside it:
    poe-run.mp4 -> poe-run-2.mp4 -> poe-run-3.mp4 (a folder of frames: poe-run-2/)."""
    if not is_taken(path):
        return path
    folder = path.endswith(("/", "\\"))
    target = Path(path.rstrip("/\\"))
    stem, suffix = (target.name, "") if folder else (target.stem, target.suffix)
    match = re.fullmatch(r"(.*)-(\d+)", stem)
    base, number = (match.group(1), int(match.group(2))) if match else (stem, 1)
    for n in range(number + 1, number + 10_000):
        candidate = str(target.with_name(f"{base}-{n}{suffix}")) + ("/" if folder else "")
        if not is_taken(candidate):
            return candidate
    return path  # ten thousand recordings of one name: ask before replacing


class RecordingPanel(QWidget):
    """Where and how the Record button writes: format, size, overlays, turntable, hold,
    the file (or folder), and whether Record stays armed for the next runs."""

    SIZES = ("640x640", "800x800", "1024x1024", "1280x720")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.armed = False  # a recording ended with its run, and keep-armed is on
        form = QFormLayout(self)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # a narrow dock: below
        self.format = combo("recordFormatCombo", list(FORMATS))
        self.format.setToolTip("What Record writes: an MP4 video, an animated GIF or a "
                               "folder of numbered PNG frames")
        self.size = combo("recordSizeCombo", list(self.SIZES))
        self.size.setCurrentText("800x800")
        self.size.setToolTip("Width x height of the recorded frames, in pixels")
        self.overlay = QCheckBox("step, experts, reward, ESS")
        self.overlay.setObjectName("recordOverlayCheck")
        self.overlay.setChecked(True)
        self.overlay.setToolTip("Write each step's number, experts, reward and ESS into the "
                                "frames")
        self.turntable = QCheckBox("slow orbit during the run")
        self.turntable.setObjectName("recordTurntableCheck")
        self.turntable.setToolTip("Turn the recording's camera a little at every step")
        self.hold = QDoubleSpinBox()
        self.hold.setObjectName("recordHoldSpin")
        self.hold.setRange(0.0, 10.0)
        self.hold.setSingleStep(0.5)
        self.hold.setValue(1.5)
        self.hold.setSuffix(" s")
        self.hold.setToolTip("How long the recording shows the last step before it ends")
        self.path = QLineEdit(str(default_path()))
        self.path.setObjectName("recordPathEdit")
        self.path.setMinimumWidth(self.path.fontMetrics().horizontalAdvance(TYPICAL_PATH) + 12)
        self.path.textChanged.connect(self._show_full_path)
        self._show_full_path(self.path.text())
        browse = QPushButton("Choose…")
        browse.setObjectName("recordBrowseButton")
        browse.setToolTip("Choose the file to record to (a folder for PNG frames)")
        browse.clicked.connect(self.browse)
        self.keep_armed = QCheckBox("record every run")
        self.keep_armed.setObjectName("recordKeepArmedCheck")
        self.keep_armed.setToolTip("After a recording ends with its run, record the next run "
                                   "too, to a new numbered file (poe-run-2.mp4, …)")
        self.keep_armed.toggled.connect(self._keep_armed_toggled)
        self.save_particles = QCheckBox("final population in .npz")
        self.save_particles.setObjectName("exportParticlesCheck")
        self.save_particles.setToolTip(
            "Export › .npz also keeps every particle of the last step with its log-weight "
            "(final_particles, final_log_weights), as poe-engine sample --save-particles; "
            "File › Open shows them in the Population panel")
        row = QHBoxLayout()
        row.addWidget(browse)
        row.addStretch(1)
        self.format.currentTextChanged.connect(self._match_suffix)
        for label, widget in [("format", self.format), ("size", self.size),
                              ("overlays", self.overlay), ("turntable", self.turntable),
                              ("hold last frame", self.hold)]:
            form.addRow(label, widget)
        form.addRow("file", row)
        form.addRow(self.path)  # the whole width: a path is long
        form.addRow("keep armed", self.keep_armed)
        form.addRow("export", self.save_particles)
        self.restore_defaults_button = QPushButton("Restore defaults")
        self.restore_defaults_button.setObjectName("recordingRestoreDefaults")
        self.restore_defaults_button.setToolTip(
            "Every recording setting back to its default (MP4, 800x800, overlays, the default "
            "file); the next recording uses them")
        self.restore_defaults_button.clicked.connect(self.restore_defaults)
        self._defaults = self.state()
        form.addRow(self.restore_defaults_button)

    def _show_full_path(self, text: str) -> None:
        self.path.setToolTip(f"Where Record writes: {text}" if text.strip()
                             else "Where Record writes: a .mp4 or .gif file, or a folder/")

    def _match_suffix(self, fmt: str) -> None:
        path = Path(self.path.text().strip() or default_path())
        stem = path.with_suffix("") if path.suffix else path
        self.path.setText(str(stem) + SUFFIXES.get(fmt, "/"))

    def _keep_armed_toggled(self, on: bool) -> None:
        if not on:
            self.armed = False

    def browse(self) -> None:
        """A folder for PNG frames, a file of the chosen format otherwise."""
        fmt = self.format.currentText()
        current = Path(self.path.text().strip() or default_path()).expanduser()
        if fmt not in SUFFIXES:
            folder = QFileDialog.getExistingDirectory(self, "Record frames to",
                                                      str(current.parent))
            if folder:
                self.path.setText(folder.rstrip("/\\") + "/")
            return
        suffix = SUFFIXES[fmt]
        # the question comes when recording starts, when the file really is replaced
        path, _ = QFileDialog.getSaveFileName(
            self, "Record to", str(current), f"{fmt} (*{suffix})",
            options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.path.setText(path if path.lower().endswith(suffix) else path + suffix)

    def options(self) -> dict:
        """The Recorder's arguments: path, size, overlay, turntable, hold_seconds."""
        text = self.path.text().strip()
        path = str(Path(text).expanduser()) if text else ""
        if text.endswith(("/", "\\")):  # a folder of frames stays one
            path += "/"
        return {"path": path, "size": parse_size(self.size.currentText()),
                "overlay": self.overlay.isChecked(), "turntable": self.turntable.isChecked(),
                "hold_seconds": self.hold.value()}

    def confirmed_options(self) -> dict | None:
        """`options()`, once the user agreed to replace what the path holds; None if not."""
        opts = self.options()
        if opts["path"] and is_taken(opts["path"]) and not self.ask_overwrite(opts["path"]):
            return None
        return opts

    def ask_overwrite(self, path: str) -> bool:
        """Whether the user agrees to replace `path` (tests replace this)."""
        folder = Path(path).is_dir()
        text = (f"The folder {path} holds files already; frames of the same numbers are "
                "replaced." if folder else f"{path} exists already. Replace it?")
        box = QMessageBox(QMessageBox.Icon.Question, "Replace the recording?", text,
                          parent=self)
        box.setObjectName("overwriteRecordingDialog")
        replace = box.addButton("Overwrite", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is replace

    # ------------------------------------------------------------------ keep armed
    def recording_ended(self, with_run: bool) -> None:
        """A recording finished: with its run (`with_run`) and keep-armed on, Record is
        armed for the next run, and the path moves on to the next free numbered name."""
        if with_run and self.keep_armed.isChecked():
            self.armed = True
            self.path.setText(next_free_path(self.path.text().strip()))

    def take_armed(self) -> bool:
        """Whether a run that starts now should record (then it is disarmed)."""
        armed, self.armed = self.armed and self.keep_armed.isChecked(), False
        return armed

    # ------------------------------------------------------------------ persistence
    def state(self) -> dict:
        return {"format": self.format.currentText(), "size": self.size.currentText(),
                "overlay": self.overlay.isChecked(), "turntable": self.turntable.isChecked(),
                "hold_seconds": self.hold.value(), "path": self.path.text(),
                "keep_armed": self.keep_armed.isChecked(),
                "save_particles": self.save_particles.isChecked()}

    def restore_defaults(self) -> None:
        """Every control back to the panel's defaults (as at start-up, before saved settings)."""
        self.apply_state(self._defaults)

    def apply_state(self, values: dict) -> list[str]:
        """Set the controls from saved `values` (keyed as `state()`); a missing key keeps
        its control's value, and so does a value of the wrong type or out of range: those
        keys are returned."""
        if not isinstance(values, dict):
            return ["values"]
        rejected = []
        for key, box, choices in (("format", self.format, FORMATS),
                                  ("size", self.size, self.SIZES)):
            if key in values:
                if isinstance(values[key], str) and values[key] in choices:
                    box.setCurrentText(values[key])
                else:
                    rejected.append(key)
        for key, check in (("overlay", self.overlay), ("turntable", self.turntable),
                           ("keep_armed", self.keep_armed),
                           ("save_particles", self.save_particles)):
            if key in values:
                if isinstance(values[key], bool):
                    check.setChecked(values[key])
                else:
                    rejected.append(key)
        if "hold_seconds" in values:
            hold = values["hold_seconds"]
            if (isinstance(hold, int | float) and not isinstance(hold, bool)
                    and math.isfinite(hold) and self.hold.minimum() <= hold <= self.hold.maximum()):
                self.hold.setValue(float(hold))
            else:
                rejected.append("hold_seconds")
        if "path" in values:  # after the format, which rewrites the path's suffix
            path = values["path"]
            if (isinstance(path, str) and path.strip() and "\0" not in path
                    and len(path) <= MAX_PATH_CHARS):
                self.path.setText(path)
            else:
                rejected.append("path")
        return rejected

