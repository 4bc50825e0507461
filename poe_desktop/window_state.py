"""The main window's saved state: its geometry, its docks and (unless a run configuration
filled the panels) the Sampler settings, through `settings.py`'s plain text file."""

from __future__ import annotations

import json

from PySide6.QtCore import QByteArray

from .settings import decode_blob, encode_blob, read_settings, write_settings

SETTINGS_RESET_NOTE = "Some saved settings were invalid and were reset"


def restore_window(window) -> None:
    """Restore `window`'s layout and, unless a run configuration fills its panels
    (`window.from_config`), its Sampler settings. Every value is untrusted text (see
    settings.py): checked, and on any doubt the default stays, with a note in the status
    bar. The raw strings read stay in `window.saved_settings`."""
    saved, invalid = read_settings()
    window.saved_settings = saved
    for key, apply in (("geometry", window.restoreGeometry),
                       ("windowState", window.restoreState)):
        if key in saved:
            blob = decode_blob(saved[key])
            if blob is None or not apply(QByteArray(blob)):
                invalid = True
    if "sampler" in saved and not window.from_config:
        try:
            values = json.loads(saved["sampler"])
        except (ValueError, RecursionError):
            values = None
        if not isinstance(values, dict) or window.sampler_panel.apply(values):
            invalid = True
    if invalid:
        window.statusBar().showMessage(SETTINGS_RESET_NOTE, 10_000)


def save_window(window) -> None:
    values = {"geometry": encode_blob(window.saveGeometry().data()),
              "windowState": encode_blob(window.saveState().data()),
              "sampler": json.dumps(window.sampler_panel.values())}
    if window.from_config:  # the configuration's settings are not the user's
        values.pop("sampler")
        saved = getattr(window, "saved_settings", {})
        if "sampler" in saved:
            values["sampler"] = saved["sampler"]
    write_settings(values)
