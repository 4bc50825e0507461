"""The app's saved settings: window geometry, dock layout, the panels, the view and the theme.

A small text file that this module reads and writes itself. Not QSettings: QSettings
turns an ``@Variant(...)`` value that holds a pickled Python object back into the object,
and PySide6 unpickles it while *loading* the file, whatever key is then asked for (even
``contains()`` or ``allKeys()``), so a planted settings file would run code at start-up.
Here a value is only ever a string: base64 text for Qt's geometry and dock-state blobs,
JSON for everything else (window_state.py). The caller checks each one before use.

The file is ini-like (``key=value`` lines under ``[General]``); it lives at
``$POE_DESKTOP_SETTINGS`` or in the platform's configuration folder.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

SETTINGS_ENV = "POE_DESKTOP_SETTINGS"
KEYS = ("geometry", "windowState", "sampler", "experts", "reward", "viewToggles", "recording",
        "recentFiles", "viewOptions", "stats", "look", "compose")
MAX_FILE_BYTES = 256 * 1024  # a real file is about 2 kB; anything far bigger is not ours
MAX_BLOB_BYTES = 64 * 1024  # geometry or state, decoded
SECTION = "[General]"


def settings_path() -> Path:
    path = os.environ.get(SETTINGS_ENV)
    if path:
        return Path(path)
    from PySide6.QtCore import QStandardPaths

    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation)
    return Path(base or Path.home() / ".config") / "poe-desktop" / "settings.ini"


def read_settings(path: str | Path | None = None) -> tuple[dict[str, str], bool]:
    """The raw string of each known key, and whether the file held anything unreadable.

    A missing file is an empty store, not a damaged one. Unknown keys and other sections
    are skipped; nothing in the file is evaluated, decoded or unpickled here.
    """
    path = settings_path() if path is None else Path(path)
    try:
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return {}, False
    except OSError:
        return {}, True
    damaged = len(data) > MAX_FILE_BYTES
    try:
        text = data[:MAX_FILE_BYTES].decode("utf-8")
    except UnicodeDecodeError:
        text, damaged = data[:MAX_FILE_BYTES].decode("utf-8", errors="replace"), True
    values: dict[str, str] = {}
    section = SECTION
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith((";", "#")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line
            continue
        key, sep, value = line.partition("=")
        if not sep:
            damaged = True
            continue
        if section == SECTION and key.strip() in KEYS:
            values[key.strip()] = value.strip()
    return values, damaged


def write_settings(values: dict[str, str], path: str | Path | None = None) -> bool:
    """Replace the file with these keys (single-line strings). False if it cannot be
    written; the app goes on either way."""
    path = settings_path() if path is None else Path(path)
    lines = [SECTION]
    for key in KEYS:
        value = values.get(key)
        if isinstance(value, str) and "\n" not in value and "\r" not in value:
            lines.append(f"{key}={value}")
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        return False
    return True


def encode_blob(data: bytes) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def decode_blob(text: str) -> bytes | None:
    """Base64 text -> bytes; None if it is not strict base64 of a plausible size."""
    if not text or len(text) > MAX_BLOB_BYTES * 4 // 3 + 4:
        return None
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
