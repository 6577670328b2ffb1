"""Λc+ -> pKπ steps of notebook 2 (BDT vs autoencoder), shared by the notebook and its tests.

Signal region (SR) and sidebands (SB) on the invariant mass, the feature menu of O2Physics
``HfMlResponseLcToPKPi.h``, the nσ clipping the autoencoder needs, the mass-sculpting check,
the binary BDT training set (MC signal in SR vs data in SB) and the comparison of the two
models' significance scans in a common unit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import selection
from .errors import EmptySelectionError, O2mlError
from .physics import constants

LC_MASS = constants.mass("Lc")  # GeV/c2
#: signal region |m - m(Λc)| < SR_HALF_WIDTH (about 3 sigma of the mass resolution at low pT)
SR_HALF_WIDTH = 0.025
#: sidebands: |m - m(Λc)| > SB_GAP (about 6 sigma), up to the window edges 2.14-2.44
SB_GAP = 0.05
#: nσ of the lite trees are unbounded and -999 when TOF is missing: clipped to +-NSIGMA_CLIP,
#: so a missing TOF becomes -NSIGMA_CLIP (a fixed value, "far from every hypothesis")
NSIGMA_CLIP = 10.0
MISSING = -999.0

#: the Λc lite table's columns that HfMlResponseLcToPKPi computes (o2ml.channels.LC_SELECTOR):
#: no 3-D normalised decay length or z impact parameters in HfCandLcLites, and nσ only of the
#: species each prong is taken for (p and pi for prongs 0 and 2, K for prong 1)
TOPO_FEATURES = [
    "fChi2PCA", "fDecayLength", "fDecayLengthXY", "fDecayLengthXYNormalised", "fCpa", "fCpaXY",
]  # fmt: skip
PRONG_FEATURES = [f"f{name}{i}" for i in range(3) for name in ("PtProng", "ImpactParameter")]
NSIGMA_FEATURES = [
    "fNSigTpcPi0", "fNSigTpcPr0", "fNSigTofPi0", "fNSigTofPr0", "fNSigTpcKa1", "fNSigTofKa1",
    "fNSigTpcPi2", "fNSigTpcPr2", "fNSigTofPi2", "fNSigTofPr2", "fNSigTpcTofPi0", "fNSigTpcTofPr0",
    "fNSigTpcTofKa1", "fNSigTpcTofPi2", "fNSigTpcTofPr2",
]  # fmt: skip
#: the feature menu (before the sculpting check): every one a column of HfCandLcLites
LC_FEATURES = TOPO_FEATURES + PRONG_FEATURES + NSIGMA_FEATURES


def signal_region(mass: np.ndarray | pd.Series, half_width: float = SR_HALF_WIDTH) -> np.ndarray:
    """Boolean mask of |m - m(Λc)| < half_width."""
    return np.abs(np.asarray(mass) - LC_MASS) < half_width


def sidebands(mass: np.ndarray | pd.Series, gap: float = SB_GAP) -> np.ndarray:
    """Boolean mask of |m - m(Λc)| > gap (both sides of the peak)."""
    return np.abs(np.asarray(mass) - LC_MASS) > gap


def sideband_edges(gap: float = SB_GAP) -> tuple[float, float]:
    """(lo, hi): the scan fits the background only at m < lo and m > hi."""
    return (LC_MASS - gap, LC_MASS + gap)


#: the Lc scans: Lc species, prompt + non-prompt signal, background fitted at |m - m_Lc| > SB_GAP
LC_OPTIONS = selection.SignificanceOptions(
    species="Lc", signal_origins=("prompt", "nonprompt"), sidebands=sideband_edges()
)


def nsigma_clip(features: Sequence[str], limit: float = NSIGMA_CLIP) -> dict[str, tuple]:
    """Clip ranges ``{feature: (-limit, limit)}`` of the nσ features among ``features``.

    Pass as ``clip=`` to :func:`o2ml.models.autoencoder.fit`: the clipping becomes part of the
    model (and of its ONNX graph). -999 (missing TOF) ends at -limit.
    """
    return {f: (-limit, limit) for f in features if f.startswith("fNSig")}


def in_pt(df: pd.DataFrame, pt_min: float, pt_max: float) -> pd.DataFrame:
    """The candidates with ``pt_min <= pT < pt_max`` (:func:`o2ml.selection.in_pt_range`)."""
    return selection.in_pt_range(df, (pt_min, pt_max))


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


@dataclass
class BinaryTrainingSet:
    """MC signal in the SR (label 1) vs data in the SB (label 0), split, with sample weights."""

    x_train: pd.DataFrame
    y_train: np.ndarray
    w_train: np.ndarray
    x_test: pd.DataFrame
    y_test: np.ndarray

    @property
    def train_test(self) -> list:
        return [self.x_train, self.y_train, self.x_test, self.y_test]


def bdt_training_set(
    data: pd.DataFrame,
    mc: pd.DataFrame,
    features: Sequence[str],
    *,
    seed: int = 42,
    test_size: float = 0.5,
    max_signal: int | None = None,
    max_background: int | None = None,
) -> BinaryTrainingSet:
    """The poster's mixed dataset: S = MC in SR, B = data in SB, sample weights balance classes.

    Weights: each class sums to half the training size (so the BDT sees both equally even
    when the numbers differ); the split is stratified and seeded.
    """
    from sklearn.model_selection import train_test_split

    sig = mc[signal_region(mc["fM"])]
    bkg = data[sidebands(data["fM"])]
    for name, df in (("MC signal in the signal region", sig), ("data in the sidebands", bkg)):
        if len(df) == 0:
            raise EmptySelectionError(f"BDT training set: expected {name}, found none.")
    rng = np.random.default_rng(seed)
    if max_signal is not None and len(sig) > max_signal:
        sig = sig.iloc[np.sort(rng.choice(len(sig), max_signal, replace=False))]
    if max_background is not None and len(bkg) > max_background:
        bkg = bkg.iloc[np.sort(rng.choice(len(bkg), max_background, replace=False))]
    x = pd.concat([sig[list(features)], bkg[list(features)]], ignore_index=True)
    y = np.r_[np.ones(len(sig), int), np.zeros(len(bkg), int)]
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=test_size, random_state=seed, stratify=y
    )
    n1, n0 = max(int(y_tr.sum()), 1), max(int((y_tr == 0).sum()), 1)
    w = np.where(y_tr == 1, len(y_tr) / (2 * n1), len(y_tr) / (2 * n0))
    return BinaryTrainingSet(x_tr, y_tr, w, x_te, y_te)


def data_mc_check(
    data: pd.DataFrame, mc_background: pd.DataFrame, features: Sequence[str], *, seed: int = 42
) -> float:
    """ROC AUC of a classifier that tells MC background from data, both in the sidebands.

    The BDT learns MC signal against *data* sidebands: where MC and data differ, it can learn that
    difference instead of signal vs background. MC background candidates (``fOriginMcRec`` 0, as a
    tree creator writes them) against data sidebands, on the same features, measure that: 0.5
    means the classifier finds nothing to tell them apart (cross-validated, 3 folds).
    """
    from sklearn.model_selection import cross_val_score
    from xgboost import XGBClassifier

    a = data[sidebands(data["fM"])][list(features)]
    b = mc_background[sidebands(mc_background["fM"])][list(features)]
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


def sideband_shape_pull(mass: np.ndarray, passed: np.ndarray, gap: float = SB_GAP) -> float:
    """Does a cut change the background mass shape? The pull of the share of low-sideband
    candidates among the sideband candidates that pass, against the share before the cut.

    The background under the peak is interpolated from the sidebands: a cut that keeps
    relatively more of one sideband than of the other tilts the shape (sculpting). Binomial
    error of the passing share, with the correlation of a subset (|pull| < 3: no sign of it).
    """
    mass, passed = np.asarray(mass), np.asarray(passed, dtype=bool)
    side = sidebands(mass, gap)
    low = mass < LC_MASS
    n_all, n_cut = int(side.sum()), int((side & passed).sum())
    if n_cut < 10:
        raise EmptySelectionError(f"sculpting check: {n_cut} sideband candidates pass; need 10.")
    f_all = (side & low).sum() / n_all
    f_cut = (side & low & passed).sum() / n_cut
    sigma = np.sqrt(f_all * (1 - f_all) * max(1 / n_cut - 1 / n_all, 1e-12))
    return float((f_cut - f_all) / sigma)


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
            row[f"{name} error"] = float(np.sqrt(eff * (1 - eff) / max(n_s, 1)))
        rows.append(row)
    return pd.DataFrame(rows).set_index("background efficiency")


def quantile_thresholds(background_scores: np.ndarray, n: int = 150) -> np.ndarray:
    """Thresholds that keep a log-spaced fraction (1 .. 1e-4) of the background above them."""
    kept = np.geomspace(1.0, 1e-4, n)
    return np.unique(np.quantile(np.asarray(background_scores), 1 - kept))


def scan_model(
    data: pd.DataFrame,
    mc: pd.DataFrame,
    column: str,
    thresholds: np.ndarray,
    expected: Mapping,
    pt_range: tuple[float, float],
    *,
    label: str,
    signal_origins: Sequence[str] = ("prompt", "nonprompt"),
    scale: float = 1.0,
    progress: bool = False,
) -> selection.ScanResult:
    """Expected significance of ``column > threshold`` (BDT probability or AE MSE) in a pT bin.

    ``data`` and ``mc`` must be candidates the models were not trained on; ``scale`` is the
    whole data sample over ``data`` (the expected signal refers to the whole sample).
    """
    d, m = in_pt(data, *pt_range), in_pt(mc, *pt_range)
    if len(d) == 0 or len(m) == 0:
        raise EmptySelectionError(f"{label}: no data or MC candidate in pT {pt_range}.")
    return selection.scan_candidates(
        d, m, {column: (">", np.asarray(thresholds))}, expected=expected, pt_range=pt_range,
        options=LC_OPTIONS.replace(signal_origins=tuple(signal_origins)), scale=scale,
        progress=progress, metadata={"model": label},
    )  # fmt: skip


def summarize(scan: selection.ScanResult) -> dict:
    """Maximum significance, efficiency there, and the plateau width in common units.

    Thresholds of a probability and of an MSE are not comparable; the plateau is measured in
    signal efficiency (eff at its loose edge - eff at its tight edge) and in background kept
    (log10 ratio of the data fractions at its edges) -- both model-independent.
    """
    if scan.plateau is None:
        raise O2mlError(f"{scan.metadata.get('model')}: the scan has no plateau (no finite point).")
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
