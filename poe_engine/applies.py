"""Which sampler settings apply under which choices: the one rule that the run configuration's
writer (`spec.RunSpec.to_dict`, which writes a setting that did not apply as null) and the
app's Sampler panel (which disables its control, saying why) both follow.

A setting is inapplicable where `samplers.euler` or `samplers.ais` never reads it under the
other settings, so that any value of it gives the same numbers, bit for bit. Where a setting is
read at all (however little it changes), it applies: the resampling scheme under AIS, for one,
draws its ancestors at every level (from the run's generator) even where none are used.
"""

from __future__ import annotations

from .samplers import SamplerSettings

_DEFAULT = SamplerSettings()  # what a field `values` lacks counts as
# The settings `samplers.euler` never reads (SamplerSettings fields): the particle system's.
AIS_ONLY = ("langevin_steps", "kappa", "schedule", "schedule_target", "moves", "kernel",
            "leapfrog", "weighting", "resampling", "ess_threshold", "resample_every",
            "colour_moves", "langevin_from")


def inapplicable(values: dict) -> dict[str, str]:
    """The settings that have no effect under `values` (a `sampler`, 'ais' or 'euler', and
    SamplerSettings fields; a field it lacks counts as its default), each with why."""
    if values.get("sampler") == "euler":
        return dict.fromkeys(AIS_ONLY, "Only with the AIS sampler")
    out: dict[str, str] = {}
    def value(name: str):
        return values.get(name, getattr(_DEFAULT, name))

    langevin = value("langevin_steps") > 0
    colour_moves = value("colour_moves") > 0
    if not langevin:
        for key in ("kernel", "leapfrog", "langevin_from"):
            out[key] = "Only with Langevin steps above 0"
    elif value("kernel") != "hmc":
        out["leapfrog"] = "Only with the hmc kernel"
    if not langevin and not colour_moves:
        # no move at all: kappa sizes none, and tilted moves weigh the same x as blind ones
        out["kappa"] = "Only with Langevin steps or colour moves"
    if value("schedule") != "adaptive":
        out["schedule_target"] = "Only with the adaptive schedule"
    weighting = value("weighting")
    if weighting != "incremental":
        out["moves"] = "Only with incremental weighting (potential and paper always move blind)"
    elif not langevin and not colour_moves:
        out["moves"] = "Only with Langevin steps or colour moves"
    if weighting == "paper":
        for key in ("ess_threshold", "resample_every"):
            out[key] = "Not with paper weighting, which resamples at every step"
    return out
