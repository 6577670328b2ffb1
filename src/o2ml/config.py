"""Run-time settings: the fast mode, and one table of the sizes every notebook runs with.

The notebooks and the tests that check their claims read the same table, so that a test checks
the configuration the notebook actually uses (``O2ML_FAST=1`` picks the ``fast`` column).
"""

from __future__ import annotations

import os


def fast_mode() -> bool:
    """True when ``O2ML_FAST`` is set to a true value: small samples, few trials and epochs."""
    return os.environ.get("O2ML_FAST", "").strip().lower() not in ("", "0", "false", "no", "off")


def threads() -> int:
    """CPU threads of one model fit (XGBoost ``n_jobs``): ``$O2ML_THREADS``, else the usable cores.

    ``make test`` sets 1: two pytest-xdist workers share two cores, and with OpenMP's passive
    waiting (which keeps them from spinning against each other) a 2-thread XGBoost fit there is
    slower than a 1-thread one (benchmarks/bench_threads.py measures it).
    """
    text = os.environ.get("O2ML_THREADS", "").strip()
    if text:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1:
            raise ValueError(f"O2ML_THREADS must be a positive integer, not {text!r}")
        return value
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return len(cores) if cores else (os.cpu_count() or 1)


#: per notebook, the sizes of its steps in the full run and in the fast run (about a minute)
SIZES: dict[str, dict[str, dict]] = {
    # notebook 01, Ds BDT per pT bin: balanced training candidates per class, Optuna trials per
    # bin, candidates per class the Optuna cross-validation uses, range of boosting rounds
    "ds_bdt": {
        "full": {
            "max_per_class": 20_000,
            "n_trials": 20,
            "optuna_per_class": 3_000,
            "n_estimators": (100, 600),
        },
        "fast": {
            "max_per_class": 5_000,
            "n_trials": 2,
            "optuna_per_class": 1_500,
            "n_estimators": (50, 150),
        },
    },
}


def sizes(notebook: str, fast: bool | None = None) -> dict:
    """The sizes of ``notebook`` (a key of :data:`SIZES`) for the fast or the full run.

    ``fast=None`` follows :func:`fast_mode`.
    """
    if notebook not in SIZES:
        raise KeyError(f"no sizes for notebook {notebook!r}; known: {sorted(SIZES)}")
    return dict(SIZES[notebook]["fast" if (fast_mode() if fast is None else fast) else "full"])
