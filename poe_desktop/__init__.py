"""PoE Desktop: a Qt/OpenGL viewer over the ``poe_engine`` sampler.

Qt is imported lazily so that ``import poe_desktop`` stays cheap and works on
machines without a display; ``poe_desktop.MainWindow`` pulls in Qt on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .window.main_window import MainWindow

__all__ = ["MainWindow"]


def __getattr__(name: str) -> Any:
    if name == "MainWindow":
        from .window.main_window import MainWindow

        return MainWindow
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
