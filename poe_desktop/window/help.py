"""Help › Keyboard shortcuts (made from the window's own actions, so it stays true when
an action or its key changes) and the version About shows."""

from __future__ import annotations

import sys
from importlib import metadata

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTableWidget, QTableWidgetItem, QVBoxLayout

from ..qt_utils import with_shortcut


def app_version() -> str:
    """The installed package's version; else the source tree's `__version__`, else dev."""
    try:
        return metadata.version("poe-desktop")
    except metadata.PackageNotFoundError:
        package = sys.modules.get(__package__)
        return str(getattr(package, "__version__", "dev"))


def shortcuts(window) -> list[tuple[str, str]]:
    """(what, keys) for each of the window's actions that has a shortcut, by name."""
    seen, rows = set(), []
    for action in window.findChildren(QAction):
        keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText)
                         for k in action.shortcuts())
        what = action.text().replace("&", "").replace("…", "").strip()
        if keys and (what, keys) not in seen:
            seen.add((what, keys))
            rows.append((what, keys))
    return sorted(rows, key=lambda row: row[0].lower())


def shortcuts_dialog(window) -> QDialog:
    """A table of `shortcuts(window)`, opened without blocking the run."""
    dialog = QDialog(window)
    dialog.setObjectName("shortcutsDialog")
    dialog.setWindowTitle("Keyboard shortcuts")
    rows = shortcuts(window)
    table = QTableWidget(len(rows), 2, dialog)
    table.setObjectName("shortcutsTable")
    table.setHorizontalHeaderLabels(["Action", "Keys"])
    table.verticalHeader().hide()
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
    for i, (what, keys) in enumerate(rows):
        table.setItem(i, 0, QTableWidgetItem(what))
        table.setItem(i, 1, QTableWidgetItem(keys))
    table.resizeColumnsToContents()
    table.horizontalHeader().setStretchLastSection(True)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
    buttons.rejected.connect(dialog.close)
    layout = QVBoxLayout(dialog)
    layout.addWidget(table)
    layout.addWidget(buttons)
    dialog.resize(380, 60 + 32 * max(len(rows), 4))
    dialog.open()
    window.shortcuts_dialog = dialog
    return dialog


def add_help_actions(window) -> None:
    """Help › Keyboard shortcuts (F1), before About."""
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    action = QAction("Keyboard shortcuts", window)
    action.setObjectName("shortcutsAction")
    action.setShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents))
    action.setToolTip(with_shortcut("List every keyboard shortcut of the window", action))
    action.triggered.connect(lambda: shortcuts_dialog(window))
    first = help_menu.actions()[0] if help_menu.actions() else None
    help_menu.insertAction(first, action)
    window.shortcuts_action = action
