"""The main window's saved state, through `settings.py`'s plain text file: its geometry and
docks, and a registry of everything else a person set (panels, view, theme).

Each registry entry is a name (a key of the settings file) and a pair of functions of the
window: one returns the state as a JSON-able dict, the other applies such a dict and
returns the keys it rejected (a missing key keeps the current value; it never raises on
bad values). Entries that a run configuration fills (`window.from_config`) are neither
restored nor saved from that window: the configuration's values are not the user's.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QByteArray

from .looks import apply_look_state, current_look
from .settings import decode_blob, encode_blob, read_settings, write_settings

SETTINGS_RESET_NOTE = "Some saved settings were invalid and were reset"


@dataclass(frozen=True)
class Entry:
    state: Callable[[object], dict]  # window -> values
    apply: Callable[[object, dict], list[str]]  # window, values -> keys rejected
    from_config: bool = False  # a run configuration fills it


def _number_in(value, low: float, high: float) -> bool:
    return (not isinstance(value, bool) and isinstance(value, int | float)
            and math.isfinite(value) and low <= value <= high)


def _toggles(window) -> dict:
    return {"trails": window.trails_action, "regions": window.regions_action}


def _apply_toggles(window, values: dict) -> list[str]:
    rejected = []
    for key, action in _toggles(window).items():
        if key in values:
            if isinstance(values[key], bool):
                action.setChecked(values[key])
            else:
                rejected.append(key)
    return rejected


def registry(window) -> dict[str, Entry]:
    """Every saved part of `window`'s state, by its settings key."""
    entries = {
        "sampler": Entry(lambda w: w.sampler_panel.values(),
                         lambda w, v: w.sampler_panel.apply(v), from_config=True),
        "experts": Entry(lambda w: w.experts_panel.state(),
                         lambda w, v: w.experts_panel.apply_state(v), from_config=True),
        "reward": Entry(lambda w: w.reward_panel.state(),
                        lambda w, v: w.reward_panel.apply_state(v), from_config=True),
        "compose": Entry(lambda w: w.compose_panel.state(),
                         lambda w, v: w.compose_panel.apply_state(v), from_config=True),
        "viewToggles": Entry(lambda w: {k: a.isChecked() for k, a in _toggles(w).items()},
                             _apply_toggles),
        "viewOptions": Entry(lambda w: w.view3d.state(), lambda w, v: w.view3d.apply_state(v)),
        "stats": Entry(lambda w: w.stats_panel.state(), lambda w, v: w.stats_panel.apply_state(v)),
        "recording": Entry(lambda w: w.recording_panel.state(),
                           lambda w, v: w.recording_panel.apply_state(v)),
        "recentFiles": Entry(lambda w: w.recent_state(), lambda w, v: w.apply_recent_state(v)),
        # how a cloud is drawn: colours, theme, points, guides, camera (model/look.py)
        "look": Entry(lambda w: current_look(w).to_dict(), apply_look_state),
    }
    return entries


def restore_window(window) -> None:
    """Restore `window`'s layout and every registry entry (but those a run configuration
    fills, when one did: `window.from_config`). Every value is untrusted text (see
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
    for key, entry in registry(window).items():
        if key in saved and not (entry.from_config and window.from_config):
            invalid |= not apply_entry(window, entry, saved[key])
    if invalid:
        window.statusBar().showMessage(SETTINGS_RESET_NOTE, 10_000)


def apply_entry(window, entry: Entry, text: str) -> bool:
    """Apply one saved JSON value; False if any of it was rejected (or it was no JSON
    object). A panel that raises all the same does not take the app down."""
    try:
        values = json.loads(text)
    except (ValueError, RecursionError):
        return False
    if not isinstance(values, dict):
        return False
    try:
        return not entry.apply(window, values)
    except Exception:  # a bad saved value must never stop the app starting
        return False


def save_window(window) -> None:
    values = {"geometry": encode_blob(window.saveGeometry().data()),
              "windowState": encode_blob(window.saveState().data())}
    saved = getattr(window, "saved_settings", {})
    for key, entry in registry(window).items():
        if entry.from_config and window.from_config:  # not the user's: keep theirs
            if key in saved:
                values[key] = saved[key]
            continue
        try:
            values[key] = json.dumps(entry.state(window), allow_nan=False)
        except (TypeError, ValueError):  # not JSON: better unsaved than unreadable
            continue
    write_settings(values)
