"""What the status bar says about a run beyond its frames (display.py shows those): that
a run is paused and after which step, and that a reward colour chosen late in a run may
not be reached. Reset clears the bar through `FrameDisplay.clear`."""

from __future__ import annotations

# Below this noise level a cloud's colour has mostly settled (t = 1 is noise, t = 0 the
# clean cloud): a new reward colour can then still reweight the particles, but their
# colours have little room left to move towards it.
LATE_T = 0.2


def paused_message(frames) -> str:
    """Where a paused run stands, and what the buttons do now."""
    if not frames:
        where = "before its first step"
    else:
        f = frames[-1]
        where = f"after step {f.index + 1} of {f.steps} (t {f.t:.3f})"
    return f"Paused {where} · Step (F10): one more · Resume (F5)"


def late_color_message(frames, color: str) -> str | None:
    """The warning for a reward colour changed at the newest frame's noise level, or None
    while it is early enough."""
    if not frames or frames[-1].t >= LATE_T:
        return None
    f = frames[-1]
    return (f"Reward → {color} at step {f.index + 2} of {f.steps}, t {f.t:.2f}: this late "
            "the cloud's colour has mostly settled, so it may not reach the new colour")


def connect_status(window) -> None:
    """Keep `window`'s status bar true to its session (see the module's docstring)."""
    session, bar = window.session, window.statusBar()

    def show_pause_state(*_args) -> None:
        paused = session.running and session.paused
        window.display.set_paused(paused)
        if paused:
            bar.showMessage(paused_message(session.frames))

    def warn_late_color(color: str) -> None:
        message = late_color_message(session.frames, color) if session.running else None
        if message is not None:
            bar.showMessage(message, 15_000)
            window.late_color_warning = message

    window.late_color_warning = None
    session.stateChanged.connect(show_pause_state)
    session.frameAdded.connect(lambda _f: session.paused and show_pause_state())
    window.reward_panel.colorChanged.connect(warn_late_color)
