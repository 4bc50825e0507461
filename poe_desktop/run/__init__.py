"""A run in the app: `RunSession` (start, pause, steer, record, export a run) and the
generic worker that drives the engine's step iterator on a QThread."""
