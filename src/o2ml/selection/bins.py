"""The selection study of one pT bin: scan, working point, closure and the physics checks after the cut.

From the scored candidates of one pT bin (:func:`o2ml.selection.add_scores`, held out from
training) :func:`scan_bin` scans the expected significance over the background-score threshold
and evaluates the rectangular reference cuts; a :class:`BinScan` picks the working point on the
plateau. On synthetic data :func:`closure` compares the estimate with the hidden truth, and
:func:`closure_ensemble` repeats that on independent samples (pulls of mean 0, width 1).
:func:`fit_after_cut`, :func:`origin_working_points` and :func:`efficiency_vs_score` are the
studies of notebook 01 after the cut. Nothing here defaults to a channel: the caller passes
the :class:`SignificanceOptions` (e.g. ``SignificanceOptions(**ds.SCAN_OPTIONS)`` of
:mod:`o2ml.channels.ds`) and the reference cuts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import BadArgumentError, ColumnNotFoundError
from ..physics.constants import PDG
from ..physics.massfit import PeakFit
from ..physics.stats import binomial_error
from ..schema import ORIGINS, PtBin, origin_names
from .candidates import (
    REFLECTION_COLUMN,
    add_scores,
    has_truth,
    in_pt_range,
    mc_by_origin,
    scan_candidates,
    signal_peak,
    split_for_training,
)
from .options import BinInputs, SignificanceOptions, _bin_inputs, _options
from .plateau import WORKING_POINTS
from .rectangular import evaluate_cuts
from .result import ScanResult

__all__ = [
    "BKG_THRESHOLDS", "AfterCut", "BinScan", "closure", "closure_ensemble",
    "efficiency_vs_score", "fit_after_cut", "origin_working_points", "quoted_significance",
    "scan_bin",
]  # fmt: skip

#: background-score thresholds scanned (log-spaced: good models push background scores of
#: signal towards 0, and the interesting cuts sit at 1e-3..1e-1)
BKG_THRESHOLDS = np.geomspace(1e-4, 1.0, 200)


@dataclass
class BinScan:
    """The selection study of one pT bin: BDT scan, rectangular reference and the signal peak."""

    pt_bin: PtBin
    peak: PeakFit
    bdt: ScanResult
    reference: ScanResult | None
    #: which plateau point is the working point (:data:`o2ml.selection.plateau.WORKING_POINTS`:
    #: ``most_efficient``, ``centre`` or ``max``; the rule:
    #: :func:`o2ml.selection.plateau.working_point`)
    working_point: str = "most_efficient"

    def __post_init__(self) -> None:
        if self.working_point not in WORKING_POINTS:
            raise BadArgumentError(
                f"working point: expected one of {WORKING_POINTS}, found {self.working_point!r}"
            )

    @property
    def best_index(self) -> int:
        """The index of the maximum significance."""
        return self.bdt.chosen_index("max")

    @property
    def chosen_index(self) -> int:
        """The working point's index: :meth:`ScanResult.chosen_index` of the BDT scan with
        :attr:`working_point` (the maximum without a plateau)."""
        return self.bdt.chosen_index(self.working_point)

    # the studies after the cut (notebook 01), at the working point unless ``index`` is given
    def fit_after_cut(self, data: pd.DataFrame, index: int | None = None) -> AfterCut:
        """:func:`o2ml.selection.bins.fit_after_cut`: the data mass spectrum after the cut, fitted
        (the signal and the D+ peak)."""
        return fit_after_cut(data, self, index)

    def closure(self, data: pd.DataFrame, index: int | None = None) -> dict:
        """:func:`o2ml.selection.bins.closure`: estimated vs true signal (synthetic data)."""
        return closure(data, self, index)

    def origin_working_points(self, mc: pd.DataFrame, index: int | None = None) -> pd.DataFrame:
        """:func:`o2ml.selection.bins.origin_working_points`: prompt- and non-prompt-enhanced
        working points from the non-prompt score."""
        return origin_working_points(mc, self, index)

    def efficiency_vs_score(
        self, mc: pd.DataFrame, thresholds: Sequence[float], *, column: str = "score_prompt",
        index: int | None = None,
    ) -> pd.DataFrame:  # fmt: skip
        """:func:`o2ml.selection.bins.efficiency_vs_score`: MC efficiency of each origin vs a
        cut ``column > threshold`` on top of the background cut."""
        return efficiency_vs_score(mc, self, thresholds, column=column, index=index)

    def summary(self) -> dict:
        """The bin's row of notebook 01's table: maximum and chosen significance, the chosen
        threshold and efficiencies, the plateau, and the rectangular cuts (NaN without them)."""
        r, i, c, ref = self.bdt, self.best_index, self.chosen_index, self.reference
        plateau = "none" if r.plateau is None else f"{r.plateau.lo:.3g} – {r.plateau.hi:.3g}"
        nan = float("nan")
        return {
            "BDT max Z": float(r.significance[i]),
            "±": float(r.significance_error[i]),
            "threshold (chosen)": float(r.thresholds[c, 0]),
            "Z (chosen)": float(r.significance[c]),
            "prompt eff (chosen)": float(r.efficiencies["prompt"][c]),
            "non-prompt eff (chosen)": float(r.efficiencies["nonprompt"][c]),
            "plateau": plateau,
            "rect. cuts Z": nan if ref is None else float(ref.significance[0]),
            "rect. ±": nan if ref is None else float(ref.significance_error[0]),
            "rect. prompt eff": nan if ref is None else float(ref.efficiencies["prompt"][0]),
        }


def scan_bin(
    data: pd.DataFrame,
    mc: pd.DataFrame,
    inputs: BinInputs,
    *,
    options: SignificanceOptions,
    reference_cuts: Mapping | None = None,
    thresholds: np.ndarray = BKG_THRESHOLDS,
    metadata: Mapping | None = None,
    working_point: str = "most_efficient",
) -> BinScan:
    """Expected significance vs background-score threshold in one pT bin, and reference cuts.

    ``data`` and ``mc`` must carry the score columns (:func:`add_scores`); ``inputs`` is the
    bin (expected signal, pT range, ``scale``: the data in hand to the sample the expected
    signal refers to; its peak, if None, is fitted on the MC of the signal origins).
    ``options``: the channel's choices, e.g. ``SignificanceOptions(species="Ds",
    fit_raw_yield=True)`` (raw yields for :func:`closure` and :func:`cut_variation`).
    ``reference_cuts``: rectangular cuts evaluated on the same candidates (e.g.
    :data:`o2ml.channels.ds.REFERENCE_CUTS`); None: none. ``metadata`` goes into the BDT scan
    (e.g. ``features``, ``task``, ``onnx_file``: what the dashboards' export writes).
    ``working_point``: see :attr:`BinScan.working_point`.
    """
    options = _options(options, "scan_bin")
    inputs = _bin_inputs(inputs, "scan_bin")
    pt_bin = PtBin(*inputs.pt_range)
    mc_bin = in_pt_range(mc, pt_bin)
    if inputs.peak is None:
        inputs = inputs.replace(
            peak=signal_peak(
                mc_bin["fM"].to_numpy(), origin_names(mc_bin["fOriginMcRec"].to_numpy()),
                options.signal_origins, label=inputs.label,
            )
        )  # fmt: skip
    bdt = scan_candidates(
        data, mc, {"score_bkg": ("<", np.asarray(thresholds))}, inputs, options=options,
        metadata={"model": "BDT", **(metadata or {})},
    )  # fmt: skip
    reference = None
    if reference_cuts:
        reference = evaluate_cuts(
            reference_cuts, in_pt_range(data, pt_bin), mc_by_origin(mc_bin), inputs,
            options=options,
        )  # fmt: skip
    return BinScan(pt_bin, inputs.peak, bdt, reference, working_point)


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
    species_pdg = PDG[result.species]
    origins = result.metadata.get("signal_origins", ["prompt"])
    data_bin = in_pt_range(data, scan.pt_bin)
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


@dataclass
class AfterCut:
    """The data mass spectrum of one pT bin after a cut, and its fit (signal, D+, background):
    what :func:`o2ml.plots.mass_after_cut` draws (the threshold dashboard's mass panel too)."""

    counts: np.ndarray
    edges: np.ndarray
    fit: object  # o2ml.physics.massfit.MassFit, or None where there is no fit
    threshold: float
    pt_bin: PtBin
    #: the signal window (lo, hi), shaded, or None
    window: tuple[float, float] | None = None
    #: the expected signal per mass bin, drawn on top of the background fit, or None
    expected_signal: np.ndarray | None = None

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
    from ..physics.massfit import fit_signal

    index = scan.chosen_index if index is None else index
    meta = scan.bdt.metadata
    threshold = float(scan.bdt.thresholds[index, 0])
    data_bin = in_pt_range(data, scan.pt_bin)
    edges = np.asarray(meta["mass_edges"], dtype=float)
    counts, _ = np.histogram(data_bin.loc[data_bin["score_bkg"] < threshold, "fM"], edges)
    fit = fit_signal(
        counts, edges, peak=(meta["mean"], meta["sigma"]),
        peak_errors=(meta["mean_error"], meta["sigma_error"]),
        shape=meta.get("raw_yield_shape") or "constrained",
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
    by_origin = {o: df for o, df in mc_by_origin(in_pt_range(mc, scan.pt_bin)).items()}
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
    trained: Mapping[PtBin, object],
    mc: pd.DataFrame,
    features: Sequence[str],
    thresholds: Mapping[PtBin, float],
    *,
    options: SignificanceOptions,
    seeds: Sequence[int],
    n_data: int,
    progress: bool = False,
) -> pd.DataFrame:
    """Closure pulls on an ensemble of independent synthetic data samples (one per seed).

    Each toy is a fresh data sample of ``n_data`` candidates with its truth, drawn by the
    generator of the channel of ``options.species`` (:func:`o2ml.toymc.generate.draw`); the
    trained models score it, the bin is scanned at its fixed threshold with the held-out ``mc``
    for the efficiencies (``options`` as in :func:`scan_bin`, with ``fit_raw_yield=True``), and
    :func:`closure` gives the pulls. Over the ensemble the pulls of an unbiased estimate with
    correct errors have mean 0 and width 1: one sample's three pulls cannot show that.
    """
    from tqdm.auto import tqdm

    from ..toymc.generate import draw

    mc_scored = {b: add_scores(in_pt_range(mc, b), t.model, features) for b, t in trained.items()}
    rows = []
    for seed in tqdm(seeds, desc="toys", disable=not progress, leave=False):
        toy = draw(options.species, n_data, 1, int(seed), with_truth=True)
        for b, t in trained.items():
            d = add_scores(in_pt_range(toy.data, b), t.model, features)
            scan = scan_bin(
                d, mc_scored[b], BinInputs(toy.expected_signal, b), options=options,
                thresholds=np.array([thresholds[b]]),
            )  # fmt: skip
            c = closure(d, scan, index=0)
            rows.append({"seed": int(seed), "pT bin": b.label, **c})
    return pd.DataFrame(rows)


def quoted_significance(
    data: pd.DataFrame,
    mc: pd.DataFrame,
    inputs: BinInputs,
    *,
    options: SignificanceOptions,
    seed: int,
    reference_cuts: Mapping | None = None,
    working_point: str = "most_efficient",
) -> dict[str, float]:
    """S/sqrt(S+B) of a model at a threshold chosen on other candidates, and of the reference.

    ``data`` and ``mc``: candidates the model was not trained on, scored by it
    (:func:`add_scores`); ``inputs.scale``: the sample the expected signal refers to over
    ``len(data)``. Each is split in halves (``seed``): the threshold is the working point of the
    scan of the first half, and Z is quoted on the second half, which did not choose it (the Z
    of the choosing half, ``Z chosen half``, carries the upward fluctuation the choice picked),
    with the ``reference_cuts`` on that same half. ``options`` as in :func:`scan_bin`."""
    inputs = _bin_inputs(inputs, "quoted_significance")
    choose_d, quote_d = split_for_training(data, 0.5, seed=seed)
    choose_m, quote_m = split_for_training(mc, 0.5, seed=seed + 1)
    n_full = inputs.scale * len(data)

    def half(d: pd.DataFrame) -> BinInputs:
        return inputs.replace(scale=n_full / len(d))

    pick = scan_bin(
        choose_d, choose_m, half(choose_d), options=options, working_point=working_point
    )
    cut = pick.bdt.thresholds[pick.chosen_index : pick.chosen_index + 1, 0]
    quote = scan_bin(
        quote_d, quote_m, half(quote_d), options=options, thresholds=cut,
        reference_cuts=reference_cuts,
    )  # fmt: skip
    out = {
        "threshold": float(cut[0]),
        "Z": float(quote.bdt.significance[0]),
        "Z chosen half": float(pick.bdt.significance[pick.chosen_index]),
    }
    if quote.reference is not None:
        out["Z reference"] = float(quote.reference.significance[0])
    return out


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
    for name, df in mc_by_origin(in_pt_range(mc, scan.pt_bin)).items():
        passed = df["score_bkg"].to_numpy() < cut
        score = df[column].to_numpy()
        n = max(len(df), 1)
        for t in thresholds:
            k = int((passed & (score > t)).sum())
            rows.append({"origin": name, "threshold": float(t), "efficiency": k / n,
                         "error": binomial_error(max(k, 1) / n, n)})  # fmt: skip
    return pd.DataFrame(rows)
