"""How hard the property tests search: each test's example count, scaled from the environment."""

from __future__ import annotations

import os

#: Multiplies every property's example count; e.g. 20 for a long local search.
SCALE_ENV = "NEWSWATCH_HYPOTHESIS_EXAMPLES"


def examples(default: int) -> int:
    """``default`` examples, times ``$NEWSWATCH_HYPOTHESIS_EXAMPLES`` when that is set."""
    raw = os.environ.get(SCALE_ENV, "").strip()
    if not raw:
        return default
    try:
        scale = float(raw)
    except ValueError:
        raise ValueError(f"{SCALE_ENV}={raw!r} is not a number (a multiplier, e.g. 10)") from None
    return max(1, round(default * scale))
