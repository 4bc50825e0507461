"""`poe-desktop record`: the app's recording pipeline without a window on screen.

It runs the sampler in this thread, renders every step in an offscreen 3-D view
and encodes MP4, GIF or a folder of PNGs. `--grid experts` puts each generative
expert alone (Euler) beside their product (AIS); `--grid colors` the product
steered to red, green and blue. It needs a display or Xvfb for OpenGL.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import torch

from poe_engine.errors import InputError, OutputError, one_line
from poe_engine.experts import EXPERT_NAMES
from poe_engine.options import (
    Parser,
    UsageError,
    add_sampler_options,
    number,
    parse_with_config,
    replay_setup,
    reward_from,
    settings_from,
)
from poe_engine.paths import check_output_path
from poe_engine.reward import ColorReward
from poe_engine.runs import (
    build_composition,
    build_experts,
    check_checksums,
    checksums,
    resolve_device,
    run,
)
from poe_engine.samplers import SamplerError
from poe_engine.trajectory import Trajectory
from poe_engine.weights import WeightsError

from ..gui_gc import collect_if_due, collected_on_gui_thread
from ..qt_utils import display_available, qimage_to_array

NO_DISPLAY = ("poe-desktop record: OpenGL needs a display; none was found (DISPLAY and "
              "WAYLAND_DISPLAY are unset). Run it under a virtual one: "
              "xvfb-run -a poe-desktop record ...")
GRID_PANEL_SIZE = "360x360"
FPS_RANGE = (1, 120)
HOLD_RANGE = (0.0, 60.0)  # seconds
POINT_SIZE_RANGE = (0.5, 50.0)  # pixels


@dataclass
class Panel:
    title: str
    trajectory: Trajectory


def build_parser() -> Parser:
    p = Parser(prog="poe-desktop record",
               description="Record a run (or a comparison grid) to MP4, GIF or PNG frames.")
    add_sampler_options(p)
    p.add_argument("--config", help="run configuration (.json, or a run's .npz) to replay, "
                   "with its expert weights and steering; options given here win")
    p.add_argument("--out", required=True, help="run.mp4 | run.gif | frames_dir/")
    p.add_argument("--size", type=_size, default=None,
                   help="frame size WxH (default 800x800; for grids, each panel's, 360x360)")
    p.add_argument("--fps", type=number(*FPS_RANGE, integer=True), default=24,
                   help="frames per second, 1 to 120")
    p.add_argument("--hold", type=number(*HOLD_RANGE), default=1.5,
                   help="seconds to hold the last frame, 0 to 60")
    p.add_argument("--turntable", action="store_true", help="orbit slowly during the run")
    p.add_argument("--no-overlay", action="store_true", help="no step/experts/reward/ESS text")
    p.add_argument("--grid", choices=("experts", "colors"), help="a titled comparison grid")
    p.add_argument("--point-size", type=number(*POINT_SIZE_RANGE), default=None,
                   help="pixels, 0.5 to 50")
    return p


def _size(text: str) -> str:
    from .encoders import parse_size

    try:
        parse_size(text)
    except InputError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def _device(args: argparse.Namespace):
    return resolve_device(args.device, lambda m: print(f"poe-desktop: warning: {m}",
                                                       file=sys.stderr))


def run_panels(args: argparse.Namespace, experts: dict | None = None,
               device: torch.device | None = None) -> list[Panel]:
    """The runs to record: one (with the expert weights and steering of a --config file), or
    a grid's, all from the same seed. `experts` (those of `args.weights`) and `device`:
    when already known."""
    device = device or _device(args)
    settings = settings_from(args)
    if experts is None:
        experts = build_experts(args.weights, device)
    if args.grid == "experts":
        jobs = [(f"{name} alone (Euler)", "euler", build_composition(experts, [name], None),
                 ()) for name in EXPERT_NAMES]
        jobs.append(("product (AIS)", "ais",
                     build_composition(experts, EXPERT_NAMES, reward_from(args)), ()))
    elif args.grid == "colors":
        jobs = [(f"product → {c}", "ais",
                 build_composition(experts, EXPERT_NAMES, ColorReward(c, args.strength)), ())
                for c in ("red", "green", "blue")]
    else:
        _, composition, events = replay_setup(args, experts, device)
        jobs = [("", args.sampler, composition, events)]
    panels = []
    for title, sampler, composition, events in jobs:
        result = run(composition, settings, sampler, args.seed, device, events=events)
        panels.append(Panel(title, result.trajectory()))
        print(f"  {title or sampler}: {len(result.records)} steps in {result.seconds:.1f} s",
              file=sys.stderr)
    return panels


def record(args: argparse.Namespace, panels: list[Panel]) -> str:
    from .encoders import BackgroundEncoder, even_size, parse_size
    from .recorder import FrameInfo, OffscreenView, burn_text, compose_grid, overlay_lines

    size = parse_size(args.size or (GRID_PANEL_SIZE if args.grid else "800x800"))
    columns = len(panels)
    frame_size = even_size((size[0] * columns, size[1]))
    size = (frame_size[0] // columns, frame_size[1])
    encoder = BackgroundEncoder(args.out, frame_size, args.fps)
    view = OffscreenView(size)
    if args.point_size:
        view.set_point_size(args.point_size)
    elif args.grid:
        view.set_point_size(4.0)
    last = None
    try:
        for k in range(len(panels[0].trajectory)):
            if args.turntable:
                view.orbit(0.75, 0)
            images = []
            for p in panels:
                tr = p.trajectory
                image = view.render(tr.clouds[k])
                if not args.no_overlay:
                    info = FrameInfo(k + 1, len(tr), float(tr.t[k]), tr.experts[k],
                                     tr.reward[k], float(tr.ess[k]), tr.log_weights.shape[1])
                    burn_text(image, overlay_lines(info))
                images.append(image)
            frame = images[0] if not args.grid else compose_grid(images,
                                                                 [p.title for p in panels])
            last = qimage_to_array(frame)
            encoder.submit(last)
            collect_if_due()  # no event loop runs here: collect between frames
        for _ in range(round(args.hold * args.fps)):
            encoder.submit(last)
        return str(encoder.close())
    finally:
        view.close()


def main(argv: list[str]) -> int:
    """Exit codes as `poe-engine`'s: 2 bad input, 1 a recording that cannot be made (weights,
    output path, sampler, encoder), each one line; every option, the output path and
    the weights are checked before any window opens or any sampling starts. Any other
    exception, a ValueError included, is a bug and shows its traceback."""
    from .encoders import RecordingError, output_format

    try:
        args = parse_args(argv)
        if not display_available():
            print(NO_DISPLAY, file=sys.stderr)
            return 2
        kind = output_format(args.out, "--out")
        check_output_path("--out", args.out, folder=kind == "frames")
        settings_from(args)  # the settings' own checks, for values a --config gave
        device = _device(args)
        experts = build_experts(args.weights, device)
        check_checksums(args.checksums, checksums(experts), args.config)
        import pyqtgraph as pg

        app = pg.mkQApp("poe-desktop record")
        with collected_on_gui_thread(app):  # this command's process only (see gui_gc)
            panels = run_panels(args, experts, device)
            path = record(args, panels)
    except UsageError as err:
        print(one_line(err), file=sys.stderr)
        return 2
    except InputError as err:
        print(f"poe-desktop record: error: {one_line(err)}", file=sys.stderr)
        return 2
    except (WeightsError, SamplerError, RecordingError, OutputError) as err:
        print(f"poe-desktop record: error: {one_line(err)}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Options, with a --config file's values as defaults (explicit options win)."""
    return parse_with_config(build_parser(), argv)
