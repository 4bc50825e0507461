"""A particle chosen on the Population panel: the 3-D view shows it, not the best one,
until the selection is cleared (a click on its tile again, or Escape), and the status bar
says which particle is shown. It needs the step's whole population (`Frame.particles`,
kept when the run keeps it); without it the bar says so and the view keeps the best."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel

from ..model.population import normalised_weights, relative_log_weights
from ..view.draw import draw_cloud


class ParticleSelection(QObject):
    """`index`: the selected particle, or None (the view shows the best)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window, self.index = window, None
        self.panel, self.display = window.population_panel, window.display
        self.panel.history = window.frames
        self.label = QLabel()
        self.label.setObjectName("selectionLabel")
        self.label.setToolTip("The particle the 3-D view shows; Escape (or a click on its "
                              "tile) goes back to the best one")
        self.label.hide()
        window.statusBar().addPermanentWidget(self.label)
        self.escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), window)
        self.escape.setEnabled(False)
        self.escape.activated.connect(lambda: self.choose(-1))
        self.panel.particleChosen.connect(self.choose)
        self.display.frameShown.connect(self._shown)

    def choose(self, index: int) -> None:
        """Show particle `index` of every step from now on; -1: the best again."""
        self.index = None if index < 0 else int(index)
        self.panel.set_selected(self.index)
        self.window.stats_panel.select_particle(self.index)
        self.escape.setEnabled(self.index is not None)
        shown = self.display.shown_index()
        if self.display.shown_frame() is not None:
            self.display.show_frame(shown)  # the best, then (frameShown) the selected
        else:
            self._shown(None)

    def _shown(self, frame) -> None:
        if frame is None and self.display.shown_frame() is None:
            self.index = None  # no run on screen (cleared): no selection either
            self.panel.set_selected(None)
            self.window.stats_panel.select_particle(None)
            self.escape.setEnabled(False)
        if self.index is None or frame is None:
            self.label.hide()
            return
        particles = getattr(frame, "particles", None)
        if particles is None or self.index >= len(particles):
            self.label.setText(f"particle {self.index}: not in this run's frames "
                               "(the best is shown)")
            self.label.show()
            return
        draw_cloud(self.window.view3d, self.display.look, np.asarray(particles[self.index]))
        w = normalised_weights(frame.log_weights)[self.index]
        rel = relative_log_weights(frame.log_weights)[self.index]
        self.label.setText(f"showing particle {self.index} of {len(particles)} "
                           f"(weight {w:.3g}, {rel + 0.0:+.1f} nats vs the best) · Esc: the best")
        self.label.show()
