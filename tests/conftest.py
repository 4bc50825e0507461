"""Shared pytest configuration."""

from __future__ import annotations

import os
import sys

import pytest

# --- GUI tests: require a real display with OpenGL ----------------------------------------
# Tests marked ``gui`` must FAIL (never skip) without a usable display, so a broken CI
# stack cannot hide behind skips. Without this check Qt would abort the whole process when
# pytest-qt creates the QApplication.


def _gui_unavailable_reason() -> str | None:
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":", 1)[0]
    if platform in ("offscreen", "minimal"):
        return f"QT_QPA_PLATFORM={platform} cannot create an OpenGL context"
    if sys.platform in ("win32", "darwin"):
        return None
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "DISPLAY and WAYLAND_DISPLAY are unset"
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("gui") is None:
        return
    reason = _gui_unavailable_reason()
    if reason is not None:
        pytest.fail(
            f"GUI test needs a display with OpenGL, but {reason}. Run the suite under "
            "xvfb-run -a -s '-screen 0 1280x1024x24' (bash scripts/test does this).",
            pytrace=False,
        )


# --- CUDA tests: run with `pytest -m cuda` on a machine with an NVIDIA GPU -----------------
# Without CUDA they are deselected (not skipped: nothing is missing but the hardware), and
# asking for them there (-m cuda) fails, so a GPU run cannot pass by running nothing.


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import torch

    if torch.cuda.is_available():
        return
    wanted = "cuda" in (config.getoption("-m") or "")
    cuda = [item for item in items if item.get_closest_marker("cuda") is not None]
    if wanted and cuda:
        raise pytest.UsageError("-m cuda: these tests need CUDA, and torch sees no CUDA device")
    if cuda:
        config.hook.pytest_deselected(items=cuda)
        items[:] = [item for item in items if item.get_closest_marker("cuda") is None]


# --- engine fixtures ----------------------------------------------------------------------
# tests/ holds helpers (exact.py) imported by name.
sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture(scope="session")
def shipped_experts():
    """The trained axis experts from resources/, plus the analytic colour expert."""
    from poe_engine.runs import build_experts

    return build_experts(None, "cpu")


# --- app fixtures ---------------------------------------------------------------------------
# Before pytest-qt makes the QApplication: views must share GL resources (see view3d.py).
import poe_desktop.view.view3d  # noqa: E402, F401


@pytest.fixture(autouse=True)
def isolated_app_settings(tmp_path, monkeypatch):
    """Each test gets its own QSettings store, never the user's; and its windows run the
    sampler as fast as it goes, not at the app's default pace (a run of 4 s or more, which
    tests/test_pacing.py checks)."""
    monkeypatch.setenv("POE_DESKTOP_SETTINGS", str(tmp_path / "poe-desktop.ini"))
    monkeypatch.setattr("poe_desktop.panels.sampler.DEFAULT_PACE", "as fast as possible")


@pytest.fixture
def window(qtbot):
    """The app's main window, shown and exposed; closed after the test."""
    from poe_desktop import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    with qtbot.waitExposed(w):
        w.show()
    yield w
    w.close()
