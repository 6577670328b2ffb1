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
from .result import ScanResult

__all__ = ["at_equal_rejection", "compare_models", "quantile_thresholds", "roc_auc", "summarize"]


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


def summarize(scan: ScanResult) -> dict:
    """Maximum significance, efficiency there, and the plateau width in common units.

    Thresholds of a probability and of an MSE are not comparable; the plateau is measured in
    signal efficiency (eff at its loose edge - eff at its tight edge) and in background kept
    (log10 ratio of the data fractions at its edges) -- both model-independent.
    """
    if scan.plateau is None:
        raise ScanInputError(
            f"{scan.metadata.get('model')}: the scan has no plateau (no finite point)."
        )
    p = scan.plateau
    eff = scan.signal_efficiency
    data_eff = scan.efficiencies.get("data")
    out = {
        "max_significance": p.max_significance,
        "max_significance_error": p.max_significance_error,
        "threshold_at_max": p.threshold_at_max,
        "signal_efficiency_at_max": float(eff[p.i_max]),
        "background_kept_at_max": float(data_eff[p.i_max]) if data_eff is not None else np.nan,
        "plateau_width_efficiency": float(eff[p.i_lo] - eff[p.i_hi]),
        "plateau_eff_lo": float(eff[p.i_hi]),
        "plateau_eff_hi": float(eff[p.i_lo]),
        "plateau_points": p.i_hi - p.i_lo + 1,
    }
    if data_eff is not None and data_eff[p.i_hi] > 0:
        out["plateau_width_log10_bkg"] = float(np.log10(data_eff[p.i_lo] / data_eff[p.i_hi]))
    return out


def compare_models(
    values: pd.DataFrame,
    metrics: Mapping[str, str],
    *,
    errors: Mapping[str, str] | None = None,
    smaller_is_better: Sequence[str] = (),
) -> pd.DataFrame:
    """Which model wins each figure of merit: ``values`` has one row per model (e.g. a table of
    :func:`summarize` results), ``metrics`` maps a label to its column, ``errors`` each metric
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
