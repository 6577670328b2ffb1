"""Two models on a common footing: ROC AUC, signal efficiency at equal background rejection,
thresholds by background quantile and the significance plateau in model-independent units.

Scores on different scales (a BDT probability, an autoencoder's reconstruction error) compare
fairly only through what they select: notebook 02 uses these to compare a BDT with an
autoencoder on the same held-out candidates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import EmptySelectionError, ScanInputError
from ..physics.stats import binomial_error

__all__ = ["at_equal_rejection", "compare_models", "quantile_thresholds", "roc_auc"]


def roc_auc(signal_scores: np.ndarray, background_scores: np.ndarray) -> float:
    """ROC AUC of a score that is larger for signal."""
    from sklearn.metrics import roc_auc_score

    s, b = np.asarray(signal_scores), np.asarray(background_scores)
    return float(roc_auc_score(np.r_[np.ones(len(s)), np.zeros(len(b))], np.r_[s, b]))


def at_equal_rejection(
    signal: pd.DataFrame,
    background: pd.DataFrame,
    scores: Mapping[str, str],
    background_efficiencies: Sequence[float] = (0.1, 0.01),
) -> pd.DataFrame:
    """Signal efficiency of each model at the same background efficiency (ROC read at fixed x).

    ``scores`` maps a model name to its score column (larger = more signal-like). The threshold
    keeps the given fraction of ``background``; the error is binomial on the signal count. Two
    scores on different scales (a probability and an MSE) compare fairly here.
    """
    rows = []
    n_s = len(signal)
    for frac in background_efficiencies:
        if frac * len(background) < 10:
            raise EmptySelectionError(
                f"equal-rejection comparison: a background efficiency of {frac:g} keeps "
                f"{frac * len(background):.1f} of {len(background)} candidates; expected >= 10."
            )
        row = {"background efficiency": frac}
        for name, col in scores.items():
            thr = np.quantile(background[col].to_numpy(), 1 - frac)
            eff = float(np.mean(signal[col].to_numpy() > thr))
            row[f"{name} signal eff."] = eff
            row[f"{name} error"] = binomial_error(eff, max(n_s, 1))
        rows.append(row)
    return pd.DataFrame(rows).set_index("background efficiency")


def quantile_thresholds(background_scores: np.ndarray, n: int = 150) -> np.ndarray:
    """Thresholds that keep a log-spaced fraction (1 .. 1e-4) of the background above them."""
    kept = np.geomspace(1.0, 1e-4, n)
    return np.unique(np.quantile(np.asarray(background_scores), 1 - kept))


def compare_models(
    values: pd.DataFrame,
    metrics: Mapping[str, str],
    *,
    errors: Mapping[str, str] | None = None,
    smaller_is_better: Sequence[str] = (),
) -> pd.DataFrame:
    """Which model wins each figure of merit: ``values`` has one row per model (e.g. a table of
    :meth:`ScanResult.summary` rows), ``metrics`` maps a label to its column, ``errors`` each metric
    column to the column of its uncertainty. A model is ``better`` only when its value beats
    every other by more than their combined uncertainty (√(σ_a² + σ_b²)); otherwise ``better``
    is ``"tie"``. Rank figures of merit only (a significance, an efficiency at equal rejection,
    an AUC), each with its uncertainty: a metric without one is an error. Columns: each model's
    value, ``<model> error``, ``better``; a missing value is an error, not a silent loss."""
    errors = dict(errors or {})
    missing = [c for c in metrics.values() if c not in values.columns]
    missing += [c for c in metrics.values() if c not in errors]
    missing += [e for c, e in errors.items() if c in metrics.values() and e not in values.columns]
    if missing:
        raise ScanInputError(
            f"model comparison: expected the columns {sorted(set(missing))} (every ranked metric "
            f"needs its uncertainty: errors={{metric: error column}}), found {list(values.columns)}."
        )
    rows = {}
    for label, column in metrics.items():
        col = values[column].astype(float)
        err = values[errors[column]].astype(float)
        bad = col.isna() | err.isna()
        if bad.any():
            raise ScanInputError(
                f"model comparison: {column!r} or its error is missing for {list(col.index[bad])}."
            )
        best = col.idxmin() if column in smaller_is_better else col.idxmax()
        others = col.drop(best)
        margin = (others - col[best]).abs()
        combined = np.sqrt(err.drop(best) ** 2 + err[best] ** 2)
        decided = bool(len(others)) and bool((margin > combined).all())
        rows[label] = {
            **col.to_dict(),
            **{f"{m} error": e for m, e in err.items()},
            "better": best if decided else "tie",
        }
    return pd.DataFrame.from_dict(rows, orient="index")
