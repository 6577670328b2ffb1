"""Synthetic Ds/D+ and Λc candidates: layout, physics, calibration of the ML use cases, determinism."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from o2ml import channels
from o2ml.channels import is_signal
from o2ml.physics import constants
from o2ml.schema import HF_CAND_DS_LITES, HF_CAND_LC_LITES
from o2ml.toymc.generate import draw

SEED = 2024
#: the physics of the two samples (every number of the generators)
DS_GEN, LC_GEN = channels.ds.GENERATOR, channels.lc.GENERATOR
DS_FEATURES = [
    "fCpa", "fCpaXY", "fDecayLength", "fDecayLengthXY", "fDeltaMassPhi", "fImpactParameterXY", "fAbsCos3PiK",
]  # fmt: skip
LC_FEATURES = (
    [f"fPtProng{i}" for i in range(3)]
    + [f"fImpactParameter{i}" for i in range(3)]
    + ["fDecayLengthXY", "fDecayLengthXYNormalised", "fCpa", "fCpaXY", "fChi2PCA"]
    + ["fNSigTpcPi0", "fNSigTpcPr0", "fNSigTofPi0", "fNSigTofPr0", "fNSigTpcKa1", "fNSigTofKa1"]
    + ["fNSigTpcPi2", "fNSigTpcPr2", "fNSigTofPi2", "fNSigTofPr2"]
)
LC_SIDEBANDS = (2.24, 2.33)  # GeV/c2: sidebands below / above, signal region 2.25-2.32


def _split(sample, table: str) -> SimpleNamespace:
    """The sample with ``mc`` = the MC rows that are signal as O2Physics labels them (``mc_all``:
    the whole MC file) and ``true`` = the data rows of true decays in their own hypothesis."""
    d = sample.data
    true = (d.fTruthPdgCode != 0) & (d.fTruthReflection == 0)
    return SimpleNamespace(
        data=d, true=true, mc=sample.mc[is_signal(sample.mc, table)], mc_all=sample.mc,
        expected_signal=sample.expected_signal,
    )  # fmt: skip


@pytest.fixture(scope="module")
def ds():
    return _split(draw("ds", 400_000, 170_000, SEED, with_truth=True), "HfCandDsLites")


@pytest.fixture(scope="module")
def lcs():
    return _split(draw("lc", 600_000, 180_000, SEED, with_truth=True), "HfCandLcLites")


def in_pt(df: pd.DataFrame, lo: float, hi: float) -> pd.DataFrame:
    return df[(df.fPt >= lo) & (df.fPt < hi)]


# ------------------------------------------------------------------ layout
@pytest.mark.parametrize("truth", [False, True])
@pytest.mark.parametrize(("gen", "table"), [("ds", HF_CAND_DS_LITES), ("lc", HF_CAND_LC_LITES)])
def test_layout_matches_schema(gen, table, truth):
    s = draw(gen, 2_000, 500, 1, with_truth=truth)
    for df, kind in ((s.data, "data"), (s.mc, "mc")):
        names = table.column_names(kind, truth=truth and kind == "data")
        assert list(df.columns) == names
        assert {c: df[c].dtype for c in names} == {c: np.dtype(table[c].dtype) for c in names}
        assert np.isfinite(df.to_numpy(np.float64)).all()
    assert len(s.data) == 2_000 and len(s.mc) == 500


def test_ranges_and_conventions(ds, lcs):
    d, m = ds.data, ds.mc
    assert d.fPt.between(1.0, 24.0).all() and (d.fEta.abs() < 0.8).all()
    assert d.fM.between(*DS_GEN.mass_window).all()
    assert (d.fDecayLength >= d.fDecayLengthXY).all() and (d.fDecayLengthXY > 0).all()
    assert d.fCpa.between(-1, 1).all() and d.fCpaXY.between(-1, 1).all()
    # signed impact parameters: both signs, about half negative for background
    assert 0.45 < (d.fImpactParameterXY < 0).mean() < 0.55
    assert 0.45 < (d.fImpactParameter0 < 0).mean() < 0.55
    # prong pT add up to (a bit more than) the candidate pT
    for df, hi in ((d, 1.35), (m, 1.15)):
        ratio = (df.fPtProng0 + df.fPtProng1 + df.fPtProng2) / df.fPt
        assert ratio.min() >= 0.999 and 1.0 < ratio.median() < hi
    assert d[["fPtProng0", "fPtProng1", "fPtProng2"]].min().min() >= 0.199  # track preselection
    # missing TOF is -999 (O2Physics), sometimes but not always
    missing = (d.fNSigTofKa1 == -999).mean()
    assert 0.2 < missing < 0.7
    # combined n-sigma: sqrt((tpc^2 + tof^2)/2), |tpc| without TOF (O2Physics combineNSigma)
    tpc, tof = d.fNSigTpcKa1.to_numpy(np.float64), d.fNSigTofKa1.to_numpy(np.float64)
    comb = np.where(tof > -998, np.sqrt(0.5 * (tpc**2 + tof**2)), np.abs(tpc))
    np.testing.assert_allclose(d.fNSigTpcTofKa1, comb, rtol=1e-5, atol=1e-5)
    # rapidity from pT, eta and the row's mass: candidate.y(invMassDs) (O2Physics
    # treeCreatorDsToKKPi.cxx @ 55f4caa7, line 355); the Λc's from the PDG mass (HfHelper::yLc)
    for df, mass in ((d, d.fM.to_numpy(np.float64)), (lcs.data, constants.mass("Lc"))):
        mt = np.hypot(df.fPt.to_numpy(np.float64), mass)
        np.testing.assert_allclose(df.fY, np.arcsinh(df.fPt * np.sinh(df.fEta) / mt), atol=1e-5)
    # the signal of the MC: Ds -> phi pi (DecayChannelMain DsToPiKK = 5, DsToPhiPi = 6)
    assert set(np.unique(m.fFlagMcMatchRec)) == {-5, 5} and set(m.fFlagMcDecayChanRec) == {6}
    assert set(np.unique(m.fOriginMcRec)) == {1, 2}
    assert abs((m.fOriginMcRec == 1).mean() - DS_GEN.mc_prompt_fraction) < 0.01
    assert set(np.unique(d.fTruthPdgCode)) == {0, 411, 431}
    assert set(np.unique(d.fTruthOrigin)) == {0, 1, 2}
    lm = lcs.mc
    assert set(np.unique(lm.fFlagMc)) == {-17, 17} and set(np.unique(lm.fCandidateSelFlag)) == {
        1,
        2,
    }
    assert set(np.unique(lcs.data.fTruthPdgCode)) == {0, 4122}


def test_ds_rows_as_the_tree_creator_writes_them(ds):
    """treeCreatorDsToKKPi (O2Physics @ 55f4caa7): one row per passing hypothesis, the other's
    fIsSel -1; MC flags 0 in data, where fIsCandidateSwapped is the row's hypothesis; in MC the
    matched channel and charge-signed flags, D+ -> phi pi, the b-hadron mother of non-prompt
    candidates, and background (isCandidateSwapped 0: not matched) downsampled by the
    pseudo-random rule on ptProng0; fCentrality -1 (default process: no centrality table)
    (docs/physics.md, tree-creator tables)."""
    d, m = ds.data, ds.mc_all
    kkpi = d.fIsSelDsToKKPi >= 0
    assert ((d.fIsSelDsToKKPi == -1) != kkpi).all() and ((d.fIsSelDsToPiKK >= 0) == ~kkpi).all()
    assert (d.fIsCandidateSwapped == np.where(kkpi, 0, 1)).all()
    for c in ("fFlagMcMatchRec", "fOriginMcRec", "fFlagMcDecayChanRec"):
        assert (d[c] == 0).all(), c
    assert set(np.unique(d.fSign)) == {-1, 1} and d.fNumContrib.min() >= 2
    flags = m.groupby(["fFlagMcMatchRec", "fFlagMcDecayChanRec"]).size()
    assert set(flags.index) == {(-5, 6), (5, 6), (-4, 1), (4, 1), (0, 0)}
    assert (
        np.sign(m.fFlagMcMatchRec[m.fFlagMcMatchRec != 0]) == m.fSign[m.fFlagMcMatchRec != 0]
    ).all()
    shares = {5: DS_GEN.mc_signal_share, 4: DS_GEN.partner.mc_share}  # Ds, D+; the rest bkg
    assert (DS_GEN.flag_mc, DS_GEN.partner.flag_mc) == (5, 4)
    for flag, share in {**shares, 0: 1 - sum(shares.values())}.items():
        assert abs((m.fFlagMcMatchRec.abs() == flag).mean() - share) < 0.01, flag
    bkg = m[m.fFlagMcMatchRec == 0]
    factor, pt_max = DS_GEN.mc_bkg_downsample
    frac = bkg.fPtProng0.to_numpy(np.float64) * 1000.0
    assert ((frac - np.floor(frac) < factor) | (bkg.fPt >= pt_max)).all()
    assert (bkg.fOriginMcRec == 0).all() and (bkg.fIsCandidateSwapped == 0).all()
    assert (bkg.fIsSelDsToPiKK >= 0).any()  # rows of the piKK hypothesis too: still 0
    assert (d.fCentrality == -1).all() and (m.fCentrality == -1).all()
    # fPdgBhadMotherPart: signed b-hadron PDG code of non-prompt matched candidates, else 0
    assert (d.fPdgBhadMotherPart == 0).all()
    nonprompt = m.fOriginMcRec == 2
    assert (m.fPdgBhadMotherPart[~nonprompt] == 0).all()
    bmother = m.fPdgBhadMotherPart[nonprompt]
    assert set(np.unique(bmother.abs())) == {511, 521, 531, 5122}
    meson = bmother.abs() < 1000  # b -> c: anti-B mesons (< 0) give charm of charge +1
    assert (np.sign(bmother[meson]) == -m.fSign[nonprompt][meson]).all()
    assert (np.sign(bmother[~meson]) == m.fSign[nonprompt][~meson]).all()
    shares = bmother.abs().value_counts(normalize=True)
    for code, share in DS_GEN.bhad_mothers.items():
        assert abs(shares[abs(code)] - share) < 0.02, code
    # D+ and background of the MC file are no Ds signal; the signal is the true hypothesis
    assert len(ds.mc) == ((m.fFlagMcMatchRec.abs() == 5) & (m.fOriginMcRec > 0)).sum()


def test_reflections_sit_at_the_swapped_hypothesis_mass(ds, lcs):
    """The wrong mass hypothesis of a true decay: same tracks, masses of prongs 0 and 2 swapped:
    a broad bump under the peak, the phi selection (Delta m) of the Ds rejects most of it."""
    d = ds.data
    refl = d[(d.fTruthReflection == 1) & (d.fTruthPdgCode == 431)]
    true = d[ds.true & (d.fTruthPdgCode == 431)]
    assert 0.15 * len(true) < len(refl) < 0.5 * len(true)
    assert 0.04 < refl.fM.std() < 0.2 and abs(refl.fM.median() - constants.mass("Ds")) < 0.03
    assert (refl.fDeltaMassPhi < 0.01).mean() < 0.1 < (true.fDeltaMassPhi < 0.01).mean()
    # Λc: the MC holds both hypotheses of some true decays; the wrong one is no signal
    mc = lcs.mc_all
    matched = mc[mc.fFlagMc != 0]
    wrong = matched[(matched.fIsCandidateSwapped == 0) != (matched.fCandidateSelFlag == 1)]
    assert abs(len(wrong) / (len(matched) - len(wrong)) - LC_GEN.reflection_fraction) < 0.03
    assert wrong.fM.std() > 3 * lcs.mc.fM.std()
    assert set(lcs.data.fChannel) == {-1} and (lcs.data.fMlScoreFirstClass == -999).all()
    assert set(mc.fChannel[mc.fFlagMc != 0]) == {0, 24, 25, 26}
    assert (mc.fIsCandidateSwapped[mc.fFlagMc == 0] == 0).all()  # not matched (O2Physics)
    assert (lcs.data.fIsCandidateSwapped == 0).all()
    # fCentFT0C: the collision's percentile (processDataWithCentralityWithDCAFitterN, default)
    for df in (lcs.data, mc):
        assert df.fCentFT0C.between(0, 100).all() and 45 < df.fCentFT0C.mean() < 55


# ------------------------------------------------------------------ physics sanity
@pytest.mark.parametrize(("code", "name"), [(431, "Ds"), (411, "Dplus")])
def test_ds_peaks_at_pdg_mass(ds, code, name):
    m = ds.data.fM[ds.true & (ds.data.fTruthPdgCode == code)]
    assert abs(m.median() - constants.mass(name)) < 2e-3
    mc = ds.mc.fM.to_numpy(np.float64)
    assert abs(np.median(mc) - constants.mass("Ds")) < 0.5e-3


def test_peak_widths_grow_with_pt(ds, lcs):
    widths = [in_pt(ds.mc, lo, hi).fM.std() for lo, hi in ((2, 4), (6, 12), (12, 24))]
    assert all(7e-3 <= w <= 12.5e-3 for w in widths), widths
    assert widths[0] < widths[1] < widths[2]
    lc_mc = in_pt(lcs.mc, 2, 4)
    assert abs(lc_mc.fM.median() - constants.mass("Lc")) < 1e-3 and 7e-3 < lc_mc.fM.std() < 9e-3
    lc_data = lcs.data.fM[lcs.true]
    assert abs(lc_data.median() - constants.mass("Lc")) < 2e-3


def _at_p3(mc: pd.DataFrame, origin: int) -> pd.DataFrame:
    p = mc.fPt * np.cosh(mc.fEta)
    return mc[(p > 2.8) & (p < 3.2) & (mc.fOriginMcRec == origin)]


def test_decay_lengths(ds, lcs):
    expected_ds = 3.0 / constants.mass("Ds") * constants.ctau("Ds")  # docs/physics.md: ~230 um
    prompt, nonprompt = _at_p3(ds.mc, 1), _at_p3(ds.mc, 2)
    assert abs(prompt.fDecayLength.mean() / expected_ds - 1) < 0.25
    assert nonprompt.fDecayLength.mean() > 2 * prompt.fDecayLength.mean()
    assert nonprompt.fImpactParameterXY.abs().mean() > 3 * prompt.fImpactParameterXY.abs().mean()
    bkg = in_pt(ds.data[ds.data.fTruthPdgCode == 0], 2, 4)
    assert (
        bkg.fDecayLength.median()
        < 0.5 * in_pt(ds.mc[ds.mc.fOriginMcRec == 1], 2, 4).fDecayLength.median()
    )
    # Λc: <L> ~ 80 um at 3 GeV/c. L alone is biased up by the ~40 um resolution (|flight + noise|);
    # its projection on the momentum, L cos(pointing), is not.
    expected_lc = 3.0 / constants.mass("Lc") * constants.ctau("Lc")
    lp = _at_p3(lcs.mc, 1)
    assert abs((lp.fDecayLength * lp.fCpa).mean() / expected_lc - 1) < 0.15
    assert abs(lp.fDecayLength.mean() / expected_lc - 1) < 0.4
    assert _at_p3(lcs.mc, 2).fDecayLength.mean() > 2 * lp.fDecayLength.mean()
    # resolution: normalised decay length of prompt background ~ 1-2, signal displaced
    assert 1.0 < bkg.fDecayLengthNormalised.median() < 2.5
    assert in_pt(ds.mc, 2, 4).fDecayLengthXYNormalised.median() > 4


def test_phi_vector_meson_angular_distribution(ds):
    sig_cos = np.cbrt(
        ds.mc.fAbsCos3PiK.to_numpy(np.float64)
    )  # |cos theta'|: pdf ∝ cos^2 -> mean 3/4
    assert abs(sig_cos.mean() - 0.75) < 0.005
    assert abs((ds.mc.fAbsCos3PiK > 0.1).mean() - (1 - 0.1)) < 0.005  # P(|cos|^3 > 0.1) = 1 - 0.1
    bkg = ds.data[ds.data.fTruthPdgCode == 0]
    assert abs(np.cbrt(bkg.fAbsCos3PiK.to_numpy(np.float64)).mean() - 0.5) < 0.005  # flat
    # Delta m(KK - phi): Breit-Wigner (Gamma = 4.25 MeV) (x) resolution for the signal
    assert abs(ds.mc.fDeltaMassPhi.median() - 0.5 * constants.width("phi")) < 1e-3
    assert (ds.mc.fDeltaMassPhi < 0.010).mean() > 0.8 and (bkg.fDeltaMassPhi < 0.010).mean() < 0.5


def test_signal_to_background_before_selection(ds, lcs):
    for s, code, target in ((ds, 431, DS_GEN.signal_to_background),
                            (lcs, 4122, LC_GEN.signal_to_background)):  # fmt: skip
        rows = (s.data.fPt >= 2) & (s.data.fPt < 4)
        n_sig = (rows & s.true & (s.data.fTruthPdgCode == code)).sum()
        sb = n_sig / (rows & (s.data.fTruthPdgCode == 0)).sum()
        assert 5e-4 < sb < 1e-2
        assert abs(sb / target - 1) < 4 / np.sqrt(n_sig)


@pytest.mark.parametrize("which", ["ds", "lc"])
def test_expected_signal_matches_realised_counts(ds, lcs, which):
    s = ds if which == "ds" else lcs
    e = json.loads(json.dumps(s.expected_signal))  # JSON-serialisable
    edges = np.asarray(e["pt_edges"])
    assert e["n_data"] == len(s.data) and e["pt_edges"][0] == 0.0 and e["pt_edges"][-1] == 24.0
    assert np.allclose(np.diff(edges), 0.5)
    species = {"ds": {"Ds": 431, "Dplus": 411}, "lc": {"Lc": 4122}}[which]
    assert set(e["species"]) == set(species)
    d = s.data
    total = sum(sum(v) for sp in e["species"].values() for v in sp.values()) + sum(e["background"])
    reflections = {"ds": DS_GEN, "lc": LC_GEN}[which].reflection_fraction
    signal = total - sum(e["background"])
    assert abs((total + reflections * signal) / len(d) - 1) < 1e-9  # reflections: not in the table
    for lo, hi in ((2, 4), (4, 6), (6, 12)):
        sel = (edges[:-1] >= lo) & (edges[1:] <= hi)
        rows = (d.fPt >= lo) & (d.fPt < hi)
        for name, code in species.items():
            for origin, o in (("prompt", 1), ("nonprompt", 2)):
                mu = np.asarray(e["species"][name][origin])[sel].sum()
                n = (rows & s.true & (d.fTruthPdgCode == code) & (d.fTruthOrigin == o)).sum()
                assert abs(n - mu) < 4 * np.sqrt(mu) + 1, (name, origin, lo, hi, n, mu)
        mu = np.asarray(e["background"])[sel].sum()
        assert abs((rows & (d.fTruthPdgCode == 0)).sum() - mu) < 4 * np.sqrt(mu)


# ------------------------------------------------------------------ Ds calibration (tutorial)
def rectangular_cuts(df: pd.DataFrame) -> np.ndarray:
    """docs/physics.md reference cuts (O2Physics SelectorCuts.h, Ds, 2 < pT < 4)."""
    return (
        (df.fDecayLength > 0.02)
        & (df.fDecayLengthXYNormalised > 4)
        & (df.fCpa > 0.92)
        & (df.fCpaXY > 0.92)
        & (df.fImpactParameterXY.abs() < 0.014)
        & (df.fDeltaMassPhi < 0.010)
        & (df.fAbsCos3PiK > 0.10)
        & (df.fChi2PCA < 5)
    ).to_numpy()


@pytest.fixture(scope="module")
def ds_bdt(ds):
    """The tutorial's 3-class BDT: 0 prompt, 1 non-prompt, 2 background (sidebands), 2 < pT < 4.

    n_jobs=1: with 2 OpenMP threads XGBoost slows down 50x when the 2 cores are shared with other
    processes (threads spin-wait); one thread is robust, deterministic and only ~1.6x slower idle.
    """
    import xgboost as xgb
    from sklearn.model_selection import train_test_split

    d, m = in_pt(ds.data, 2, 4), in_pt(ds.mc, 2, 4)
    classes = [m[m.fOriginMcRec == 1], m[m.fOriginMcRec == 2], d[(d.fM < 1.75) | (d.fM > 2.1)]]
    n = min(len(c) for c in classes)
    assert n > 15_000
    df = pd.concat([c.sample(n, random_state=SEED).assign(label=i) for i, c in enumerate(classes)])
    train, test = train_test_split(df, test_size=0.5, random_state=SEED, stratify=df.label)
    model = xgb.XGBClassifier(
        max_depth=5, learning_rate=0.029, n_estimators=500, min_child_weight=2.7, subsample=0.9,
        colsample_bytree=0.97, tree_method="hist", n_jobs=1, random_state=SEED,
    )  # fmt: skip
    model.fit(train[DS_FEATURES], train.label)
    return test, model.predict_proba(test[DS_FEATURES])


def test_ds_bdt_auc_like_tutorial(ds_bdt):
    from sklearn.metrics import roc_auc_score

    test, proba = ds_bdt
    auc = roc_auc_score(test.label, proba, multi_class="ovo")
    assert 0.87 < auc < 0.93, auc  # the O2 tutorial got 0.903 (docs/physics.md)


def test_ds_rectangular_cuts_sensible_and_beaten_by_bdt(ds_bdt):
    test, proba = ds_bdt
    label = test.label.to_numpy()
    rect = rectangular_cuts(test)
    eff_prompt, eff_nonprompt, eff_bkg = (rect[label == c].mean() for c in (0, 1, 2))
    assert 0.15 < eff_prompt < 0.6 and 0.15 < eff_nonprompt < 0.7  # tens of percent
    assert 0.003 < eff_bkg < 0.02  # background rejection of order 99 %
    # BDT signal score (prompt + non-prompt) at the same background efficiency
    score = 1.0 - proba[:, 2]
    threshold = np.quantile(score[label == 2], 1.0 - eff_bkg)
    eff_bdt = (score[label != 2] > threshold).mean()
    assert eff_bdt > 1.1 * rect[label != 2].mean(), (eff_bdt, rect[label != 2].mean())


# ------------------------------------------------------------------ Λc: BDT and autoencoder use case
@pytest.fixture(scope="module")
def lc_sets(lcs):
    from sklearn.model_selection import train_test_split

    d, m = in_pt(lcs.data, 2, 4), in_pt(lcs.mc, 2, 4)
    sidebands = d[(d.fM < LC_SIDEBANDS[0]) | (d.fM > LC_SIDEBANDS[1])]
    signal = m[(m.fM > 2.25) & (m.fM < 2.32)]
    n = min(len(sidebands), len(signal), 20_000)
    df = pd.concat(
        [
            signal.sample(n, random_state=SEED).assign(label=1),
            sidebands.sample(n, random_state=SEED).assign(label=0),
        ]
    )
    return train_test_split(df, test_size=0.5, random_state=SEED, stratify=df.label)


def test_lc_bdt_separates_signal_from_sidebands(lc_sets):
    import xgboost as xgb
    from sklearn.metrics import roc_auc_score

    train, test = lc_sets
    model = xgb.XGBClassifier(
        n_estimators=40, max_depth=4, learning_rate=0.2, tree_method="hist", n_jobs=1
    )
    model.fit(train[LC_FEATURES], train.label)
    assert roc_auc_score(test.label, model.predict_proba(test[LC_FEATURES])[:, 1]) > 0.8


def test_lc_signal_is_an_outlier_of_the_background(lc_sets):
    """An autoencoder trained on sidebands only reconstructs signal worse (MSE as anomaly score).

    n-sigma are clipped to +-10 (missing TOF, -999, becomes -10) before the min-max scaling, as a
    notebook must do: otherwise the far tails of the n-sigma set the scale.
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.neural_network import MLPRegressor

    train, test = lc_sets
    pid = [i for i, f in enumerate(LC_FEATURES) if f.startswith("fNSig")]

    def features(df):
        x = df[LC_FEATURES].to_numpy(np.float64)
        x[:, pid] = np.clip(x[:, pid], -10, 10)
        return x

    bkg = features(train[train.label == 0])
    lo, hi = bkg.min(axis=0), bkg.max(axis=0)
    ae = MLPRegressor(hidden_layer_sizes=(16, 6, 16), max_iter=40, random_state=SEED)
    ae.fit((bkg - lo) / (hi - lo), (bkg - lo) / (hi - lo))
    x = (features(test) - lo) / (hi - lo)
    mse = ((ae.predict(x) - x) ** 2).mean(axis=1)
    label = test.label.to_numpy()
    assert mse[label == 1].mean() > 1.3 * mse[label == 0].mean()
    assert roc_auc_score(label, mse) > 0.8


def test_background_mass_not_sculpted_by_features(lcs, ds):
    """Background mass is independent of the features: a feature cut keeps the sideband shape."""
    bkg = in_pt(lcs.data[lcs.data.fTruthPdgCode == 0], 2, 4)
    bkg = bkg[(bkg.fM < LC_SIDEBANDS[0]) | (bkg.fM > LC_SIDEBANDS[1])]
    cut = bkg[(bkg.fCpa > 0.9) & (bkg.fDecayLengthXYNormalised > 2) & (bkg.fNSigTpcPr0.abs() < 3)]
    assert 0.002 < len(cut) / len(bkg) < 0.2
    f_all = (bkg.fM < LC_SIDEBANDS[0]).mean()
    f_cut = (cut.fM < LC_SIDEBANDS[0]).mean()
    sigma = np.sqrt(f_all * (1 - f_all) * (1 / len(cut) - 1 / len(bkg)))
    assert abs(f_cut - f_all) < 4 * sigma
    # and the topological features are not a function of mass in the background (Λc and Ds;
    # the prongs do follow the mass: test_background_prongs_follow_the_mass)
    for d, feats in (
        (lcs.data, ("fDecayLength", "fCpa", "fChi2PCA")),
        (ds.data, ("fDecayLength", "fCpa")),
    ):
        d = in_pt(d[d.fTruthPdgCode == 0], 2, 4)
        for f in feats:
            assert abs(np.corrcoef(d.fM, d[f])[0, 1]) < 0.015


@pytest.mark.parametrize(
    ("sample", "topo", "rho_min"),
    [
        ("ds", DS_FEATURES, {(1, 2): 0.1, (2, 4): 0.03}),
        ("lcs", ["fDecayLength", "fCpa", "fCpaXY", "fDecayLengthXYNormalised"],
         {(1, 2): 0.06, (2, 4): 0.01}),
    ],
)  # fmt: skip
def test_background_prongs_follow_the_mass(sample, topo, rho_min, request):
    """Ds and Λc combinatorial background is three tracks of the row's mass: at fixed pT a
    heavier triplet opens wider, so its prongs carry more pT (bounded: sum E_i = sqrt(M^2 +
    p^2)); the topological features do not follow the mass."""
    data = request.getfixturevalue(sample).data
    bkg = data[data.fTruthPdgCode == 0]
    prongs = [f"fPtProng{i}" for i in range(3)]
    for (lo, hi), rmin in rho_min.items():
        b = in_pt(bkg, lo, hi)
        rho = b[[*prongs, "fM"]].corr(method="spearman")["fM"]
        assert (rho[prongs] > rmin).all(), rho  # clearly non-zero: N ~ 1e5, error ~ 0.004
        assert b[prongs].sum(axis=1).corr(b.fM, method="spearman") > 3 * rmin
        rho_topo = b[[*topo, "fM"]].corr(method="spearman")["fM"].drop("fM")
        assert rho_topo.abs().max() < 0.03, rho_topo


def test_ds_background_prongs_have_the_row_mass():
    """prongs_at_mass: the three tracks add up to the candidate's momentum and have its mass."""
    from o2ml.toymc import _kinematics as K

    rng = np.random.default_rng(5)
    n = 20_000
    pt, eta, phi = rng.uniform(1, 24, n), rng.uniform(-0.8, 0.8, n), rng.uniform(0, 2 * np.pi, n)
    mass = rng.uniform(1.65, 2.25, n)
    m_k, m_pi = constants.mass("K"), constants.mass("pi")
    masses = np.stack([np.full(n, m_k), np.full(n, m_k), np.full(n, m_pi)])
    pti, sd, cd, etai = K.prongs_at_mass(rng, pt, K.frame(eta, phi), mass, masses)
    px = pti * (np.cos(phi) * cd - np.sin(phi) * sd)
    py = pti * (np.sin(phi) * cd + np.cos(phi) * sd)
    pz = pti * np.sinh(etai)
    e = np.sqrt(masses**2 + px**2 + py**2 + pz**2).sum(axis=0)
    p = [v.sum(axis=0) for v in (px, py, pz)]
    np.testing.assert_allclose(np.hypot(p[0], p[1]), pt, rtol=1e-9)
    np.testing.assert_allclose(p[2], pt * np.sinh(eta), rtol=1e-9, atol=1e-9)
    m = np.sqrt(e**2 - p[0] ** 2 - p[1] ** 2 - p[2] ** 2)
    np.testing.assert_allclose(m, mass, rtol=1e-5)
    assert (np.abs(sd) <= 1).all() and np.allclose(sd**2 + cd**2, 1)


def test_sculpting_check_flags_a_mass_correlated_feature(ds):
    """selection.sculpting_check: the tutorial's features pass, fPtProng0 (which follows the
    background mass at fixed pT) fails, and a cut on it tilts the sideband shape."""
    from o2ml.channels import ds as ds_channel
    from o2ml.selection import checks

    data = in_pt(ds.data, 1, 2)
    check = checks.sculpting_check(data, DS_FEATURES)
    assert checks.non_sculpting(check) == DS_FEATURES, check  # passes without it
    check = checks.sculpting_check(data, [*DS_FEATURES, "fPtProng0"])
    assert checks.non_sculpting(check) == DS_FEATURES, check  # fails on fPtProng0
    assert check.loc["fPtProng0", "max_shape_change"] > 3 * check.loc["fPtProng0", "noise"]
    top = data.fPtProng0 > data.fPtProng0.quantile(0.75)
    pull = checks.sideband_shape_pull(data.fM, top, sidebands=ds_channel.SIDEBANDS)
    assert pull < -5, pull  # fewer low-sideband (light) candidates keep hard prongs
    cpa = data.fCpa > data.fCpa.quantile(0.75)
    assert abs(checks.sideband_shape_pull(data.fM, cpa, sidebands=ds_channel.SIDEBANDS)) < 3


def test_lc_sideband_pull_fails_on_a_cut_on_prong_pt(lcs):
    """Notebook 02's sculpting check (the sideband pull after a cut) can fail on the Λc sample:
    keeping the hardest quarter of the prongs (which follow the background mass) tilts the
    sidebands, while a cut on the pointing angle does not."""
    from o2ml.channels import lc as lc_channel
    from o2ml.selection import checks

    data = in_pt(lcs.data, 2, 6)
    hard = data.fPtProng0 > data.fPtProng0.quantile(0.75)
    assert checks.sideband_shape_pull(data.fM, hard, sidebands=lc_channel.SIDEBANDS) < -5
    cpa = data.fCpa > data.fCpa.quantile(0.75)
    assert abs(checks.sideband_shape_pull(data.fM, cpa, sidebands=lc_channel.SIDEBANDS)) < 3


# ------------------------------------------------------------------ determinism
@pytest.mark.parametrize("gen", ["ds", "lc"])
def test_deterministic_and_seed_dependent(gen):
    a = draw(gen, 150_000, 20_000, 7, with_truth=True)  # > one chunk: exercises the thread pool
    b = draw(gen, 150_000, 20_000, 7, with_truth=True)
    for x, y in ((a.data, b.data), (a.mc, b.mc)):
        pd.testing.assert_frame_equal(x, y, check_exact=True)
        for c in x.columns:
            assert np.array_equal(x[c].to_numpy(), y[c].to_numpy())
    assert a.expected_signal == b.expected_signal
    c = draw(gen, 150_000, 20_000, 8, with_truth=True)
    assert not np.array_equal(a.data.fPt.to_numpy(), c.data.fPt.to_numpy())
    assert not np.array_equal(a.mc.fDecayLength.to_numpy(), c.mc.fDecayLength.to_numpy())
    # more MC does not change the data
    d = draw(gen, 150_000, 35_000, 7, with_truth=True)
    pd.testing.assert_frame_equal(a.data, d.data, check_exact=True)


def test_progress_bar(capsys):
    s = draw("ds", 3_000, 300, 1, progress=True)
    assert len(s.data) == 3_000
    err = capsys.readouterr().err  # tqdm draws on stderr outside notebooks
    assert "Ds⁺ toy MC" in err and "100%" in err
    s = draw("lc", 3_000, 300, 1, progress=True)
    assert len(s.mc) == 300
    err = capsys.readouterr().err
    assert "Λc⁺ toy MC" in err and "100%" in err


# ------------------------------------------------------------------ the numbers live in channels
def test_each_channel_spec_picks_its_generator_by_type():
    """toymc draws a channel's sample by the type of its ``GENERATOR`` (the most specific
    first: a KKPiPhysics is a ThreeProngPhysics too), never by the channel's name."""
    from o2ml.errors import BadArgumentError
    from o2ml.toymc import charm, three_prong
    from o2ml.toymc import lc as toy_lc
    from o2ml.toymc.generate import generator_of

    assert generator_of(channels.ds.GENERATOR) is charm.generate_kkpi
    assert generator_of(channels.lc.GENERATOR) is toy_lc.generate_pkpi
    assert generator_of(channels.dplus.GENERATOR) is three_prong.generate
    with pytest.raises(BadArgumentError, match="no generator draws a sample from a dict"):
        generator_of({})
    # draw: a channel by any of its names, or its module; an unknown name lists the channels
    by_name, by_module = draw("DsToKKPi", 500, 50, 3), draw(channels.ds, 500, 50, 3)
    pd.testing.assert_frame_equal(by_name.data, by_module.data, check_exact=True)
    pd.testing.assert_frame_equal(by_name.mc, by_module.mc, check_exact=True)
    with pytest.raises(BadArgumentError, match="unknown channel 'Xi'.*ds .DsToKKPi"):
        draw("Xi", 500, 50, 3)
    with pytest.raises(BadArgumentError, match="unknown channel None"):
        draw(None, 500, 50, 3)
    # the toymc modules hold no number of the channels any more: the old constants are gone
    assert not [n for n in dir(charm) if n.startswith(("DS_", "DPLUS_", "PHI_"))]
    assert not [n for n in dir(toy_lc) if n.startswith(("LC_", "KSTAR0_"))]
