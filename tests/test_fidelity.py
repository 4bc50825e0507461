"""The fidelity bars of docs/fidelity.md with the shipped weights, on a reduced set of
runs so that CI stays fast (the README has the full table from `poe-engine evaluate`)."""

import pytest

from poe_engine.evaluation import SINGLE_EXPERT_STEPS, ProductRow, SingleRow
from poe_engine.metrics import color_success
from poe_engine.reward import ColorReward
from poe_engine.runs import build_composition, run
from poe_engine.samplers import SamplerSettings


def test_the_product_meets_every_bar(shipped_experts):
    runs = []
    for seed, colour in [(0, "red"), (1, "green"), (2, "blue")]:
        reward = ColorReward(colour)
        composition = build_composition(shipped_experts, shipped_experts, reward)
        result = run(composition, SamplerSettings(), "ais", seed)
        runs.append((seed, colour, result.fidelity(), color_success(result.final, reward),
                     result.seconds))
    row = ProductRow(runs)
    assert row.failures() == [], row.failures()
    assert row.successes == 3


@pytest.mark.parametrize("axis", ["x", "y", "z"])
def test_one_axis_expert_alone_shows_the_saturn_ring_artifact(shipped_experts, axis):
    settings = SamplerSettings(steps=SINGLE_EXPERT_STEPS)
    off = []
    for seed in (0, 1):
        composition = build_composition(shipped_experts, [axis], None)
        off.append(run(composition, settings, "euler", seed).fidelity().off_sphere)
    row = SingleRow(axis, off)
    assert row.failures() == [], row.failures()
