"""`poe-desktop record`: the app's recording pipeline without a window on screen.

It runs the sampler in this thread, renders every step in an offscreen 3-D view
and encodes MP4, GIF or a folder of PNGs. `--grid experts` puts each generative
expert alone (Euler) beside their product (AIS); `--grid colors` the product
steered to red, green and blue; every panel with the expert weights and the steering of
the options or --config file (`grid_job`). `--compare A.json B.json`: two runs side by
side, what differs between them as the title (compare.py). It needs a display or Xvfb
for OpenGL.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from functools import partial

import torch

from poe_engine.compose import build_mixture
from poe_engine.errors import InputError, OutputError, one_line
from poe_engine.experts import EXPERT_NAMES
from poe_engine.options import (
    Parser,
    UsageError,
    add_sampler_options,
    number,
    parse_with_config,
    replay_setup,
    settings_from,
)
from poe_engine.paths import check_output_path
from poe_engine.runs import (
    build_experts,
    check_checksums,
    checksums,
    composition_for,
    resolve_device,
    run,
)
from poe_engine.samplers import SamplerError
from poe_engine.steering import Controls, SteeringEvent
from poe_engine.trajectory import Trajectory
from poe_engine.weights import WeightsError

from ..gui_gc import collect_if_due, collected_on_gui_thread
from ..model.look import DEFAULT_LOOK, POINT_SIZE_RANGE, Look, look_from_dict, read_look
from ..model.pacing import MIN_RUN_SECONDS, frames_per_step, pacing_note
from ..model.run_diff import pinned_index
from ..qt_utils import display_available, qimage_to_array
from .compare import PANEL_SIZE, band_height, compare_jobs, titled
from .encoders import DEFAULT_FPS

NO_DISPLAY = ("poe-desktop record: OpenGL needs a display; none was found (DISPLAY and "
              "WAYLAND_DISPLAY are unset). Run it under a virtual one: "
              "xvfb-run -a poe-desktop record ...")
GRID_PANEL_SIZE = "360x360"
# `--grid compose`: the showcase compositions (docs/composition.md), three a row
GALLERY = {"a sphere with a hole": "sphere & color & red & !cap(z > 0.75)",
           "a ring": "sphere & color & red & band(z, 0.45, 0.55)",
           "red | blue": "sphere & color & (red | blue)",
           "!green": "sphere & color & !green",
           "sphere | torus": "(sphere | torus) & color & red",
           "~green": "sphere & color & ~green"}
GALLERY_COLUMNS = 3
FPS_RANGE = (1, 120)
HOLD_RANGE = (0.0, 60.0)  # seconds


@dataclass
class Panel:
    title: str
    trajectory: Trajectory
    denoised: list | None = None  # each step's x0_hat (N, 6), when the Look draws it


def build_parser() -> Parser:
    p = Parser(prog="poe-desktop record",
               description="Record a run (or a comparison grid) to MP4, GIF or PNG frames.")
    add_sampler_options(p)
    p.add_argument("--config", help="run configuration (.json, or a run's .npz) to replay, "
                   "with its expert weights and steering; options given here win")
    p.add_argument("--out", required=True, help="run.mp4 | run.gif | frames_dir/")
    p.add_argument("--size", type=_size, default=None,
                   help="frame size WxH (default 800x800; for grids, each panel's, 360x360)")
    p.add_argument("--fps", type=number(*FPS_RANGE, integer=True), default=None,
                   help=f"frames per second, 1 to 120, each step one frame (default: "
                   f"{DEFAULT_FPS}, each step shown long enough for the run to last "
                   f"{MIN_RUN_SECONDS:g} s)")
    p.add_argument("--hold", type=number(*HOLD_RANGE), default=1.5,
                   help="seconds to hold the last frame, 0 to 60")
    p.add_argument("--turntable", action="store_true", help="orbit slowly during the run")
    p.add_argument("--no-overlay", action="store_true", help="no step/experts/reward/ESS text")
    p.add_argument("--grid", choices=("experts", "colors", "compose"),
                   help="a titled comparison grid (compose: the gallery of compositions)")
    p.add_argument("--compare", nargs=2, metavar=("A", "B"), default=None,
                   help="two runs (configurations .json, or runs' .npz) side by side in one "
                   "video, what differs between them as its title")
    p.add_argument("--point-size", type=number(*POINT_SIZE_RANGE), default=None,
                   help=f"cube units, {POINT_SIZE_RANGE[0]:g} to {POINT_SIZE_RANGE[1]:g} "
                   f"(default: the look's, {DEFAULT_LOOK.point_size:g})")
    p.add_argument("--look", dest="look_file", metavar="FILE", default=None,
                   help="how to draw (a poe-look/1 file from View › Save look…); default: "
                   "the look a --config file was saved with, else the app's default")
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


def grid_job(title: str, sampler: str, experts: dict, config: dict,
             events: list[SteeringEvent], change) -> tuple:
    """A grid panel's run: the configuration's controls (expert weights included) and
    steering, each changed by `change(controls, first)` as the panel says."""
    start = change(Controls.from_config(config), True)
    return (title, sampler, composition_for(experts, start),
            [SteeringEvent(e.step, change(e.controls, False)) for e in events])


def _alone(name: str, controls: Controls, first: bool) -> Controls:
    """`name` alone, at its weight, without a reward; switched off where steering does."""
    on = first or name in controls.enabled
    return replace(controls, enabled=(name,) if on else (), reward=None)


def _coloured(colour: str, controls: Controls, first: bool) -> Controls:
    """The product with the reward's colour `colour` wherever a reward is on (from the
    first step always), at the configuration's strength."""
    on = first or controls.reward is not None
    return replace(controls, reward=colour if on else None)


def run_panels(args: argparse.Namespace, experts: dict | None = None,
               device: torch.device | None = None) -> list[Panel]:
    """The runs to record: one (with the expert weights and steering of a --config file), or
    a grid's, all from the same seed. `experts` (those of `args.weights`) and `device`:
    when already known."""
    device = device or _device(args)
    settings = settings_from(args)
    if experts is None:
        experts = build_experts(args.weights, device)
    config, composition, events = replay_setup(args, experts, device)
    if args.grid == "experts":
        jobs = [grid_job(f"{name} alone (Euler)", "euler", experts, config, events,
                         partial(_alone, name)) for name in EXPERT_NAMES]
        jobs.append(("product (AIS)", "ais", composition, events))
    elif args.grid == "colors":
        jobs = [grid_job(f"product → {colour}", "ais", experts, config, events,
                         partial(_coloured, colour)) for colour in ("red", "green", "blue")]
    elif args.compare:
        jobs = compare_jobs(args, experts, device, parse_args)
    elif args.grid == "compose":
        jobs = [(title, "ais", build_mixture(text, experts, args.strength), [])
                for title, text in GALLERY.items()]
    else:
        jobs = [("", args.sampler, composition, events)]
    panels = []
    for title, sampler, composition, events, *own in jobs:  # (a comparison's: settings, seed)
        job_settings, seed = own or (settings, args.seed)
        result = run(composition, job_settings, sampler, seed, device, events=events)
        denoised = None
        if getattr(args, "drawn_look", None) is not None and args.drawn_look.cloud == "x0":
            denoised = [r.denoised.float().cpu().numpy() for r in result.records]
        panels.append(Panel(title, result.trajectory(), denoised))
        print(f"  {title or sampler}: {len(result.records)} steps in {result.seconds:.1f} s",
              file=sys.stderr)
    return panels


def record(args: argparse.Namespace, panels: list[Panel]) -> str:
    """Every step of `panels` (side by side for a grid) drawn as `args.drawn_look` says,
    at exactly the size asked (an MP4 pads an odd side, and says so)."""
    from .encoders import BackgroundEncoder, padding_note, parse_size
    from .recorder import FrameInfo, OffscreenView, burn_text, compose_grid, overlay_lines, turned

    grid, title = args.grid or args.compare, getattr(args, "compare_title", None)
    size = parse_size(args.size or (PANEL_SIZE if args.compare else GRID_PANEL_SIZE
                                    if args.grid else "800x800"))
    look = args.drawn_look
    columns = GALLERY_COLUMNS if args.grid == "compose" else len(panels)
    rows = -(-len(panels) // columns)
    band = band_height(size[1]) if title else 0  # --compare: what differs, above
    frame_size = (size[0] * columns, size[1] * rows + band)
    note = padding_note(args.out, frame_size)
    if note:
        print(f"poe-desktop record: note: {note}", file=sys.stderr)
    fps = args.fps or DEFAULT_FPS  # --fps given: each step one frame
    steps = max(len(p.trajectory) for p in panels)  # a comparison's may differ
    repeats = 1 if args.fps else frames_per_step(steps, fps)
    print(f"poe-desktop record: {pacing_note(steps, fps, repeats)}"
          + ("" if args.fps else " (--fps N shows each step once)"), file=sys.stderr)
    encoder = BackgroundEncoder(args.out, frame_size, fps)
    view = OffscreenView(size)
    last = None
    try:
        for step in range(steps):
            step_look = turned(look, step) if args.turntable else look
            images = []
            for p in panels:
                tr = p.trajectory
                k = pinned_index(step, steps, len(tr), len(tr))  # the same share of each
                image = view.draw(step_look, tr.clouds[k],
                                  previous=tr.clouds[k - 1][:, :3] if k else None,
                                  denoised=p.denoised[k] if p.denoised else None,
                                  denoised_previous=p.denoised[k - 1][:, :3]
                                  if p.denoised and k else None)
                if not args.no_overlay:
                    info = FrameInfo(k + 1, len(tr), float(tr.t[k]), tr.experts[k],
                                     tr.reward[k], float(tr.ess[k]), tr.log_weights.shape[1])
                    burn_text(image, overlay_lines(info), theme=step_look.view_theme)
                images.append(image)
            frame = images[0] if not grid else compose_grid(
                images, [p.title for p in panels], columns, theme=step_look.view_theme)
            if title:
                frame = titled(frame, title, band, step_look.view_theme)
            last = qimage_to_array(frame)
            for _ in range(repeats):
                encoder.submit(last)
            collect_if_due()  # no event loop runs here: collect between frames
        for _ in range(round(args.hold * fps)):
            encoder.submit(last)
        return str(encoder.close())
    finally:
        view.close()


def drawn_look(args: argparse.Namespace) -> Look:
    """The Look a recording draws with: --look FILE, else the one a --config file was saved
    with, else the default; --point-size (cube units) over either."""
    if args.look_file is not None:
        look = read_look(args.look_file)
    elif getattr(args, "look", None):
        look = look_from_dict(args.look, f"{args.config}: look")
    else:
        look = DEFAULT_LOOK
    return look if args.point_size is None else look.replace(point_size=args.point_size)


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
        args.drawn_look = drawn_look(args)
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
    parser = build_parser()
    args = parse_with_config(parser, argv)
    if args.compare and (args.config or args.grid):
        parser.error(f"--compare takes its two runs' settings from its files: give it without "
                     f"{'--config' if args.config else '--grid'}")
    args.argv = list(argv)
    return args
