"""A long session in one window: many short runs, each steered at a random step (experts
switched, weights changed, the reward's colour or switch flipped), as a user would.
Prints the process's resident memory and the objects alive after some of the runs: they
should stay flat (target: under 20 MB of growth from run 10 to the last). Needs a display.

    xvfb-run -a -s "-screen 0 1280x1024x24" .venv/bin/python benchmarks/soak.py [--runs 200]
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import sys
import time

import pyqtgraph as pg
import torch
from PySide6.QtCore import QThread, QTimer

from poe_desktop import MainWindow
from poe_desktop.model.frames import Frame
from poe_desktop.run.worker import StreamWorker

SETTINGS = {"particles": 2, "points": 32, "steps": 8, "langevin_steps": 1}
COLORS = ("red", "green", "blue", "white", "#ff8000")
TARGET_MB = 20.0


def rss_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # peak, not current


def alive(window: MainWindow) -> dict[str, int]:
    gc.collect()
    counts = dict.fromkeys(("StreamWorker", "InfiniteLine", "Frame", "torch tensors"), 0)
    kinds = {"StreamWorker": StreamWorker, "InfiniteLine": pg.InfiniteLine, "Frame": Frame,
             "torch tensors": torch.Tensor}
    for obj in gc.get_objects():
        kind = type(obj)  # not isinstance: some objects' __class__ warns when read
        for name, cls in kinds.items():
            if issubclass(kind, cls):
                counts[name] += 1
    counts["QThread"] = len(window.findChildren(QThread))
    return counts


def steer(window: MainWindow, rng: random.Random) -> None:
    """One to three random changes, as the panels would make them."""
    experts, reward = window.experts_panel, window.reward_panel
    for _ in range(rng.randint(1, 3)):
        action = rng.choice(("toggle", "weight", "color", "reward"))
        if action == "toggle":
            box = experts.toggles[rng.choice(list(experts.toggles))]
            box.setChecked(not box.isChecked())
        elif action == "weight":
            spin = experts.weights[rng.choice(list(experts.weights))]
            spin.setValue(round(rng.uniform(0.5, 2.0), 2))
        elif action == "color":
            reward.set_color(rng.choice(COLORS))
        else:
            experts.reward.setChecked(not experts.reward.isChecked())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0, help="of the random steering")
    args = parser.parse_args(argv)
    checkpoints = sorted({c for c in (10, 100, args.runs) if c <= args.runs})

    app = pg.mkQApp("soak")
    window = MainWindow()
    window.sampler_panel.apply(SETTINGS)
    window.show()
    rng = random.Random(args.seed)
    state = {"runs": 0, "pause_at": 0, "failed": 0}
    rows: list[tuple[int, float, dict[str, int]]] = []
    start = time.perf_counter()

    def next_run() -> None:
        for box in window.experts_panel.toggles.values():  # each run starts from the product
            box.setChecked(True)
        window.experts_panel.reward.setChecked(True)
        window.sampler_panel.seed.setValue(rng.randrange(1000))
        state["pause_at"] = rng.randint(1, SETTINGS["steps"] - 1)
        if not window.run(pause_after=state["pause_at"]):
            print(f"soak: a run did not start: {window.last_error}", file=sys.stderr)
            app.exit(1)

    def on_step(index: int) -> None:  # the worker has paused right after this step
        if window.running and index + 1 == state["pause_at"]:
            steer(window, rng)
            window.toggle_pause()  # resume

    def on_finished(reason: str) -> None:
        state["runs"] += 1
        state["failed"] += reason != "completed"
        if state["runs"] in checkpoints:
            rows.append((state["runs"], rss_mb(), alive(window)))
            run, rss, counts = rows[-1]
            print(f"after run {run:4d}: RSS {rss:7.1f} MB | alive: "
                  + ", ".join(f"{k} {v}" for k, v in counts.items()), flush=True)
        if state["runs"] >= args.runs:
            app.quit()
        else:
            QTimer.singleShot(0, next_run)

    window.stepArrived.connect(on_step)
    window.runFinished.connect(on_finished)
    print(f"soak: {args.runs} runs of {SETTINGS['steps']} steps ({SETTINGS['particles']} "
          f"particles x {SETTINGS['points']} points), steered at a random step", flush=True)
    QTimer.singleShot(0, next_run)
    code = app.exec()
    seconds = time.perf_counter() - start
    window.close()
    print(f"{state['runs']} runs in {seconds:.0f} s ({state['failed']} not completed)")
    if len(rows) >= 2:
        growth = rows[-1][1] - rows[0][1]
        print(f"RSS growth from run {rows[0][0]} to run {rows[-1][0]}: {growth:+.1f} MB "
              f"(target < {TARGET_MB:g} MB)")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
