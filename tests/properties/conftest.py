"""Hypothesis profiles for the property tests.

* ``dev`` (the default): random examples; failures are remembered in ``.hypothesis/`` (which
  Hypothesis keeps out of git itself), so a shrunk counterexample is tried first next time.
* ``ci`` (chosen when ``CI`` is set, as ``.ci/run`` does): ``derandomize=True``, so a CI run
  explores the same examples every time and a red build is reproducible locally with
  ``CI=1``; nothing is written to disk.

``NEWSWATCH_HYPOTHESIS_EXAMPLES`` multiplies every property's example count (the digest
machine's too), for a longer local search::

    NEWSWATCH_HYPOTHESIS_EXAMPLES=20 .venv/bin/python -m pytest -q tests/properties

``HYPOTHESIS_PROFILE`` picks a profile by name, overriding the choice above.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "dev",
    deadline=None,  # timings on a shared machine are noise, not a property
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)
