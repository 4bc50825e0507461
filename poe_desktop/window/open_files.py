"""Opening files in the window: File › Open… (Ctrl+O), File › Open Recent, and files
dropped on the window. A run's .npz replays on the timeline, a PLY cloud shows as a run
of one step (so the view, the timeline and the statistics all show the same thing), and
a .json run configuration fills the panels. The reading is `file_readers.py`'s.

A bad file gets one error message and the window keeps what it shows. Files open only
when no run is going: the user is asked whether to stop the run first, and the file
opens once it has stopped (the run's recording, if any, is finished as usual).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from ..model.file_readers import OpenedRun, read_file

OPEN_FILTERS = ("Runs, clouds and configurations (*.npz *.ply *.json);;Trajectory (*.npz);;"
                "Cloud, PLY (*.ply);;Run configuration (*.json);;All files (*)")
MAX_RECENT = 8
MAX_PATH_CHARS = 4096  # a saved path longer than this is not one of ours


def install_file_actions(window, file_menu: QMenu) -> None:
    """File › Open… and File › Open Recent at the top of `file_menu`, and opening by drag
    and drop. Gives the window `open_file(path)`, `recent_files` (a RecentFiles) and the
    recent list's `recent_state()` / `apply_recent_state(values)`."""
    first = file_menu.actions()[0] if file_menu.actions() else None
    open_action = QAction("Open…", window)
    open_action.setObjectName("openAction")
    open_action.setShortcut(QKeySequence.StandardKey.Open)
    open_action.setToolTip("Open a run (.npz), a cloud (.ply) or a run configuration (.json) "
                           "(Ctrl+O)")
    open_action.triggered.connect(lambda: choose_and_open(window))
    file_menu.insertAction(first, open_action)
    recent_menu = QMenu("Open Recent", file_menu)
    recent_menu.setObjectName("openRecentMenu")
    recent_menu.setToolTipsVisible(True)
    file_menu.insertMenu(first, recent_menu)
    file_menu.insertSeparator(first)
    window.open_action = open_action
    window.open_file = partial(open_path, window)
    window.recent_files = RecentFiles(window, recent_menu)
    window.recent_state = window.recent_files.state
    window.apply_recent_state = window.recent_files.apply_state
    window.setAcceptDrops(True)
    window.drop_opener = DropOpener(window)
    window.installEventFilter(window.drop_opener)


def choose_and_open(window) -> None:
    recent = window.recent_files.paths
    start = str(Path(recent[0]).parent) if recent else str(Path.home())
    path, _ = QFileDialog.getOpenFileName(window, "Open", start, OPEN_FILTERS)
    if path:
        open_path(window, path)


def ask_to_stop(window, name: str) -> bool:
    """Whether the user agrees to stop the run to open `name` (tests replace this)."""
    box = QMessageBox(QMessageBox.Icon.Question, "A run is going",
                      f"Stop the run and open {name}?", parent=window)
    box.setObjectName("stopToOpenDialog")
    stop = box.addButton("Stop and open", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is stop


def open_path(window, path: str | Path) -> bool:
    """Open `path` in `window`: an .npz trajectory or a .ply cloud replaces the run on
    screen (timeline, view, statistics; an .npz's configuration fills the panels), a
    .json configuration fills the panels. True when it is open; False when it is not
    (the error was reported, and nothing on screen changed) or not yet (a run is going:
    with the user's consent it is stopped, and the file opens when it has)."""
    path = Path(path)
    if window.running:
        if not ask_to_stop(window, path.name):
            window.statusBar().showMessage(f"{path.name} not opened: the run goes on", 5000)
            return False
        _open_when_stopped(window, path)
        window.stop()
        window.statusBar().showMessage(f"Stopping the run to open {path.name}…")
        return False
    try:
        kind, content = read_file(path)
    except (ValueError, OSError, MemoryError, RuntimeError) as err:  # InputError: a ValueError
        window.report_problem(f"Cannot open {path.name}", str(err))
        return False
    if kind == "configuration":
        if not _fill_panels(window, content, path):
            return False
        window.statusBar().showMessage(f"The panels hold the configuration of {path.name}",
                                       8000)
    else:
        show_run(window, content, path)
    window.recent_files.add(path)
    return True


def _open_when_stopped(window, path: Path) -> None:
    def once(_reason: str) -> None:
        window.runFinished.disconnect(once)
        open_path(window, path)

    window.runFinished.connect(once)


def _fill_panels(window, config: dict, path: Path) -> bool:
    try:
        window.apply_config(config)
    except ValueError as err:
        window.report_problem(f"The panels cannot hold all of {path.name}", str(err))
        return False
    return True


def show_run(window, run: OpenedRun, path: Path) -> None:
    """`run`'s frames on the timeline, its last step in the view, its curves and steering
    marks in the statistics; its configuration (if any) as the run to export and, with
    the controls in force at the shown step, in the panels (`resume.PanelsFollow`)."""
    window.timeline.set_playing(False)
    window.session.reset()  # no run is going: this only forgets the last one's frames
    window.session.run_config = run.config
    window.frames.extend(run.frames)
    window.display.clear()
    window.display.show_newest()
    window.display.rate_label.setText("– steps/s")  # a file has no rate
    window.display.device_label.setText(f"file {path.name}")
    if run.config is not None and not _fill_panels(window, run.config, path):
        return
    window.resume.run_shown()  # its steering marks; the panels at the shown step
    replay = "; ▶ replays it" if len(run.frames) > 1 else ""
    window.statusBar().showMessage(f"Opened {path.name}: {run.note}{replay}", 10_000)


# --------------------------------------------------------------------------- recent files


class RecentFiles(QObject):
    """The files opened last (newest first, at most MAX_RECENT) and the Open Recent menu
    that lists them. A listed file that is gone when chosen leaves the list."""

    def __init__(self, window, menu: QMenu) -> None:
        super().__init__(window)
        self.window, self.menu = window, menu
        self.paths: list[str] = []
        self._rebuild()

    def add(self, path: str | Path) -> None:
        text = str(Path(path).absolute())
        self.paths = [text] + [p for p in self.paths if p != text][:MAX_RECENT - 1]
        self._rebuild()

    def remove(self, path: str) -> None:
        self.paths = [p for p in self.paths if p != path]
        self._rebuild()

    def clear(self) -> None:
        self.paths = []
        self._rebuild()

    def open(self, path: str) -> bool:
        if not Path(path).is_file():
            self.remove(path)
            self.window.report_problem("Cannot open a recent file",
                                      f"{path} is gone; it has left the Open Recent list")
            return False
        return open_path(self.window, path)

    def state(self) -> dict:
        return {"paths": list(self.paths)}

    def apply_state(self, values: dict) -> list[str]:
        """Set the list from saved `values` ({"paths": [...]}, newest first); paths that
        are not text are left out, and then "paths" is returned as rejected."""
        if not isinstance(values, dict) or "paths" not in values:
            return [] if isinstance(values, dict) else ["paths"]
        paths = values["paths"]
        if not isinstance(paths, list):
            return ["paths"]
        kept = []
        for p in paths:
            if (isinstance(p, str) and p.strip() and "\0" not in p
                    and len(p) <= MAX_PATH_CHARS and p not in kept):
                kept.append(p)
        self.paths = kept[:MAX_RECENT]
        self._rebuild()
        return [] if len(kept) == len(paths) and len(kept) <= MAX_RECENT else ["paths"]

    def _rebuild(self) -> None:
        self.menu.clear()
        for i, path in enumerate(self.paths):
            p = Path(path)
            action = self.menu.addAction(f"&{i + 1} {p.name}    {p.parent}")
            action.setObjectName(f"recentFileAction{i + 1}")
            action.setToolTip(f"Open {path}")
            action.triggered.connect(partial(self.open, path))
        if not self.paths:
            none = self.menu.addAction("No recent files")
            none.setObjectName("noRecentFilesAction")
            none.setToolTip("Files you open are listed here")
            none.setEnabled(False)
        self.menu.addSeparator()
        clear = self.menu.addAction("Clear list")
        clear.setObjectName("clearRecentAction")
        clear.setToolTip("Forget the recently opened files")
        clear.setEnabled(bool(self.paths))
        clear.triggered.connect(self.clear)


# --------------------------------------------------------------------------- drag and drop


def dropped_paths(mime) -> list[Path]:
    """The local files a drag carries."""
    if mime is None or not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


class DropOpener(QObject):
    """An event filter for the window: a dragged local file may be dropped anywhere on
    it (but on a text field), and opens as File › Open would open it."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            if dropped_paths(event.mimeData()):
                event.acceptProposedAction()
                return True
        elif kind == QEvent.Type.Drop:
            paths = dropped_paths(event.mimeData())
            if paths:
                event.acceptProposedAction()
                self.drop(paths)
                return True
        return False

    def drop(self, paths: list[Path]) -> bool:
        opened = open_path(self.window, paths[0])
        if opened and len(paths) > 1:
            self.window.statusBar().showMessage(
                f"Opened {paths[0].name}; one file at a time: the other {len(paths) - 1} "
                "were left", 8000)
        return opened
