"""Cross-checks with real ROOT (PyPI wheel ``root``, ROOT 6.40): ROOT reads what o2ml writes as
the O2Physics macros do (the synthetic samples, the ``prepare`` outputs, the ROOT outputs of
``o2ml apply``), and RDataFrame's ``Filter`` of a config's own C++ expressions selects
exactly what ``o2ml prepare`` selects (PWGHF/D2H/Macros/ML/prepare_samples.py does it that way)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import ROOT  # root==0.1a12 from the lock (env/requirements.in)

from o2ml import channels, io
from o2ml.schema import PtBin
from o2ml.toymc.generate import ensure_sample
from o2ml.workflow import Expression, conjunction, load_config, prepare
from o2ml.workflow.prepare import PREPARE_SCHEMA

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "config_preparation_DsToKKPi.yml"


def _chain(path: Path, tree: str):
    """TChain over every DF_ folder of a file (the macro takes only one; O2 writes many)."""
    chain = ROOT.TChain()
    f = ROOT.TFile.Open(str(path))
    for key in f.GetListOfKeys():
        if key.GetName().startswith("DF_"):
            chain.Add(f"{path}/{key.GetName()}/{tree}")
    f.Close()
    return chain


def test_expressions_select_what_rdataframe_selects():
    rng = np.random.default_rng(3)
    n = 2000
    cols = {
        "fM": rng.uniform(1.6, 2.2, n), "fA": rng.integers(-2, 3, n).astype(np.float64),
        "fB": rng.normal(0, 2, n), "fFlag": rng.integers(-6, 7, n).astype(np.int32),
    }  # fmt: skip
    rdf = ROOT.RDF.FromNumpy(cols)
    frame = pd.DataFrame(cols)
    for text in [
        "fM < 1.82 || (1.92 < fM && fM < 2.00)",
        "fA > 0 || fB > 1 && fM < 1.8",
        "!fA > 0",
        "!(fA > 0) && !(fB < -1)",
        "abs(fFlag) == 5 || std::abs(fB) > 3",
        "fA + fB * 2 >= 1 - fM / 2",
        "fFlag == (fB < 0)",
        "-fB < 0 && fA != 0 || !(fFlag % 2)",
    ]:
        assert rdf.Filter(text).Count().GetValue() == int(Expression(text).mask(frame).sum()), text


@pytest.mark.parametrize(
    ("sample", "example"),
    [("ds", EXAMPLE), ("dplus", EXAMPLE.with_name("config_preparation_DplusToPiKPi.yml"))],
)
def test_rdataframe_on_the_config_gives_the_candidates_of_o2ml_prepare(tmp_path, sample, example):
    """Ds: o2ml's example; D+: the macro's own config (only its input path changed), whose
    background is ``fM < 1.82 || (1.92 < fM && fM < 2.00)`` on a float column."""
    s = ensure_sample(sample, fast=True)
    text = example.read_text().replace(f"../data/{sample}_mc.root", str(s.mc))
    text = text.replace("../output/prepared", str(tmp_path / "out"))
    cfg_path = tmp_path / "config.yml"  # the D+ config writes into its own folder (".")
    cfg_path.write_text(text)
    report = prepare(cfg_path)
    cfg = load_config(cfg_path, PREPARE_SCHEMA, "preparation config")
    rdf = ROOT.RDataFrame(_chain(s.mc, cfg.get("prepare_samples.input.tree_name")))
    table = channels.get(sample).TABLE
    assert rdf.Count().GetValue() == len(io.read_table(s.mc, table, columns=["fM"]))
    pre = conjunction(cfg.get("preselections"))
    selected = rdf.Filter(" && ".join(cfg.get("preselections"))) if pre is not None else rdf
    for idx, (path, label, n) in enumerate(report.outputs):
        by_class = selected.Filter(f"{cfg.get('col_tag')} == {idx}")
        if idx == 0:
            by_class = by_class.Filter(cfg.get("filt_bkg_mass"))
        assert by_class.Count().GetValue() == n, label
        # ROOT reads the flat tree o2ml wrote, with the same entries and masses
        f = ROOT.TFile.Open(str(path))
        tree = f.Get(cfg.get("output.tree_name"))
        assert tree.GetEntries() == n
        masses = ROOT.RDataFrame(tree).Take["float"]("fM")
        out_tree = cfg.get("output.tree_name")
        np.testing.assert_array_equal(
            np.asarray(list(masses)), io.read_table(path, out_tree, columns=["fM"])["fM"]
        )
        f.Close()


def test_root_reads_the_scored_outputs_of_o2ml_apply(tmp_path):
    """The ROOT outputs of `o2ml apply` (one per input, DF_ folders as O2 writes) read with a
    TChain over the folders and RDataFrame: the same candidates, masses and scores as o2ml reads,
    and RDataFrame's Filter on a score column selects what pandas selects."""
    from o2ml.inference import Execution, apply_files
    from o2ml.inference.apply import OUTPUT_TABLE

    s = ensure_sample("ds", fast=True)
    model = _quick_model(tmp_path / "model")
    execution = Execution(scheduler="synchronous", progress=False)
    report = apply_files(model, [s.data], tmp_path / "scored", fmt="root", execution=execution)
    (result,) = report.results
    assert result.status == "written"
    ours = io.read_table(result.output, OUTPUT_TABLE)
    rdf = ROOT.RDataFrame(_chain(Path(result.output), OUTPUT_TABLE))  # tree O2mlscores
    assert rdf.Count().GetValue() == len(ours) == result.entries
    score = next(c for c in ours.columns if c.startswith("score"))  # the background class
    for column in ("fM", score):
        values = np.asarray(list(rdf.Take["float"](column)))
        np.testing.assert_array_equal(values, ours[column].to_numpy(np.float32))
    cut = f"{score} < 0.05 && fPt >= 2"
    expected = int(((ours[score] < np.float32(0.05)) & (ours["fPt"] >= 2)).sum())
    assert rdf.Filter(cut).Count().GetValue() == expected > 0


def _quick_model(folder: Path) -> Path:
    """A small 3-class model directory of the generated Ds sample (two pT bins)."""
    import xgboost as xgb

    from o2ml.export import model_dir
    from o2ml.export.choices import ExportSettings

    s = ensure_sample("ds", fast=True)
    features = ["fCpa", "fDecayLength", "fImpactParameterXY"]
    mc = io.read_table(s.mc, "HfCandDsLites")
    models = {}
    for b in (PtBin(2, 6), PtBin(6, 12)):
        part = mc[(mc["fPt"] >= b.lo) & (mc["fPt"] < b.hi)]
        y = np.where(part["fOriginMcRec"] == 0, 0, np.where(part["fOriginMcRec"] == 1, 1, 2))
        clf = xgb.XGBClassifier(n_estimators=20, max_depth=3, random_state=1, n_jobs=1)
        clf.fit(part[features], y)
        models[b] = clf
    export = ExportSettings(features=features, class_labels=["Bkg", "Prompt", "Nonprompt"])
    return model_dir.write_model_dir(models, folder, export=export, cuts=[[0.5, 0.0, 0.0]] * 2)


# ------------------------------------------ ptCandMin/ptCandMax, compared as O2Physics compares

_CPP = r"""
#include <algorithm>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>
namespace o2ml_ptcheck {
// a Configurable<double> from a dpl-config.json string: boost's stream_translator, is >> d
double parse(const std::string& text) { std::istringstream is(text); double d = 0; is >> d; return d; }
// Tools/ML/MlResponse.h findBin (O2Physics 7b8b028b), called with the float candidate.pt()
int findBin(const std::vector<double>& limits, const float& value) {
  if (value < limits.front()) { return -1; }
  if (value >= limits.back()) { return -1; }
  return std::distance(limits.begin(), std::upper_bound(limits.begin(), limits.end(), value)) - 1;
}
// the selectors' cut: float candpT against Configurable<double> ptCandMin/ptCandMax
bool rejectGreater(float pt, double mn, double mx) { return pt < mn || pt > mx; }       // Ds, D+
bool rejectGreaterEqual(float pt, double mn, double mx) { return pt < mn || pt >= mx; } // Lc
}
"""


def test_exported_pt_limits_in_cpp_never_pass_a_candidate_without_a_bin(tmp_path):
    """The exported strings parsed and compared in C++ (cling) as the selectors and MlResponse do:
    no float pT on or beside an edge or a limit passes the cut with findBin = -1, none with a bin
    is lost, and the Python twin decides every one the same way; the old ptCandMax = last edge
    does stop a Ds job."""
    from o2ml.channels import SELECTORS
    from o2ml.export.o2physics import MlResponseConfig, find_bin, pt_accepted

    if not hasattr(ROOT, "o2ml_ptcheck"):
        assert ROOT.gInterpreter.Declare(_CPP)
    cpp = ROOT.o2ml_ptcheck
    for task, selector in SELECTORS.items():
        reject = cpp.rejectGreater if selector.pt_cut.above == ">" else cpp.rejectGreaterEqual
        for edges in ([2.0, 4.0, 6.0], [0.1, 1.3, 24.7], [1.0, 2.5, 36.0]):
            config = MlResponseConfig(edges, [0, 2, 2], [[0.5, 0, 0]] * 2, ["fCpa"],
                                      ["a.onnx", "b.onnx"], task=task)  # fmt: skip
            section = config.configurables()
            limits = ROOT.std.vector["double"]()
            for text in section["binsPtMl"]["values"]:
                limits.push_back(cpp.parse(text))
            lo, hi = cpp.parse(section["ptCandMin"]), cpp.parse(section["ptCandMax"])
            probes = np.array([*edges, lo, hi], dtype=np.float32)
            probes = np.unique(np.concatenate([
                probes, np.nextafter(probes, np.float32(np.inf)),
                np.nextafter(probes, np.float32(-np.inf)),
            ]))  # fmt: skip
            for pt in probes:
                accepted, model = not reject(float(pt), lo, hi), cpp.findBin(limits, float(pt))
                assert not (accepted and model == -1), (task, edges, float(pt))
                assert accepted == (model != -1), (task, edges, float(pt))  # nothing lost
                assert accepted == pt_accepted([pt], config.pt_cand_min, config.pt_cand_max,
                                               config.pt_cut)[0]  # fmt: skip
                assert model == find_bin(edges, np.array([pt]))[0]
    # what o2ml wrote before (ptCandMax = the last edge) lets 6.0 through the Ds cut: -1
    edges6 = ROOT.std.vector["double"]([2.0, 4.0, 6.0])
    assert not cpp.rejectGreater(6.0, 2.0, cpp.parse("6.0")) and cpp.findBin(edges6, 6.0) == -1


# ------------------------------------------------------- the macro prepare_samples.py and DF_


def _macro_reads(path: Path) -> bool:
    """prepare_samples.py's get_path_input_trees (O2Physics PWGHF/D2H/Macros/ML, 58361bb9): it
    keeps the top-level keys whose name contains "DF"; more than two, or two of different names,
    print "ERROR: too many DFs in <name of root file>!..." and sys.exit() (exit status 0)."""
    f = ROOT.TFile.Open(str(path))
    names = [k.GetName() for k in f.GetListOfKeys() if "DF" in k.GetName()]
    f.Close()
    return len(names) == 1 or (len(names) == 2 and names[0].split(";")[0] == names[1].split(";")[0])


def test_generate_folders_1_writes_a_file_the_o2physics_macro_reads(tmp_path):
    """The example preparation config says which sample the macro reads: `o2ml generate ds
    --folders 1` (one DF_ folder); the default sample (4 DF_ folders, as O2 writes many) stops it."""
    from o2ml.cli import main

    assert main(["generate", "ds", "--out", str(tmp_path / "one"), "--fast", "--folders", "1",
                 "-q"]) == 0  # fmt: skip
    assert _macro_reads(tmp_path / "one" / "ds_mc.root")
    assert not _macro_reads(ensure_sample("ds", fast=True).mc)
    text = EXAMPLE.read_text()
    assert "o2ml generate ds --out data_1df --folders 1" in text and "too many DFs" in text


# ------------------------------------------- C++ types of Filter: o2ml's Expression against ROOT

_TYPED_EXPRESSIONS = [
    # the macro's filt_bkg_mass (config_preparation_DplusToPiKPi.yml) on a float column
    "fM < 1.82 || (1.92 < fM && fM < 2.00)",
    # float against double: fM == float32(1.82) is above the double 1.82
    "fM <= 1.82", "fM == 1.82", "fM <= 1.82f", "fM == 1.82f", "1.82 < fM", "fM * 2 == 3.64f",
    "fM * 2 == 3.64", "fM < 1.82L", "fM - fD > 0", "fM == fD", "fM / 3 < 0.6066666666666667",
    # integer division and modulo, mixed int / float
    "fI / 2 == -3", "fI % 3 == -1", "fI / 2 * 2 != fI", "-fI / 4 == 1", "fI / 2.0 < -3",
    "fI / 2.f < -3", "fU / 2 * 2 == fU", "fI % -3 == 1", "fI * fU / 7 > 3",
    # literal types, signed against unsigned
    "fI < 1u", "-1 < fI", "fU > -1", "fU * 300 > 70000", "fI == 010 - 15", "0x7 == fI",
    "0b101 == fI", "fI * 3000000000u > 0",
    # precedence and logical operators
    "!fB", "!fI && fB", "!fI > 0", "-(fI + 1) > 0", "- -fI > 0", "fI < fM < 2", "3 > fI > 0",
    "fB + fB == 2", "fB == true", "fI > 0 == false", "fI <= -1 || fI >= 5 && fB",
    "(fI <= -1 || fI >= 5) && fB", "(fI & 1) == 1", "fI & 1 == 1 || fB", "(fI | 4 ^ 1) == 5",
    "fI >> 1 == -4", "1 << 2 + 1 == 8", "fM > 1.8 and not fB", "fI not_eq 0 or fB",
    "(compl fI) == 6", "fD != fD", "fD > 0 || fD < 0", "!(fI > 0) == !fB",
    # functions
    "std::abs(fI) / 3 == 2", "abs(fM - 1.82) < 1e-9", "sqrt(fM) < sqrt(1.82)",
    "TMath::Sqrt(fM) > 1.3490737563232043", "pow(fM, 2) > 3.3124", "std::min(fI, 3) == 3",
    "max(fM, 1.9f) > 1.9", "fabs(fI) > 2.5", "log(fU + 1) > 1",
]  # fmt: skip


def test_expressions_keep_the_rows_rdataframe_filter_keeps(tmp_path):
    """A tree written by uproot (float, double, int, unsigned char, bool branches; fM holds
    float32(1.82) exactly): RDataFrame's Filter and o2ml's Expression keep the same rows for
    integer division, float-against-double boundaries, literal types, precedence and logic;
    what ROOT refuses (not bool, `%` of a float, `~`) o2ml refuses too."""
    import pytest
    import uproot

    from o2ml.errors import SelectionSyntaxError

    cols = {
        "fM": np.array([1.82, 1.75, 1.92, 2.0, 1.9, 1.5, 1.82, 2.1, 1.95, 1.6, 1.91, 1.81],
                       np.float32),
        "fD": np.array([1.82, 1.75, 1.92, 2.0, 1.9, 1.5, -1.82, 2.1, np.nan, 0.0, 1.91,
                        np.float32(1.81)], np.float64),
        "fI": np.array([-7, 7, -1, 0, 3, -3, 5, 8, -8, 2, 1, -2], np.int32),
        "fU": np.array([0, 1, 2, 3, 4, 5, 250, 255, 7, 8, 9, 1], np.uint8),
        "fB": np.array([0, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0], np.bool_),
        "fRow": np.arange(12, dtype=np.int64),
    }  # fmt: skip
    path = tmp_path / "typed.root"
    with uproot.recreate(path) as f:
        f.mktree("t", {k: v.dtype for k, v in cols.items()})
        f["t"].extend(cols)
    frame = io.read_table(path, "t")
    assert {c: frame[c].dtype for c in cols} == {c: v.dtype for c, v in cols.items()}
    rdf = ROOT.RDataFrame("t", str(path))
    assert [str(rdf.GetColumnType(c)) for c in ("fM", "fD", "fI", "fU", "fB")] == [
        "Float_t", "Double_t", "Int_t", "UChar_t", "Bool_t",
    ]  # fmt: skip
    for text in _TYPED_EXPRESSIONS:
        kept = np.sort(rdf.Filter(text).AsNumpy(["fRow"])["fRow"])
        ours = frame["fRow"].to_numpy()[Expression(text).mask(frame)]
        assert kept.tolist() == ours.tolist(), text
    n_float = int(Expression("fM <= 1.82f").mask(frame).sum())
    assert n_float > int(Expression("fM <= 1.82").mask(frame).sum())  # the boundary is there
    for text in ("fI & 1", "fM % 2 == 0", "~fI == 6"):
        try:
            rdf.Filter(text).Count().GetValue()
        except Exception:  # cppyy's error of ROOT's jit or tokenizer
            pass
        else:
            raise AssertionError(f"ROOT accepted {text!r}")
        with pytest.raises(SelectionSyntaxError):
            Expression(text).mask(frame)
