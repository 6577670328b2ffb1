"""D+ -> π+ K- π+, the channel of the O2Physics D2H macros' example configs: its module
(o2ml.channels.dplus) and its synthetic sample (o2ml.toymc.three_prong, ``o2ml generate dplus``)."""

from __future__ import annotations

import numpy as np
import pytest

from o2ml import channels
from o2ml.channels import dplus
from o2ml.physics import constants
from o2ml.schema import HF_CAND_DP_LITES, Origin
from o2ml.toymc import three_prong

SEED = 11


@pytest.fixture(scope="module")
def sample():
    return three_prong.generate(dplus, 300_000, 80_000, SEED, with_truth=True)


def test_files_have_the_tree_creators_layout(sample):
    """HfCandDpLites column for column (treeCreatorDplusToPiKPi.cxx), MC columns 0 in data, the
    truth only in data and only on request."""
    for kind, df in (("data", sample.data), ("mc", sample.mc)):
        names = HF_CAND_DP_LITES.column_names(kind, truth=kind == "data")
        assert list(df.columns) == names
        assert all(df[c].dtype == HF_CAND_DP_LITES[c].dtype for c in names)
    assert (sample.data[["fFlagMcMatchRec", "fOriginMcRec", "fPdgBhadMotherPart"]] == 0).all().all()
    plain = three_prong.generate(dplus, 1000, 100, SEED)
    assert "fTruthPdgCode" not in plain.data.columns
    lo, hi = dplus.MASS_WINDOW
    assert sample.data.fM.between(lo, hi).all() and (sample.data.fCentrality == -1).all()
    assert (sample.data.fCandidateSelFlag == dplus.GENERATOR.selected_flag).all()


def test_same_seed_same_sample_other_seed_differs(sample):
    again = three_prong.generate(dplus, 300_000, 80_000, SEED, with_truth=True)
    assert sample.data.equals(again.data) and sample.mc.equals(again.mc)
    other = three_prong.generate(dplus, 3000, 800, SEED + 1)
    assert not other.data.equals(three_prong.generate(dplus, 3000, 800, SEED).data)


def test_signal_decays_with_the_dplus_lifetime(sample):
    """Prompt D+ fly L = (p/M) c tau Exp(1): at high pT (L >> vertex resolution) the mean of
    L M / p is c tau = 312 um (PDG, via particle); non-prompt ones fly farther (their B)."""
    d = sample.data
    sig = d[(d.fTruthOrigin == 1) & (d.fPt > 6)]
    p = sig.fPt * np.cosh(sig.fEta)
    ct = (sig.fDecayLength * constants.mass("Dplus") / p).mean()
    err = ct / np.sqrt(len(sig))
    assert abs(ct - constants.ctau("Dplus")) < 3 * err + 0.05 * constants.ctau("Dplus"), (ct, err)
    assert 0.0300 < constants.ctau("Dplus") < 0.0320
    nonprompt = d[(d.fTruthOrigin == 2) & (d.fPt > 6)]
    assert nonprompt.fDecayLength.mean() > 1.5 * sig.fDecayLength.mean()


def test_signal_to_background_and_the_expected_signal_agree(sample):
    """S/B in 2-4 GeV/c is the generator's choice, and expected_signal predicts the counts."""
    d = sample.data
    x = d[(d.fPt > 2) & (d.fPt < 4)]
    sb = (x.fTruthPdgCode == 411).sum() / (x.fTruthPdgCode == 0).sum()
    assert sb == pytest.approx(dplus.GENERATOR.signal_to_background, rel=0.1)
    exp = sample.expected_signal
    assert exp["table"] == "HfCandDpLites" and set(exp["species"]) == {"Dplus"}
    edges = np.asarray(exp["pt_edges"])
    k = (edges[:-1] >= 2) & (edges[1:] <= 4)
    n_exp = sum(np.asarray(exp["species"]["Dplus"][o])[k].sum() for o in ("prompt", "nonprompt"))
    n_true = (x.fTruthPdgCode == 411).sum()
    assert abs(n_true - n_exp) < 4 * np.sqrt(n_exp), (n_true, n_exp)


def test_mc_flags_and_downsampling_as_the_tree_creator_writes_them(sample):
    mc = sample.mc
    sig = dplus.is_signal(mc)
    flag = mc.fFlagMcMatchRec.to_numpy()
    assert set(np.abs(flag)) == {0, 1} and (sig == (np.abs(flag) == 1)).all()
    assert sig.mean() == pytest.approx(dplus.GENERATOR.mc_signal_share, abs=0.01)
    assert (mc.fFlagMcDecayChanRec == 0).all()  # no resonant channel of pi K pi in DecayChannels.h
    np_rows = mc.fOriginMcRec == Origin.NONPROMPT
    assert (mc.fPdgBhadMotherPart[~np_rows] == 0).all()
    assert set(np.abs(mc.fPdgBhadMotherPart[np_rows])) <= {511, 521, 531, 5122}
    bkg = mc[~sig & (mc.fPt < dplus.GENERATOR.mc_bkg_downsample[1])]
    frac = bkg.fPtProng0.astype(np.float64) * 1000.0
    assert (frac - np.floor(frac) < dplus.GENERATOR.mc_bkg_downsample[0]).all()
    assert channels.is_signal(mc, "HfCandDpLites").sum() == sig.sum()


def test_reference_cuts_are_the_selectors_per_pt_bin(sample):
    """SelectorCuts.h per pT bin with the selector's PID: they enrich the signal (S/B x > 20),
    apply the bin's own decay-length cut, and reject candidates outside 1-36 GeV/c."""
    d = sample.data
    x = d[(d.fPt > 2) & (d.fPt < 4)]
    ok = dplus.passes_reference_cuts(x)
    s, b = x.fTruthPdgCode == 411, x.fTruthPdgCode == 0
    assert ok[s].mean() / ok[b].mean() > 20
    assert (x.fDecayLength[ok] >= 0.07).all() and (x.fPtProng1[ok] >= 0.3).all()
    hi = x.iloc[:5].copy()
    hi["fPt"] = 40.0
    assert not dplus.passes_reference_cuts(hi).any()
    no_pid = dplus.passes_reference_cuts(x, pid=False)
    assert (no_pid >= ok).all() and no_pid.sum() > ok.sum()


def test_background_prongs_follow_the_mass(sample):
    """As the Ds and Λc samples: three tracks of the row's mass; topology does not follow it."""
    b = sample.data[(sample.data.fTruthPdgCode == 0) & sample.data.fPt.between(1, 2)]
    rho = b[["fPtProng0", "fPtProng1", "fPtProng2", "fCpa", "fDecayLength", "fM"]].corr(
        method="spearman"
    )["fM"]
    assert (rho[["fPtProng0", "fPtProng1", "fPtProng2"]] > 0.05).all(), rho
    assert rho[["fCpa", "fDecayLength"]].abs().max() < 0.03, rho


def test_o2ml_generate_dplus_writes_the_tree_creators_files(tmp_path):
    from o2ml import cli, io

    assert cli.main(["generate", "dplus", "--out", str(tmp_path), "--n-data", "5000",
                     "--n-mc", "1000", "-q"]) == 0  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "dplus_data.root", "dplus_expected_signal.json", "dplus_mc.root", "manifest.json",
    ]  # fmt: skip
    info = io.describe(tmp_path / "dplus_data.root")
    assert {i.tree for i in info} == {"O2hfcanddplite"} and len(info[0].paths) == 4  # DF_ folders
    data = io.read_table(tmp_path / "dplus_data.root", "HfCandDpLites")
    assert len(data) == 5000 and list(data.columns) == HF_CAND_DP_LITES.column_names("data")
