"""One run spec: the configuration file format read and written by one frozen type, whose
defaults are `poe-engine sample`'s."""

import dataclasses

import pytest

from poe_engine.errors import InputError
from poe_engine.options import Parser, add_sampler_options, settings_from
from poe_engine.samplers import SamplerSettings
from poe_engine.spec import (
    BEFORE_THE_KEY,
    CONFIG_FORMAT,
    SETTINGS_KEYS,
    RunSpec,
    config_from_args,
)
from poe_engine.steering import Controls


def parsed(*argv):
    parser = Parser()
    add_sampler_options(parser)
    return parser.parse_args(list(argv))


def test_the_default_spec_is_poe_engine_sample_with_no_options():
    assert RunSpec().to_dict() == RunSpec.from_dict(config_from_args(parsed())).to_dict()
    assert RunSpec.from_dict(config_from_args(parsed())) == RunSpec()


def test_a_spec_round_trips_through_its_file_format_and_is_frozen():
    spec = RunSpec.from_dict({
        "format": CONFIG_FORMAT, "sampler": "euler", "seed": 7, "langevin": 2,
        "experts": "x,z", "expert_weights": {"z": 0.5}, "reward": "#FF8000", "strength": 40,
        "device": "cpu", "precision": "fp32", "checksums": {"x": "a" * 64},
        "steering": [{"step": 3, "reward": "blue"}, {"step": 5, "experts": "none"}]})
    assert spec.settings.langevin_steps == 2 and spec.precision == "fp32"
    assert spec.controls == Controls(("x", "z"), (1.0, 1.0, 0.5, 1.0), "#ff8000", 40.0)
    assert [e.step for e in spec.steering] == [3, 5]
    assert spec.steering[1].controls.enabled == () and spec.steering[1].controls.reward == "blue"
    # an Euler run reads no Langevin step: its file says so (null), and reads back as itself
    assert spec.to_dict()["langevin"] is None
    assert RunSpec.from_dict(spec.to_dict()).to_dict() == spec.to_dict()
    assert RunSpec.from_dict(spec.replace(sampler="ais").to_dict()) == spec.replace(sampler="ais")
    assert spec.to_dict()["steering"] == [{"step": 3, "reward": "blue"},
                                          {"step": 5, "experts": "none"}]
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.seed = 1


def test_a_bad_configuration_is_refused_naming_its_source():
    with pytest.raises(InputError, match="run.json: .*langevin"):
        RunSpec.from_dict({"format": CONFIG_FORMAT, "langevin": 99}, "run.json")


def test_the_options_name_the_settings_through_one_table():
    args = parsed("--langevin", "5", "--kappa", "0.1", "--precision", "bf16")
    assert settings_from(args) == SamplerSettings(langevin_steps=5, kappa=0.1, precision="bf16")
    assert set(SETTINGS_KEYS.values()) == {f.name for f in dataclasses.fields(SamplerSettings)
                                           if f.name != "keep_particles"}


def test_the_particle_system_options_round_trip_and_are_checked():
    args = parsed("--schedule", "adaptive", "--schedule-target", "0.3", "--weighting", "paper",
                  "--resample-every", "4", "--kernel", "mala")
    spec = RunSpec.from_dict(config_from_args(args))
    assert spec.settings == SamplerSettings(schedule="adaptive", schedule_target=0.3,
                                            weighting="paper", resample_every=4, kernel="mala")
    # paper weighting resamples at every step: resample_every did not apply (null)
    assert spec.to_dict()["resample_every"] is None
    assert RunSpec.from_dict(spec.to_dict()) == spec.replace(settings=dataclasses.replace(
        spec.settings, resample_every=0))
    incremental = spec.replace(settings=dataclasses.replace(spec.settings,
                                                            weighting="incremental"))
    assert RunSpec.from_dict(incremental.to_dict()) == incremental
    for key, value in [("schedule", "cubic"), ("kernel", "nuts"), ("schedule_target", 2),
                       ("resample_every", 1.5)]:
        with pytest.raises(InputError, match=f"run.json: {key}"):
            RunSpec.from_dict({"format": CONFIG_FORMAT, key: value}, "run.json")


def test_moves_round_trip_are_checked_and_a_missing_key_means_blind():
    spec = RunSpec.from_dict(config_from_args(parsed("--moves", "tilted", "--kernel", "mala")))
    assert spec.settings.moves == "tilted" and spec.to_dict()["moves"] == "tilted"
    assert RunSpec.from_dict(spec.to_dict()) == spec
    blind = RunSpec.from_dict(config_from_args(parsed("--moves", "blind")))
    assert blind.settings.moves == "blind" and RunSpec.from_dict(blind.to_dict()) == blind
    for value in ("sideways", "Tilted", "", None, 1, ["tilted"]):
        with pytest.raises(InputError, match="run.json: moves must be one of blind, tilted"):
            RunSpec.from_dict({"format": CONFIG_FORMAT, "moves": value}, "run.json")
    with pytest.raises(InputError, match="moves must be one of"):
        SamplerSettings(moves="tilt")
    # written before the option existed: the old behaviour, not today's default
    assert RunSpec.from_dict({"format": CONFIG_FORMAT}).settings.moves == "blind"
    assert RunSpec.from_dict({"format": "poe-run-config/1"}).settings.moves == "blind"
    assert BEFORE_THE_KEY["moves"] == "blind"
    for key, old in BEFORE_THE_KEY.items():  # every such key is a setting a file may lack
        assert key in SETTINGS_KEYS and getattr(
            RunSpec.from_dict({"format": CONFIG_FORMAT}).settings, SETTINGS_KEYS[key]) == old
