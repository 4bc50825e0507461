"""docs/one-look.png: one steered run in one non-default Look, three ways: the app's window,
its view image (--view-image) and the last frame of its recording (poe-desktop record),
side by side. Run under Xvfb:

    xvfb-run -a -s "-screen 0 1600x1200x24" .venv/bin/python scripts/docs_one_look.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "xcb")

from poe_desktop.app import main as desktop_main  # noqa: E402
from poe_engine.cli import main as engine_main  # noqa: E402

LOOK = {"format": "poe-look/1", "colour_by": "radial", "theme": "light", "point_size": 0.035,
        "cloud": "xt", "camera": {"azimuth": 65.0, "elevation": 24.0, "distance": 2.4}}
SIZE = (420, 360)


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="one-look-"))
    os.environ["POE_DESKTOP_SETTINGS"] = str(work / "settings.ini")
    config = work / "run.json"
    assert engine_main(["sample", "--steps", "48", "--seed", "3", "--reward", "red",
                        "--precision", "fp32", "--save-config", str(config)]) == 0
    values = json.loads(config.read_text())  # steered: blue from step 20, x off from 30
    values["steering"] = [{"step": 20, "reward": "blue"},
                          {"step": 30, "experts": "y,z,color"}]
    config.write_text(json.dumps(values))
    look = work / "look.json"
    look.write_text(json.dumps(LOOK))
    size = f"{SIZE[0]}x{SIZE[1]}"
    assert desktop_main(["--config", str(config), "--look", str(look), "--autorun",
                         "--screenshot", str(work / "window.png"),
                         "--view-image", str(work / "view.png"), "--size", size]) == 0
    assert desktop_main(["record", "--config", str(config), "--look", str(look), "--size",
                         size, "--hold", "0", "--out", f"{work / 'frames'}/"]) == 0
    window = Image.open(work / "window.png").convert("RGB")
    window = window.resize((round(window.width * SIZE[1] / window.height), SIZE[1]))
    panels = [("the window", window), ("its view image", Image.open(work / "view.png")),
              ("the recording's last frame",
               Image.open(sorted((work / "frames").glob("*.png"))[-1]))]
    width = sum(p.width for _, p in panels) + 20 * (len(panels) - 1)
    sheet = Image.new("RGB", (width, SIZE[1] + 28), (250, 250, 252))
    draw, x = ImageDraw.Draw(sheet), 0
    for title, panel in panels:
        sheet.paste(panel.convert("RGB"), (x, 28))
        draw.text((x + 6, 8), title, fill=(28, 28, 32))
        x += panel.width + 20
    out = ROOT / "docs" / "one-look.png"
    sheet.save(out)
    print(f"wrote {out} (work files in {work})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
