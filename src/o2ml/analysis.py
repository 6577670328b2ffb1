"""The per-pT-bin steps of a charm-hadron BDT analysis, shared by the notebooks and their tests.

Read candidates -> train one hipe4ml/XGBoost model per pT bin (:mod:`o2ml.models.bdt`) -> score
data and MC -> scan the expected significance over the background-score threshold
(:func:`o2ml.selection.scan_significance`) -> compare with rectangular cuts -> closure against the
synthetic truth -> export.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import io, selection
from .errors import ColumnNotFoundError
from .models import bdt
from .models.bdt import CharmClass, PtBin
from .physics.massfit import PeakFit, fit_peak
from .schema import Table

#: score column of each class, in CharmClass order
SCORE_COLUMNS = {
    CharmClass.BACKGROUND: "score_bkg",
    CharmClass.PROMPT: "score_prompt",
    CharmClass.NONPROMPT: "score_nonprompt",
}
#: background-score thresholds scanned (log-spaced: good models push background scores of
#: signal towards 0, and the interesting cuts sit at 1e-3..1e-1)
BKG_THRESHOLDS = np.geomspace(1e-4, 1.0, 200)
TRUTH_COLUMNS = ("fTruthPdgCode", "fTruthOrigin")
ORIGINS = {"prompt": 1, "nonprompt": 2}


def read_candidates(
    paths: io.Paths,
    table: str | Table,
    features: Sequence[str],
    extra: Sequence[str] = (),
    kind: str = "data",
) -> pd.DataFrame:
    """Mass, pT, the features and ``extra`` columns; MC origin for MC, truth columns if present.

    The features must be finite (NaN or inf raise an error naming column and count).
    """
    files = io.expand_paths(paths)
    available = set(io.describe_columns(files[0], *io._resolve(table)))
    wanted = ["fM", "fPt", *features, *extra]
    if kind == "mc":
        wanted.append("fOriginMcRec")
    else:
        wanted += [c for c in TRUTH_COLUMNS if c in available]
    wanted = list(dict.fromkeys(wanted))
    return io.read_table(files, table, columns=wanted, finite=list(features))


def has_truth(df: pd.DataFrame) -> bool:
    """True for synthetic data files written with their hidden truth."""
    return all(c in df.columns for c in TRUTH_COLUMNS)


def in_bin(df: pd.DataFrame, pt_bin: PtBin) -> pd.DataFrame:
    return df[(df["fPt"] >= pt_bin.lo) & (df["fPt"] < pt_bin.hi)]


def add_scores(df: pd.DataFrame, model, features: Sequence[str]) -> pd.DataFrame:
    """A copy of ``df`` with one score column per class (``score_bkg``, ``score_prompt``, ...).

    ``model`` is a hipe4ml ModelHandler or an XGBoost classifier.
    """
    missing = [f for f in features if f not in df.columns]
    if missing:
        raise ColumnNotFoundError(f"Candidates lack the model features {missing}.")
    clf = model.get_original_model() if hasattr(model, "get_original_model") else model
    proba = clf.predict_proba(df[list(features)])
    out = df.copy()
    for cls, column in SCORE_COLUMNS.items():
        out[column] = proba[:, int(cls)]
    return out


def mc_by_origin(mc: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """True MC signal split by origin, as the selection functions take it."""
    return {name: mc[mc["fOriginMcRec"] == code] for name, code in ORIGINS.items()}


@dataclass
class BinScan:
    """The selection study of one pT bin: BDT scan, rectangular reference and the signal peak."""

    pt_bin: PtBin
    peak: PeakFit
    bdt: selection.ScanResult
    reference: selection.ScanResult | None

    @property
    def best_index(self) -> int:
        return int(np.nanargmax(self.bdt.significance))

    @property
    def chosen_index(self) -> int:
        """The most efficient threshold on the significance plateau (else the maximum)."""
        plateau = self.bdt.plateau
        if plateau is None:
            return self.best_index
        return int(np.argmin(np.abs(self.bdt.thresholds[:, 0] - plateau.most_efficient_threshold)))


def scan_bin(
    data: pd.DataFrame,
    mc: pd.DataFrame,
    expected: Mapping,
    pt_bin: PtBin,
    *,
    species: str = "Ds",
    thresholds: np.ndarray = BKG_THRESHOLDS,
    reference_cuts: Mapping | None = selection.DS_REFERENCE_CUTS,
    signal_origins: Sequence[str] = ("prompt",),
    sidebands: tuple[float, float] | None = None,
    scale: float = 1.0,
    fit_raw_yield: bool = True,
    progress: bool = False,
) -> BinScan:
    """Expected significance vs background-score threshold in one pT bin, and the reference cuts.

    ``data`` and ``mc`` must carry the score columns (:func:`add_scores`); ``scale`` converts
    the data in hand to the sample the expected signal refers to (1 for the whole file).
    """
    data_bin, mc_bin = in_bin(data, pt_bin), in_bin(mc, pt_bin)
    by_origin = mc_by_origin(mc_bin)
    peak = fit_peak(mc_bin["fM"].to_numpy())
    common = dict(
        expected=expected,
        pt_range=(pt_bin.lo, pt_bin.hi),
        peak=peak,
        species=species,
        signal_origins=signal_origins,
        sidebands=sidebands,
        scale=scale,
        fit_raw_yield=fit_raw_yield,
    )
    scores = {"score_bkg": data_bin["score_bkg"].to_numpy()}
    mc_scores = {o: {"score_bkg": df["score_bkg"].to_numpy()} for o, df in by_origin.items()}
    bdt = selection.scan_significance(
        data_bin["fM"].to_numpy(),
        scores,
        mc_scores,
        {"score_bkg": ("<", np.asarray(thresholds))},
        progress=progress,
        metadata={"pt_bin": [pt_bin.lo, pt_bin.hi], "model": "BDT"},
        **common,
    )
    reference = None
    if reference_cuts:
        reference = selection.evaluate_cuts(reference_cuts, data_bin, by_origin, **common)
    return BinScan(pt_bin, peak, bdt, reference)


def closure(data: pd.DataFrame, scan: BinScan, index: int | None = None) -> dict:
    """Estimated vs true signal after the BDT cut at ``index`` (default: the chosen threshold).

    Needs the truth columns of synthetic data. Returns the expected signal in the window (from
    the expected-signal table x MC efficiency), the fitted raw yield, the true number of signal
    candidates passing the cut, and the pulls of both estimates.
    """
    if not has_truth(data):
        raise ColumnNotFoundError(
            "Closure needs the truth columns fTruthPdgCode, fTruthOrigin (synthetic data only)."
        )
    index = scan.chosen_index if index is None else index
    result = scan.bdt
    species_pdg = {"Ds": 431, "Dplus": 411, "Lc": 4122}[result.species]
    origins = [ORIGINS[o] for o in result.metadata.get("signal_origins", ["prompt"])]
    data_bin = in_bin(data, scan.pt_bin)
    threshold = float(result.thresholds[index, 0])
    passed = data_bin[data_bin["score_bkg"] < threshold]
    true_signal = passed[
        (passed["fTruthPdgCode"] == species_pdg) & passed["fTruthOrigin"].isin(origins)
    ]
    lo, hi = result.metadata["window"]
    true_in_window = int(true_signal["fM"].between(lo, hi).sum())
    s, s_err = float(result.signal[index]), float(result.signal_error[index])
    out = {
        "threshold": threshold,
        "true_in_window": true_in_window,
        "expected_in_window": s,
        # the true count fluctuates around the expectation: Poisson term plus the MC-efficiency error
        "expected_error": float(np.hypot(s_err, np.sqrt(max(s, 1.0)))),
        "true_total": len(true_signal),
        "raw_yield": float(result.raw_yield[index]),
        "raw_yield_error": float(result.raw_yield_error[index]),
    }
    out["pull_expected"] = (out["expected_in_window"] - true_in_window) / out["expected_error"]
    # the fit also counts the other origin under the peak: compare with all true candidates of the species
    true_all = passed[passed["fTruthPdgCode"] == species_pdg]
    out["true_all_origins"] = len(true_all)
    if np.isfinite(out["raw_yield"]) and out["raw_yield_error"] > 0:
        out["pull_raw_yield"] = (out["raw_yield"] - len(true_all)) / out["raw_yield_error"]
    else:
        out["pull_raw_yield"] = float("nan")
    return out


@dataclass
class TrainedBin:
    """A trained model of one pT bin with its hipe4ml training material."""

    pt_bin: PtBin
    handlers: dict  # CharmClass -> TreeHandler
    train_test: list  # [X_train, y_train, X_test, y_test]
    model: object  # hipe4ml ModelHandler
    study: object | None = None  # optuna.Study

    @property
    def test_scores(self) -> np.ndarray:
        return self.model.predict(self.train_test[2], output_margin=False)

    def roc_auc(self) -> float:
        """One-vs-one ROC AUC on the test set (the tutorial's figure of merit)."""
        from sklearn.metrics import roc_auc_score

        return float(roc_auc_score(self.train_test[3], self.test_scores, multi_class="ovo"))


def train_bin(
    data: pd.DataFrame,
    mc: pd.DataFrame,
    pt_bin: PtBin,
    features: Sequence[str],
    *,
    seed: int = 42,
    params: Mapping | None = None,
    max_per_class: int | None = None,
    n_trials: int = 0,
    storage: str | None = None,
    study_name: str | None = None,
    ranges: Mapping | None = None,
    optuna_per_class: int | None = None,
    sidebands: tuple[float, float] = bdt.DS_SIDEBANDS,
    progress: bool = False,
) -> TrainedBin:
    """Train the model of one pT bin: balanced classes, optional Optuna search, then the final fit.

    With ``n_trials`` > 0 and a ``storage``, the study ``study_name`` is resumed and topped up to
    ``n_trials`` trials (re-running a notebook adds none), and its best parameters are used.
    """
    handlers = bdt.class_handlers(data, mc, pt_bin, sidebands=sidebands)
    train_test = bdt.balanced_train_test(handlers, seed=seed, max_per_class=max_per_class)
    model = bdt.model_handler(features, params, seed=seed)
    study = None
    if n_trials > 0:
        name = study_name or f"bdt_{pt_bin.label}_seed{seed}"
        todo = max(0, n_trials - bdt.len_trials(storage, name))
        study = bdt.optimize(
            model,
            train_test,
            n_trials=todo,
            storage=storage,
            study_name=name,
            ranges=ranges or bdt.OPTUNA_RANGES,
            seed=seed,
            progress=progress,
            sample_per_class=optuna_per_class,
        )
    model.fit(train_test[0], train_test[1])
    return TrainedBin(pt_bin, handlers, train_test, model, study)
