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

from . import channels, io, schema, selection
from .errors import ColumnNotFoundError
from .models import bdt
from .models.bdt import CharmClass
from .physics.massfit import PeakFit
from .schema import ORIGINS, PtBin, Table, origin_names

#: score column of each class (o2ml.schema.SCORE_COLUMNS, in CharmClass order)
SCORE_COLUMNS = dict(zip(CharmClass, schema.SCORE_COLUMNS, strict=True))
#: background-score thresholds scanned (log-spaced: good models push background scores of
#: signal towards 0, and the interesting cuts sit at 1e-3..1e-1)
BKG_THRESHOLDS = np.geomspace(1e-4, 1.0, 200)
TRUTH_COLUMNS = ("fTruthPdgCode", "fTruthOrigin")
#: the truth column that marks the wrong-hypothesis rows (reflections) of true decays
REFLECTION_COLUMN = "fTruthReflection"
WORKING_POINTS = ("most_efficient", "centre", "max")


def read_candidates(
    paths: io.Paths,
    table: str | Table,
    features: Sequence[str],
    extra: Sequence[str] = (),
    kind: str = "data",
) -> pd.DataFrame:
    """Mass, pT, the features and ``extra`` columns; truth columns of synthetic data if present.

    ``kind="mc"``: only the rows that are signal as O2Physics labels them
    (:func:`o2ml.channels.is_signal`: matched decay channel, prompt or non-prompt origin, the
    true mass hypothesis), with ``fOriginMcRec``; D+ candidates, reflections and background of
    the MC file are left out. The features must be finite (NaN or inf raise an error naming
    column and count).
    """
    files = io.expand_paths(paths)
    declared = table if isinstance(table, Table) else schema.find_table(table)
    name = declared.name if declared is not None else table
    available = set(io.table_columns(files[0], table))
    wanted = ["fM", "fPt", *features, *extra]
    if kind == "mc":
        wanted += ["fOriginMcRec", *channels.MC_LABEL_COLUMNS.get(name, ())]
    else:
        wanted += [c for c in (*TRUTH_COLUMNS, REFLECTION_COLUMN) if c in available]
    wanted = list(dict.fromkeys(wanted))
    df = io.read_table(files, table, columns=wanted, finite=list(features))
    if kind != "mc":
        return df
    keep = list(dict.fromkeys(["fM", "fPt", *features, *extra, "fOriginMcRec"]))
    return df.loc[channels.is_signal(df, name), keep].reset_index(drop=True)


def split_for_training(
    df: pd.DataFrame, fraction: float = 0.5, seed: int = 42
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A random part of the candidates to train on and the independent rest to evaluate on.

    Efficiencies, background fits and closure tests use the evaluation part only: a model scores
    its own training candidates too well (overfitting), which would bias every estimate.
    """
    keep = np.random.default_rng(seed).random(len(df)) < fraction
    return df[keep], df[~keep]


def has_truth(df: pd.DataFrame) -> bool:
    """True for synthetic data files written with their hidden truth."""
    return all(c in df.columns for c in TRUTH_COLUMNS)


def in_bin(df: pd.DataFrame, pt_bin: PtBin) -> pd.DataFrame:
    """The candidates of ``pt_bin`` (:func:`o2ml.selection.in_pt_range`)."""
    return selection.in_pt_range(df, (pt_bin.lo, pt_bin.hi))


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


mc_by_origin = selection.mc_by_origin


@dataclass
class BinScan:
    """The selection study of one pT bin: BDT scan, rectangular reference and the signal peak."""

    pt_bin: PtBin
    peak: PeakFit
    bdt: selection.ScanResult
    reference: selection.ScanResult | None
    #: which plateau point is the working point: ``most_efficient`` (its loose edge: the
    #: largest efficiency, the lowest S/B), ``centre`` (its middle: robust against a shift of
    #: the plateau between data and MC) or ``max`` (the maximum significance)
    working_point: str = "most_efficient"

    def __post_init__(self) -> None:
        if self.working_point not in WORKING_POINTS:
            raise ValueError(
                f"working point: expected one of {WORKING_POINTS}, found {self.working_point!r}"
            )

    @property
    def best_index(self) -> int:
        return int(np.nanargmax(self.bdt.significance))

    @property
    def chosen_index(self) -> int:
        """The working point's index (:attr:`working_point`; the maximum without a plateau)."""
        plateau = self.bdt.plateau
        if plateau is None or self.working_point == "max":
            return self.best_index
        if self.working_point == "centre":
            return (plateau.i_lo + plateau.i_hi) // 2
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
    metadata: Mapping | None = None,
    working_point: str = "most_efficient",
) -> BinScan:
    """Expected significance vs background-score threshold in one pT bin, and the reference cuts.

    ``data`` and ``mc`` must carry the score columns (:func:`add_scores`); ``scale`` converts
    the data in hand to the sample the expected signal refers to (1 for the whole file).
    ``metadata`` goes into the BDT scan (e.g. ``features``, ``task``, ``onnx_file``: what the
    dashboards' export writes). ``working_point``: see :attr:`BinScan.working_point`.
    """
    pt_range = (pt_bin.lo, pt_bin.hi)
    options = selection.SignificanceOptions(
        species=species, signal_origins=tuple(signal_origins), sidebands=sidebands,
        fit_raw_yield=fit_raw_yield,
    )  # fmt: skip
    mc_bin = in_bin(mc, pt_bin)
    peak = selection.signal_peak(
        mc_bin["fM"].to_numpy(), origin_names(mc_bin["fOriginMcRec"].to_numpy()),
        options.signal_origins, label=f"{pt_bin.lo:g} < pT < {pt_bin.hi:g} GeV/c",
    )  # fmt: skip
    common = dict(expected=expected, pt_range=pt_range, peak=peak, options=options, scale=scale)
    bdt = selection.scan_candidates(
        data, mc, {"score_bkg": ("<", np.asarray(thresholds))}, progress=progress,
        metadata={"model": "BDT", **(metadata or {})}, **common,
    )  # fmt: skip
    reference = None
    if reference_cuts:
        reference = selection.evaluate_cuts(
            reference_cuts, in_bin(data, pt_bin), mc_by_origin(mc_bin), **common
        )
    return BinScan(pt_bin, peak, bdt, reference, working_point)


def closure(data: pd.DataFrame, scan: BinScan, index: int | None = None) -> dict:
    """Estimated vs true signal after the BDT cut at ``index`` (default: the chosen threshold).

    Needs the truth columns of synthetic data. Three comparisons, each with a pull:

    - ``efficiency``: the true signal candidates of the pT bin before the cut x MC efficiency x
      the window fraction, vs those that pass the cut in the signal window. This tests the
      method (efficiency transfer from MC to data) without the sample's own Poisson fluctuation.
    - ``raw_yield``: the signal yield of the S+B fit of the data mass spectrum after the cut, vs
      the true number of signal candidates (all origins: the fit cannot tell them apart); the
      pull's error leaves out the signal's own Poisson variance, which the true count shares.
    - ``expected``: the expected signal of the table (the analysis' prediction S, divided by the
      scan's ``scale`` for the part of the data in hand) vs the true count in the window; its
      error includes the Poisson fluctuation of the sample.

    ``data`` must be the candidates the scan was made on (not those the model was trained on).
    """
    if not has_truth(data):
        raise ColumnNotFoundError(
            "Closure needs the truth columns fTruthPdgCode, fTruthOrigin (synthetic data only)."
        )
    index = scan.chosen_index if index is None else index
    result = scan.bdt
    species_pdg = {"Ds": 431, "Dplus": 411, "Lc": 4122}[result.species]
    origins = result.metadata.get("signal_origins", ["prompt"])
    data_bin = in_bin(data, scan.pt_bin)
    true_decay = data_bin["fTruthPdgCode"] == species_pdg
    if REFLECTION_COLUMN in data_bin:  # the wrong-hypothesis row of a true decay is no signal
        true_decay &= data_bin[REFLECTION_COLUMN] == 0
    is_signal = true_decay & data_bin["fTruthOrigin"].isin([ORIGINS[o] for o in origins])
    threshold = float(result.thresholds[index, 0])
    passed = data_bin["score_bkg"] < threshold
    lo, hi = result.metadata["window"]
    in_window = data_bin["fM"].between(lo, hi)
    true_in_window = int((is_signal & passed & in_window).sum())

    # efficiency closure: expected passing = sum over origins of N_true(origin) x eff x window fraction
    f_win = float(result.metadata["window_fraction"])
    est, var = 0.0, 0.0
    for name in origins:
        n = int((is_signal & (data_bin["fTruthOrigin"] == ORIGINS[name])).sum())
        eff = float(result.efficiencies[name][index])
        eff_err = float(result.efficiency_errors[name][index])
        p = eff * f_win
        est += n * p
        var += n * p * (1 - p) + (n * eff_err * f_win) ** 2  # binomial selection + MC statistics
    # S refers to the whole sample of the expected-signal table; `scale` is that over the data in hand
    scale = float(result.metadata.get("scale", 1.0))
    s, s_err = float(result.signal[index]) / scale, float(result.signal_error[index]) / scale
    true_all = int((passed & true_decay).sum())
    raw, raw_err = float(result.raw_yield[index]), float(result.raw_yield_error[index])
    expected_err = float(np.hypot(s_err, np.sqrt(max(s, 1.0))))
    # the fit's error includes the Poisson fluctuation of the signal itself, which the true count
    # of this sample shares: against that count the error is sqrt(σ_fit² - N_true) (floored at
    # one candidate), or the pulls of a toy ensemble come out narrower than 1
    raw_err_given_truth = float(np.sqrt(max(raw_err**2 - true_all, 1.0)))

    def pull(estimate: float, error: float, truth: float) -> float:
        return (estimate - truth) / error if np.isfinite(estimate) and error > 0 else float("nan")

    return {
        "threshold": threshold,
        "true_in_window": true_in_window,
        "estimated_in_window": est,
        "estimated_error": float(np.sqrt(var)),
        "pull_efficiency": pull(est, float(np.sqrt(var)), true_in_window),
        "raw_yield": raw,
        "raw_yield_error": raw_err,
        "true_all_origins": true_all,
        "pull_raw_yield": pull(raw, raw_err_given_truth, true_all),
        "expected_in_window": s,
        "expected_error": expected_err,
        "pull_expected": pull(s, expected_err, true_in_window),
    }


def training_config(sizes: Mapping, n_trials: int | None = None) -> dict:
    """Keyword arguments of :func:`train_bin` from a row of ``o2ml.config.SIZES["ds_bdt"]``.

    ``n_trials`` overrides the table's number of Optuna trials per bin.
    """
    return {
        "max_per_class": sizes["max_per_class"],
        "n_trials": sizes["n_trials"] if n_trials is None else n_trials,
        "optuna_per_class": sizes["optuna_per_class"],
        "ranges": {**bdt.OPTUNA_RANGES, "n_estimators": tuple(sizes["n_estimators"])},
    }


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
    share: str = "equal",
    bkg_factor: float = 1.0,
    weighted: bool = False,
    progress: bool = False,
) -> TrainedBin:
    """Train the model of one pT bin: balanced classes, optional Optuna search, then the final fit.

    ``share``/``bkg_factor``: the class balance of O2Physics' ``train_models.py``
    (:func:`o2ml.models.bdt.balanced_train_test`); ``weighted=True`` gives every class the same
    total weight in the final fit (:func:`o2ml.models.bdt.class_weights`), useful with
    ``share="all_signal"``. The Optuna search cross-validates on at most ``optuna_per_class``
    candidates per class, unweighted.

    With ``n_trials`` > 0 and a ``storage``, the study ``<study_name>-<key>`` is used, where the key
    encodes the settings (:func:`o2ml.models.bdt.study_name`: training set, ranges, trials, Optuna
    subset, seed): re-running with the same settings finds the finished study and adds no trial
    (an interrupted one is completed), other settings start a fresh study. Its best parameters are
    used.
    """
    handlers = bdt.class_handlers(data, mc, pt_bin, sidebands=sidebands)
    train_test = bdt.balanced_train_test(
        handlers, seed=seed, max_per_class=max_per_class, share=share, bkg_factor=bkg_factor
    )
    model = bdt.model_handler(features, params, seed=seed)
    study = None
    if n_trials > 0:
        settings = {
            "train": bdt.fingerprint(train_test[0], np.asarray(train_test[1])),
            "features": list(features),
            "ranges": ranges or bdt.OPTUNA_RANGES,
            "n_trials": n_trials,
            "optuna_per_class": optuna_per_class,
            "seed": seed,
        }
        name, todo = bdt.stored_study(
            study_name or f"bdt_{pt_bin.label}", settings, n_trials, storage
        )
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
    weights = bdt.class_weights(train_test[1]) if weighted else None
    model.fit(train_test[0], train_test[1], sample_weight=weights)
    return TrainedBin(pt_bin, handlers, train_test, model, study)


def heldout_auc(
    models: Mapping[str, object],
    data: pd.DataFrame,
    mc: pd.DataFrame,
    pt_bin: PtBin,
    features: Sequence[str],
    *,
    n_boot: int = 200,
    seed: int = 0,
    sidebands: tuple[float, float] = bdt.DS_SIDEBANDS,
) -> pd.DataFrame:
    """One-vs-one ROC AUC of several models on the same held-out candidates of a pT bin.

    Classes as in training (data sidebands, prompt and non-prompt MC), from candidates no model
    saw. ``error`` is the bootstrap spread; ``difference`` (to the first model) has a paired
    bootstrap error (the same resampled candidates for both), much smaller than either error.
    """
    from sklearn.metrics import roc_auc_score

    handlers = bdt.class_handlers(data, mc, pt_bin, sidebands=sidebands)
    x = pd.concat([h.get_data_frame()[list(features)] for h in handlers.values()])
    y = np.concatenate([np.full(h.get_n_cand(), int(c)) for c, h in handlers.items()])
    scores = {name: m.predict(x, output_margin=False) for name, m in models.items()}
    rng = np.random.default_rng(seed)
    boot = {name: [] for name in models}
    for _ in range(n_boot):
        idx = rng.integers(0, len(y), len(y))
        if len(np.unique(y[idx])) < len(handlers):
            continue
        for name, p in scores.items():
            boot[name].append(roc_auc_score(y[idx], p[idx], multi_class="ovo"))
    first = next(iter(models))
    rows = {}
    for name, p in scores.items():
        b = np.array(boot[name])
        rows[name] = {
            "candidates": len(y),
            "ROC AUC (ovo)": float(roc_auc_score(y, p, multi_class="ovo")),
            "error": float(b.std()),
            "difference": 0.0,
            "difference error": 0.0,
        }
        if name != first:
            d = b - np.array(boot[first])
            rows[name]["difference"] = rows[name]["ROC AUC (ovo)"] - rows[first]["ROC AUC (ovo)"]
            rows[name]["difference error"] = float(d.std())
    return pd.DataFrame(rows).T


@dataclass
class AfterCut:
    """The data mass spectrum of one pT bin after a cut, and its fit (signal, D+, background)."""

    counts: np.ndarray
    edges: np.ndarray
    fit: object  # o2ml.physics.massfit.MassFit
    threshold: float
    pt_bin: PtBin

    @property
    def significance_of(self) -> dict[str, float]:
        """Yield / error of each fitted peak (``signal`` = the Ds, ``dplus``)."""
        out = {"signal": self.fit.raw_yield / self.fit.raw_yield_error}
        if "n_dplus" in self.fit.names:
            out["dplus"] = self.fit["n_dplus"] / self.fit.error("n_dplus")
        return out


def fit_after_cut(
    data: pd.DataFrame, scan: BinScan, index: int | None = None, *, dplus: bool = True
) -> AfterCut:
    """Fit the mass spectrum of the candidates that pass the BDT cut at ``index`` (default: the
    chosen threshold): the scan's binning, peak shape and background model, with the D+ -> KKπ
    peak as a Gaussian of free yield (``dplus=True``) so that both peaks are measured."""
    from .physics.massfit import fit_signal

    index = scan.chosen_index if index is None else index
    meta = scan.bdt.metadata
    threshold = float(scan.bdt.thresholds[index, 0])
    data_bin = in_bin(data, scan.pt_bin)
    edges = np.asarray(meta["mass_edges"], dtype=float)
    counts, _ = np.histogram(data_bin.loc[data_bin["score_bkg"] < threshold, "fM"], edges)
    fit = fit_signal(
        counts, edges, mean=meta["mean"], sigma=meta["sigma"], mean_error=meta["mean_error"],
        sigma_error=meta["sigma_error"], shape=meta.get("raw_yield_shape") or "constrained",
        background=meta["background_model"],
        dplus=tuple(meta["dplus_peak"]) if dplus else None,
    )  # fmt: skip
    return AfterCut(counts, edges, fit, threshold, scan.pt_bin)


def origin_working_points(
    mc: pd.DataFrame,
    scan: BinScan,
    index: int | None = None,
    *,
    prompt_keep: float = 0.9,
    nonprompt_keep: float = 0.5,
) -> pd.DataFrame:
    """Prompt- and non-prompt-enhanced working points from the non-prompt score.

    On top of the background cut at ``index`` (default: the chosen one), ``score_nonprompt < a``
    keeps ``prompt_keep`` of the prompt candidates (prompt-enhanced) and ``score_nonprompt > b``
    keeps ``nonprompt_keep`` of the non-prompt ones (non-prompt-enhanced). Per working point:
    MC efficiencies of both origins (``mc`` scored, held out) and the non-prompt fraction of the
    selected signal, f_np = N_np ε_np / (N_p ε_p + N_np ε_np), N from the expected-signal table
    of the scan. This is how a prompt or a non-prompt (beauty-feed-down) measurement selects.
    """
    index = scan.chosen_index if index is None else index
    threshold = float(scan.bdt.thresholds[index, 0])
    expected = scan.bdt.metadata["expected_signal"]
    by_origin = {o: df for o, df in mc_by_origin(in_bin(mc, scan.pt_bin)).items()}
    passed = {o: df[df["score_bkg"] < threshold] for o, df in by_origin.items()}
    a = float(np.quantile(passed["prompt"]["score_nonprompt"], prompt_keep))
    b = float(np.quantile(passed["nonprompt"]["score_nonprompt"], 1 - nonprompt_keep))
    cuts = {
        "background cut only": lambda s: np.ones(len(s), bool),
        "prompt-enhanced": lambda s: s < a,
        "non-prompt-enhanced": lambda s: s > b,
    }
    rows = {}
    for name, cut in cuts.items():
        eff = {
            o: float(cut(passed[o]["score_nonprompt"].to_numpy()).sum() / max(len(by_origin[o]), 1))
            for o in ("prompt", "nonprompt")
        }
        n_p, n_np = expected["prompt"] * eff["prompt"], expected["nonprompt"] * eff["nonprompt"]
        rows[name] = {
            "score_nonprompt cut": {"prompt-enhanced": f"< {a:.3g}",
                                    "non-prompt-enhanced": f"> {b:.3g}"}.get(name, "none"),
            "prompt eff": eff["prompt"],
            "non-prompt eff": eff["nonprompt"],
            "f_np": n_np / (n_p + n_np) if n_p + n_np > 0 else np.nan,
        }  # fmt: skip
    return pd.DataFrame(rows).T


def closure_ensemble(
    trained: Mapping[PtBin, TrainedBin],
    mc: pd.DataFrame,
    features: Sequence[str],
    thresholds: Mapping[PtBin, float],
    *,
    seeds: Sequence[int],
    n_data: int,
    progress: bool = False,
) -> pd.DataFrame:
    """Closure pulls on an ensemble of independent synthetic data samples (one per seed).

    Each toy is a fresh ``HfCandDsLites`` data sample of ``n_data`` candidates with its truth
    (:func:`o2ml.toymc.charm.generate_ds`); the trained models score it, the bin is scanned at its
    fixed threshold with the held-out ``mc`` for the efficiencies, and :func:`closure` gives the
    pulls. Over the ensemble the pulls of an unbiased estimate with correct errors have mean 0
    and width 1: one sample's three pulls cannot show that.
    """
    from tqdm.auto import tqdm

    from .toymc.charm import generate_ds

    mc_scored = {b: add_scores(in_bin(mc, b), t.model, features) for b, t in trained.items()}
    rows = []
    for seed in tqdm(seeds, desc="toys", disable=not progress, leave=False):
        toy = generate_ds(n_data, 1, int(seed), with_truth=True)
        for b, t in trained.items():
            d = add_scores(in_bin(toy.data, b), t.model, features)
            scan = scan_bin(
                d, mc_scored[b], toy.expected_signal, b,
                thresholds=np.array([thresholds[b]]), reference_cuts=None,
            )  # fmt: skip
            c = closure(d, scan, index=0)
            rows.append({"seed": int(seed), "pT bin": b.label, **c})
    return pd.DataFrame(rows)


def efficiency_vs_score(
    mc: pd.DataFrame,
    scan: BinScan,
    thresholds: Sequence[float],
    *,
    column: str = "score_prompt",
    index: int | None = None,
) -> pd.DataFrame:
    """The tutorial's prompt-score study: MC efficiency of each origin vs a cut ``column >
    threshold``, on top of the background cut at ``index`` (default: the chosen one)."""
    index = scan.chosen_index if index is None else index
    cut = float(scan.bdt.thresholds[index, 0])
    rows = []
    for name, df in mc_by_origin(in_bin(mc, scan.pt_bin)).items():
        passed = df["score_bkg"].to_numpy() < cut
        score = df[column].to_numpy()
        n = max(len(df), 1)
        for t in thresholds:
            k = int((passed & (score > t)).sum())
            rows.append({"origin": name, "threshold": float(t), "efficiency": k / n,
                         "error": float(np.sqrt(max(k, 1) * (1 - k / n))) / n})  # fmt: skip
    return pd.DataFrame(rows)
