"""The Recording panel's "keep armed": a run that starts after a recording ended with its
run records again, to the next free numbered name."""

from __future__ import annotations


def connect_keep_armed(window) -> None:
    """With the Recording panel's keep-armed on, a run that starts after a recording ended
    with its run records again, to the next free numbered name. Only the session's
    signals tell when (their order is the session's), not the Record button's state."""
    session, panel = window.session, window.recording_panel
    stopped_idle = [False]  # the last recording stopped while no run was going

    def recording_stopped() -> None:
        stopped_idle[0] = not session.running  # a run ending stops its recording first

    def run_finished(_reason: str) -> None:
        panel.recording_ended(with_run=stopped_idle[0])
        stopped_idle[0] = False

    def rearm() -> None:
        if session.running and session.recorder is None:
            stopped_idle[0] = False  # stopped by hand before this run: not with a run
            if panel.take_armed():
                window.record_action.setChecked(True)  # set_recording starts the recording

    session.recordingStopped.connect(recording_stopped)
    session.finished.connect(run_finished)
    session.stateChanged.connect(rearm)
