"""The CUDA path, on a machine with an NVIDIA GPU: `pytest -m cuda`.

Deselected where torch sees no CUDA device (see conftest.py)."""

import pytest
import torch

from poe_engine.cli import main as engine_main
from poe_engine.moves import ode_step
from poe_engine.reward import ColorReward
from poe_engine.runs import build_composition, build_experts
from poe_engine.samplers import SamplerSettings, ais

pytestmark = pytest.mark.cuda
NAMES = ("x", "y", "z", "color")
SMALL = SamplerSettings(particles=4, points=256, steps=16, precision="fp32")


@pytest.fixture(scope="module")
def cuda_experts():
    return build_experts(None, "cuda")


def run(experts, settings, seed, device="cuda"):
    composition = build_composition(experts, NAMES, ColorReward("blue"))
    return list(ais(composition, settings, seed=seed, device=device))


def test_a_seeded_cuda_run_is_reproducible(cuda_experts):
    a, b = run(cuda_experts, SMALL, 3), run(cuda_experts, SMALL, 3)
    assert all(torch.equal(x.best, y.best) for x, y in zip(a, b, strict=True))
    assert a[-1].best.device.type == "cuda"


def test_one_step_agrees_between_cpu_and_cuda(cuda_experts, shipped_experts):
    x = torch.rand(4, 256, 6)
    cpu = build_composition(shipped_experts, NAMES, None).snapshot()
    gpu = build_composition(cuda_experts, NAMES, None).snapshot()
    on_cpu = ode_step(cpu, x, 0.7, 0.69, 1.0)
    on_gpu = ode_step(gpu, x.cuda(), 0.7, 0.69, 1.0).cpu()
    assert torch.allclose(on_cpu, on_gpu, atol=1e-4)


def test_resampling_stays_on_the_device(cuda_experts):
    records = run(cuda_experts, SMALL, 0)
    assert any(r.resampled for r in records)
    for r in records:
        assert r.log_weights.device.type == "cuda" and r.log_weights.dtype == torch.float64
        assert r.ess_value.device.type == "cuda"
        if r.resampled:
            assert r.ancestors.device.type == "cuda"


def test_bf16_on_cuda_stays_on_the_sphere(cuda_experts):
    from poe_engine.metrics import fidelity

    settings = SamplerSettings(particles=8, points=512, steps=64, precision="bf16")
    final = run(cuda_experts, settings, 1)[-1].best
    assert fidelity(final.cpu()).radial_error < 0.02


def test_cuda_end_to_end_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "run.npz"
    assert engine_main(["sample", "--device", "cuda", "--steps", "8", "--points", "64",
                        "--particles", "2", "--out", str(out)]) == 0
    assert "on cuda" in capsys.readouterr().out
    assert out.exists()


def test_graphed_layers_agree_with_direct_ones_and_take_each_call_s_inputs(cuda_experts):
    from poe_engine.stacked import AxisFlowStack

    axes = [cuda_experts[a] for a in "xyz"]
    graphed = AxisFlowStack(axes, torch.float32, graphs=True)
    direct = AxisFlowStack(axes, torch.float32, graphs=False)
    assert graphed.graphs is not None and direct.graphs is None
    g = torch.Generator(device="cuda").manual_seed(0)
    outputs = []
    for particles in (4, 1, 4, 4):  # two row counts, the first one replayed
        cloud = torch.rand(particles, 256, 6, device="cuda", generator=g)
        for t in (0.8, 0.3):  # the folded time bias changes between replays
            a, b = graphed.velocities(cloud, t), direct.velocities(cloud, t)
            assert torch.allclose(a, b, atol=1e-5)
            outputs.append((a, a.clone()))
    assert sorted(graphed.graphs.captured) == [256, 1024] and not graphed.graphs.failed
    # each call's answer is its own: a later replay does not overwrite an earlier one
    assert all(torch.equal(kept, copy) for kept, copy in outputs)


def test_a_run_with_graphs_matches_one_without_and_a_toggle_captures_anew(cuda_experts):
    runs = {}
    for graphs in (True, False):
        composition = build_composition(cuda_experts, NAMES, ColorReward("blue"))
        composition.graphs = graphs
        stream = ais(composition, SMALL, seed=5, device="cuda")
        first = [next(stream) for _ in range(6)]
        composition.set_enabled("y", False)
        runs[graphs] = (composition, first + list(stream))
    for a, b in zip(runs[True][1], runs[False][1], strict=True):
        assert a.experts == b.experts
        assert torch.allclose(a.best, b.best, atol=1e-4)
    stacks = list(runs[True][0]._stacks.values())
    assert len(stacks) == 2  # x,y,z then x,z
    assert all(stack.graphs.captured and not stack.graphs.failed for stack in stacks)
