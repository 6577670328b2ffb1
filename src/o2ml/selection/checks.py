"""Does a selection learn or carve what it should not? Checks on data sidebands and mass spectra.

A selection trained on data sidebands against MC signal can sculpt the background mass spectrum
(a feature correlated with the mass) or learn a data/MC difference instead of signal vs
background. :func:`sculpting_check` and :func:`non_sculpting` screen the features before
training, :func:`data_mc_check` measures how well a classifier tells MC background from data in
the sidebands, and :func:`sideband_shape_pull` tests whether a cut tilts the background shape.
``sidebands=(lo, hi)``: the candidates at m < lo or m > hi (e.g. :data:`o2ml.channels.lc.SIDEBANDS`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import EmptySelectionError

__all__ = ["data_mc_check", "non_sculpting", "sculpting_check", "sideband_shape_pull"]


def _in_sidebands(mass: np.ndarray | pd.Series, sidebands: Sequence[float]) -> np.ndarray:
    m = np.asarray(mass)
    return (m < sidebands[0]) | (m > sidebands[1])


def sculpting_check(
    data: pd.DataFrame, features: Sequence[str], n_quantiles: int = 4, mass_bins: int = 30
) -> pd.DataFrame:
    """How much each feature's cut would sculpt the background mass spectrum.

    For the data (background-dominated), per feature: the Spearman correlation with the mass,
    and the largest relative change of the mass shape when keeping only the top quantile of
    the feature (max over mass bins of |shape_top / shape_all - 1|, statistical noise included:
    compare with ``noise``, its expectation for an uncorrelated feature).
    """
    mass = data["fM"].to_numpy()
    edges = np.linspace(mass.min(), mass.max(), mass_bins + 1)
    h_all = np.histogram(mass, edges)[0].astype(float)
    rows = []
    rank_m = pd.Series(mass).rank().to_numpy()
    for f in features:
        x = data[f].to_numpy()
        rho = float(np.corrcoef(pd.Series(x).rank().to_numpy(), rank_m)[0, 1])
        top = x >= np.quantile(x, 1 - 1 / n_quantiles)
        h_top = np.histogram(mass[top], edges)[0].astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):  # empty bins (e.g. sidebands only)
            ratio = (h_top / max(h_top.sum(), 1)) / (h_all / h_all.sum())
        noise = float(np.sqrt(n_quantiles * mass_bins / max(len(mass), 1)) * 2)
        rows.append(
            {
                "feature": f,
                "spearman": rho,
                "max_shape_change": float(np.nanmax(np.abs(ratio - 1))),
                "noise": noise,
            }
        )
    return pd.DataFrame(rows).set_index("feature")


def non_sculpting(check: pd.DataFrame, max_abs_spearman: float = 0.05) -> list[str]:
    """Features whose |Spearman correlation with the mass| stays below ``max_abs_spearman``."""
    return [f for f, rho in check["spearman"].items() if abs(rho) < max_abs_spearman]


def data_mc_check(
    data: pd.DataFrame,
    mc_background: pd.DataFrame,
    features: Sequence[str],
    *,
    sidebands: Sequence[float],
    seed: int = 42,
) -> float:
    """ROC AUC of a classifier that tells MC background from data, both in the sidebands.

    The BDT learns MC signal against *data* sidebands: where MC and data differ, it can learn that
    difference instead of signal vs background. MC background candidates (``fOriginMcRec`` 0, as a
    tree creator writes them) against data sidebands, on the same features, measure that: 0.5
    means the classifier finds nothing to tell them apart (cross-validated, 3 folds).
    """
    from sklearn.model_selection import cross_val_score
    from xgboost import XGBClassifier

    a = data[_in_sidebands(data["fM"], sidebands)][list(features)]
    b = mc_background[_in_sidebands(mc_background["fM"], sidebands)][list(features)]
    n = min(len(a), len(b), 20_000)
    if n < 100:
        raise EmptySelectionError(
            f"data/MC check: {len(a)} data and {len(b)} MC sideband candidates; need 100 of each."
        )
    rng = np.random.default_rng(seed)
    x = pd.concat([a.iloc[rng.permutation(len(a))[:n]], b.iloc[rng.permutation(len(b))[:n]]])
    y = np.r_[np.zeros(n, int), np.ones(n, int)]
    clf = XGBClassifier(
        n_estimators=100, max_depth=3, learning_rate=0.1, random_state=seed, n_jobs=1
    )
    return float(np.mean(cross_val_score(clf, x, y, cv=3, scoring="roc_auc")))


def sideband_shape_pull(
    mass: np.ndarray, passed: np.ndarray, *, sidebands: Sequence[float]
) -> float:
    """Does a cut change the background mass shape? The pull of the share of low-sideband
    candidates among the sideband candidates that pass, against the share before the cut.

    The background under the peak is interpolated from the sidebands: a cut that keeps
    relatively more of one sideband than of the other tilts the shape (sculpting). Binomial
    error of the passing share, with the correlation of a subset (|pull| < 3: no sign of it).
    """
    mass, passed = np.asarray(mass), np.asarray(passed, dtype=bool)
    side = _in_sidebands(mass, sidebands)
    low = mass < sidebands[0]
    n_all, n_cut = int(side.sum()), int((side & passed).sum())
    if n_cut < 10:
        raise EmptySelectionError(f"sculpting check: {n_cut} sideband candidates pass; need 10.")
    f_all = (side & low).sum() / n_all
    f_cut = (side & low & passed).sum() / n_cut
    sigma = np.sqrt(f_all * (1 - f_all) * max(1 / n_cut - 1 / n_all, 1e-12))
    return float((f_cut - f_all) / sigma)
