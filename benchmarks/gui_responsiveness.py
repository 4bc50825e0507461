"""How the app feels during a default run: the sampler's steps/s in the app against the
same run without a window (as the command line runs it), in this one process; the 3-D
view's frame rate while sampling; and the event-loop stalls (lateness of a 10 ms QTimer).
Needs a display (xvfb-run).

    xvfb-run -a -s "-screen 0 1280x1024x24" .venv/bin/python benchmarks/gui_responsiveness.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

import pyqtgraph as pg
from PySide6.QtCore import QTimer

from poe_desktop import MainWindow

TICK_MS = 10


def headless_steps_per_second(steps: int) -> float:
    """The same run as the app's default, without a window (what `poe-engine sample` does)."""
    from poe_engine.experts import ColorReward
    from poe_engine.runs import build_composition, build_experts
    from poe_engine.samplers import SamplerSettings, ais

    experts = build_experts(None, "cpu")
    composition = build_composition(experts, experts.keys(), ColorReward("red"))
    start = time.perf_counter()
    for record in ais(composition, SamplerSettings(steps=steps), seed=0):
        _ = record.best.cpu().numpy(), record.ess  # what a consumer copies
    return steps / (time.perf_counter() - start)


def main(steps: int = 128) -> int:
    # the window's defaults, never settings saved by an earlier session on this machine
    os.environ["POE_DESKTOP_SETTINGS"] = os.path.join(tempfile.mkdtemp(), "settings.ini")
    app = pg.mkQApp("benchmark")
    cli_rate = headless_steps_per_second(steps)
    window = MainWindow()
    window.sampler_panel.steps.setValue(steps)
    window.show()

    paints: list[float] = []
    original_paint = window.view3d.paintGL

    def counting_paint(*args, **kwargs):
        paints.append(time.perf_counter())
        return original_paint(*args, **kwargs)

    window.view3d.paintGL = counting_paint
    lateness: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        lateness.append(now - last[0] - TICK_MS / 1000)
        last[0] = now

    timer = QTimer(interval=TICK_MS, timeout=tick)
    started = []

    def start() -> None:
        started.append(time.perf_counter())
        last[0] = time.perf_counter()
        timer.start()
        window.run()

    def finish(reason: str) -> None:
        timer.stop()
        wall = time.perf_counter() - started[0]
        during = [p for p in paints if p >= started[0]]
        rate = len(window.frames) / wall
        print(f"run: {reason}, {len(window.frames)} steps in {wall:.1f} s "
              f"({rate:.2f} steps/s) on {window.session.device}, precision "
              f"{window.run_config['precision']}, sampler {window.frames[-1].threads}")
        print(f"without a window (as the command line): {cli_rate:.2f} steps/s; "
              f"the app reaches {100 * rate / cli_rate:.0f} % of it")
        print(f"view frames drawn while sampling: {len(during)} ({len(during) / wall:.1f} fps)")
        worst = max(lateness) * 1000
        p99 = sorted(lateness)[int(0.99 * (len(lateness) - 1))] * 1000
        print(f"event-loop stall: longest {worst:.0f} ms, 99th percentile {p99:.0f} ms "
              f"over {len(lateness)} ticks of {TICK_MS} ms")
        window.close()
        app.quit()

    window.runFinished.connect(finish)
    QTimer.singleShot(500, start)
    app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main(*(int(a) for a in sys.argv[1:2])))
