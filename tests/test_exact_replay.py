"""Issue 19: replays are exact, outputs are checked once and written as asked, and a run's
final population can be saved and opened again.

Every choice that changes the numbers (the precision of the experts' products, their CPU
layer path) is recorded in the run's configuration and .npz, and a replay takes it from
there without measuring the machine again."""

import json

import numpy as np
import pytest

from poe_engine import precision as precision_module
from poe_engine import stacked
from poe_engine.cli import main
from poe_engine.errors import InputError
from poe_engine.exports import load_config
from poe_engine.spec import CONFIG_FORMAT, RunSpec, check_config

SMALL = ["--steps", "5", "--points", "48", "--particles", "3", "--langevin", "1",
         "--device", "cpu", "--seed", "4"]
COLUMNS = ("trajectory", "log_weights", "ess", "resampled", "ancestors", "log_z",
           "acceptance", "reward_scale")
needs_fused = pytest.mark.skipif(not stacked.fused_layers_available(),
                                 reason="this torch has no oneDNN fused layers")


def npz(path):
    with np.load(path) as run:
        return {name: run[name] for name in run.files if name != "meta"}, json.loads(
            str(run["meta"]))


def sample(*argv):
    return main(["sample", *argv])


def probes(monkeypatch, bf16: bool, fused: bool) -> list:
    """The speed probes made to choose bf16 or fp32 and fused or plain layers; the list
    they return counts their calls."""
    calls = []

    def speedup(device):
        calls.append("precision")
        return 5.0 if bf16 else 0.1

    def pays(dtype):
        calls.append("layers")
        return fused

    monkeypatch.setattr(precision_module, "bf16_speedup", speedup)
    monkeypatch.setattr(stacked, "fused_layers_pay", pays)
    return calls


@needs_fused
@pytest.mark.parametrize("bf16, fused", [(True, True), (False, False), (True, False)])
def test_a_replay_takes_what_ran_whatever_the_probes_would_choose(bf16, fused, tmp_path,
                                                                   monkeypatch):
    calls = probes(monkeypatch, bf16, fused)
    assert sample(*SMALL, "--out", str(tmp_path / "a.npz"),
                  "--save-config", str(tmp_path / "a.json")) == 0
    assert calls  # the first run measured (precision and layers 'auto')
    original, meta = npz(tmp_path / "a.npz")
    ran = {"precision": "bf16" if bf16 else "fp32", "layers": "fused" if fused else "plain"}
    assert {key: meta[key] for key in ran} == ran
    assert {key: load_config(tmp_path / "a.json")[key] for key in ran} == ran

    calls = probes(monkeypatch, not bf16, not fused)  # now they would choose otherwise
    for source in ("a.json", "a.npz"):
        out = tmp_path / f"replay-{source}.npz"
        assert sample("--config", str(tmp_path / source), "--out", str(out)) == 0
        replay, replay_meta = npz(out)
        for name in COLUMNS:
            assert np.array_equal(replay[name], original[name], equal_nan=True), (source, name)
        assert {key: replay_meta[key] for key in ran} == ran
    assert calls == []  # a run given --config never measures


@needs_fused
def test_poe_desktop_record_replays_what_ran_too(tmp_path, monkeypatch):
    from poe_desktop.record.command import parse_args, run_panels

    probes(monkeypatch, True, True)
    assert sample(*SMALL, "--out", str(tmp_path / "a.npz")) == 0
    original, _ = npz(tmp_path / "a.npz")
    calls = probes(monkeypatch, False, False)
    [panel] = run_panels(parse_args(["--config", str(tmp_path / "a.npz"),
                                     "--out", str(tmp_path / "r.gif")]))
    assert np.array_equal(panel.trajectory.clouds, original["trajectory"])
    assert calls == []


@needs_fused
def test_the_layer_path_alone_changes_the_numbers(tmp_path):
    """Why it is recorded: the fused and plain layers agree to rounding, not bit for bit."""
    runs = {}
    for layers in ("fused", "plain"):
        out = tmp_path / f"{layers}.npz"
        assert sample(*SMALL, "--precision", "bf16", "--layers", layers, "--out", str(out)) == 0
        runs[layers], meta = npz(out)
        assert meta["layers"] == layers
    assert not np.array_equal(runs["fused"]["trajectory"], runs["plain"]["trajectory"])


def test_layers_are_a_checked_configuration_key_and_older_files_still_load():
    assert check_config({"format": CONFIG_FORMAT, "layers": "plain"})["layers"] == "plain"
    with pytest.raises(InputError, match="^c.json: layers must be one of auto, fused, plain"):
        check_config({"format": CONFIG_FORMAT, "layers": "fast"}, "c.json")
    old = RunSpec.from_dict({"format": CONFIG_FORMAT, "precision": "bf16"})
    assert old.settings.layers == "auto"  # measured, as such a file's run was
    spec = RunSpec.from_dict({"format": CONFIG_FORMAT, "layers": "fused"})
    assert spec.settings.layers == "fused" and spec.to_dict()["layers"] == "fused"
    assert RunSpec.from_dict(spec.to_dict()) == spec


def test_a_forced_layer_path_is_taken_without_a_probe(monkeypatch):
    calls = probes(monkeypatch, True, True)
    assert stacked.resolve_layers("plain", "cpu", precision_module.DTYPES["bf16"]) == "plain"
    assert calls == []
    assert stacked.resolve_layers("auto", "cpu", precision_module.DTYPES["bf16"]) in (
        "fused", "plain")
    monkeypatch.setattr(stacked, "fused_layers_available", lambda: False)
    assert stacked.resolve_layers("fused", "cpu", precision_module.DTYPES["fp32"]) == "plain"


# ------------------------------------------------------------------ outputs, checked once


@pytest.mark.parametrize("name", ["run.NPZ", "run.Npz"])
def test_an_upper_case_npz_is_written_as_asked_and_read_back(name, tmp_path):
    out = tmp_path / name
    assert sample(*SMALL, "--precision", "fp32", "--out", str(out)) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # not run.NPZ.npz
    columns, meta = npz(out)
    assert columns["trajectory"].shape == (5, 48, 6) and meta["steps"] == 5
    assert load_config(out)["seed"] == 4  # as a --config too
    assert sample("--config", str(out), "--out", str(tmp_path / "again.npz")) == 0
    assert np.array_equal(npz(tmp_path / "again.npz")[0]["trajectory"], columns["trajectory"])


# ------------------------------------------------------------------ the final population


def test_save_particles_keeps_the_final_population_and_changes_nothing(tmp_path):
    common = [*SMALL, "--precision", "fp32", "--layers", "plain"]
    assert sample(*common, "--save-particles", "--out", str(tmp_path / "p.npz")) == 0
    assert sample(*common, "--out", str(tmp_path / "plain.npz")) == 0
    kept, _ = npz(tmp_path / "p.npz")
    plain, _ = npz(tmp_path / "plain.npz")
    assert "final_particles" not in plain and "final_log_weights" not in plain
    for name in plain:
        assert np.array_equal(kept[name], plain[name], equal_nan=name != "reward"), name
    particles, weights = kept["final_particles"], kept["final_log_weights"]
    assert particles.shape == (3, 48, 6) and particles.dtype == np.float32
    assert weights.shape == (3,) and weights.dtype == np.float64
    assert np.allclose(weights, kept["log_weights"][-1])
    assert np.array_equal(particles[np.argmax(weights)], kept["final"])  # the shown one


def test_an_opened_npz_holds_the_final_population_in_its_last_frame(tmp_path):
    from poe_desktop.model.file_readers import read_file

    assert sample(*SMALL, "--precision", "fp32", "--save-particles",
                  "--out", str(tmp_path / "p.npz")) == 0
    kept, _ = npz(tmp_path / "p.npz")
    kind, run = read_file(tmp_path / "p.npz")
    assert kind == "trajectory" and len(run.frames) == 5
    last = run.frames[-1]
    assert np.array_equal(last.particles, kept["final_particles"])
    assert np.array_equal(last.log_weights, kept["final_log_weights"])
    assert all(f.particles is None for f in run.frames[:-1])
    assert "final population of 3 particles" in run.note


def test_a_damaged_final_population_is_refused_naming_the_file(tmp_path):
    from poe_desktop.model.file_readers import read_file

    assert sample(*SMALL, "--precision", "fp32", "--save-particles",
                  "--out", str(tmp_path / "p.npz")) == 0
    columns, meta = npz(tmp_path / "p.npz")
    for change, message in [
        ({"final_particles": columns["final_particles"][:2]}, "the final population must be"),
        ({"final_log_weights": columns["final_log_weights"][:, None]},
         "the final population must be"),
        ({"final_log_weights": None}, "final_particles without final_log_weights"),
    ]:
        bad = {k: v for k, v in (columns | change).items() if v is not None}
        path = tmp_path / "bad.npz"
        np.savez(path, **bad, meta=np.array(json.dumps(meta)))
        with pytest.raises(InputError, match=f"^{path}: {message}"):
            read_file(path)


@pytest.mark.gui
def test_file_open_shows_the_final_population_and_export_keeps_it(qtbot, window, tmp_path):
    from PySide6.QtWidgets import QDockWidget

    assert sample(*SMALL, "--precision", "fp32", "--save-particles",
                  "--out", str(tmp_path / "p.npz")) == 0
    kept, _ = npz(tmp_path / "p.npz")
    window.findChild(QDockWidget, "populationDock").raise_()
    assert window.open_file(tmp_path / "p.npz") is True
    population = window.population_panel
    qtbot.waitUntil(lambda: population.drawn is window.frames[-1], timeout=5000)
    assert len(population.tiles) == 3
    expected = np.exp(kept["final_log_weights"] - kept["final_log_weights"].max())
    assert np.allclose(population.weights, expected / expected.sum())
    # Export › .npz keeps the population where the Recording panel says so, and only then
    assert window.export_to(tmp_path / "without.npz")
    assert "final_particles" not in npz(tmp_path / "without.npz")[0]
    window.recording_panel.save_particles.setChecked(True)
    assert window.export_to(tmp_path / "with.NPZ")
    again, _ = npz(tmp_path / "with.NPZ")
    assert np.array_equal(again["final_particles"], kept["final_particles"])
    assert np.array_equal(again["final_log_weights"], kept["final_log_weights"])


@pytest.mark.gui
@needs_fused
def test_the_app_replays_a_loaded_configuration_with_its_layers(qtbot, window, tmp_path,
                                                               monkeypatch):
    probes(monkeypatch, False, False)
    assert sample(*SMALL, "--precision", "bf16", "--layers", "fused",
                  "--out", str(tmp_path / "a.npz"), "--save-config", str(tmp_path / "a.json")
                  ) == 0
    original, _ = npz(tmp_path / "a.npz")
    calls = probes(monkeypatch, False, False)  # they would choose fp32 and plain layers
    assert window.open_file(tmp_path / "a.json") is True
    with qtbot.waitSignal(window.session.finished, timeout=60_000):
        assert window.run()
    config = window.session.run_config
    assert (config["precision"], config["layers"]) == ("bf16", "fused") and calls == []
    assert np.array_equal(np.stack([f.cloud for f in window.frames]), original["trajectory"])
