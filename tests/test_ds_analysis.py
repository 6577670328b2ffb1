"""Notebook 1's physics on the default sample: the BDT beats the rectangular cuts, closure holds.

The models are trained as notebook 01 trains them in its full run: the same table of sizes
(``o2ml.config.SIZES["ds_bdt"]``), an Optuna search per pT bin, the same split and seed.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest

from o2ml import analysis, config, selection
from o2ml.models import bdt
from o2ml.toymc.generate import ensure_sample

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]


def notebook_parameters(name: str) -> dict:
    """The values of a notebook's parameters cell (what it runs with by default)."""
    nb = nbformat.read(REPO / "notebooks" / name, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    values: dict = {}
    exec(cell.source, {}, values)  # the cell holds plain assignments only
    return values


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    sample = ensure_sample("ds", fast=False)  # the default sample that `make lab` generates
    params = notebook_parameters("01_ds_bdt.ipynb")
    training = analysis.training_config(config.sizes("ds_bdt", fast=False))
    storage = str(tmp_path_factory.mktemp("optuna") / "optuna.db")
    features = params["features"]
    extra = list(selection.DS_REFERENCE_CUTS)
    data = analysis.read_candidates(sample.data, "HfCandDsLites", features, extra)
    mc = analysis.read_candidates(sample.mc, "HfCandDsLites", features, extra, kind="mc")
    expected = selection.load_expected_signal(sample.expected_signal)
    data_train, data_eval = analysis.split_for_training(data, 0.5, seed=params["seed"])
    mc_train, mc_eval = analysis.split_for_training(mc, 0.5, seed=params["seed"] + 1)
    scale = len(data) / len(data_eval)
    out = {}
    for b in bdt.pt_bins(params["pt_edges"]):
        trained = analysis.train_bin(
            data_train, mc_train, b, features, seed=params["seed"], storage=storage, **training
        )
        d = analysis.add_scores(analysis.in_bin(data_eval, b), trained.model, features)
        m = analysis.add_scores(analysis.in_bin(mc_eval, b), trained.model, features)
        out[b] = (trained, d, analysis.scan_bin(d, m, expected, b, scale=scale))
    return out


def test_bdt_beats_rectangular_cuts_in_every_bin(scans):
    for b, (trained, _, scan) in scans.items():
        z_bdt = scan.bdt.significance[scan.best_index]
        z_ref = scan.reference.significance[0]
        err = np.hypot(
            scan.bdt.significance_error[scan.best_index], scan.reference.significance_error[0]
        )
        assert z_bdt > z_ref + err, f"{b}: BDT {z_bdt:.2f} vs rectangular {z_ref:.2f} (±{err:.2f})"
        # the O2 tutorial reports 0.903 in 2-4 GeV/c with its seven features (docs/physics.md) and
        # the synthetic sample is calibrated to it (0.87-0.93, tests/test_toymc_charm.py); the
        # notebook's selector features add to that, and the separation grows with pT
        lo = 0.90 if b.lo < 4 else 0.91
        assert lo < trained.roc_auc() < 0.97, (b, trained.roc_auc())


def test_closure_recovers_true_signal_within_2_sigma(scans):
    for b, (_, data_bin, scan) in scans.items():
        c = analysis.closure(data_bin, scan)
        assert c["true_in_window"] > 10, b
        assert abs(c["pull_efficiency"]) < 2, (b, c)  # estimated vs true signal
        assert abs(c["pull_raw_yield"]) < 2, (b, c)  # fitted vs true yield
        assert abs(c["pull_expected"]) < 3, (b, c)  # prediction vs realisation (Poisson included)


def test_plateau_is_a_range_around_the_maximum(scans):
    for b, (_, _, scan) in scans.items():
        p = scan.bdt.plateau
        best = scan.bdt.thresholds[scan.best_index, 0]
        assert p.lo <= best <= p.hi and p.width > 0, b
        assert (
            scan.bdt.significance[scan.chosen_index]
            >= 0.95 * np.nanmax(scan.bdt.significance) - 1e-9
        )
