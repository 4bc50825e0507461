"""Entry point for the ``poe-desktop`` command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .qt_utils import display_available

NO_DISPLAY_MESSAGE = (
    "poe-desktop: no display found (DISPLAY / WAYLAND_DISPLAY unset); "
    "run it under a virtual X server: xvfb-run -a poe-desktop"
)
SCREENSHOT_DELAY_MS = 500
EXIT_FAILURE, EXIT_USAGE = 1, 2


def _screenshot_step(text: str) -> int | str:
    if text in ("mid", "end"):
        return text
    try:
        step = int(text)
    except ValueError:
        step = 0
    if step < 1:
        raise argparse.ArgumentTypeError(f"invalid step {text!r}: use a step >= 1, mid or end")
    return step


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="poe-desktop", description="Watch and steer a Product-of-Experts sampler."
    )
    parser.add_argument("--weights", type=Path, default=None,
                        help="folder of expert weights (default: the shipped ones)")
    parser.add_argument("--autorun", action="store_true", help="start a run at launch")
    parser.add_argument("--config", metavar="PATH", type=Path,
                        help="run configuration (.json from --save-config or Export, or a "
                        "run's .npz) that fills the panels; the saved Sampler, Experts and "
                        "Reward settings are then left unused")
    parser.add_argument(
        "--screenshot",
        metavar="PATH",
        type=Path,
        help="save a screenshot of the window to PATH, then exit (with --autorun: once the "
        "run reaches --screenshot-step, or ends)",
    )
    parser.add_argument("--screenshot-step", type=_screenshot_step, default="end",
                        metavar="K|mid|end",
                        help="with --autorun --screenshot: the step to capture (1-based), "
                        "'mid' (half the run's steps) or 'end' (default). The run pauses "
                        "right after that step; a shorter run is captured at its last step")
    parser.add_argument("--look", metavar="FILE", type=Path,
                        help="how to draw clouds (a poe-look/1 file from View › Save look…); "
                        "default: the saved one, or the one a --config file was saved with")
    parser.add_argument("--view-image", metavar="PATH", type=Path,
                        help="write the 3-D view alone as a PNG (as File › Save view image) "
                        "at the run's end (with --autorun) or at once, then exit")
    parser.add_argument("--size", type=_size, default=None, metavar="WxH",
                        help="with --view-image: its size (default: the view's)")
    args = parser.parse_args(argv)
    if args.size is not None and args.view_image is None:
        parser.error("--size goes with --view-image")
    return args


def _size(text: str) -> tuple[int, int]:
    from .record.encoders import parse_size

    try:
        return parse_size(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def main(argv: list[str] | None = None) -> int:
    from .model.pacing import sampler_gets_the_cores

    with sampler_gets_the_cores():  # its torch threads and the GIL, before the GUI
        return _main(sys.argv[1:] if argv is None else argv)


def _main(argv: list[str]) -> int:
    if argv[:1] == ["record"]:
        from .record.command import main as record_main

        return record_main(argv[1:])
    args = _parse_args(argv)
    config = None
    if args.config is not None:
        from poe_engine.exports import load_config
        from poe_engine.runs import check_checksums
        from poe_engine.weights import WeightsError, manifest_checksums

        try:
            config = load_config(args.config)
            if config.get("checksums"):  # a replay needs the weights the run was made with
                check_checksums(config["checksums"], manifest_checksums(args.weights),
                                args.config)
        except ValueError as err:
            print(f"poe-desktop: error: {err}", file=sys.stderr)
            return EXIT_USAGE
        except WeightsError:
            pass  # unusable weights: the window says what is wrong when a run starts
    from .model.look import look_from_dict, read_look

    look = None
    try:
        if args.look is not None:
            look = read_look(args.look)
        elif config is not None and config.get("look"):
            look = look_from_dict(config["look"], f"{args.config}: look")
    except ValueError as err:
        print(f"poe-desktop: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    if not display_available():
        print(NO_DISPLAY_MESSAGE, file=sys.stderr)
        return EXIT_USAGE

    import pyqtgraph as pg

    from .gui_gc import collected_on_gui_thread
    from .window.looks import show_look
    from .window.main_window import MainWindow  # before the QApplication exists: see view3d

    app = pg.mkQApp("PoE Desktop")
    # Collection on the GUI thread only (see gui_gc): in this process, not in a host's.
    with collected_on_gui_thread(app):
        try:
            window = MainWindow(args.weights, config=config)
        except ValueError as err:  # a configuration the panels cannot hold
            print(f"poe-desktop: error: {args.config}: {err}", file=sys.stderr)
            return EXIT_USAGE
        if look is not None:
            show_look(window, look)
        return _show(app, window, args)


def _show(app, window, args: argparse.Namespace) -> int:
    """Run the window; with --screenshot or --view-image, capture it (see
    --screenshot-step) and leave."""
    from PySide6.QtCore import QCoreApplication, QEvent, QTimer

    from .window.view_controls import write_view_image

    window.show()
    if args.screenshot is None and args.view_image is None:
        if args.autorun:
            QTimer.singleShot(0, window.run)
        return int(app.exec())

    result = [EXIT_FAILURE]
    done = []

    def finish(code: int, error: str | None = None) -> None:
        if done:
            return
        done.append(True)
        result[0] = code
        if error is not None:
            print(f"poe-desktop: error: {error}", file=sys.stderr)
        window.close()
        app.quit()

    def capture() -> None:
        if done:
            return
        window.show_newest()  # the step asked for, drawn now, not at the next redraw
        written = ((args.screenshot is None or window.save_screenshot(args.screenshot))
                   and (args.view_image is None
                        or write_view_image(window, args.view_image, args.size)))
        if written:
            for path in (args.screenshot, args.view_image):
                if path is not None:
                    print(path)
            finish(0)
        else:
            finish(EXIT_FAILURE, window.last_error or "could not write the image")

    def start() -> None:
        steps = window.sampler_panel.steps.value()
        step = {"mid": max(1, steps // 2), "end": None}.get(args.screenshot_step,
                                                            args.screenshot_step)
        if step is not None:
            def on_step(index: int) -> None:  # the worker has paused after this step
                if index + 1 == step:
                    QTimer.singleShot(SCREENSHOT_DELAY_MS, capture)

            window.stepArrived.connect(on_step)
        if not window.run(pause_after=step):  # e.g. missing weights: say so and leave
            finish(EXIT_FAILURE, window.last_error)

    def on_finished(reason: str) -> None:
        if reason == "failed":
            finish(EXIT_FAILURE, window.last_error)
        else:  # fewer steps than asked, or stopped: the last step
            QTimer.singleShot(SCREENSHOT_DELAY_MS, capture)

    if args.autorun:
        window.runFinished.connect(on_finished)
        QTimer.singleShot(0, start)
    else:
        QTimer.singleShot(SCREENSHOT_DELAY_MS, capture)
    app.exec()
    # Closing the last window posted a Quit that would end the caller's next event loop
    # (main is called in-process too: tests, scripts).
    QCoreApplication.removePostedEvents(app, QEvent.Type.Quit)
    return result[0]


if __name__ == "__main__":
    raise SystemExit(main())
