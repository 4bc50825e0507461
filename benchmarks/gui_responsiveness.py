"""How the app feels during a default run: the sampler's steps/s in the app against the
same run without a window (as the command line runs it), in this one process; the 3-D
view's frame rate while sampling; and the event-loop stalls (lateness of a 10 ms QTimer).
Then a second run while the camera orbits at 60 Hz with the statistics open (the Run
tab shown): the gaps between the view's frames (p50, p95, worst) and the stalls again,
which is where a costly redraw of the plots shows. Needs a display (xvfb-run).

    xvfb-run -a -s "-screen 0 1280x1024x24" .venv/bin/python benchmarks/gui_responsiveness.py
    ... benchmarks/gui_responsiveness.py --steps 24   # another length
    ... benchmarks/gui_responsiveness.py --eager-frames   # as the app was before issue 21
    ... benchmarks/gui_responsiveness.py --particles 64 --points 2048   # a big population

A default run is short (16 steps since issue 21), so both sides are measured after a warm-up
run (the first run of a process measures the precision and the thread count) and over
`--repeat` pairs of runs: the command line's from its first step to its last, the app's
from `run()` to the run's end. The two sides take turns, a run each (the window idle while
the command line's runs), and the app's share is the median over the pairs of its rate
against the window-less run just before it, so that the machine's drift from minute to
minute (this one's command-line rate moved between 28 and 46 steps/s; a hypervisor's steal)
does not fall on one side. The window-less run has a thread of its own, with all the cores,
as the app's sampler has; the process runs as the app's entry point runs it
(`pacing.sampler_gets_the_cores`).

It uses only what the app had before the plots were reworked (so that the same file
measures the old code too): MainWindow, its run(), runFinished, view3d, the statsDock.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import threading
import time
from dataclasses import replace

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QDockWidget

from poe_desktop import MainWindow
from poe_desktop.model import pacing

# as the app's entry point runs (code from before this existed: its threads as they were)
AVAILABLE_THREADS = getattr(pacing, "AVAILABLE_THREADS", None)
AS_THE_APP = getattr(pacing, "sampler_gets_the_cores", contextlib.nullcontext)

TICK_MS = 10
ORBIT_MS = 16  # 60 Hz, as a person dragging the camera
ORBIT_DEGREES = 1.0  # a step of the orbit


def headless_runs(steps: int, particles: int | None = None, points: int | None = None):
    """A function that does the same run as the app's default, without a window (what
    `poe-engine sample` does), and returns its steps/s."""
    from poe_engine.reward import ColorReward
    from poe_engine.runs import build_composition, build_experts
    from poe_engine.samplers import SamplerSettings, ais

    threads = torch.get_num_threads() if AVAILABLE_THREADS is None else AVAILABLE_THREADS
    experts = build_experts(None, "cpu")
    composition = build_composition(experts, experts.keys(), ColorReward("red"))
    settings = SamplerSettings(steps=steps)
    settings = replace(settings, particles=particles or settings.particles,
                       points=points or settings.points)

    def run(rates: list[float]) -> None:
        torch.set_num_threads(threads)  # as a command line's process: all its cores
        start = time.perf_counter()
        for record in ais(composition, settings, seed=0):
            _ = record.best.cpu().numpy(), record.ess  # what a consumer copies
        rates.append(steps / (time.perf_counter() - start))

    def once() -> float:
        """On a thread of its own, as the app's sampler runs: a thread that ends takes its
        OpenMP team with it, so the process holds one team at a time, as the command
        line's does (see pacing.sampler_gets_the_cores)."""
        rates: list[float] = []
        thread = threading.Thread(target=run, args=(rates,))
        thread.start()
        thread.join()
        return rates[0]
    return once


def eager_frames() -> None:
    """Every frame's fidelity, x0_hat and x0_hat trail computed on the sampler's thread as
    it is made, as the app did before issue 21 (where frames are lazy; no-op otherwise)."""
    from poe_desktop.model import frames

    made = frames.frame_from

    def eager(*args, **kwargs):
        frame = made(*args, **kwargs)
        _ = frame.radial_error, frame.denoised, frame.denoised_trail
        return frame
    frames.frame_from = eager


STALL_MS = 100  # a UI that does not answer for longer than this feels stuck


def stall_line(lateness: list[float]) -> str:
    worst = max(lateness) * 1000
    p99 = sorted(lateness)[int(0.99 * (len(lateness) - 1))] * 1000
    stalls = sum(1 for late in lateness if late * 1000 > STALL_MS)
    return (f"event-loop stall: longest {worst:.0f} ms, 99th percentile {p99:.0f} ms "
            f"over {len(lateness)} ticks of {TICK_MS} ms; {stalls} over {STALL_MS} ms")


class Probe:
    """Records the view's paints and the lateness of a 10 ms timer while it is on."""

    def __init__(self, window: MainWindow) -> None:
        self.paints: list[float] = []
        self.lateness: list[float] = []
        self.on = False
        self._last = time.perf_counter()
        self.timer = QTimer(interval=TICK_MS, timeout=self._tick)
        original_paint = window.view3d.paintGL

        def counting_paint(*args, **kwargs):
            if self.on:
                self.paints.append(time.perf_counter())
            return original_paint(*args, **kwargs)

        window.view3d.paintGL = counting_paint

    def start(self) -> None:
        self.paints.clear()
        self.lateness.clear()
        self.on = True
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.on = False
        self.timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.lateness.append(now - self._last - TICK_MS / 1000)
        self._last = now


def run_once(window: MainWindow, probe: Probe, orbit: bool) -> tuple[str, float]:
    """One run of the window's settings; with `orbit` the camera turns at 60 Hz meanwhile.
    Returns how it ended and its wall time. A local event loop, not app.exec(): Qt 6's
    quit() closes every window, and the window is needed for the next run."""
    loop = QEventLoop()
    orbit_timer = QTimer(interval=ORBIT_MS,
                         timeout=lambda: window.view3d.orbit(ORBIT_DEGREES, 0.0))
    result: list = []

    def start() -> None:
        result.append(time.perf_counter())
        if orbit:  # the run's start (a first run measures the precision) is not the plots'
            window.run()
            orbit_timer.start()
            probe.start()
        else:
            probe.start()
            window.run()

    def finish(reason: str) -> None:
        probe.stop()
        orbit_timer.stop()
        result.extend([reason, time.perf_counter() - result[0]])
        window.runFinished.disconnect(finish)
        loop.quit()

    window.runFinished.connect(finish)
    QTimer.singleShot(500, start)
    loop.exec()
    return result[1], result[2]


def main(steps: int = 16, plain: bool = True, repeat: int = 9, particles: int | None = None,
         points: int | None = None) -> int:
    # the window's defaults, never settings saved by an earlier session on this machine
    os.environ["POE_DESKTOP_SETTINGS"] = os.path.join(tempfile.mkdtemp(), "settings.ini")
    pg.mkQApp("benchmark")
    headless = headless_runs(steps, particles, points) if plain else None
    window = MainWindow()
    window.sampler_panel.steps.setValue(steps)
    if particles:
        window.sampler_panel.particles.setValue(particles)
    if points:
        window.sampler_panel.points.setValue(points)
    window.sampler_panel.pace.setCurrentText("as fast as possible")
    window.show()
    probe = Probe(window)

    if plain:
        headless()  # warm-ups: the precision probe, and the app's thread trial
        run_once(window, probe, orbit=False)
        rates, paints, lateness, cli_rates = [], [], [], []
        for _ in range(repeat):
            cli_rates.append(headless())
            reason, wall = run_once(window, probe, orbit=False)
            rates.append(len(window.frames) / wall)
            paints.append(len(probe.paints) / wall)
            lateness += probe.lateness
        rate, cli_rate = float(np.median(rates)), float(np.median(cli_rates))
        # each app run against the window-less run just before it: the machine's drift
        # (and a hypervisor's steal) cancels in the pair
        shares = sorted(100 * a / c for a, c in zip(rates, cli_rates, strict=True))
        print(f"runs: {reason}, {len(window.frames)} steps, {repeat} runs at "
              f"{', '.join(f'{r:.2f}' for r in rates)} steps/s (median {rate:.2f}) on "
              f"{window.session.device}, precision {window.run_config['precision']}, "
              f"sampler {window.frames[-1].threads}")
        print(f"without a window (as the command line), in turn with them: "
              f"{', '.join(f'{r:.2f}' for r in cli_rates)} steps/s (median {cli_rate:.2f}); "
              f"the app reaches {np.median(shares):.0f} % of it (median of the pairs; "
              f"quartiles {np.percentile(shares, 25):.0f}-{np.percentile(shares, 75):.0f} %)")
        print(f"view frames drawn while sampling: {np.median(paints):.1f} fps (median)")
        print(stall_line(lateness))

    # the statistics open, on their Run tab, while the camera orbits
    dock = window.findChild(QDockWidget, "statsDock")
    dock.show()
    dock.raise_()
    window.stats_panel.tabs.setCurrentIndex(0)
    reason, wall = run_once(window, probe, orbit=True)
    gaps = np.diff(probe.paints) * 1000
    print(f"orbiting every {ORBIT_MS} ms (60 Hz) with the plots open: {reason}, "
          f"{len(window.frames)} steps in {wall:.1f} s, {len(probe.paints)} view frames "
          f"({len(probe.paints) / wall:.1f} fps)")
    if len(gaps):
        print(f"view frame gaps: p50 {np.percentile(gaps, 50):.0f} ms, "
              f"p95 {np.percentile(gaps, 95):.0f} ms, worst {gaps.max():.0f} ms, "
              f"{int((gaps > STALL_MS).sum())} over {STALL_MS} ms")
    print(stall_line(probe.lateness))
    window.close()
    return 0


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("legacy_steps", nargs="?", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=None,
                        help="denoising steps (the default run's)")
    parser.add_argument("--repeat", type=int, default=9,
                        help="pairs of runs measured, after a warm-up")
    parser.add_argument("--eager-frames", action="store_true",
                        help="compute every frame's fidelity and x0_hat on the sampler's "
                        "thread, as the app did before issue 21")
    parser.add_argument("--particles", type=int, default=None, help="(the default run's)")
    parser.add_argument("--points", type=int, default=None, help="(the default run's)")
    parser.add_argument("--orbit-only", action="store_true",
                        help="skip the first run (and the window-less one): only the orbit")
    args = parser.parse_args(argv)
    if args.steps is None and args.legacy_steps is None:
        from poe_engine.samplers import SamplerSettings
        args.steps = SamplerSettings().steps
    args.steps = args.steps or args.legacy_steps
    return args


if __name__ == "__main__":
    options = parse(sys.argv[1:])
    if options.eager_frames:
        eager_frames()
    with AS_THE_APP():
        code = main(options.steps, plain=not options.orbit_only, repeat=options.repeat,
                    particles=options.particles, points=options.points)
    sys.exit(code)
