"""Run-time settings read from the environment."""

from __future__ import annotations

import os


def fast_mode() -> bool:
    """True when ``O2ML_FAST`` is set to a true value: small samples, few trials and epochs."""
    return os.environ.get("O2ML_FAST", "").strip().lower() not in ("", "0", "false", "no", "off")
