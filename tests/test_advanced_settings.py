"""The Sampler panel's Particle system group: a widget for every advanced field, its
values reaching the run's settings, bad values refused, and the choice remembered."""

from __future__ import annotations

import math
from dataclasses import fields

import pytest

from poe_desktop.panels.sampler import ADVANCED, SamplerPanel
from poe_engine.samplers import SamplerSettings

pytestmark = pytest.mark.gui


@pytest.fixture
def panel(qtbot):
    p = SamplerPanel()
    qtbot.addWidget(p)
    return p


def test_every_advanced_field_has_a_named_widget_with_a_tooltip(panel):
    names = {f.name for f in fields(SamplerSettings)}
    assert set(ADVANCED) <= names and set(ADVANCED) == set(panel.advanced_box.widgets)
    for key, widget in panel.advanced_box.widgets.items():
        assert widget.objectName() and widget.toolTip(), key
    assert panel.findChild(type(panel.advanced_box.widgets["moves"]), "movesCombo") is not None


def test_changing_the_widgets_changes_the_runs_settings(panel):
    w = panel.advanced_box.widgets
    w["schedule"].setCurrentText("linear")
    w["moves"].setCurrentText("blind")
    w["kernel"].setCurrentText("mala")
    w["resample_every"].setValue(4)
    w["schedule_target"].setValue(0.8)
    s = panel.settings()
    assert (s.schedule, s.moves, s.kernel, s.resample_every) == ("linear", "blind", "mala", 4)
    assert s.schedule_target == pytest.approx(0.8)
    assert panel.values()["moves"] == "blind"


def test_a_configurations_exact_numbers_survive_the_rounding_on_screen(panel):
    assert panel.apply({"schedule_target": 0.12345, "ess_threshold": 0.3333333}) == []
    s = panel.settings()
    assert s.schedule_target == 0.12345 and s.ess_threshold == 0.3333333


@pytest.mark.parametrize("values", [
    {"schedule": "cubic"}, {"moves": 3}, {"kernel": None}, {"weighting": ["paper"]},
    {"schedule_target": "0.5"}, {"schedule_target": math.nan}, {"ess_threshold": 2.0},
    {"resample_every": 1.5}, {"resample_every": True}, {"resample_every": -1},
    {"ode_scale": math.inf}])
def test_bad_values_are_refused_and_change_nothing(panel, values):
    before = panel.settings()
    assert panel.apply(values) == list(values)
    assert panel.settings() == before


def test_the_group_is_locked_during_a_run(panel):
    panel.set_running(True)
    assert not panel.advanced_box.isEnabled()
    panel.set_running(False)
    assert panel.advanced_box.isEnabled()


def test_the_particle_system_settings_are_remembered(qtbot):
    from poe_desktop import MainWindow

    first = MainWindow()
    qtbot.addWidget(first)
    first.sampler_panel.advanced_box.widgets["moves"].setCurrentText("blind")
    first.sampler_panel.advanced_box.widgets["schedule"].setCurrentText("linear")
    first.close()
    second = MainWindow()
    qtbot.addWidget(second)
    s = second.sampler_panel.settings()
    assert (s.moves, s.schedule) == ("blind", "linear")
    second.close()

