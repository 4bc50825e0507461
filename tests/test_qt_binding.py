"""The Qt binding must not corrupt reference counts when signals are emitted: PySide6
6.12.0 dropped a reference to True on every emission, and the app crashed mid-run
(Fatal Python error: bool_dealloc / none_dealloc) after a few thousand signals."""

import sys

from PySide6.QtCore import QObject, Signal


class Emitter(QObject):
    anything = Signal(object)
    flag = Signal(bool)
    number = Signal(int)


def test_signal_emission_keeps_reference_counts_of_singletons(qapp):
    emitter = Emitter()
    for signal in (emitter.anything, emitter.flag, emitter.number):
        signal.connect(lambda value: None)

    def counts():
        return sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)

    before = counts()
    for _ in range(100):  # few enough to report a drift rather than crash on it
        emitter.anything.emit(None)
        emitter.flag.emit(True)
        emitter.number.emit(7)
    after = counts()
    drift = [a - b for a, b in zip(after, before, strict=True)]
    assert all(abs(d) < 50 for d in drift), f"refcount drift (None, True, False): {drift}"
