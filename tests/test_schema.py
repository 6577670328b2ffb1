"""o2ml.schema: table names, tree names, columns per file kind."""

import numpy as np
import pandas as pd
import pytest

from o2ml import errors, schema
from o2ml.schema import (
    HF_CAND_DS_LITES,
    HF_CAND_LC_LITES,
    PID_TRACKS_MC_ML,
    TPC_SKIM_TOF,
    TPC_SKIM_V0,
    TRACKS_EXTRA,
)


def test_tree_names_follow_the_o2_rule():
    assert HF_CAND_DS_LITES.tree_name == "O2hfcanddslite"
    assert HF_CAND_LC_LITES.tree_name == "O2hfcandlclite"
    assert PID_TRACKS_MC_ML.tree_name == "O2pidtracksmcml"
    assert TRACKS_EXTRA.tree_name == "O2trackextra_002"  # a versioned table: _<version>


# O2Physics PWGHF/TableProducer/treeCreatorDsToKKPi.cxx @ 55f4caa7 (master 9647b514), lines
# 104-154: DECLARE_SOA_TABLE(HfCandDsLites, "AOD", "HFCANDDSLITE", ...), column for column (branch
# "f" + the column's name), with C++ types (PdgBhadMotherPart: int, CandidateReconstructionTables.h
# @ 13b71521, line 380)
DS_LITE = [
    *[(f"fPtProng{i}", "f4") for i in range(3)], *[(f"fImpactParameter{i}", "f4") for i in range(3)],
    *[(f"fNSig{d}{s}{i}", "f4") for i in range(3) for d, s in (
        ("Tpc", "Pi"), ("Tpc", "Ka"), ("Tof", "Pi"), ("Tof", "Ka"), ("TpcTof", "Pi"), ("TpcTof", "Ka"))],
    ("fIsSelDsToKKPi", "i4"), ("fIsSelDsToPiKK", "i4"), ("fM", "f4"), ("fPt", "f4"), ("fEta", "f4"),
    ("fPhi", "f4"), ("fY", "f4"), ("fDecayLength", "f4"), ("fDecayLengthXY", "f4"),
    ("fDecayLengthNormalised", "f4"), ("fDecayLengthXYNormalised", "f4"), ("fCpa", "f4"),
    ("fCpaXY", "f4"), ("fMaxNormalisedDeltaIP", "f4"), ("fImpactParameterXY", "f4"),
    ("fDeltaMassPhi", "f4"), ("fAbsCos3PiK", "f4"), ("fChi2PCA", "f4"), ("fCentrality", "f4"),
    ("fNumContrib", "u2"), ("fFlagMcMatchRec", "i1"), ("fOriginMcRec", "i1"),
    ("fFlagMcDecayChanRec", "i1"), ("fPdgBhadMotherPart", "i4"), ("fIsCandidateSwapped", "i1"),
    ("fSign", "i1"),
]  # fmt: skip

# O2Physics PWGHF/TableProducer/treeCreatorLcToPKPi.cxx @ de7b76d6 (master 9647b514), lines 218-266:
# HfCandLcLites ("HFCANDLCLITE")
LC_LITE = [
    ("fPosX", "f4"), ("fPosY", "f4"), ("fPosZ", "f4"), ("fNProngsContributorsPV", "u1"),
    ("fBitmapProngsContributorsPV", "u1"), ("fChi2PCA", "f4"), ("fDecayLength", "f4"),
    ("fDecayLengthXY", "f4"), ("fDecayLengthXYNormalised", "f4"),
    *[(f"fPtProng{i}", "f4") for i in range(3)], *[(f"fImpactParameter{i}", "f4") for i in range(3)],
    *[(f"fNSig{c}", "f4") for c in (
        "TpcPi0", "TpcPr0", "TofPi0", "TofPr0", "TpcKa1", "TofKa1", "TpcPi2", "TpcPr2", "TofPi2",
        "TofPr2", "TpcTofPi0", "TpcTofPr0", "TpcTofKa1", "TpcTofPi2", "TpcTofPr2")],
    ("fCandidateSelFlag", "i1"), ("fM", "f4"), ("fPt", "f4"), ("fCpa", "f4"), ("fCpaXY", "f4"),
    ("fCt", "f4"), ("fEta", "f4"), ("fPhi", "f4"), ("fY", "f4"), ("fFlagMc", "i1"),
    ("fOriginMcRec", "i1"), ("fIsCandidateSwapped", "i1"), ("fChannel", "i1"), ("fMassKPi", "f4"),
    ("fMlScoreFirstClass", "f4"), ("fMlScoreSecondClass", "f4"), ("fMlScoreThirdClass", "f4"),
    ("fCentFT0C", "f4"),
]  # fmt: skip

# O2Physics DPG/Tasks/TPC/tpcSkimsTableCreator.h @ aa53e5da (master 9647b514), lines 34-58 and
# 61-97: TPCSKIMS_COLUMNS_BASE (+ the V0 columns for SkimmedTPCV0Tree), track columns float
TPC_BASE = [
    ("fIsGoodRct", "?"), *[(c, "f4") for c in (
        "fTPCSignal", "fInvDeDxExpTPC", "fTPCInnerParam", "fTgl", "fSigned1Pt", "fEta", "fPhi",
        "fY", "fMass", "fBetaGamma", "fNormMultTPC", "fNormNClustersTPC", "fNormNClustersTPCPID")],
    ("fPidIndex", "u1"), ("fNSigTPC", "f4"), ("fNSigTOF", "f4"), ("fNSigITS", "f4"),
    ("fRunNumber", "i4"), ("fTrackOcc", "f4"), ("fFt0Occ", "f4"), ("fOccMedianTime", "f4"),
    ("fHadronicRate", "f4"), ("fTPCdEdxNorm", "f4"),
]  # fmt: skip
TPC_V0 = [*TPC_BASE, *[(c, "f4") for c in (
    "fAlphaV0", "fQtV0", "fCosPAV0", "fPtV0", "fRadiusV0", "fGammaPsiPair")]]  # fmt: skip


@pytest.mark.parametrize(
    ("table", "layout"), [(HF_CAND_DS_LITES, DS_LITE), (HF_CAND_LC_LITES, LC_LITE)]
)
def test_lite_tables_are_the_tree_creators_column_for_column(table, layout):
    assert len(layout) == {"HfCandDsLites": 50, "HfCandLcLites": 48}[table.name]
    for kind in ("mc", "data"):  # the MC columns exist in data files too (filled with 0)
        names = table.column_names(kind)
        assert [(c, table[c].dtype) for c in names] == layout, kind
    truth = table.column_names("data", truth=True)
    assert truth[len(layout) :] == ["fTruthPdgCode", "fTruthOrigin", "fTruthReflection"]
    assert all(table[c].truth for c in truth[len(layout) :])
    assert "fTruthPdgCode" not in table.column_names("mc", truth=True)


@pytest.mark.parametrize(("table", "layout"), [(TPC_SKIM_V0, TPC_V0), (TPC_SKIM_TOF, TPC_BASE)])
def test_tpc_skims_are_the_skim_creators_column_for_column(table, layout):
    assert [(c, table[c].dtype) for c in table.column_names("data")] == layout
    assert table.column_names("data", truth=True)[len(layout) :] == ["fTruthPidIndex"]


def test_the_features_o2ml_trains_on_are_lite_columns():
    from o2ml.channels import ds, lc

    assert set(ds.TUTORIAL_FEATURES) <= set(HF_CAND_DS_LITES.column_names("data"))
    assert set(lc.FEATURES) <= set(HF_CAND_LC_LITES.column_names("data"))


def test_lookup_by_table_tree_or_description_any_case():
    for name in ["HfCandDsLites", "O2hfcanddslite", "hfcanddslite", "HFCANDDSLITE"]:
        assert schema.get_table(name) is HF_CAND_DS_LITES
    assert schema.find_table("O2unknown") is None
    with pytest.raises(errors.TableNotFoundError, match=r"Did you mean 'HfCandDsLites'"):
        schema.get_table("HfCandDLites")


def test_conform_casts_and_rejects_unknown_columns():
    df = pd.DataFrame({"fPt": [1.0, 2.0], "fOriginMcRec": [1, 2]})
    arrays = HF_CAND_DS_LITES.conform(df)
    assert arrays["fPt"].dtype == np.float32 and arrays["fOriginMcRec"].dtype == np.int8
    with pytest.raises(errors.SchemaError, match="'fPT' is not part of table HfCandDsLites"):
        HF_CAND_DS_LITES.conform(pd.DataFrame({"fPT": [1.0]}))


def test_bad_kind():
    with pytest.raises(ValueError, match="kind must be"):
        PID_TRACKS_MC_ML.column_names("sim")


def test_require_columns_names_the_source_the_expected_the_found_and_close_names():
    """One check of "the columns are there" for DataFrames, pyarrow tables, mappings of columns
    and lists of names: the message names who needs them (and the file), the columns expected,
    the missing ones, what was found and close names (never a present column)."""
    import pyarrow as pa

    frame = pd.DataFrame({"fM": [1.9], "fPT": [2.0]})
    for table in (frame, pa.table(frame), {"fM": [1.9], "fPT": [2.0]}, ["fM", "fPT"]):
        schema.require_columns(table, ["fM"], "x")  # present: no error
        with pytest.raises(errors.ColumnNotFoundError) as err:
            schema.require_columns(table, ["fM", "fPt"], "a.root: the cuts")
        assert str(err.value) == (
            "a.root: the cuts needs the columns ['fM', 'fPt']; missing ['fPt'] "
            "(found ['fM', 'fPT']). Did you mean 'fPT'?"
        )
    many = pd.DataFrame(columns=[f"fCol{i}" for i in range(30)])
    with pytest.raises(
        errors.ColumnNotFoundError, match=r"missing \['fM'\] \(found 30 columns\)\.$"
    ):
        schema.require_columns(many, ["fM"], "y")
    # the MC signal definition of a channel names the table and what the MC file lacks
    from o2ml.channels import is_signal

    with pytest.raises(errors.ColumnNotFoundError, match=r"signal definition of HfCandLcLites"):
        is_signal(frame, "HfCandLcLites")
