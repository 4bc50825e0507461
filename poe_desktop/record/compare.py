"""`poe-desktop record --compare A.json B.json`: two runs in one video, side by side, with
what differs between their settings (model/run_diff.py) as its title, as the app's
*Pin this run* shows them.

Each file is read as `--config` would be (a run configuration, or a run's `.npz`), with the
options given on the command line winning over both; its run is a grid panel of
`command.run_panels`, and the frames go through the grid's compositor
(`recorder.compose_grid`) with a title band above it (`titled`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

from poe_engine.options import replay_setup, settings_from

from ..model.look import VIEW_THEMES, ViewTheme
from ..model.run_diff import difference_line

PANEL_SIZE = "480x480"  # each panel's, unless --size says


def without_compare(argv: list[str]) -> list[str]:
    """`argv` without `--compare A B` (or `--compare=A B`)."""
    out, skip = [], 0
    for arg in argv:
        if skip:
            skip -= 1
        elif arg == "--compare":
            skip = 2
        elif arg.startswith("--compare="):
            skip = 1
        else:
            out.append(arg)
    return out


def panel_titles(paths: list[str]) -> list[str]:
    """The files' names, or their paths where the names are the same."""
    names = [Path(p).name for p in paths]
    return list(paths) if len(set(names)) < len(names) else names


def compare_jobs(args: argparse.Namespace, experts: dict, device,
                 parse: Callable[[list[str]], argparse.Namespace]) -> list[tuple]:
    """The two runs as grid jobs (title, sampler, composition, events, settings, seed), each
    file's arguments parsed by `parse` (argv with `--config FILE`); `args.compare_title`
    becomes what differs between them."""
    argv = without_compare(getattr(args, "argv", []))
    jobs, configs = [], []
    for path, title in zip(args.compare, panel_titles(args.compare), strict=True):
        own = parse([*argv, "--config", path])
        config, composition, events = replay_setup(own, experts, device)
        configs.append(config)
        jobs.append((title, own.sampler, composition, events, settings_from(own), own.seed))
    args.compare_title = f"{jobs[0][0]} → {jobs[1][0]}: {difference_line(*configs)}"
    return jobs


def band_height(panel_height: int) -> int:
    return max(24, round(0.08 * panel_height))


def titled(frame: QImage, title: str, band: int,
           theme: ViewTheme = VIEW_THEMES["dark"]) -> QImage:
    """`frame` under a band `band` pixels high with `title` centred in it (elided to the
    frame's width) in the theme's colours."""
    out = QImage(frame.width(), frame.height() + band, QImage.Format.Format_RGB32)
    out.fill(QColor(*theme.background))
    painter = QPainter(out)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.drawImage(0, band, frame)
    font = QFont("DejaVu Sans")
    font.setBold(True)
    font.setPixelSize(max(11, round(band * 0.5)))
    painter.setFont(font)
    painter.setPen(QColor(*theme.text_rgb))
    text = painter.fontMetrics().elidedText(title, Qt.TextElideMode.ElideRight,
                                            frame.width() - 16)
    painter.drawText(QRect(0, 0, frame.width(), band), int(Qt.AlignmentFlag.AlignCenter), text)
    painter.end()
    return out
