"""The synthetic PID-track generator: layout, determinism and calibration against docs/physics.md."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from o2ml.physics import detectors as det
from o2ml.physics import its
from o2ml.physics.pid_tracks import TRACK_DTYPES, TRUTH_DTYPES
from o2ml.toymc import pid

N = 300_000
SEED = 11
SPECIES = ("e", "pi", "K", "p")
TOF_NSIGMA = [f"fTOFNSigma{s}" for s in ("El", "Pi", "Ka", "Pr")]


@pytest.fixture(scope="module")
def mc() -> pd.DataFrame:
    return pid.generate_pid(N, SEED, "mc")


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pid.generate_pid(N, SEED, "data", with_truth=True)


def labels(df: pd.DataFrame) -> np.ndarray:
    return pid.species_index(df["fPdgCode" if "fPdgCode" in df else "fTruthPdgCode"])


def window(df: pd.DataFrame, p: float, half: float = 0.02) -> np.ndarray:
    return np.abs(df["fP"].to_numpy() - p) < half


# ------------------------------------------------------------------------------- layout
@pytest.mark.parametrize(
    ("domain", "truth", "expected"),
    [
        ("mc", False, [*TRACK_DTYPES, "fPdgCode"]),
        ("data", False, list(TRACK_DTYPES)),
        ("data", True, [*TRACK_DTYPES, "fTruthPdgCode"]),
    ],
)
def test_schema(domain, truth, expected):
    df = pid.generate_pid(1000, 1, domain, with_truth=truth)
    assert list(df.columns) == expected
    dtypes = {**TRACK_DTYPES, **TRUTH_DTYPES}
    for col in df.columns:
        assert df[col].dtype == dtypes[col], col
    assert len(df) == 1000
    assert ("fPdgCode" in df) == (domain == "mc")
    assert ("fTruthPdgCode" in df) == (domain == "data" and truth)


def test_empty_and_bad_arguments():
    empty = pid.generate_pid(0, 1, "data")
    assert list(empty.columns) == list(TRACK_DTYPES) and len(empty) == 0
    with pytest.raises(ValueError, match="domain"):
        pid.generate_pid(10, 1, "MC")
    with pytest.raises(ValueError):
        pid.generate_pid(-1, 1)


def test_determinism():
    a = pid.generate_pid(20_000, 42, "data", with_truth=True)
    b = pid.generate_pid(20_000, 42, "data", with_truth=True)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    c = pid.generate_pid(20_000, 43, "data", with_truth=True)
    assert not np.array_equal(a["fP"].to_numpy(), c["fP"].to_numpy())
    m = pid.generate_pid(20_000, 42, "mc")
    assert not np.array_equal(a["fP"].to_numpy(), m["fP"].to_numpy())  # other stream
    # the truth column does not change the random streams
    d = pid.generate_pid(20_000, 42, "data")
    pd.testing.assert_frame_equal(a.drop(columns="fTruthPdgCode"), d, check_exact=True)


def test_progress_bar_runs(capsys):
    df = pid.generate_pid(100, 1, "mc", progress=True)
    assert len(df) == 100
    assert "100%" in capsys.readouterr().err  # tqdm draws on stderr outside notebooks


# ---------------------------------------------------------------------------- kinematics
def test_kinematics_consistent(mc):
    pt, eta, p = (mc[c].to_numpy(np.float64) for c in ("fPt", "fEta", "fP"))
    np.testing.assert_allclose(p, pt * np.cosh(eta), rtol=1e-5)
    np.testing.assert_allclose(mc["fTgl"], np.sinh(eta), rtol=1e-5, atol=1e-6)
    assert np.abs(eta).max() < pid.ETA_MAX
    assert 0.0 <= mc["fPhi"].min() and mc["fPhi"].max() < 2 * np.pi
    assert pt.min() >= pid.PT_RANGE[0]
    assert (p < 1.0).mean() > 0.75  # falling spectra: most tracks below 1 GeV/c
    assert np.percentile(p, 99) > 2.0  # ... with a tail to a few GeV/c


def test_species_abundances_and_signed_pdg(mc, data):
    for df in (mc, data):
        frac = np.bincount(labels(df), minlength=4) / len(df)
        np.testing.assert_allclose(frac, pid.SPECIES_FRACTIONS, atol=0.005)
        assert 0.75 <= frac[1] <= 0.80 and 0.10 <= frac[2] <= 0.14
        assert 0.06 <= frac[3] <= 0.08 and 0.01 <= frac[0] <= 0.03
    pdg, sign = mc["fPdgCode"].to_numpy(), mc["fSign"].to_numpy()
    assert set(np.unique(sign)) == {-1, 1}
    assert np.all(sign[pdg == 11] == -1) and np.all(sign[pdg == -11] == 1)  # e- is +11
    for code in (211, 321, 2212):
        assert np.all(sign[pdg == code] == 1) and np.all(sign[pdg == -code] == -1)
    assert 0.48 < (sign > 0).mean() < 0.52


# ----------------------------------------------------------------------------------- TPC
@pytest.mark.parametrize("k", range(4))
def test_tpc_mean_dedx_near_half_gev(mc, k):
    sel = window(mc, 0.5) & (labels(mc) == k)
    assert sel.sum() > 100
    mean = mc["fTPCSignal"].to_numpy()[sel].mean()
    assert mean == pytest.approx(float(det.tpc_expected_signal(0.5, SPECIES[k])), rel=0.05)


def test_tpc_clusters(mc):
    ncls = mc["fTpcNClsFound"].to_numpy()
    assert ncls.min() >= 60 and ncls.max() <= 159
    assert 0.85 < (ncls > 120).mean() < 0.95  # most tracks good, some low quality


def test_tpc_nsigma_nominal_in_mc_shifted_in_data(mc, data):
    for df, lo_mean, hi_mean, lo_sd, hi_sd in (
        (mc, -0.1, 0.1, 0.95, 1.05),
        (data, 0.3, 0.7, 1.05, 1.2),
    ):
        sel = (labels(df) == 1) & (df["fP"].to_numpy() < 1.0)
        ns = df["fTPCNSigmaPi"].to_numpy()[sel]
        assert lo_mean < ns.mean() < hi_mean
        assert lo_sd < ns.std() < hi_sd
    sel = window(data, 0.5) & (labels(data) == 2)
    ratio = data["fTPCSignal"].to_numpy()[sel].mean() / float(det.tpc_expected_signal(0.5, "K"))
    assert ratio == pytest.approx(1.0 + pid.TPC_SIGNAL_OFFSET_DATA, abs=0.01)


# ----------------------------------------------------------------------------------- TOF
def test_tof_missing_not_at_random(mc, data):
    for df in (mc, data):
        pt = df["fPt"].to_numpy()
        missing = df["fBeta"].to_numpy() == pid.MISSING
        # missing together in every TOF column
        assert np.array_equal(missing, df["fTOFSignal"].to_numpy() == pid.MISSING)
        for col in TOF_NSIGMA:
            assert np.array_equal(missing, df[col].to_numpy() == pid.MISSING)
        low, mid, high = (
            missing[pt < 0.5].mean(),
            missing[(pt > 0.6) & (pt < 0.8)].mean(),
            missing[pt > 1.0].mean(),
        )
        assert low > 0.80
        assert 0.07 < high < 0.13
        assert low > mid > high  # smooth turn-on
        assert np.all(missing[pt < 0.27])  # these curl up before the TOF radius


@pytest.mark.parametrize("domain", ["mc", "data"])
def test_tof_beta_resolution_pions_1gev(mc, data, domain):
    df = {"mc": mc, "data": data}[domain]
    sel = window(df, 1.0, 0.05) & (labels(df) == 1) & (df["fBeta"].to_numpy() > 0)
    beta = df["fBeta"].to_numpy(np.float64)[sel]
    rel = beta / det.expected_beta(df["fP"].to_numpy(np.float64)[sel], "pi") - 1.0
    core = 1.4826 * np.median(np.abs(rel - np.median(rel)))  # robust: mismatches are a tail
    assert 0.004 < core < 0.008
    # TOF_MISMATCH of the hits carry a random time: a tail far outside the Gaussian core
    tail = np.mean(np.abs(rel) > 6 * core)
    assert 0.5 * pid.TOF_MISMATCH < tail < 1.5 * pid.TOF_MISMATCH, tail
    # time and beta consistent: c * t * beta is a track length of a few metres
    length = det.SPEED_OF_LIGHT_CM_PS * df["fTOFSignal"].to_numpy(np.float64)[sel] * beta
    assert np.all((length > 365) & (length < 700))
    # nsigma with the nominal (MC) resolution: unit width in MC, 75/65 in data
    ns = df["fTOFNSigmaPi"].to_numpy()[sel]
    ns = ns[np.abs(rel) < 6 * core]  # the Gaussian part (no mismatched hits)
    width = {"mc": 1.0, "data": pid.TOF_RESOLUTION_DATA_PS / pid.TOF_RESOLUTION_MC_PS}[domain]
    assert ns.std() == pytest.approx(width, rel=0.05)
    assert abs(ns.mean()) < 0.1


# ---------------------------------------------------------------------------------- ITS2
def test_its_cluster_sizes_layout(mc):
    sizes = its.unpack_cluster_sizes(mc["fITSClusterSizes"].to_numpy())
    assert sizes.max() == its.MAX_CLUSTER_SIZE  # saturation reached (low-p protons, tail)
    hits = its.n_hits(sizes)
    assert hits.min() >= pid.ITS_MIN_HITS
    assert 0.6 < (hits == 7).mean() < 0.9  # occasional missing layers
    assert (sizes >= 10).mean() > 0.01  # a tail of large clusters


# docs/physics.md: <CS> cos(lambda) in data, pi/K/p
ITS_DATA_MEANS = {0.3: (2.07, 4.26, 8.57), 0.5: (1.87, 2.87, 4.83), 1.0: (1.76, 2.10, 2.78)}


def its_estimator(df: pd.DataFrame) -> np.ndarray:
    return its.mean_cluster_size_cos_lambda(
        df["fITSClusterSizes"].to_numpy(), df["fEta"].to_numpy()
    )


@pytest.mark.parametrize("p", sorted(ITS_DATA_MEANS))
def test_its_data_means_follow_physics_table(data, p):
    est, lab, sel = its_estimator(data), labels(data), window(data, p)
    for k, expected in zip((1, 2, 3), ITS_DATA_MEANS[p], strict=True):
        x = est[sel & (lab == k)]
        assert x.size > 200
        assert x.mean() == pytest.approx(expected, rel=0.10), SPECIES[k]


def separation(x: np.ndarray, y: np.ndarray) -> float:
    """|mu_x - mu_y| / ((sigma_x + sigma_y) / 2), the definition of docs/physics.md's numbers."""
    return abs(x.mean() - y.mean()) / (0.5 * (x.std() + y.std()))


def test_its_data_pion_kaon_separation(data):
    est, lab, sel = its_estimator(data), labels(data), window(data, 0.3, 0.01)
    sep = separation(est[sel & (lab == 1)], est[sel & (lab == 2)])
    assert 3.5 < sep < 6.0  # docs/physics.md: 4.8


@pytest.mark.parametrize(
    ("domain", "params"), [("data", its.ITS_PARAMS_DATA), ("mc", its.ITS_PARAMS_MC)]
)
def test_its_realised_resolution_follows_response(mc, data, domain, params):
    df = {"mc": mc, "data": data}[domain]
    est, lab = its_estimator(df), labels(df)
    for p, k in ((0.5, 1), (0.5, 2), (1.0, 1), (1.0, 3)):
        x = est[window(df, p, 0.01) & (lab == k)]
        mass = SPECIES[k]
        assert x.mean() == pytest.approx(float(its.its_expected_signal(p, mass, params)), rel=0.05)
        assert x.std() == pytest.approx(float(its.its_expected_sigma(p, mass, params)), rel=0.15)


# --------------------------------------------------------------------------- domain gap
def features(df: pd.DataFrame) -> np.ndarray:
    beta = df["fBeta"].to_numpy(np.float64)
    beta[beta == pid.MISSING] = np.nan
    layers = its.unpack_cluster_sizes(df["fITSClusterSizes"].to_numpy()).astype(np.float64)
    cols = [df["fTPCSignal"], beta, df["fP"], df["fEta"]]
    return np.column_stack([np.asarray(c, dtype=np.float64) for c in cols] + [layers])


def test_mc_trained_classifier_loses_accuracy_on_data(mc, data):
    import xgboost as xgb

    x_mc, y_mc = features(mc), labels(mc)
    x_data, y_data = features(data), labels(data)
    n_train = 60_000
    clf = xgb.XGBClassifier(
        n_estimators=50,
        max_depth=6,
        learning_rate=0.3,
        tree_method="hist",
        n_jobs=2,
        random_state=0,
    )
    clf.fit(x_mc[:n_train], y_mc[:n_train])  # NaN (no TOF) is XGBoost's missing value
    acc_mc = (clf.predict(x_mc[n_train:]) == y_mc[n_train:]).mean()
    acc_data = (clf.predict(x_data) == y_data).mean()
    assert acc_mc > 0.95
    assert acc_mc - acc_data >= 0.03  # the domain gap
    assert acc_data > 0.85  # a shift, not a scramble


# ---------------------------------------------------------------------------------- V0 daughters
@pytest.mark.parametrize("domain", ["mc", "data"])
def test_v0_daughters_have_their_species_and_measured_contamination(mc, data, domain):
    """fV0Tag: K0S daughters are pions, Lambda legs a proton (by charge) and a pion, conversions
    electrons, each sample contaminated by random tracks (V0_CONTAMINATION, mostly pions)."""
    df = {"mc": mc, "data": data}[domain]
    tag, sp, sign = df["fV0Tag"].to_numpy(), labels(df), df["fSign"].to_numpy()
    codes = pid.V0_CODES
    k0s = sp[tag == codes["K0S"]]
    assert np.mean(k0s == 1) > 0.97  # pions (the contamination is mostly pions too)
    lam_p = sp[(tag == codes["Lambda"]) & (sign > 0)]
    alam_p = sp[(tag == codes["antiLambda"]) & (sign < 0)]
    for legs in (lam_p, alam_p):
        assert 0.75 < np.mean(legs == 3) < 0.97, np.mean(legs == 3)  # protons, + random tracks
    gam = sp[tag == codes["gamma"]]
    assert 0.9 < np.mean(gam == 0) < 0.99
    assert df["fV0Tag"].dtype == np.int8 and set(np.unique(tag)) <= set(codes.values())
