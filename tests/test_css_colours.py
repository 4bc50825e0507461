"""Colour names beyond the four: any CSS colour name is an RGB target, the same reward as
its #rrggbb, on the command line, in configuration files and in the app's Reward panel;
red, green, blue and white keep the reference's own rewards."""

import json

import pytest
import torch

from poe_engine.cli import build_parser
from poe_engine.exports import load_config
from poe_engine.options import reward_from
from poe_engine.reward import NAMED_COLORS, ColorReward, parse_color


def cloud(rgb):
    c = torch.zeros(2, 10, 6)
    c[..., 3:] = torch.tensor(rgb)
    return c


@pytest.mark.parametrize("name, hex_", [("orange", "#ffa500"), ("Teal", "#008080"),
                                        (" SlateBlue ", "#6a5acd"), ("purple", "#800080"),
                                        ("RebeccaPurple", "#663399")])  # CSS4's one addition
def test_a_css_name_is_the_custom_reward_of_its_rgb(name, hex_):
    assert parse_color(name)[0] == hex_
    by_name, by_hex = ColorReward(name, 120.0), ColorReward(hex_, 120.0)
    assert by_name.name == by_hex.name == hex_
    assert by_name.target == pytest.approx(by_hex.target)
    mixed = cloud([0.3, 0.6, 0.1])
    assert torch.equal(by_name.log_reward(mixed), by_hex.log_reward(mixed))


def test_the_four_names_keep_the_reference_rewards_not_their_css_rgb():
    for name, rgb in NAMED_COLORS.items():
        assert parse_color(name) == (name, rgb)
    green = ColorReward("green")  # CSS green is #008000; ours is the channel reward
    assert float(green.log_reward(cloud([0.2, 0.9, 0.2]))[0]) == pytest.approx(300 * 0.7)
    assert float(ColorReward("white").log_reward(cloud([0.3, 0.6, 0.9]))[0]) == (
        pytest.approx(300 * 0.6))


def test_an_orange_reward_prefers_orange_clouds():
    orange = ColorReward("orange")
    assert orange.log_reward(cloud([1.0, 0.65, 0.0]))[0] > orange.log_reward(
        cloud([0.0, 0.4, 1.0]))[0]


def test_the_command_line_takes_css_names():
    args = build_parser().parse_args(["sample", "--reward", "orange"])
    reward = reward_from(args)
    assert reward.name == "#ffa500"


def test_a_configuration_file_takes_css_names(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"format": "poe-run-config/1", "reward": "DarkOrange"}))
    assert load_config(path)["reward"] == "#ff8c00"


@pytest.mark.parametrize("bad", ["purplish", "light orange", "#orange", "transparent", ""])
def test_unknown_names_get_one_line_naming_the_choices(bad):
    with pytest.raises(ValueError) as err:
        parse_color(bad)
    message = str(err.value)
    assert "\n" not in message and "unknown colour" in message and "CSS colour name" in message
