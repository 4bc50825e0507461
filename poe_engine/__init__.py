"""poe_engine: the toy world, experts, samplers, metrics and training, in pure torch.

The engine never imports Qt; `poe_desktop` builds on it.
"""

from .errors import InputError, OutputError
from .experts import AxisFlowExpert, MonochromeColorExpert
from .metrics import fidelity
from .product import Composition
from .reward import ColorReward
from .samplers import SamplerError, SamplerSettings, StepRecord, ais, euler
from .spec import RunSpec
from .trajectory import Trajectory
from .weights import WeightsError, load_axis_experts

__all__ = [
    "AxisFlowExpert",
    "ColorReward",
    "Composition",
    "InputError",
    "MonochromeColorExpert",
    "OutputError",
    "RunSpec",
    "SamplerError",
    "SamplerSettings",
    "StepRecord",
    "Trajectory",
    "WeightsError",
    "ais",
    "euler",
    "fidelity",
    "load_axis_experts",
]
