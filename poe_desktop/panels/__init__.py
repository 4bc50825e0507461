"""The app's panels, one file each: each shows what it is given and emits what the user
did; the main window decides what that means for a run. No panel takes the main window."""

from .compose import ComposePanel
from .experts import ExpertsPanel
from .population import PopulationPanel
from .recording import RecordingPanel
from .reward import RewardPanel
from .sampler import PACES, SamplerPanel, pace_combo
from .stats import StatsPanel
from .timeline import TimelineBar
from .toolbar import RunToolbar

__all__ = ["PACES", "ComposePanel", "ExpertsPanel", "PopulationPanel", "RecordingPanel",
           "RewardPanel", "RunToolbar", "SamplerPanel", "StatsPanel", "TimelineBar", "pace_combo"]
