"""Shared pytest configuration for the course's test suite."""

import os
import pathlib

from hypothesis import HealthCheck, settings

ROOT = pathlib.Path(__file__).resolve().parents[1]

# Property tests draw the same examples on every run, so that a red CI can be
# reproduced on a laptop; `HYPOTHESIS_PROFILE=explore` searches afresh instead.
settings.register_profile("ci", derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("explore", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
