"""o2ml.schema: table names, tree names, columns per file kind."""

import numpy as np
import pandas as pd
import pytest

from o2ml import errors, schema
from o2ml.schema import HF_CAND_DS_LITES, HF_CAND_LC_LITES, PID_TRACKS


def test_tree_names_follow_the_o2_rule():
    assert HF_CAND_DS_LITES.tree_name == "O2hfcanddslite"
    assert HF_CAND_LC_LITES.tree_name == "O2hfcandlclite"
    assert PID_TRACKS.tree_name == "O2pidtrack"


def test_ds_columns_of_physics_reference():
    cols = HF_CAND_DS_LITES.column_names("data")
    for c in [
        "fM",
        "fPt",
        "fCpa",
        "fCpaXY",
        "fDecayLength",
        "fDecayLengthXY",
        "fDeltaMassPhi",
        "fImpactParameterXY",
        "fAbsCos3PiK",
        "fNSigTpcTofKa2",
        "fMaxNormalisedDeltaIP",
    ]:
        assert c in cols
    assert len(cols) == 40
    mc = HF_CAND_DS_LITES.column_names("mc")
    assert mc[-2:] == ["fFlagMcMatchRec", "fOriginMcRec"]
    assert "fTruthPdgCode" not in mc and "fFlagMcMatchRec" not in cols
    truth = HF_CAND_DS_LITES.column_names("data", truth=True)
    assert truth[-2:] == ["fTruthPdgCode", "fTruthOrigin"]


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
        PID_TRACKS.column_names("sim")
