"""The app's error dialog: one at a time.

A problem reported while the dialog is still open joins it instead of opening another
window over it: the newest problem is the dialog's text, and the earlier ones are listed
under Show Details. The dialog is modeless (`open`, not `exec`), so the app keeps going."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget


def show_problem(parent: QWidget, box: QMessageBox | None, title: str,
                 message: str) -> QMessageBox:
    """`title` and `message` on screen; `box` is the dialog shown last time (or None).
    Returns the dialog that shows them."""
    if box is not None and box.isVisible():
        earlier = box.property("problems") or []
        earlier.append(f"{box.windowTitle()}: {box.text()}")
        box.setProperty("problems", earlier)
        box.setWindowTitle(title)
        box.setText(message)
        many = "s" if len(earlier) > 1 else ""
        box.setInformativeText(f"and {len(earlier)} earlier problem{many}, under Show Details")
        box.setDetailedText("\n\n".join(reversed(earlier)))  # newest first
        return box
    box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok,
                      parent)
    box.setObjectName("errorDialog")
    box.open()
    return box
