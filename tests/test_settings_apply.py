"""Settings that say whether they apply (issue 22, section 1): a control the current choices
leave unread is disabled, its tooltip saying why; tooltips start with what a user sees
change; each settings panel has a Restore defaults button."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QPushButton

from poe_desktop.panels.experts import ExpertsPanel
from poe_desktop.panels.recording import RecordingPanel
from poe_desktop.panels.reward import RewardPanel
from poe_desktop.panels.sampler import SamplerPanel
from poe_engine.applies import AIS_ONLY, inapplicable
from poe_engine.samplers import SamplerSettings

pytestmark = pytest.mark.gui


@pytest.fixture
def panel(qtbot):
    p = SamplerPanel()
    qtbot.addWidget(p)
    return p


def widget(panel: SamplerPanel, key: str):
    return panel.rule_widgets.get(key) or panel.advanced_box.widgets[key]


def test_euler_disables_the_ais_only_controls_and_ais_gives_them_back(panel):
    group = panel.advanced_box.widgets
    assert group["weighting"].isEnabled() and panel.langevin.isEnabled()
    panel.sampler.setCurrentText("EULER")
    for key in AIS_ONLY:
        assert not widget(panel, key).isEnabled(), key
        assert widget(panel, key).toolTip().startswith("Only with the AIS sampler"), key
    for key in ("ode_scale", "time_grid"):  # euler reads these
        assert group[key].isEnabled(), key
    assert panel.steps.isEnabled() and panel.particles.isEnabled()
    panel.sampler.setCurrentText("AIS")
    assert group["weighting"].isEnabled() and panel.kappa.isEnabled()
    assert not group["weighting"].toolTip().startswith("Only")


def test_the_schedule_target_applies_with_the_adaptive_schedule_only(panel):
    target = panel.advanced_box.widgets["schedule_target"]
    schedule = panel.advanced_box.widgets["schedule"]
    assert schedule.currentText() == "adaptive" and target.isEnabled()
    for other in ("constant", "linear"):
        schedule.setCurrentText(other)
        assert not target.isEnabled(), other
        assert target.toolTip().startswith("Only with the adaptive schedule")
    schedule.setCurrentText("adaptive")
    assert target.isEnabled()


def test_leapfrog_applies_with_the_hmc_kernel_only(panel):
    w = panel.advanced_box.widgets
    assert not w["leapfrog"].isEnabled()
    assert w["leapfrog"].toolTip().startswith("Only with the hmc kernel")
    w["kernel"].setCurrentText("hmc")
    assert w["leapfrog"].isEnabled()
    panel.langevin.setValue(0)  # no Langevin move: no kernel either
    assert not w["leapfrog"].isEnabled() and not w["kernel"].isEnabled()


def test_moves_apply_with_incremental_weighting_only_and_paper_resamples_always(panel):
    w = panel.advanced_box.widgets
    w["weighting"].setCurrentText("potential")
    assert not w["moves"].isEnabled() and "blind" in w["moves"].toolTip()
    assert w["ess_threshold"].isEnabled()
    w["weighting"].setCurrentText("paper")
    assert not w["ess_threshold"].isEnabled() and not w["resample_every"].isEnabled()
    assert "every step" in w["ess_threshold"].toolTip()
    w["weighting"].setCurrentText("incremental")
    assert w["moves"].isEnabled() and w["ess_threshold"].isEnabled()


def test_a_run_disables_everything_and_its_end_restores_what_applies(panel):
    panel.sampler.setCurrentText("EULER")
    panel.set_running(True)
    assert not panel.sampler.isEnabled() and not panel.advanced_box.isEnabled()
    assert not panel.restore_defaults_button.isEnabled()
    panel.set_running(False)
    assert panel.sampler.isEnabled() and panel.advanced_box.widgets["ode_scale"].isEnabled()
    assert not panel.advanced_box.widgets["weighting"].isEnabled()
    assert not panel.kappa.isEnabled()


def test_every_setting_with_no_effect_says_why():
    assert inapplicable({"sampler": "ais", "langevin_steps": 1, **SamplerSettings().to_dict()}
                        ) == {"leapfrog": "Only with the hmc kernel"}
    why = inapplicable({"sampler": "ais", **SamplerSettings(langevin_steps=0,
                                                            colour_moves=0).to_dict()})
    # no move at all: tilted moves weigh the same particles as blind ones (the engine's rule)
    assert set(why) == {"kernel", "leapfrog", "langevin_from", "kappa", "moves"}


def test_tooltips_start_with_what_a_user_sees(panel):
    assert panel.steps.toolTip().startswith("More steps: a slower run")
    assert not panel.kappa.toolTip().startswith("Langevin step size")
    assert "κ" in panel.kappa.toolTip()  # the maths after


def test_restore_defaults_puts_back_the_sampler_panels_defaults(panel, qtbot):
    button = panel.findChild(QPushButton, "samplerRestoreDefaults")
    assert button is panel.restore_defaults_button
    panel.sampler.setCurrentText("EULER")
    panel.seed.setValue(7)
    panel.steps.setValue(40)
    panel.kappa.set_exact(0.0125)
    panel.advanced_box.widgets["schedule"].setCurrentText("linear")
    panel.advanced_box.widgets["kernel"].setCurrentText("hmc")
    panel.pace.setCurrentText("10 steps/s")
    button.click()
    assert panel.settings() == SamplerSettings()
    assert (panel.sampler_name(), panel.seed.value()) == ("ais", 0)
    assert panel.pace_value() == 10.0  # the pace is not a run setting
    assert panel.advanced_box.widgets["schedule_target"].isEnabled()
    assert not panel.advanced_box.widgets["leapfrog"].isEnabled()


def test_restore_defaults_on_the_experts_reward_and_recording_panels(qtbot):
    experts, reward, recording = ExpertsPanel(), RewardPanel(), RecordingPanel()
    for p in (experts, reward, recording):
        qtbot.addWidget(p)
    before = [p.state() for p in (experts, reward, recording)]
    experts.toggles["x"].setChecked(False)
    experts.weights["y"].setValue(2.5)
    experts.reward.setChecked(False)
    reward.set_color("blue")
    reward.strength.setValue(10.0)
    recording.format.setCurrentText("GIF")
    recording.size.setCurrentText("640x640")
    recording.hold.setValue(4.0)
    recording.turntable.setChecked(True)
    assert [p.state() for p in (experts, reward, recording)] != before
    for p, name in ((experts, "expertsRestoreDefaults"), (reward, "rewardRestoreDefaults"),
                    (recording, "recordingRestoreDefaults")):
        p.findChild(QPushButton, name).click()
    assert [p.state() for p in (experts, reward, recording)] == before


@pytest.mark.parametrize("changes", [
    {"sampler": "EULER"}, {"weighting": "potential"}, {"weighting": "paper"},
    {"langevin": 0, "colour_moves": 0}, {"langevin": 0}, {"kernel": "hmc", "schedule": "linear"},
    {"schedule": "constant", "kernel": "mala"}])
def test_the_panel_disables_what_a_runs_configuration_writes_as_null(panel, changes):
    """One rule (`poe_engine.applies`): the controls the panel disables are the settings a
    run of its values records as null."""
    from poe_engine.spec import FIELD_KEYS, RunSpec

    for key, value in changes.items():
        if key == "sampler":
            panel.sampler.setCurrentText(value)
        elif key == "langevin":
            panel.langevin.setValue(value)
        elif key == "colour_moves":
            panel.advanced_box.widgets[key].setValue(value)
        else:
            panel.advanced_box.widgets[key].setCurrentText(value)
    written = RunSpec(panel.sampler_name(), panel.settings()).to_dict()
    keys = [*panel.rule_widgets, *panel.advanced_box.widgets]
    disabled = {key for key in keys if not widget(panel, key).isEnabled()}
    assert disabled == {key for key in keys
                        if key in FIELD_KEYS and written[FIELD_KEYS[key]] is None}
    assert disabled  # each case leaves something unread


def test_an_app_runs_export_records_only_what_ran_and_replays(qtbot, window, tmp_path):
    """An Euler run of the app: its run.json and .npz have no particle system (null), and
    `poe-engine sample --config` replays them bit for bit."""
    import json

    import numpy as np
    from PySide6.QtWidgets import QComboBox, QSpinBox

    from poe_engine.cli import main as engine_main

    for name, value in (("stepsSpin", 4), ("particlesSpin", 2), ("pointsSpin", 48)):
        window.findChild(QSpinBox, name).setValue(value)
    window.findChild(QComboBox, "deviceCombo").setCurrentText("cpu")
    window.findChild(QComboBox, "samplerCombo").setCurrentText("EULER")
    with qtbot.waitSignal(window.runFinished, timeout=120_000):
        assert window.run()
    for name in ("run.json", "run.npz"):
        assert window.export_to(tmp_path / name)
    saved = json.loads((tmp_path / "run.json").read_text())
    with np.load(tmp_path / "run.npz") as run:
        app = run["trajectory"]
        meta = json.loads(str(run["meta"]))
    for written in (saved, meta):
        assert written["sampler"] == "euler"
        assert written["ess_threshold"] is None and written["moves"] is None
        assert written["langevin"] is None and written["steps"] == 4
    for source in ("run.json", "run.npz"):
        out = tmp_path / f"re-{source}.npz"
        assert engine_main(["sample", "--config", str(tmp_path / source), "--out",
                            str(out)]) == 0
        with np.load(out) as run:
            assert np.array_equal(run["trajectory"], app), source
