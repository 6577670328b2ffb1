"""o2ml.channels.selectors: the feature names of the O2Physics ML selectors, and their tree columns.

The name lists below are copied from the O2Physics headers (the enum of each MlResponse class,
which ``setAvailableInputFeatures`` registers in full): a change of the table must be a change of
O2Physics, checked again against the source named above each list.
"""

from __future__ import annotations

import pytest

from o2ml.channels import (
    DPLUS_SELECTOR,
    DS_SELECTOR,
    LC_SELECTOR,
    SELECTORS,
    TUTORIAL_TASK,
    UnsupportedFeatureError,
)
from o2ml.channels.ds import TUTORIAL_FEATURES
from o2ml.schema import HF_CAND_DS_LITES, HF_CAND_LC_LITES

# O2Physics PWGHF/Core/HfMlResponseDsToKKPi.h @ bfbeadc8, enum InputFeaturesDsToKKPi
DS_NAMES = [
    "chi2PCA", "decayLength", "decayLengthXY", "decayLengthNormalised", "decayLengthXYNormalised",
    "maxNormalisedDeltaIP", "cpa", "cpaXY", "ptProng0", "ptProng1", "ptProng2",
    "impactParameterXY", "impactParameterXY0", "impactParameterXY1", "impactParameterXY2",
    "impactParameterZ0", "impactParameterZ1", "impactParameterZ2",
    "nSigTpcPi0", "nSigTpcPi1", "nSigTpcPi2", "nSigTpcKa0", "nSigTpcKa1", "nSigTpcKa2",
    "nSigTofPi0", "nSigTofPi1", "nSigTofPi2", "nSigTofKa0", "nSigTofKa1", "nSigTofKa2",
    "nSigTpcTofPi0", "nSigTpcTofPi1", "nSigTpcTofPi2",
    "nSigTpcTofKa0", "nSigTpcTofKa1", "nSigTpcTofKa2",
    "nSigTpcKaExpKa0", "nSigTpcPiExpPi2", "nSigTofKaExpKa0", "nSigTofPiExpPi2",
    "nSigTpcTofKaExpKa0", "nSigTpcTofPiExpPi2", "absCos3PiK", "deltaMassPhi",
]  # fmt: skip

# O2Physics PWGHF/Core/HfMlResponseLcToPKPi.h @ 1d80ce78, enum InputFeaturesLcToPKPi (the last 12
# only with VertexerType::KfParticle)
LC_NAMES = [
    "ptProng0", "ptProng1", "ptProng2", "impactParameterXY0", "impactParameterXY1",
    "impactParameterXY2", "impactParameterZ0", "impactParameterZ1", "impactParameterZ2",
    "decayLength", "decayLengthXY", "decayLengthXYNormalised", "cpa", "cpaXY", "chi2PCA",
    "tpcNSigmaPr0", "tpcNSigmaKa0", "tpcNSigmaPi0", "tpcNSigmaPr1", "tpcNSigmaKa1", "tpcNSigmaPi1",
    "tpcNSigmaPr2", "tpcNSigmaKa2", "tpcNSigmaPi2", "tofNSigmaPr0", "tofNSigmaKa0", "tofNSigmaPi0",
    "tofNSigmaPr1", "tofNSigmaKa1", "tofNSigmaPi1", "tofNSigmaPr2", "tofNSigmaKa2", "tofNSigmaPi2",
    "tpcTofNSigmaPi0", "tpcTofNSigmaPi1", "tpcTofNSigmaPi2", "tpcTofNSigmaKa0", "tpcTofNSigmaKa1",
    "tpcTofNSigmaKa2", "tpcTofNSigmaPr0", "tpcTofNSigmaPr1", "tpcTofNSigmaPr2",
    "tpcNSigmaPrExpPr0", "tpcNSigmaPiExpPi2", "tofNSigmaPrExpPr0", "tofNSigmaPiExpPi2",
    "tpcTofNSigmaPrExpPr0", "tpcTofNSigmaPiExpPi2",
    "kfChi2PrimProton", "kfChi2PrimKaon", "kfChi2PrimPion", "kfChi2GeoKaonPion",
    "kfChi2GeoProtonPion", "kfChi2GeoProtonKaon", "kfDcaKaonPion", "kfDcaProtonPion",
    "kfDcaProtonKaon", "kfChi2Geo", "kfChi2Topo", "kfDecayLengthNormalised",
]  # fmt: skip

# O2Physics PWGHF/Core/HfMlResponseDplusToPiKPi.h @ ca85f442, enum InputFeaturesDplusToPiKPi
DPLUS_NAMES = [
    "ptProng0", "ptProng1", "ptProng2", "impactParameterXY0", "impactParameterXY1",
    "impactParameterXY2", "impactParameterZ0", "impactParameterZ1", "impactParameterZ2",
    "decayLength", "decayLengthXY", "decayLengthNormalised", "decayLengthXYNormalised", "cpa",
    "cpaXY", "maxNormalisedDeltaIP", "chi2PCA", "tpcNSigmaPi0", "tpcNSigmaKa0", "tpcNSigmaPi1",
    "tpcNSigmaKa1", "tpcNSigmaPi2", "tpcNSigmaKa2", "tofNSigmaPi0", "tofNSigmaKa0",
    "tofNSigmaPi1", "tofNSigmaKa1", "tofNSigmaPi2", "tofNSigmaKa2", "tpcTofNSigmaPi0",
    "tpcTofNSigmaPi1", "tpcTofNSigmaPi2", "tpcTofNSigmaKa0", "tpcTofNSigmaKa1", "tpcTofNSigmaKa2",
]  # fmt: skip


@pytest.mark.parametrize(
    ("selector", "names", "task"),
    [
        (DS_SELECTOR, DS_NAMES, "hf-candidate-selector-ds-to-k-k-pi"),
        (LC_SELECTOR, LC_NAMES, "hf-candidate-selector-lc"),
        (DPLUS_SELECTOR, DPLUS_NAMES, "hf-candidate-selector-dplus-to-pi-k-pi"),
    ],
)
def test_each_selector_offers_exactly_the_names_of_its_header(selector, names, task):
    assert selector.names == names
    assert selector.task == task and SELECTORS[task] is selector
    # one column per name at most, and one name per column: the map is invertible
    assert len(set(selector.columns)) == len(selector.columns)
    for name in names:
        feature = selector._by_name[name]
        if feature.column is not None:
            assert selector.name_of(feature.column) == name
            assert selector.column_of(name) == feature.column


def test_ds_columns_are_the_tree_creators_and_hold_the_same_values():
    # the tutorial's seven are all offered by the current header (absCos3PiK, impactParameterXY)
    assert DS_SELECTOR.names_of(TUTORIAL_FEATURES) == [
        "cpa", "cpaXY", "decayLength", "decayLengthXY", "deltaMassPhi", "impactParameterXY",
        "absCos3PiK",
    ]  # fmt: skip
    # the tree creator stores |cos^3 theta'| and |m(KK) - m(phi)|, as the selector computes them
    assert DS_SELECTOR.name_of("fAbsCos3PiK") == "absCos3PiK"
    assert DS_SELECTOR.name_of("fImpactParameter1") == "impactParameterXY1"  # prong d0(xy)
    assert DS_SELECTOR.name_of("fNSigTpcTofKa1") == "nSigTpcTofKa1"
    # every Ds lite column that has a counterpart is in o2ml's table of HfCandDsLites
    in_table = [c for c in DS_SELECTOR.columns if c in HF_CAND_DS_LITES]
    assert set(TUTORIAL_FEATURES) <= set(in_table)
    assert {"fChi2PCA", "fMaxNormalisedDeltaIP", "fDecayLengthXYNormalised"} <= set(in_table)


def test_a_column_the_selector_cannot_compute_is_refused_with_the_closest():
    with pytest.raises(UnsupportedFeatureError, match=r"cannot compute the training column 'fM'"):
        DS_SELECTOR.name_of("fM")  # the mass is never a feature, and no selector name holds it
    with pytest.raises(
        UnsupportedFeatureError, match=r"fImpactParameter0 \(as impactParameterXY0\)"
    ):
        DS_SELECTOR.name_of("fImpactParameterNormalised0")
    with pytest.raises(UnsupportedFeatureError, match="custom task"):
        LC_SELECTOR.name_of("fDeltaMassPhi")


def test_unknown_names_fail_as_mlresponse_does():
    with pytest.raises(
        UnsupportedFeatureError,
        match=r"Input feature cos3PiK not available! Please check your configurables\..*absCos3PiK",
    ):
        DS_SELECTOR.column_of("cos3PiK")  # the signed name of older headers
    with pytest.raises(UnsupportedFeatureError, match="mass hypothesis"):
        DS_SELECTOR.column_of("nSigTpcKaExpKa0")  # prong 0 or prong 2 by hypothesis: no column
    with pytest.raises(UnsupportedFeatureError, match="KFParticle"):
        LC_SELECTOR.column_of("kfChi2Topo")


def test_lc_pid_columns_exist_only_for_the_expected_species():
    # the Lc lite tree stores p and pi for prongs 0 and 2, the kaon for prong 1
    # (PWGHF/TableProducer/treeCreatorLcToPKPi.cxx)
    assert LC_SELECTOR.name_of("fNSigTpcPr0") == "tpcNSigmaPr0"
    assert LC_SELECTOR.name_of("fNSigTpcTofKa1") == "tpcTofNSigmaKa1"
    assert LC_SELECTOR.table == HF_CAND_LC_LITES.name


def test_the_tutorial_task_feeds_a_signed_cos3_no_tree_column_holds():
    with pytest.raises(UnsupportedFeatureError, match=r"position 6: the task feeds .*signed"):
        TUTORIAL_TASK.check([*TUTORIAL_FEATURES, "fMaxNormalisedDeltaIP"])
    with pytest.raises(UnsupportedFeatureError, match="feeds 8 values"):
        TUTORIAL_TASK.check(TUTORIAL_FEATURES)


# ------------------------------------------------------------------ Ds reference cuts
# O2Physics PWGHF/Core/SelectorCuts.h @ 16e80cb8, hf_cuts_ds_to_k_k_pi (lines 675-696), copied:
# (pT bin, decay length, normalized decay length XY, cpa, cpaXY, impact parameter XY,
#  deltaM Phi, cos^3 theta_PiK)
DS_SELECTOR_CUTS = [
    ((2, 3), 0.02, 4.0, 0.92, 0.92, 0.014, 0.010, 0.10),
    ((3, 4), 0.02, 4.0, 0.92, 0.92, 0.014, 0.010, 0.10),
    ((4, 5), 0.03, 4.0, 0.90, 0.90, 0.012, 0.010, 0.05),
    ((5, 6), 0.03, 4.0, 0.90, 0.90, 0.012, 0.010, 0.05),
    ((6, 8), 0.03, 4.0, 0.90, 0.90, 0.012, 0.010, 0.05),
    ((8, 12), 0.03, 4.0, 0.90, 0.90, 0.012, 0.010, 0.00),
    ((12, 16), 0.05, 4.0, 0.85, 0.85, 0.012, 0.015, 0.00),
    ((16, 24), 0.05, 4.0, 0.85, 0.85, 0.012, 0.015, 0.00),
]


@pytest.mark.parametrize("row", DS_SELECTOR_CUTS, ids=lambda r: f"pt{r[0][0]}-{r[0][1]}")
def test_ds_reference_cuts_per_pt_bin_are_those_of_selector_cuts(row):
    from o2ml.channels import ds

    (lo, hi), *values = row
    names = ["decay length", "normalized decay length XY", "cos pointing angle",
             "cos pointing angle XY", "impact parameter XY", "deltaM Phi", "cos^3 theta_PiK"]  # fmt: skip
    for pt in (lo, 0.5 * (lo + hi), hi - 1e-6):
        cuts = ds.selector_cuts(pt)
        assert [cuts[n] for n in names] == values
        assert (cuts["pT K"], cuts["pT Pi"], cuts["deltaM"], cuts["chi2PCA"]) == (0.3, 0.3, 0.2, 5)
    # the 2-4 GeV/c dict of the tests and the scan's default: the same topological cuts
    if hi <= 4:
        c = ds.REFERENCE_CUTS
        assert (c["fDecayLength"][1], c["fDecayLengthXYNormalised"][1], c["fCpa"][1],
                c["fCpaXY"][1], c["fImpactParameterXY"][1], c["fDeltaMassPhi"][1],
                c["fAbsCos3PiK"][1]) == tuple(values)  # fmt: skip


def test_ds_reference_cuts_match_the_o2physics_header():
    """Against the header itself, where a local O2Physics git mirror holds the recorded commit."""
    import os
    import re
    import subprocess

    from o2ml.channels import ds

    git = os.environ.get("O2PHYSICS_GIT_DIR", "/work/.mirror/AliceO2Group+O2Physics/repo")
    if not os.path.isdir(git):
        pytest.skip("no O2Physics git directory")
    res = subprocess.run(
        ["git", f"--git-dir={git}", "show", f"{ds.SELECTOR_CUTS_COMMIT}:PWGHF/Core/SelectorCuts.h"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if res.returncode:
        pytest.skip(f"{ds.SELECTOR_CUTS_COMMIT} is not in {git}")
    block = res.stdout.split("namespace hf_cuts_ds_to_k_k_pi")[1].split("} // namespace")[0]
    edges = re.search(r"BinsPt\[NBinsPt \+ 1\] = \{([^}]*)\}", block).group(1)
    assert tuple(float(x) for x in re.findall(r"[\d.]+", edges)) == ds.SELECTOR_CUTS_PT_EDGES
    rows = re.findall(r"\{([\d., ]+)\}", block.split("Cuts[NBinsPt][NCutVars] =")[1])
    assert [tuple(float(x) for x in r.split(",")) for r in rows] == list(ds.SELECTOR_CUTS)
    labels = re.search(r"labelsCutVar = \{([^}]*)\}", block).group(1)
    assert tuple(re.findall(r'"([^"]+)"', labels)) == ds.SELECTOR_CUTS_VARS


def test_ds_reference_cuts_use_each_candidates_bin_and_the_selector_pid():
    import numpy as np
    import pandas as pd

    from o2ml.channels import ds

    row = {
        "fPt": 3.0, "fDecayLength": 0.05, "fDecayLengthXYNormalised": 6.0, "fCpa": 0.99,
        "fCpaXY": 0.99, "fImpactParameterXY": 0.001, "fDeltaMassPhi": 0.002, "fAbsCos3PiK": 0.5,
        "fChi2PCA": 1e-4, "fIsSelDsToKKPi": 7, "fPtProng0": 1.0, "fPtProng1": 1.0, "fPtProng2": 1.0,
    }  # fmt: skip
    for i in range(3):
        for d in ("Tpc", "Tof"):
            row |= {f"fNSig{d}Pi{i}": 0.0, f"fNSig{d}Ka{i}": 0.0}
    base = pd.DataFrame([row])

    def passes(**change):
        df = base.copy()
        for k, v in change.items():
            df[k] = v
        return bool(ds.passes_reference_cuts(df)[0])

    assert passes()
    assert not passes(fPt=1.5) and not passes(fPt=25.0)  # outside the SelectorCuts.h bins
    # cos^3 theta' > 0.05 in 6-8 GeV/c, no cut in 8-12 (the bins of one notebook bin differ)
    assert not passes(fPt=7.0, fAbsCos3PiK=0.02) and passes(fPt=9.0, fAbsCos3PiK=0.02)
    assert not passes(fPt=4.5, fDecayLength=0.025) and passes(fPt=3.5, fDecayLength=0.025)
    assert not passes(fPtProng2=0.25)  # pT of the pion > 0.3 GeV/c
    # PID: TPC or TOF; a kaon rejected by both is lost, TPC alone decides without TOF
    assert not passes(fNSigTpcKa1=6.0, fNSigTofKa1=6.0)
    assert passes(fNSigTpcKa1=6.0, fNSigTofKa1=1.0)
    assert not passes(fNSigTpcKa1=6.0, fNSigTofKa1=-999.0)
    assert passes(fNSigTpcKa1=4.0, fNSigTofKa1=4.0)  # both "conditional": accepted
    # prong 0 is the pion of the piKK hypothesis: its kaon n-sigma does not matter then
    assert not passes(fNSigTpcKa0=6.0, fNSigTofKa0=6.0)
    assert passes(fIsSelDsToKKPi=-1, fNSigTpcKa0=6.0, fNSigTofKa0=6.0)
    assert np.array_equal(ds.passes_reference_cuts(base, pid=False), [True])


# ------------------------------------------------------------------ the channel registry
def _channel_names() -> set[str]:
    from o2ml.channels import CHANNELS

    return {
        str(v)
        for m in CHANNELS.values()
        for v in (m.NAME, m.MACRO_CHANNEL, m.SPECIES, m.TABLE, m.SELECTOR.task)
    }


def _branches_on_a_channel(tree, names: set[str]) -> list[int]:
    """Lines that compare with a channel's name (``x == "ds"``, ``x in ("ds", "lc")``)."""
    import ast

    def named(node) -> bool:
        if isinstance(node, ast.Constant):
            return node.value in names
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            return any(named(e) for e in node.elts)
        return False

    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Compare) and any(named(c) for c in [node.left, *node.comparators])
    ]


def test_generic_code_never_branches_on_a_channel_name():
    """Everything of one channel lives in its module of o2ml.channels; the rest looks channels
    up (channels.CHANNELS, channels.get) instead of comparing names. The check finds a branch."""
    import ast
    from pathlib import Path

    names = _channel_names()
    assert _branches_on_a_channel(ast.parse('if ch == "dplus":\n    pass'), names) == [1]
    assert _branches_on_a_channel(ast.parse('ok = t in ("HfCandDsLites", "x")'), names) == [1]
    src = Path(__file__).resolve().parents[1] / "src" / "o2ml"
    found = {
        str(p.relative_to(src)): lines
        for p in sorted(src.rglob("*.py"))
        if "channels" not in p.relative_to(src).parts
        and (lines := _branches_on_a_channel(ast.parse(p.read_text(encoding="utf-8")), names))
    }
    assert not found, found


def test_channels_are_found_by_any_of_their_names():
    from o2ml import channels
    from o2ml.errors import BadArgumentError

    for m in channels.CHANNELS.values():
        for name in (m.NAME, m.MACRO_CHANNEL, m.SPECIES, m.TABLE, m.SELECTOR.task):
            assert channels.get(name) is m
        assert m.TABLE == m.SELECTOR.table and m.MACRO_CHANNEL == m.SELECTOR.channel
        for name in ("MASS", "MASS_LABEL", "PARTNER_PEAK", "PEAK_LABELS", "SIDEBANDS", "FEATURES",
                     "SCAN_OPTIONS", "MC_LABEL_COLUMNS", "is_signal", "GENERATOR", "SAMPLE_SIZES"):  # fmt: skip
            assert hasattr(m, name), (m.NAME, name)
        assert set(m.SAMPLE_SIZES) == {"full", "fast"}, m.NAME
        assert all(d >= f > 0 for d, f in zip(*m.SAMPLE_SIZES.values(), strict=True)), m.NAME
        assert m.SCAN_OPTIONS["species"] == m.SPECIES and m.SIDEBANDS[0] < m.MASS < m.SIDEBANDS[1]
        assert len(m.PEAK_LABELS) == (2 if m.PARTNER_PEAK else 1), m.NAME  # signal (+ partner)
        assert set(m.FEATURES) <= {c for c in m.SELECTOR.columns if c}, m.NAME
    with pytest.raises(BadArgumentError, match="unknown channel 'Xic'.*dplus \\(DplusToPiKPi"):
        channels.get("Xic")
