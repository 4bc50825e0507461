"""Colour by (no Qt): each mode's colours for a hand-made cloud, and the value range."""

from types import SimpleNamespace

import numpy as np
import pytest

from poe_desktop.model.colour_by import (
    MODES,
    VIRIDIS,
    colours,
    parse_mode,
    previous_positions,
    values,
    viridis,
)

# four points: on the sphere (+x pole), at the centre, far out along y, and on the sphere
# (-z pole); their own colours red, green, blue, and an out-of-range grey
CLOUD = np.array([[1.0, 0.5, 0.5, 1.0, 0.0, 0.0],
                  [0.5, 0.5, 0.5, 0.0, 1.0, 0.0],
                  [0.5, 2.0, 0.5, 0.0, 0.0, 1.0],
                  [0.5, 0.5, 0.0, 1.7, -0.2, 0.5]], dtype=np.float32)


def test_own_colour_is_the_points_rgb_clipped_and_has_no_range():
    c = colours("own", CLOUD, alpha=0.5)
    np.testing.assert_allclose(c.rgba[:, :3], [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0.5]])
    assert (c.rgba[:, 3] == 0.5).all() and c.low is None and c.high is None


def test_radial_error_maps_through_viridis_over_its_range():
    assert np.allclose(values("radial", CLOUD), [0.0, 0.5, 1.0, 0.0])
    c = colours("radial", CLOUD)
    assert (c.low, c.high) == (0.0, 1.0)
    np.testing.assert_allclose(c.rgba[[0, 3], :3], [VIRIDIS[0]] * 2, atol=1e-6)  # on the sphere
    np.testing.assert_allclose(c.rgba[2, :3], VIRIDIS[-1], atol=1e-6)  # the farthest
    np.testing.assert_allclose(c.rgba[1, :3], VIRIDIS[8], atol=1e-6)  # half way: the middle stop
    assert (c.rgba[:, 3] == 1.0).all()


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_a_coordinate_colours_by_that_axis(axis):
    mode = "xyz"[axis]
    c = colours(mode, CLOUD)
    assert (c.low, c.high) == (CLOUD[:, axis].min(), CLOUD[:, axis].max())
    top, bottom = int(np.argmax(CLOUD[:, axis])), int(np.argmin(CLOUD[:, axis]))
    np.testing.assert_allclose(c.rgba[top, :3], VIRIDIS[-1], atol=1e-6)
    np.testing.assert_allclose(c.rgba[bottom, :3], VIRIDIS[0], atol=1e-6)


def test_distance_moved_needs_the_previous_positions():
    before = CLOUD[:, :3].copy()
    before[2, 1] -= 0.3  # only the third point moved, by 0.3
    assert np.allclose(values("moved", CLOUD, before), [0, 0, 0.3, 0])
    c = colours("moved", CLOUD, before)
    assert c.low == 0.0 and np.isclose(c.high, 0.3)
    np.testing.assert_allclose(c.rgba[2, :3], VIRIDIS[-1], atol=1e-6)
    assert np.allclose(values("moved", CLOUD, None), 0.0)  # the first step: nothing moved


def test_a_given_range_is_used_and_values_beyond_it_take_the_end_colours():
    c = colours("x", CLOUD, value_range=(0.6, 0.9))
    assert (c.low, c.high) == (0.6, 0.9)
    np.testing.assert_allclose(c.rgba[0, :3], VIRIDIS[-1], atol=1e-6)  # x = 1 > 0.9
    np.testing.assert_allclose(c.rgba[1, :3], VIRIDIS[0], atol=1e-6)  # x = 0.5 < 0.6


def test_flat_or_broken_values_give_colours_not_errors():
    flat = np.tile(CLOUD[:1], (5, 1))
    c = colours("x", flat)
    assert c.low == c.high == 1.0 and np.isfinite(c.rgba).all()
    broken = CLOUD.copy()
    broken[1, :3] = np.nan
    c = colours("radial", broken)
    assert np.isfinite(c.rgba).all() and (c.low, c.high) == (0.0, 1.0)


def test_viridis_runs_dark_purple_to_yellow_and_is_monotonic_in_lightness():
    ramp = viridis(np.linspace(0, 1, 64))
    assert ramp[0, 2] > ramp[0, 1] and ramp[-1, 0] > 0.9 and ramp[-1, 1] > 0.85
    lightness = ramp @ np.array([0.2126, 0.7152, 0.0722])
    assert (np.diff(lightness) > 0).all()


def test_mode_names():
    assert parse_mode("radial") == "radial" and parse_mode("own") == "own"
    for bad in ("Radial", "", None, 3, ["x"], {"x": 1}):
        assert parse_mode(bad) is None
    with pytest.raises(ValueError, match="unknown colour mode"):
        values("nope", CLOUD)
    assert set(MODES) == {"own", "radial", "moved", "x", "y", "z"}


def test_previous_positions_follow_the_shown_particles_own_trail_first():
    trail = np.stack([CLOUD[:, :3] - 0.1, CLOUD[:, :3]])
    earlier = SimpleNamespace(cloud=CLOUD + 1.0, denoised=CLOUD + 2.0)
    frame = SimpleNamespace(trail=trail, denoised_trail=None)
    np.testing.assert_array_equal(previous_positions(frame, earlier), trail[0])
    # no trail of x0_hat: the previous frame's x0_hat
    np.testing.assert_array_equal(previous_positions(frame, earlier, denoised=True),
                                  earlier.denoised[:, :3])
    gap = SimpleNamespace(trail=np.stack([trail[0] * np.nan, trail[1]]), denoised_trail=None)
    np.testing.assert_array_equal(previous_positions(gap, earlier), earlier.cloud[:, :3])
    assert previous_positions(SimpleNamespace(trail=None, denoised_trail=None)) is None
