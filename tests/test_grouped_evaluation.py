"""Grouped evaluation of the experts and the precision of their products."""

import itertools

import pytest
import torch

from poe_engine import precision as precision_module
from poe_engine import stacked
from poe_engine.errors import InputError
from poe_engine.precision import resolve_precision
from poe_engine.reward import ColorReward
from poe_engine.runs import build_composition
from poe_engine.samplers import SamplerSettings, ais
from poe_engine.stacked import AxisFlowStack
from poe_engine.world import NOISE, make_generator

NAMES = ("x", "y", "z", "color")


def compositions(experts, enabled, weights=None):
    """The same product evaluated grouped and one expert at a time."""
    out = []
    for grouped in (True, False):
        composition = build_composition(experts, enabled, ColorReward("red"))
        composition.grouped = grouped
        for name, w in (weights or {}).items():
            composition.set_weight(name, w)
        out.append(composition)
    return out


@pytest.fixture(scope="module")
def cloud():
    return NOISE.sample(3, 200, make_generator(4))


@pytest.mark.parametrize("on", list(itertools.product((False, True), repeat=4)))
def test_grouped_and_separate_evaluation_agree_for_every_on_off_combination(
        shipped_experts, cloud, on):
    enabled = [n for n, o in zip(NAMES, on, strict=True) if o]
    grouped, separate = compositions(shipped_experts, enabled, {"x": 2.0, "z": 0.5})
    a, b = grouped.snapshot(), separate.snapshot()
    assert a.names == b.names == tuple(enabled)
    if any(n in enabled for n in "xyz"):
        assert a.stacks and not b.stacks  # the grouped one really grouped
    for t in (0.93, 0.4, 0.02):
        assert torch.allclose(a.velocity(cloud, t), b.velocity(cloud, t), rtol=1e-5, atol=1e-5)
        score_a, step_a = a.score_and_step(cloud, t, 0.05)
        score_b, step_b = b.score_and_step(cloud, t, 0.05)
        assert torch.allclose(step_a, step_b)
        # scores scale velocities by 1 / (t sigma^2): compare relative to their size
        scale = score_b.abs().max().clamp_min(1.0)
        assert float((score_a - score_b).abs().max() / scale) < 1e-5


def test_grouped_stacks_are_built_once_and_follow_toggles_mid_run(shipped_experts):
    grouped, separate = compositions(shipped_experts, NAMES)
    settings = SamplerSettings(particles=2, points=64, steps=6, langevin_steps=1,
                               precision="fp32")
    runs = []
    for composition in (grouped, separate):
        stream = ais(composition, settings, seed=3)
        first = [next(stream) for _ in range(3)]
        composition.set_enabled("y", False)
        composition.set_weight("x", 3.0)
        runs.append(first + list(stream))
    for a, b in zip(*runs, strict=True):
        assert a.experts == b.experts
        assert torch.allclose(a.best, b.best, atol=1e-4)
    assert runs[0][-1].experts == ("x", "z", "color")
    assert len(grouped._stacks) == 2  # x,y,z then x,z: one stack each, reused across steps


def test_stack_velocities_match_each_expert_alone_in_fp32_and_approximately_in_bf16(
        shipped_experts, cloud):
    axes = [shipped_experts[a] for a in "xyz"]
    alone = torch.stack([e.velocity(cloud, 0.3) for e in axes])
    fp32 = AxisFlowStack(axes, torch.float32).velocities(cloud, 0.3)
    bf16 = AxisFlowStack(axes, torch.bfloat16).velocities(cloud, 0.3)
    assert fp32.dtype == bf16.dtype == torch.float32
    assert torch.allclose(fp32, alone, atol=2e-5)
    # bf16 keeps about 3 significant digits: velocities here are of order 1
    assert float((bf16 - alone).abs().max()) < 0.05
    assert float((bf16 - alone).abs().mean()) < 0.01


def test_a_bf16_run_stays_close_to_the_fp32_run_and_on_the_sphere(shipped_experts):
    from poe_engine.metrics import fidelity

    finals = {}
    for name in ("fp32", "bf16"):
        composition = build_composition(shipped_experts, NAMES, ColorReward("green"))
        settings = SamplerSettings(particles=4, points=256, steps=48, precision=name)
        records = list(ais(composition, settings, seed=1))
        assert all(r.precision == name for r in records)
        finals[name] = records[-1].best
    for name, cloud in finals.items():
        fid = fidelity(cloud)
        assert fid.radial_error < 0.02, (name, fid)
        assert fid.mean_color[1] > max(fid.mean_color[0], fid.mean_color[2])


def test_precision_names_resolve_and_auto_follows_the_probe(monkeypatch):
    assert resolve_precision("fp32", "cpu") == "fp32"
    assert resolve_precision("bf16", "cpu") == "bf16"
    with pytest.raises(InputError, match="precision must be one of auto, fp32, bf16"):
        resolve_precision("fp16", "cpu")
    monkeypatch.setattr(precision_module, "bf16_speedup", lambda device: 5.0)
    assert resolve_precision("auto", "cpu") == "bf16"
    monkeypatch.setattr(precision_module, "bf16_speedup", lambda device: 0.01)
    assert resolve_precision("auto", "cpu") == "fp32"


def test_the_probe_measures_a_positive_speedup_on_this_machine():
    speedup = precision_module.bf16_speedup("cpu")
    assert 0.0 < speedup < 1000.0
    assert resolve_precision("auto", "cpu") in ("fp32", "bf16")


def test_settings_refuse_an_unknown_precision():
    with pytest.raises(ValueError, match="precision"):
        SamplerSettings(precision="fp64")


# --------------------------------------------------------------------------- CPU layouts


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("shape", [(3, 200), (3, 3000)])  # one chunk; several and a remainder
def test_fused_and_plain_cpu_layers_agree_with_the_experts_alone(shipped_experts, dtype, shape):
    axes = [shipped_experts[a] for a in "xyz"]
    cloud = NOISE.sample(*shape, make_generator(7))
    alone = torch.stack([e.velocity(cloud, 0.6) for e in axes])
    fused = AxisFlowStack(axes, dtype, fused=True)
    plain = AxisFlowStack(axes, dtype, fused=False)
    assert fused.fused and not plain.fused
    for t in (0.6, 0.05):  # the folded time bias follows the level in both layouts
        a, b = fused.velocities(cloud, t), plain.velocities(cloud, t)
        assert a.shape == b.shape == (3, *shape, 1)
        if dtype == torch.float32:
            assert torch.allclose(a, b, atol=2e-5)
        else:  # two bf16 roundings of the same sums: a few units of bf16's last digit
            assert float((a - b).abs().mean()) < 0.01
    assert torch.allclose(fused.velocities(cloud, 0.6), alone,
                          atol=2e-5 if dtype == torch.float32 else 0.05)


def test_the_layer_probe_chooses_the_default_layout(shipped_experts, monkeypatch):
    axes = [shipped_experts[a] for a in "xyz"]
    for pays in (True, False):
        monkeypatch.setattr(stacked, "fused_layers_pay", lambda dtype, pays=pays: pays)
        assert AxisFlowStack(axes, torch.float32).fused is pays
        composition = build_composition(shipped_experts, NAMES, None)
        assert composition.snapshot().stacks[0][0].fused is pays
        composition.fused = not pays  # a composition may force either layout
        assert composition.snapshot().stacks[0][0].fused is (not pays)


def test_the_layer_probe_refuses_an_op_that_fails_or_disagrees(monkeypatch):
    probe = stacked.fused_layers_pay.__wrapped__  # uncached
    assert isinstance(probe(torch.float32), bool)

    def broken(*args):
        raise RuntimeError("no oneDNN kernel for this CPU")

    monkeypatch.setattr(stacked, "_linear_silu", broken)
    assert probe(torch.float32) is False
    monkeypatch.setattr(stacked, "_linear_silu", lambda x, weight, bias: torch.zeros_like(x))
    assert probe(torch.float32) is False
    monkeypatch.setattr(stacked, "fused_layers_available", lambda: False)
    assert probe(torch.bfloat16) is False


def test_a_cuda_graph_that_cannot_be_captured_falls_back_to_the_layers(monkeypatch):
    calls = []

    def no_capture(*args, **kwargs):
        raise RuntimeError("no CUDA stream here")

    monkeypatch.setattr(torch.cuda, "Stream", no_capture)

    def layers(centred, bias):
        calls.append(len(centred))
        return centred * 2 + bias

    graphs = stacked.CudaGraphs(layers)
    centred, bias = torch.ones(5, 3), torch.zeros(1, 3)
    out = graphs(centred, bias)  # the capture fails: the call still gets its answer
    assert torch.equal(out, centred * 2) and graphs.failed and not graphs.captured
    graphs(centred, bias)
    assert calls[-1] == 5  # later calls run the layers directly, with no second capture
