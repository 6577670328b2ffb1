"""Tests of o2ml.selection: efficiencies, expected signal, scans, plateaus, ScanResult files."""

from __future__ import annotations

import dataclasses
import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy.stats import beta

from o2ml.channels import ds
from o2ml.errors import (
    ColumnNotFoundError,
    EmptySelectionError,
    ExpectedSignalError,
    InputFileNotFoundError,
    NonFiniteError,
    O2mlError,
    OutputExistsError,
    ScanFileError,
    ScanInputError,
)
from o2ml.physics.massfit import PeakFit, fit_peak
from o2ml.selection import (
    BinInputs,
    ScanResult,
    SignificanceOptions,
    cut_variation,
    find_plateau,
    in_pt_range,
    load_expected_signal,
    scan_candidates,
    scan_significance,
)
from o2ml.selection._binning import count_below
from o2ml.selection._estimate import significance
from o2ml.selection.candidates import mc_by_origin
from o2ml.selection.efficiency import (
    ScoreCut,
    class_efficiencies,
    efficiency,
    efficiency_2d,
    selection_efficiency,
)
from o2ml.selection.expected import expected_signal
from o2ml.selection.plateau import Plateau
from o2ml.selection.rectangular import evaluate_cuts

OPS = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}


# ------------------------------------------------------------------------------ efficiencies
def brute(scores, thresholds, op, weights=None):
    w = np.ones(len(scores)) if weights is None else weights
    return np.array([w[OPS[op](scores, t)].sum() / w.sum() for t in thresholds])


@pytest.fixture(scope="module")
def scores():
    rng = np.random.default_rng(42)
    n = 20_000
    # rounded scores: many ties with thresholds on the same grid
    return {
        "a": np.round(rng.random(n), 2),
        "b": rng.random(n),
        "w": rng.exponential(1.0, n),
        "label": rng.integers(0, 3, n),
    }


@pytest.mark.parametrize("op", [">", ">=", "<", "<="])
@pytest.mark.parametrize("weighted", [False, True])
def test_efficiency_one_cut_vs_brute_force(scores, op, weighted):
    rng = np.random.default_rng(1)
    # unsorted, with repetitions, values equal to scores, and outside the score range
    thresholds = np.r_[rng.permutation(np.round(np.linspace(0, 1, 101), 2)), 0.5, -1.0, 2.0, 0.37]
    w = scores["w"] if weighted else None
    got = efficiency(scores["a"], thresholds, direction=op, weights=w)
    np.testing.assert_allclose(got, brute(scores["a"], thresholds, op, w), rtol=1e-12, atol=1e-15)


def test_efficiency_errors_are_binomial(scores):
    thr = [0.1, 0.5, 0.9]
    eff = selection_efficiency({"b": scores["b"]}, {"b": (">", thr)})
    n = len(scores["b"])
    np.testing.assert_allclose(eff.errors, np.sqrt(eff.values * (1 - eff.values) / n), rtol=1e-12)
    # weights all equal to 2: same efficiency and error as without weights
    w2 = selection_efficiency({"b": scores["b"]}, {"b": (">", thr)}, weights=np.full(n, 2.0))
    np.testing.assert_allclose(w2.values, eff.values, rtol=1e-12)
    np.testing.assert_allclose(w2.errors, eff.errors, rtol=1e-12)


@pytest.mark.parametrize("directions", [("<", ">"), (">=", "<=")])
def test_two_cuts_path_and_grid_vs_brute_force(scores, directions):
    a, b, w = scores["a"], scores["b"], scores["w"]
    ta = np.array([0.5, 0.01, 0.2, 0.2, 0.99])
    tb = np.array([0.3, 0.7, 0.05, 0.9, 0.3])
    op_a, op_b = (OPS[d] for d in directions)
    path = selection_efficiency(
        {"a": a, "b": b}, {"a": (directions[0], ta), "b": (directions[1], tb)}, weights=w
    ).values
    want = [w[op_a(a, x) & op_b(b, y)].sum() / w.sum() for x, y in zip(ta, tb, strict=True)]
    np.testing.assert_allclose(path, want, rtol=1e-12)
    grid = efficiency_2d(a, b, ta, tb, directions=directions, weights=w)
    assert grid.shape == (5, 5)
    want = [[w[op_a(a, x) & op_b(b, y)].sum() / w.sum() for y in tb] for x in ta]
    np.testing.assert_allclose(grid, want, rtol=1e-12)
    # a fixed cut broadcasts against a scanned one
    fixed = selection_efficiency(
        {"a": a, "b": b}, {"a": (directions[0], 0.2), "b": (directions[1], tb)}
    )
    np.testing.assert_allclose(fixed.values, [np.mean(op_a(a, 0.2) & op_b(b, y)) for y in tb])


def test_class_efficiencies_vs_brute_force(scores):
    a, b, w, label = scores["a"], scores["b"], scores["w"], scores["label"]
    ta, tb = np.array([0.3, 0.6]), np.array([0.5, 0.1])
    got = class_efficiencies({"a": a, "b": b}, label, {"a": ("<", ta), "b": (">", tb)}, weights=w)
    assert list(got) == [0, 1, 2]
    for cls, eff in got.items():
        m = label == cls
        want = [w[m & (a < x) & (b > y)].sum() / w[m].sum() for x, y in zip(ta, tb, strict=True)]
        np.testing.assert_allclose(eff.values, want, rtol=1e-12)
    named = class_efficiencies(
        {"b": b}, np.array(["bkg", "prompt", "np"])[label], {"b": (">", [0.5])}
    )
    assert sorted(named) == ["bkg", "np", "prompt"]
    assert named["np"].values[0] == pytest.approx(np.mean(b[label == 2] > 0.5), rel=1e-12)


def test_float32_scores_compared_in_float64():
    s = np.array([0.1, 0.2, 0.3], dtype=np.float32)
    # float32(0.1) > 0.1 in float64: it passes "> 0.1"
    assert efficiency(s, [0.1])[0] == pytest.approx(np.mean(s.astype(np.float64) > 0.1))


@pytest.mark.parametrize(
    "edges",
    [
        np.linspace(0, 1, 200),
        np.logspace(-12, 0, 150),
        np.r_[-np.logspace(-300, 0, 50)[::-1], 0.0, np.logspace(-300, 0, 50)],
        np.array([0.1, 0.1 + 1e-15, 0.5]),
        np.linspace(0.999, 1, 300),
        np.array([-1.7e308, 1.7e308]),
    ],
)
@pytest.mark.parametrize("side", ["left", "right"])
def test_count_below_equals_searchsorted(edges, side):
    rng = np.random.default_rng(3)
    x = np.r_[
        rng.random(5000),
        rng.normal(size=1000) * 1e-300,
        edges,
        np.nextafter(edges, -np.inf),
        np.nextafter(edges, np.inf),
        -edges,
        [np.inf, -np.inf, 0.0, -0.0],
    ]
    np.testing.assert_array_equal(count_below(edges, x, side), np.searchsorted(edges, x, side))


def test_efficiency_input_errors(scores):
    with pytest.raises(ScanInputError, match="direction"):
        efficiency(scores["a"], [0.5], direction="=>")
    with pytest.raises(NonFiniteError, match="NaN"):
        efficiency(np.array([0.1, np.nan]), [0.5])
    with pytest.raises(NonFiniteError, match="thresholds"):
        efficiency(scores["a"], [0.5, np.nan])
    with pytest.raises(ColumnNotFoundError, match="score_prompt"):
        selection_efficiency(pd.DataFrame({"score_prompt": [0.1]}), {"score_promt": (">", 0.5)})
    with pytest.raises(ScanInputError, match="equal length"):
        selection_efficiency(
            {"a": scores["a"], "b": scores["b"]}, {"a": ("<", [1, 2]), "b": (">", [1, 2, 3])}
        )
    with pytest.raises(ScanInputError, match="shape"):
        efficiency(scores["a"], [0.5], weights=np.ones(3))
    with pytest.raises(EmptySelectionError):
        efficiency(np.array([]), [0.5])
    with pytest.raises(ScanInputError, match="at most"):
        efficiency_2d(scores["a"], scores["b"], np.linspace(0, 1, 5000), np.linspace(0, 1, 5000))
    assert ScoreCut("x", ">", 0.5).thresholds.tolist() == [0.5]


# ------------------------------------------------------------------------------ expected signal
TABLE = {
    "table": "HfCandDsLites",
    "n_data": 1000,
    "pt_edges": [0, 0.5, 1.0, 2.0, 4.0, 24.0],
    "species": {
        "Ds": {"prompt": [1.0, 2.0, 3.0, 4.0, 5.0], "nonprompt": [0.5, 0.5, 0.5, 0.5, 0.5]},
        "Dplus": {"prompt": [9.0, 9.0, 9.0, 9.0, 9.0]},
    },
    "background": [10, 10, 10, 10, 10],
    "note": "test",
}


def test_expected_signal_sums_fine_bins(tmp_path):
    assert expected_signal(TABLE, "Ds", "prompt", pt_min=1.0, pt_max=4.0) == 7.0
    assert expected_signal(TABLE, "Ds", None, pt_min=0.0, pt_max=24.0) == 17.5
    assert expected_signal(TABLE, "Dplus", "prompt", pt_min=0.5, pt_max=2.0) == 18.0
    path = tmp_path / "expected.json"
    path.write_text(json.dumps(TABLE))
    assert load_expected_signal(path) == TABLE


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("Ds", "prompt", 1.0, 3.0), r"pt_max on a fine pT-bin edge, found 3"),
        (("Ds", "prompt", 0.7, 4.0), r"pt_min on a fine pT-bin edge"),
        (("Ds", "prompt", 4.0, 1.0), "pt_min < pt_max"),
        (("DS", "prompt", 1.0, 4.0), "Did you mean 'Ds'"),
        (("Ds", "promt", 1.0, 4.0), "Did you mean 'prompt'"),
    ],
)
def test_expected_signal_errors(args, match):
    with pytest.raises(ExpectedSignalError, match=match) as info:
        species, origin, pt_min, pt_max = args
        expected_signal(TABLE, species, origin, pt_min=pt_min, pt_max=pt_max)
    assert isinstance(info.value, O2mlError)


def test_expected_signal_table_errors(tmp_path):
    bad = json.loads(json.dumps(TABLE))
    bad["species"]["Ds"]["prompt"] = [1.0, 2.0]
    with pytest.raises(ExpectedSignalError, match="hold 5"):
        expected_signal(bad, "Ds", "prompt", pt_min=0.0, pt_max=1.0)
    with pytest.raises(ExpectedSignalError, match="'pt_edges'"):
        expected_signal({"species": {}}, "Ds", "prompt", pt_min=0.0, pt_max=1.0)
    with pytest.raises(InputFileNotFoundError, match="no file"):
        load_expected_signal(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ExpectedSignalError, match="bad.json"):
        load_expected_signal(tmp_path / "bad.json")


# ------------------------------------------------------------------------------ significance
def test_significance_formula():
    z, err = significance(100.0, 300.0, 10.0, 20.0)
    assert z == pytest.approx(5.0)
    d_s, d_b = (100 + 600) / (2 * 400**1.5), -100 / (2 * 400**1.5)
    assert err == pytest.approx(math.hypot(d_s * 10, d_b * 20))
    z0, _ = significance(0.0, 0.0)
    assert math.isnan(z0)


# ------------------------------------------------------------------------------ scan closure toy
LO, HI, SLOPE = 1.70, 2.20, -3.0
DS, SIGMA, DP, DP_SIGMA = 1.968, 0.010, 1.8697, 0.0095
N_BKG, N_SIG, N_DP, N_MC = 100_000, 3_000, 2_000, 40_000
SIG_SHAPE, BKG_SHAPE = (6, 2), (2, 8)  # beta distributions of the score
EDGES = np.linspace(LO, HI, 101)
THRESHOLDS = np.linspace(0.2, 0.9, 15)  # prompt MC efficiency < 1: non-zero binomial error


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(2024)
    u = rng.random(rng.poisson(N_BKG))
    bkg_mass = LO + np.log1p(u * math.expm1(SLOPE * (HI - LO))) / SLOPE
    mass = np.r_[bkg_mass, rng.normal(DS, SIGMA, N_SIG), rng.normal(DP, DP_SIGMA, N_DP)]
    score = np.r_[
        rng.beta(*BKG_SHAPE, bkg_mass.size),
        rng.beta(*SIG_SHAPE, N_SIG),
        rng.beta(*SIG_SHAPE, N_DP),
    ]
    order = rng.permutation(mass.size)
    data = pd.DataFrame({"fM": mass[order], "score": score[order], "other": 1 - score[order]})
    mc = {
        "prompt": pd.DataFrame({"score": rng.beta(*SIG_SHAPE, N_MC)}),
        "nonprompt": pd.DataFrame({"score": rng.beta(4, 3, N_MC // 2)}),
    }
    for frame in mc.values():
        frame["other"] = 1 - frame["score"]
    table = {
        "table": "HfCandDsLites",
        "n_data": len(data),
        "pt_edges": [0.0, 2.0, 3.0, 4.0, 24.0],
        "species": {
            "Ds": {"prompt": [0.0, N_SIG / 2, N_SIG / 2, 0.0], "nonprompt": [0.0] * 4},
            "Dplus": {"prompt": [0.0, N_DP / 2, N_DP / 2, 0.0]},
        },
        "background": [0.0, N_BKG / 2, N_BKG / 2, 0.0],
    }
    peak = PeakFit(DS, 1e-4, SIGMA, 1e-4, 1.0, 0.0, True)
    return data, mc, table, peak


def window_truth(thresholds):
    lo, hi = DS - 2 * SIGMA, DS + 2 * SIGMA
    frac = (math.expm1(SLOPE * (hi - LO)) - math.expm1(SLOPE * (lo - LO))) / math.expm1(
        SLOPE * (HI - LO)
    )
    s_true = N_SIG * beta.sf(thresholds, *SIG_SHAPE) * math.erf(2 / math.sqrt(2))
    b_true = N_BKG * beta.sf(thresholds, *BKG_SHAPE) * frac
    return s_true, b_true


#: the fields of BinInputs (the bin) and of SignificanceOptions (the estimate's choices)
BIN_FIELDS = ("expected", "pt_range", "peak", "mass_edges", "scale")
OPTION_FIELDS = tuple(f.name for f in dataclasses.fields(SignificanceOptions))


def run_scan(toy, **kwargs):
    """scan_significance of the toy; ``kwargs``: fields of the bin and of the options (as
    ``options.replace``), ``cuts``, ``options`` and the other keywords of the scan."""
    data, mc, table, peak = toy
    given = {"expected": table, "pt_range": (2.0, 4.0), "peak": peak, "mass_edges": EDGES}
    given.update(kwargs)
    cuts = given.pop("cuts", {"score": (">", THRESHOLDS[::-1])})  # unsorted on purpose
    inputs = BinInputs(**{k: given.pop(k) for k in BIN_FIELDS if k in given})
    changes = {k: given.pop(k) for k in OPTION_FIELDS if k in given}
    options = given.pop("options", None)
    if changes:
        options = (options or SignificanceOptions()).replace(**changes)
    return scan_significance(data["fM"], data, mc, cuts, inputs=inputs, options=options, **given)


@pytest.fixture(scope="module")
def scan(toy):
    return run_scan(toy, fit_raw_yield=True)


def test_scan_closure_signal_and_background(scan):
    np.testing.assert_array_equal(scan.thresholds[:, 0], THRESHOLDS)  # sorted
    s_true, b_true = window_truth(THRESHOLDS)
    assert scan.fit_ok.all()
    s_pull = (scan.signal - s_true) / scan.signal_error
    b_pull = (scan.background - b_true) / scan.background_error
    assert np.all(np.abs(s_pull) < 3), s_pull
    assert np.all(np.abs(b_pull) < 3), b_pull
    z_true = s_true / np.sqrt(s_true + b_true)
    assert np.all(np.abs(scan.significance - z_true) < 3 * scan.significance_error + 1e-9)
    # efficiencies of every MC sample and of the data
    assert set(scan.efficiencies) == {"prompt", "nonprompt", "data"}
    np.testing.assert_allclose(
        scan.efficiencies["nonprompt"], beta.sf(THRESHOLDS, 4, 3), atol=5 * 0.0036
    )
    assert scan.metadata["expected_signal"] == {"prompt": N_SIG, "nonprompt": 0.0}
    assert scan.metadata["window"] == pytest.approx([DS - 2 * SIGMA, DS + 2 * SIGMA])


def test_scan_plateau_and_cut_variation(scan):
    plateau = scan.plateau
    assert plateau is not None and plateau.criterion == "fraction"
    z = scan.significance
    assert plateau.max_significance == np.nanmax(z)
    on = (np.arange(len(z)) >= plateau.i_lo) & (np.arange(len(z)) <= plateau.i_hi)
    assert np.all(z[on] >= 0.95 * z.max())
    assert plateau.most_efficient_threshold == plateau.lo  # a ">" cut: loosest is lowest
    cv = cut_variation(scan, origins=["prompt"])
    assert cv.on_plateau.sum() == plateau.i_hi - plateau.i_lo + 1
    pulls = (cv.corrected_yield - N_SIG) / cv.corrected_yield_error
    assert np.all(np.abs(pulls[np.isfinite(pulls)]) < 3), pulls
    assert cv.mean == pytest.approx(N_SIG, rel=0.05)
    assert cv.relative_rms < 0.05
    assert cv.rms == pytest.approx(cv.relative_rms * cv.mean)


def test_scan_scale_multiplies_background(toy, scan):
    scaled = run_scan(toy, scale=4.0, cuts={"score": (">", THRESHOLDS[:4])})
    np.testing.assert_allclose(scaled.background, 4 * scan.background[:4], rtol=1e-5)
    np.testing.assert_allclose(scaled.signal, scan.signal[:4], rtol=1e-12)


# pol2 only approximates the exponential truth: with >10^4 sideband entries (loose cuts) its
# shape bias reaches 2-3 statistical sigmas, so it is checked at tighter cuts
@pytest.mark.parametrize(
    ("background", "thr"), [("expo", [0.2, 0.45, 0.7]), ("pol2", [0.5, 0.6, 0.7])]
)
def test_scan_dplus_gauss_and_tutorial_sidebands(toy, background, thr):
    thr = np.array(thr)
    _, b_true = window_truth(thr)
    for options in (
        {"dplus": "gauss"},
        {"sidebands": (1.75, 2.1), "dplus": "none"},
        {"sidebands": (1.75, 2.1), "dplus": "gauss"},  # D+ inside the gap: not modelled there
    ):
        res = run_scan(toy, cuts={"score": (">", thr)}, background=background, **options)
        pulls = (res.background - b_true) / res.background_error
        assert np.all(np.abs(pulls) < 3), (options, pulls)


def test_scan_with_mc_weights(toy):
    """Weighted MC: the histograms filled with the weights, scanned (scan_histograms)."""
    from o2ml.selection.efficiency import parse_cuts
    from o2ml.selection.histograms import ScanHistograms
    from o2ml.selection.scan import scan_histograms

    data, mc, table, peak = toy
    w = np.random.default_rng(8).exponential(1.0, len(mc["prompt"]))
    thr = THRESHOLDS[:5]
    hists = ScanHistograms.empty(parse_cuts({"score": (">", thr)}), EDGES, pt_range=(2, 4))
    hists.fill_data(data["fM"].to_numpy(), data)
    hists.fill_mc("prompt", mc["prompt"], w)
    hists.fill_mc("nonprompt", mc["nonprompt"])
    res = scan_histograms(hists, BinInputs(table, (2, 4), peak=peak))
    want = selection_efficiency(mc["prompt"], {"score": (">", thr)}, weights=w)
    np.testing.assert_array_equal(res.efficiencies["prompt"], want.values)
    np.testing.assert_array_equal(res.efficiency_errors["prompt"], want.errors)
    np.testing.assert_allclose(res.signal, N_SIG * want.values * math.erf(math.sqrt(2)), rtol=1e-12)


def test_grid_scan_matches_efficiency_2d(toy):
    _, mc, _, _ = toy
    ta, tb = np.array([0.2, 0.5, 0.8]), np.array([0.9, 0.6])
    res = run_scan(toy, cuts={"score": (">", ta), "other": ("<", tb)}, grid=True)
    assert res.grid_shape == (3, 2) and res.plateau is None and res.scan_axis is None
    np.testing.assert_array_equal(res.thresholds, [[a, b] for a in ta for b in tb])
    want = efficiency_2d(
        mc["prompt"]["score"], mc["prompt"]["other"], ta, tb, directions=(">", "<")
    )
    np.testing.assert_allclose(res.efficiencies["prompt"], want.ravel(), rtol=1e-12)


def test_empty_sidebands_give_nan_points(toy):
    res = run_scan(toy, cuts={"score": (">", [0.5, 0.999999])})
    assert res.fit_ok.tolist() == [True, False]
    assert math.isnan(res.background[1]) and math.isnan(res.significance[1])
    assert np.isfinite(res.signal[1])


def test_rectangular_cuts_match_the_scan_point(toy, scan):
    data, mc, table, peak = toy
    i = 9
    cut = float(THRESHOLDS[i])
    rect = evaluate_cuts(
        [("score", ">", cut), ("other", "abs<", 2.0)],
        data,
        mc,
        BinInputs(table, (2.0, 4.0), peak=peak, mass_edges=EDGES),
    )
    assert rect.n_points == 1 and rect.cut_directions == [">", "abs<"]
    assert rect.efficiencies["prompt"][0] == scan.efficiencies["prompt"][i]
    assert rect.signal[0] == pytest.approx(scan.signal[i], rel=1e-12)
    # same histogram, same fit; only the starting point differs (the scan warm-starts)
    assert abs(rect.background[0] - scan.background[i]) < 0.05 * scan.background_error[i]
    assert abs(rect.significance[0] - scan.significance[i]) < 0.05 * scan.significance_error[i]


def test_reference_cuts_on_dataframe():
    rng = np.random.default_rng(5)
    n = 4000
    frame = pd.DataFrame({c: rng.normal(0, 1, n) for c in ds.REFERENCE_CUTS})
    frame["fM"] = rng.uniform(LO, HI, n)
    table = {"pt_edges": [2.0, 4.0], "species": {"Ds": {"prompt": [100.0]}}}
    res = evaluate_cuts(
        ds.REFERENCE_CUTS, frame, {"prompt": frame}, BinInputs(table, (2, 4), peak=(DS, SIGMA))
    )
    keep = np.ones(n, bool)
    for col, (op, value) in ds.REFERENCE_CUTS.items():
        x = np.abs(frame[col]) if op.startswith("abs") else frame[col]
        keep &= OPS[op.removeprefix("abs")](x, value)
    assert res.efficiencies["prompt"][0] == keep.mean()
    assert res.signal[0] == pytest.approx(100 * keep.mean() * math.erf(math.sqrt(2)))


def test_scan_input_errors(toy):
    data, mc, table, peak = toy
    with pytest.raises(ScanInputError, match="signal origin 'nonprompt'"):
        scan_significance(
            data["fM"], data, {"prompt": mc["prompt"]}, {"score": (">", 0.5)},
            inputs=BinInputs(table, (2, 4), peak=peak),
            options=SignificanceOptions(signal_origins=("prompt", "nonprompt")),
        )  # fmt: skip
    with pytest.raises(ExpectedSignalError, match="pt_min on a fine pT-bin edge"):
        run_scan(toy, pt_range=(2.5, 4.0))
    with pytest.raises(ScanInputError, match="inside the mass histogram"):
        run_scan(toy, mass_edges=np.linspace(1.9, 1.96, 10))
    with pytest.raises(ScanInputError, match="sidebands"):
        run_scan(toy, sidebands=(1.96, 2.1))
    with pytest.raises(ColumnNotFoundError, match="Did you mean 'score'"):
        run_scan(toy, cuts={"scor": (">", 0.5)})
    with pytest.raises(ScanInputError, match="dplus"):
        run_scan(toy, dplus="model")
    with pytest.raises(ExpectedSignalError, match="> 0"):
        run_scan(toy, signal_origins=("nonprompt",))
    with pytest.raises(ColumnNotFoundError, match="fM"):
        evaluate_cuts(
            {"score": (">", 0.5)}, data.drop(columns="fM"), mc, BinInputs(table, (2, 4), peak=peak)
        )
    with pytest.raises(ScanInputError, match="operator"):
        evaluate_cuts({"score": ("=", 0.5)}, data, mc, BinInputs(table, (2, 4), peak=peak))
    with pytest.raises(ScanInputError, match="signal peak of 2 < pT < 4.*BinInputs"):
        evaluate_cuts({"score": (">", 0.5)}, data, mc, BinInputs(table, (2, 4)))
    with pytest.raises(ScanInputError, match="fit_raw_yield=True"):
        cut_variation(run_scan(toy, cuts={"score": (">", [0.3, 0.5])}))


# ------------------------------------------------------------------------------ options
ESTIMATES = ("signal", "background", "significance", "significance_error", "raw_yield")


def test_options_object_and_its_replace_are_one_thing(toy):
    cuts = {"score": (">", THRESHOLDS[::4])}
    opts = SignificanceOptions(n_sigma=2.5, background="pol2", fit_raw_yield=True)
    by_object = run_scan(toy, cuts=cuts, options=opts)
    replaced = run_scan(
        toy, cuts=cuts, options=SignificanceOptions(fit_raw_yield=True, n_sigma=3.0).replace(
            n_sigma=2.5, background="pol2"
        ),
    )  # fmt: skip
    default = run_scan(toy, cuts=cuts, options=SignificanceOptions(fit_raw_yield=True))
    for name in ESTIMATES:
        np.testing.assert_array_equal(getattr(by_object, name), getattr(replaced, name))
    assert by_object.metadata["n_sigma"] == 2.5 and by_object.metadata["background_model"] == "pol2"
    assert not np.allclose(by_object.signal, default.signal)  # the options are used
    data, mc, table, peak = toy
    bin_2_4 = BinInputs(table, (2, 4), peak=peak, mass_edges=EDGES)
    one = evaluate_cuts({"score": (">", 0.5)}, data, mc, bin_2_4, options=opts)
    again = evaluate_cuts(
        {"score": (">", 0.5)}, data, mc, bin_2_4, options=SignificanceOptions(**opts.to_dict())
    )
    assert one.significance[0] == again.significance[0] and one.metadata["n_sigma"] == 2.5


def test_options_errors(toy):
    data, mc, table, peak = toy
    # no keyword pass-through: the estimate's choices are one object
    with pytest.raises(TypeError, match="n_sigma"):
        scan_significance(
            data["fM"], data, mc, {"score": (">", 0.5)},
            inputs=BinInputs(table, (2, 4), peak=peak), n_sigma=2.0,
        )  # fmt: skip
    with pytest.raises(
        TypeError, match="scan_significance.*inputs: expected a selection.BinInputs"
    ):
        scan_significance(data["fM"], data, mc, {"score": (">", 0.5)}, inputs=(2, 4))
    with pytest.raises(TypeError, match="options: expected a SignificanceOptions, found dict"):
        run_scan(toy, options={"n_sigma": 2.0})
    with pytest.raises(TypeError, match="replace.*'sideband'.*'sidebands'"):
        SignificanceOptions().replace(sideband=(1.8, 2.1))
    with pytest.raises(ScanInputError, match="signal_origins: expected a sequence"):
        SignificanceOptions(signal_origins="prompt")
    with pytest.raises(ScanInputError, match="n_sigma and exclude_nsigma > 0"):
        SignificanceOptions(n_sigma=0)
    with pytest.raises(ScanInputError, match="background: expected one of"):
        SignificanceOptions(background="pol7")
    with pytest.raises(ScanInputError, match="raw_yield_shape"):
        SignificanceOptions(raw_yield_shape="loose")
    with pytest.raises(ScanInputError, match="scale: expected > 0"):
        run_scan(toy, scale=0.0)
    opts = SignificanceOptions(signal_origins=["prompt", "nonprompt"], sidebands=[1.8, 2.1])
    assert opts.signal_origins == ("prompt", "nonprompt") and opts.sidebands == (1.8, 2.1)
    assert SignificanceOptions().dplus_mode == "exclude"
    assert SignificanceOptions(species="Lc").dplus_mode == "none"
    assert opts.to_dict()["signal_origins"] == ["prompt", "nonprompt"]


@pytest.fixture(scope="module")
def tables(toy):
    """The toy as candidate tables in the O2Physics layout: fM, fPt, fOriginMcRec, a score."""
    data, mc, table, _ = toy
    rng = np.random.default_rng(7)
    inside = data.assign(fPt=rng.uniform(2.0, 4.0, len(data)))
    outside = data.iloc[:500].assign(fPt=rng.uniform(4.0, 6.0, 500), fM=2.5)  # not in the bin
    frames = []
    for origin, code in (("prompt", 1), ("nonprompt", 2)):
        f = mc[origin].assign(fOriginMcRec=code, fPt=rng.uniform(2.0, 4.0, len(mc[origin])))
        frames.append(f.assign(fM=rng.normal(DS, SIGMA, len(f))))
    background = pd.DataFrame(
        {"score": rng.random(300), "fOriginMcRec": 0, "fPt": 3.0, "fM": rng.uniform(LO, HI, 300)}
    )
    mc_table = pd.concat([*frames, background], ignore_index=True).sample(frac=1, random_state=1)
    return pd.concat([inside, outside], ignore_index=True), mc_table, table


def test_scan_candidates_is_the_scan_of_the_bin(tables):
    data, mc, table = tables
    cuts = {"score": (">", THRESHOLDS[::4])}
    got = scan_candidates(data, mc, cuts, BinInputs(table, (2, 4)), metadata={"m": 1})
    inside = data[data.fPt < 4]
    by_origin = {o: mc[mc.fOriginMcRec == c] for o, c in (("prompt", 1), ("nonprompt", 2))}
    peak = fit_peak(by_origin["prompt"]["fM"].to_numpy())  # the signal origins' MC only
    want = scan_significance(
        inside["fM"], inside, by_origin, cuts, inputs=BinInputs(table, (2, 4), peak=peak)
    )
    for name in ESTIMATES[:4]:
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
    assert got.metadata["pt_bin"] == [2.0, 4.0] and got.metadata["m"] == 1
    assert got.metadata["n_data_scanned"] == len(inside)
    assert set(mc_by_origin(mc)) == {"prompt", "nonprompt"}
    assert len(in_pt_range(data, (4, 6))) == 500


def test_scan_candidates_errors(tables):
    data, mc, table = tables
    cuts = {"score": (">", 0.5)}
    with pytest.raises(EmptySelectionError, match="data: expected candidates in 6 < pT < 8"):
        scan_candidates(data, mc, cuts, BinInputs(table, (6, 8)))
    few = mc[(mc.fOriginMcRec != 1) | (mc.index < 5)]
    with pytest.raises(EmptySelectionError, match="at least 10 signal \\(prompt\\).*2 < pT < 4"):
        scan_candidates(data, few, cuts, BinInputs(table, (2, 4)))
    with pytest.raises(
        ColumnNotFoundError,
        match=r"split by origin needs the columns \['fOriginMcRec'\].*Did you mean",
    ):
        mc_by_origin(mc.rename(columns={"fOriginMcRec": "fOriginMcRe"}))
    with pytest.raises(ColumnNotFoundError, match="MC prompt: expected a score column 'scores'"):
        scan_candidates(
            data.assign(scores=0.1), mc, {"scores": (">", 0.5)}, BinInputs(table, (2, 4))
        )
    with pytest.raises(ColumnNotFoundError, match="candidates: expected a pT column 'pt'"):
        in_pt_range(data, (2, 4), pt_column="pt")


# ------------------------------------------------------------------------------ plateau
THR = np.arange(10) * 0.125  # exact binary fractions
Z = np.array([1.0, 2.0, 5.0, 9.0, 9.6, 10.0, 9.7, 9.4, 8.0, 9.9])
Z_ERR = np.full(10, 0.7)
EFF = np.linspace(0.9, 0.1, 10)


def test_plateau_fraction():
    p = find_plateau(THR, Z, Z_ERR, efficiency=EFF)
    assert (p.i_lo, p.i_hi, p.i_max) == (4, 6, 5)  # 9.4 < 9.5 ends it; 9.9 at i=9 is not contiguous
    assert (p.lo, p.hi, p.width) == (0.5, 0.75, 0.25)
    assert p.level == 9.5 and p.max_significance == 10.0 and p.max_significance_error == 0.7
    assert p.threshold_at_max == 0.625
    assert p.most_efficient_threshold == 0.5 and p.i_most_efficient == 4


def test_plateau_sigma_and_options():
    p = find_plateau(THR, Z, Z_ERR, efficiency=EFF, n_sigma=1.0)
    assert (p.i_lo, p.i_hi) == (4, 7) and p.level == pytest.approx(9.3) and p.criterion == "sigma"
    assert p.width == 0.375
    wide = find_plateau(THR, Z, fraction=0.8)
    assert (wide.lo, wide.hi) == (0.375, 1.125)
    assert math.isnan(wide.max_significance_error)
    # without efficiencies: the loosest threshold, by direction
    assert find_plateau(THR, Z, direction=">").most_efficient_threshold == 0.5
    assert find_plateau(THR, Z, direction="<").most_efficient_threshold == 0.75
    # a non-monotonic efficiency: its maximum on the plateau
    eff = np.zeros(10)
    eff[5] = 1.0
    assert find_plateau(THR, Z, efficiency=eff).most_efficient_threshold == 0.625
    # NaN (failed fit) breaks the plateau
    z = Z.copy()
    z[6] = np.nan
    assert find_plateau(THR, z).i_hi == 5
    with pytest.raises(ScanInputError, match="increasing"):
        find_plateau(THR[::-1], Z)
    with pytest.raises(ScanInputError, match="n_sigma"):
        find_plateau(THR, Z, n_sigma=1.0)
    with pytest.raises(ScanInputError, match="finite"):
        find_plateau(THR, np.full(10, np.nan))


# ------------------------------------------------------------------------------ ScanResult files
def handmade_result() -> ScanResult:
    n = 5
    sig = np.array([10.0, 0.1 + 0.2, np.nan, np.inf, 1e-300])
    return ScanResult(
        species="Ds",
        pt_min=2.0,
        pt_max=4.0,
        cut_names=["score_bkg", "score_prompt"],
        cut_directions=["<", ">"],
        thresholds=np.c_[np.full(n, 0.01), np.linspace(0, 1, n) / 3],
        efficiencies={"prompt": np.linspace(1, 0, n) / 7, "nonprompt": np.full(n, np.pi)},
        efficiency_errors={"prompt": np.full(n, 1e-3), "nonprompt": np.full(n, np.nan)},
        signal=sig,
        signal_error=sig / 3,
        background=-sig,
        background_error=np.full(n, -np.inf),
        significance=np.arange(n) / 3,
        significance_error=np.full(n, 0.1),
        signal_efficiency=np.full(n, 0.2),
        signal_efficiency_error=np.full(n, 0.01),
        raw_yield=np.full(n, np.nan),
        raw_yield_error=np.full(n, np.nan),
        fit_ok=[True, True, False, True, False],
        scan_axis=1,
        plateau=find_plateau(np.arange(n) / 3, [1.0, 2.0, 3.0, 2.9, 1.0], fraction=0.9),
        metadata={
            "scale": 2.5,
            "nested": {"a": (1, 2)},
            "np": np.float32(0.5),
            "nan": float("nan"),
        },
    )


@pytest.mark.parametrize("suffix", [".json", ".parquet"])
def test_scan_result_round_trip_is_exact(tmp_path, suffix):
    result = handmade_result()
    path = result.save(tmp_path / f"scan{suffix}")
    loaded = ScanResult.load(path)
    assert loaded == result
    for name in ("signal", "thresholds", "background_error"):
        assert getattr(loaded, name).tobytes() == getattr(result, name).tobytes()
    assert loaded.plateau == result.plateau
    assert loaded.metadata == {"scale": 2.5, "nested": {"a": [1, 2]}, "np": 0.5, "nan": None}
    assert loaded.to_frame().shape == (5, 2 + 4 + 10 + 1)
    with pytest.raises(OutputExistsError):
        result.save(path)
    result.save(path, overwrite=True)


def test_scan_result_from_scan_round_trips(tmp_path, scan):
    for suffix in (".json", ".parquet"):
        assert ScanResult.load(scan.save(tmp_path / f"s{suffix}")) == scan


def test_scan_result_bad_files(tmp_path):
    result = handmade_result()
    with pytest.raises(InputFileNotFoundError, match="no file"):
        ScanResult.load(tmp_path / "missing.json")
    with pytest.raises(ScanFileError, match="suffix '.csv'"):
        ScanResult.load(tmp_path / "scan.csv")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(ScanFileError, match="invalid JSON"):
        ScanResult.load(bad)
    data = json.loads(result.save(tmp_path / "good.json").read_text())
    cases = {
        "format": ({**data, "format": "other"}, "expected format 'o2ml.ScanResult'"),
        "missing": ({k: v for k, v in data.items() if k != "signal"}, "field 'signal'"),
        "short": (
            {**data, "background": data["background"][:3]},
            "expected 5 values in 'background', found 3",
        ),
        "type": ({**data, "pt_min": "2"}, "'pt_min' to be int or float"),
        "strings": ({**data, "signal": ["a"] * 5}, "numbers in signal"),
        "eff": ({**data, "classes": ["prompt", "bkg"]}, "class 'bkg'"),
    }
    for name, (content, match) in cases.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(content))
        with pytest.raises(ScanFileError, match=match) as info:
            ScanResult.load(path)
        assert str(path) in str(info.value)
    plain = tmp_path / "plain.parquet"
    pd.DataFrame({"x": [1.0]}).to_parquet(plain)
    with pytest.raises(ScanFileError, match="o2ml.scan_result"):
        ScanResult.load(plain)
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"not a parquet file at all")
    with pytest.raises(ScanFileError, match="unreadable"):
        ScanResult.load(garbage)
    good = result.save(tmp_path / "good.parquet")
    import pyarrow.parquet as pq

    table = pq.read_table(good)
    pq.write_table(table.drop_columns(["significance"]), tmp_path / "cut.parquet")
    with pytest.raises(ScanFileError, match="column 'significance'"):
        ScanResult.load(tmp_path / "cut.parquet")


def test_plateau_dict_round_trip():
    p = find_plateau(THR, Z, Z_ERR)
    assert Plateau.from_dict(p.to_dict()) == p


def test_cut_variation_spread_against_its_statistical_expectation(scan):
    """Without a systematic effect the RMS over the plateau is of the size Barlow's
    sqrt(mean |σ_i² - σ_ref²|) predicts; a threshold-dependent bias makes it much larger."""
    import dataclasses

    cv = cut_variation(scan, origins=["prompt"])
    var = cv.corrected_yield_error[cv.on_plateau] ** 2
    assert cv.statistical_rms == pytest.approx(np.sqrt(np.mean(var - var.min())))
    assert cv.statistical_relative_rms == pytest.approx(cv.statistical_rms / cv.mean)
    assert 0 < cv.rms < 2.5 * cv.statistical_rms, (cv.rms, cv.statistical_rms)
    # a raw yield that drifts by 20 % across the plateau (a mismodelled efficiency)
    on = np.flatnonzero(cv.on_plateau)
    drift = np.ones(scan.n_points)
    drift[on] = np.linspace(0.9, 1.1, len(on))
    biased = dataclasses.replace(scan, raw_yield=scan.raw_yield * drift)
    cv_b = cut_variation(biased, origins=["prompt"])
    assert cv_b.rms > 2.5 * cv_b.statistical_rms, (cv_b.rms, cv_b.statistical_rms)


def test_scan_histograms_add_chunks_save_and_refuse_bad_files(tmp_path):
    """Histograms filled in two chunks equal those filled at once; saved and loaded they give
    the same scan; a wrong file, a foreign .npz and an existing output are clear errors."""
    from o2ml.errors import BadFileError, OutputExistsError
    from o2ml.selection.efficiency import parse_cuts
    from o2ml.selection.histograms import ScanHistograms

    rng = np.random.default_rng(3)
    mass = rng.uniform(1.7, 2.1, 20_000)
    scores = {"score_bkg": rng.random(20_000)}
    cuts = parse_cuts({"score_bkg": ("<", np.linspace(0.05, 1, 20))})
    edges = np.linspace(1.7, 2.1, 101)
    whole = ScanHistograms.empty(cuts, edges, pt_range=(2, 4))
    whole.fill_data(mass, scores)
    a, b = (ScanHistograms.empty(cuts, edges, pt_range=(2, 4)) for _ in range(2))
    a.fill_data(mass[:7000], {"score_bkg": scores["score_bkg"][:7000]})
    b.fill_data(mass[7000:], {"score_bkg": scores["score_bkg"][7000:]})
    mc = {"score_bkg": rng.random(3000) ** 3}
    for h in (whole, a):
        h.fill_mc("prompt", mc)
    added = a + b
    np.testing.assert_array_equal(added.data, whole.data)
    assert added.n_data == whole.n_data == 20_000
    path = added.save(tmp_path / "grid_pt2_4.npz")
    loaded = ScanHistograms.load(path)
    np.testing.assert_array_equal(loaded.data, whole.data)
    assert loaded.mc["prompt"][2] == 3000
    with pytest.raises(OutputExistsError, match="grid_pt2_4.npz: the file exists"):
        added.save(path)
    (tmp_path / "bad.npz").write_text("not a zip")
    with pytest.raises(BadFileError, match=r"bad.npz: expected a ScanHistograms .npz file"):
        ScanHistograms.load(tmp_path / "bad.npz")
    np.savez(tmp_path / "other.npz", x=np.arange(3))
    with pytest.raises(BadFileError, match="other.npz: expected a ScanHistograms header"):
        ScanHistograms.load(tmp_path / "other.npz")
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(str(arrays["header"]))
    header["pt_range"] = 2.0  # not a pair
    np.savez(tmp_path / "edited.npz", **{**arrays, "header": np.array(json.dumps(header))})
    with pytest.raises(BadFileError, match="edited.npz: expected a ScanHistograms header"):
        ScanHistograms.load(tmp_path / "edited.npz")
    other = ScanHistograms.empty(cuts, edges, pt_range=(4, 6))
    with pytest.raises(ScanInputError, match="expected the same pT bin"):
        whole + other


def test_scan_bin_is_the_bin_scan_plus_reference_and_summarises_its_working_point(tables):
    """selection.scan_bin: the background-score scan of the bin (scan_candidates, raw yields
    fitted), the reference cuts on the same candidates (evaluate_cuts), and a summary row that
    reads the chosen point; ``working_point="max"`` picks the maximum."""
    from o2ml import selection
    from o2ml.schema import PtBin

    data, mc, table = tables
    data, mc = data.assign(score_bkg=1 - data.score), mc.assign(score_bkg=1 - mc.score)
    thr, ref_cuts = np.linspace(0.1, 0.8, 8), {"score": (">", 0.5)}
    opts = SignificanceOptions(fit_raw_yield=True)
    got = selection.scan_bin(
        data, mc, BinInputs(table, PtBin(2, 4)), options=opts, thresholds=thr,
        reference_cuts=ref_cuts,
    )  # fmt: skip
    want = scan_candidates(
        data, mc, {"score_bkg": ("<", thr)}, BinInputs(table, (2, 4)), options=opts
    )
    for name in ESTIMATES:
        np.testing.assert_array_equal(getattr(got.bdt, name), getattr(want, name))
    inside, mc_bin = data[data.fPt < 4], mc[mc.fPt < 4]
    ref = evaluate_cuts(
        ref_cuts,
        inside,
        mc_by_origin(mc_bin),
        BinInputs(table, (2, 4), peak=got.peak),
        options=opts,
    )
    assert got.reference.significance[0] == ref.significance[0]
    row, c = got.summary(), got.chosen_index
    assert row["Z (chosen)"] == got.bdt.significance[c] and row["threshold (chosen)"] == thr[c]
    assert row["BDT max Z"] == np.nanmax(got.bdt.significance)
    assert row["rect. cuts Z"] == ref.significance[0]
    top = selection.BinScan(got.pt_bin, got.peak, got.bdt, None, working_point="max")
    assert top.chosen_index == got.best_index and np.isnan(top.summary()["rect. cuts Z"])
    with pytest.raises(ValueError, match="working point"):
        selection.BinScan(got.pt_bin, got.peak, got.bdt, None, working_point="best")


def test_read_candidates_names_a_wrong_kind():
    from o2ml import selection
    from o2ml.errors import BadArgumentError

    with pytest.raises(BadArgumentError, match="kind expected 'data' or 'mc', found 'MC'"):
        selection.read_candidates("any.root", "HfCandDsLites", ["fCpa"], kind="MC")


# ------------------------------------------------------------------------------ the API
def test_selection_exports_one_entry_point_per_job():
    """At most 25 public names, and dir() shows them, the submodules and private names only."""
    import types

    from o2ml import selection

    assert len(selection.__all__) <= 25
    assert sorted(selection.__all__) == sorted(set(selection.__all__))
    shown = {
        n for n in dir(selection)
        if not n.startswith("_") and not isinstance(getattr(selection, n), types.ModuleType)
    }  # fmt: skip
    assert shown == set(selection.__all__)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("fit_after_cut", "scan.fit_after_cut"),
        ("closure", "scan.closure"),
        ("origin_working_points", "scan.origin_working_points"),
        ("efficiency_vs_score", "scan.efficiency_vs_score"),
        ("summarize", "scan.summary()"),
        ("evaluate_cuts", "reference_cuts"),
        ("scan_histograms", "o2ml.selection.scan.scan_histograms"),
        ("ScanInputError", "o2ml.errors.ScanInputError"),
    ],
)
def test_a_name_selection_no_longer_exports_names_its_new_home(old, new):
    from o2ml import selection

    with pytest.raises(AttributeError, match=re.escape(new)):
        getattr(selection, old)
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        selection.nonsense  # noqa: B018


def test_one_working_point_rule():
    """ScanResult.chosen_index (selection.plateau.working_point) is the rule the per-bin study,
    the dashboards and ``o2ml export`` use: the most efficient plateau point, the maximum
    without a plateau."""
    from o2ml.selection.plateau import working_point
    from o2ml.workflow.export import plateau_choices

    p = find_plateau(THR, Z, Z_ERR, efficiency=EFF, fraction=0.9)
    assert working_point(Z, p) == p.i_most_efficient
    assert working_point(Z, p, "centre") == (p.i_lo + p.i_hi) // 2
    assert working_point(Z, p, "max") == working_point(Z, None) == int(np.argmax(Z))
    assert working_point(np.full(3, np.nan), None) == 0
    with pytest.raises(ValueError, match="working point"):
        working_point(Z, p, "tightest")
    n = len(THR)
    result = ScanResult(
        species="Ds", pt_min=2.0, pt_max=4.0, cut_names=["s"], cut_directions=[">"],
        thresholds=THR[:, None], efficiencies={"prompt": EFF}, efficiency_errors={"prompt": EFF},
        signal=Z, signal_error=Z_ERR, background=Z, background_error=Z_ERR, significance=Z,
        significance_error=Z_ERR, signal_efficiency=EFF, signal_efficiency_error=Z_ERR,
        raw_yield=Z, raw_yield_error=Z_ERR, fit_ok=[True] * n, scan_axis=0, plateau=p,
    )  # fmt: skip
    assert result.chosen_index() == p.i_most_efficient
    assert plateau_choices([result]) == {(2.0, 4.0): {"s": (">", float(THR[p.i_most_efficient]))}}
