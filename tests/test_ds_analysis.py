"""Notebook 1's physics on the default sample: the BDT beats the rectangular cuts, closure holds.

The models are trained as notebook 01 trains them in its full run: the same table of sizes
(``o2ml.config.SIZES["ds_bdt"]``), an Optuna search per pT bin, the same split and seed.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import nbformat
import numpy as np
import pytest

from o2ml import config, schema, selection
from o2ml.channels import ds
from o2ml.models import training
from o2ml.toymc.generate import ensure_sample

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
#: notebook 01's scan choices: the Ds, prompt signal, raw yields fitted (closure, cut variation)
OPTIONS = selection.SignificanceOptions(species=ds.SPECIES, fit_raw_yield=True)


def notebook_parameters(name: str) -> dict:
    """The values of a notebook's parameters cell (what it runs with by default)."""
    nb = nbformat.read(REPO / "notebooks" / name, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    values: dict = {}
    exec(cell.source, {}, values)  # the cell holds plain assignments only
    return values


class Bins(dict):
    """pT bin -> (trained, scored data, scan, scored MC), and the held-out MC and features."""


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    sample = ensure_sample("ds", fast=False)  # the default sample that `make lab` generates
    params = notebook_parameters("01_ds_bdt.ipynb")
    sizes = training.training_config(config.sizes("ds_bdt", fast=False))
    storage = str(tmp_path_factory.mktemp("optuna") / "optuna.db")
    features = params["features"]
    # the reference as notebook 01 takes it: SelectorCuts.h of each candidate's pT bin, with PID
    extra = list(dict.fromkeys([*ds.REFERENCE_CUTS, *ds.REFERENCE_COLUMNS]))
    data = selection.read_candidates(sample.data, "HfCandDsLites", features, extra)
    mc = selection.read_candidates(sample.mc, "HfCandDsLites", features, extra, kind="mc")
    for df in (data, mc):
        df[ds.REFERENCE_COLUMN] = ds.passes_reference_cuts(df).astype(float)
    expected = selection.load_expected_signal(sample.expected_signal)
    data_train, data_eval = selection.split_for_training(data, 0.5, seed=params["seed"])
    mc_train, mc_eval = selection.split_for_training(mc, 0.5, seed=params["seed"] + 1)
    scale = len(data) / len(data_eval)
    out = Bins()
    for b in schema.pt_bins(params["pt_edges"]):
        settings = replace(sizes, seed=params["seed"], storage=storage)
        trained = training.train_bin(
            data_train, mc_train, b, features, sidebands=ds.SIDEBANDS, settings=settings
        )
        d = selection.add_scores(selection.in_pt_range(data_eval, b), trained.model, features)
        m = selection.add_scores(selection.in_pt_range(mc_eval, b), trained.model, features)
        reference = {ds.REFERENCE_COLUMN: (">", 0.5)}
        scan = selection.scan_bin(
            d, m, selection.BinInputs(expected, b, scale=scale), options=OPTIONS,
            reference_cuts=reference,
        )  # fmt: skip
        out[b] = (trained, d, scan, m)
    out.mc_eval, out.features, out.n_eval = mc_eval, features, len(data_eval)
    return out


def test_bdt_beats_rectangular_cuts_in_every_bin(scans):
    """Against the selector's own cuts of each pT bin (SelectorCuts.h, with its PID); where the
    cuts leave too few sideband candidates to fit B, their Z is undefined (not 2-4 GeV/c)."""
    compared = []
    for b, (trained, _, scan, _) in scans.items():
        z_bdt = scan.bdt.significance[scan.best_index]
        z_ref = scan.reference.significance[0]
        if not np.isfinite(z_ref):
            continue
        compared.append(b.lo)
        err = np.hypot(
            scan.bdt.significance_error[scan.best_index], scan.reference.significance_error[0]
        )
        assert z_bdt > z_ref + err, f"{b}: BDT {z_bdt:.2f} vs rectangular {z_ref:.2f} (±{err:.2f})"
        # the O2 tutorial reports 0.903 in 2-4 GeV/c with its seven features (docs/physics.md) and
        # the synthetic sample is calibrated to it (0.87-0.93, tests/test_toymc_charm.py); the
        # notebook's selector features add to that, and the separation grows with pT
        lo = 0.90 if b.lo < 4 else 0.91
        assert lo < trained.roc_auc() < 0.97, (b, trained.roc_auc())
    assert 2 in compared, compared


def test_closure_recovers_true_signal_within_its_uncertainty(scans):
    for b, (_, data_bin, scan, _) in scans.items():
        c = scan.closure(data_bin)
        assert c["true_in_window"] > 10, b
        assert abs(c["pull_efficiency"]) < 2, (b, c)  # estimated vs true signal
        assert abs(c["pull_raw_yield"]) < 3, (b, c)  # fitted vs true yield
        assert abs(c["pull_expected"]) < 3, (b, c)  # prediction vs realisation (Poisson included)


def test_plateau_is_a_range_around_the_maximum(scans):
    for b, (_, _, scan, _) in scans.items():
        p = scan.bdt.plateau
        best = scan.bdt.thresholds[scan.best_index, 0]
        assert p.lo <= best <= p.hi and p.width > 0, b
        assert (
            scan.bdt.significance[scan.chosen_index]
            >= 0.95 * np.nanmax(scan.bdt.significance) - 1e-9
        )


def test_mass_fit_after_the_cut_measures_both_peaks(scans):
    """After the chosen cut the fit finds the Ds at more than 5σ in 2-4 GeV/c (where the scan
    expects it well above that) and its yield agrees with the true count; the D+ peak is
    fitted with a positive yield and agrees with its true count."""
    for b, (_, d, scan, _) in scans.items():
        after = scan.fit_after_cut(d)
        assert after.fit.valid and after.counts.sum() == (d["score_bkg"] < after.threshold).sum()
        passed = d[d["score_bkg"] < after.threshold]
        true_ds = ((passed["fTruthPdgCode"] == 431) & (passed["fTruthReflection"] == 0)).sum()
        true_dplus = ((passed["fTruthPdgCode"] == 411) & (passed["fTruthReflection"] == 0)).sum()
        assert abs(after.fit.raw_yield - true_ds) < 3 * after.fit.raw_yield_error, (b, true_ds)
        n_dp, e_dp = after.fit["n_dplus"], after.fit.error("n_dplus")
        assert abs(n_dp - true_dplus) < 3 * e_dp, (b, n_dp, e_dp, true_dplus)
        if b.lo == 2:
            assert after.significance_of["signal"] > 5, after.significance_of


def test_nonprompt_score_makes_enhanced_working_points(scans):
    for b, (_, _, scan, m) in scans.items():
        wp = scan.origin_working_points(m)
        f = wp["f_np"]
        assert f["prompt-enhanced"] < f["background cut only"] < f["non-prompt-enhanced"], (b, wp)
        # the cuts keep the requested fractions of the background-selected candidates
        base = wp.loc["background cut only"]
        assert wp.loc["prompt-enhanced", "prompt eff"] == pytest.approx(
            0.9 * base["prompt eff"], abs=0.02
        )
        assert wp.loc["non-prompt-enhanced", "non-prompt eff"] == pytest.approx(
            0.5 * base["non-prompt eff"], abs=0.02
        )


def test_working_point_rules_pick_points_of_the_plateau(scans):
    import dataclasses

    for _, _, scan, _ in scans.values():
        p = scan.bdt.plateau
        loose = scan.chosen_index
        centre = dataclasses.replace(scan, working_point="centre").chosen_index
        best = dataclasses.replace(scan, working_point="max").chosen_index
        assert p.contains(loose) and p.contains(centre) and best == scan.best_index
        assert centre == (p.i_lo + p.i_hi) // 2
        # the loose edge has the largest efficiency of the plateau
        eff = scan.bdt.signal_efficiency
        assert eff[loose] == pytest.approx(eff[p.i_lo : p.i_hi + 1].max())
    with pytest.raises(ValueError, match="working point"):
        dataclasses.replace(scan, working_point="tightest")


def test_a_toy_ensemble_gives_pulls_of_mean_zero_and_width_one(scans):
    """Independent synthetic samples scored by the trained models: pull mean ~0, width ~1 for the
    efficiency closure and the fitted raw yield (errors neither too small nor too large)."""
    trained = {b: t for b, (t, _, _, _) in scans.items()}
    thresholds = {
        b: float(s.bdt.thresholds[s.chosen_index, 0]) for b, (_, _, s, _) in scans.items()
    }
    toys = selection.closure_ensemble(
        trained, scans.mc_eval, scans.features, thresholds, options=OPTIONS,
        seeds=range(500, 512), n_data=scans.n_eval,
    )  # fmt: skip
    assert len(toys) == 12 * len(trained) and toys["seed"].nunique() == 12
    for col in ("pull_efficiency", "pull_raw_yield"):
        x = toys[col].to_numpy()
        assert np.isfinite(x).all(), col
        assert abs(x.mean()) < 3 * x.std() / np.sqrt(len(x)) + 0.1, (col, x.mean())
        assert 0.65 < x.std() < 1.4, (col, x.std())


def test_full_run_models_do_not_overtrain(scans):
    """Notebook 01 shows the train-vs-test ROC (the tutorial's overtraining check) without an
    assert, because the small FAST training sets can overtrain. In the full run the bins with
    at least 5000 training candidates per class stay below a 0.03 gap; the higher bins, with a
    few hundred to a thousand per class, overtrain more (6-12 GeV/c measured: 0.04), but by
    less than 0.06."""
    from sklearn.metrics import roc_auc_score

    for b, (trained, _, _, _) in scans.items():
        x_train, y_train = trained.train_test[0], trained.train_test[1]
        auc_train = roc_auc_score(
            y_train, trained.model.predict(x_train, output_margin=False), multi_class="ovo"
        )
        per_class = np.bincount(np.asarray(y_train)).min()
        limit = 0.03 if per_class >= 5000 else 0.06
        assert auc_train - trained.roc_auc() < limit, (b, per_class, auc_train, trained.roc_auc())


def test_prompt_score_removes_nonprompt_faster(scans):
    """The tutorial's prompt-score study: both efficiencies fall with the cut, the non-prompt one
    faster, and they are the MC fractions counted directly."""
    for b, (_, _, scan, m) in scans.items():
        study = scan.efficiency_vs_score(m, [0.0, 0.5, 0.7])
        eff = study.pivot(index="threshold", columns="origin", values="efficiency")
        assert (np.diff(eff["prompt"]) <= 0).all() and (np.diff(eff["nonprompt"]) <= 0).all()
        ratio = eff["nonprompt"] / eff["prompt"]
        assert ratio.iloc[-1] < ratio.iloc[0], (b, ratio)
        cut = scan.bdt.thresholds[scan.chosen_index, 0]
        prompt = selection.in_pt_range(m, b).query("fOriginMcRec == 1")
        direct = ((prompt.score_bkg < cut) & (prompt.score_prompt > 0.5)).mean()
        assert eff.loc[0.5, "prompt"] == pytest.approx(direct)
