"""Make docs/app.md's comparison screenshots from real runs in the app (needs a display: run
it under xvfb-run): all experts, pinned, beside the same run with the x expert off, seen
through the ring preset; in the dark theme and in the light one.

    xvfb-run -a -s "-screen 0 1600x1200x24" .venv/bin/python scripts/docs_compare.py [docs]
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyqtgraph as pg

from poe_desktop.view.camera import zoom

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docs_screenshots import click, run_to_end, settle, window  # noqa: E402

SIZE = (1280, 720)


def save(w, path: Path) -> None:
    """The window, as a PNG of at most 256 colours where that keeps it small."""
    from PIL import Image

    w.grab().save(str(path))
    image = Image.open(path).convert("RGB")
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def compare_x_off(out: Path) -> None:
    w = window(SIZE)
    run_to_end(w)
    w.pin_action.trigger()
    click(w, "expertToggle_x")
    run_to_end(w)
    w.view_toolbar.show_ring()
    zoom(w.view3d, 1.5)  # closer, in both views (their cameras are linked)
    settle(800)
    save(w, out / "compare-x-off.png")
    w.theme_actions["light"].setChecked(True)
    settle(800)
    save(w, out / "compare-x-off-light.png")
    w.theme_actions["dark"].setChecked(True)
    w.close()


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "docs")
    out.mkdir(parents=True, exist_ok=True)
    app = pg.mkQApp()
    compare_x_off(out)
    app.processEvents()
    print(f"screenshots in {out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
