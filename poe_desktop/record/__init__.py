"""Recordings: encoders (MP4, GIF, PNG frames) on a background thread, the offscreen
rendering of every step, the Recorder, and the `poe-desktop record` command."""
