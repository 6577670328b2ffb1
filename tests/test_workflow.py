"""o2ml.workflow: C++ expressions, the O2Physics D2H YAML configs, and `o2ml prepare`."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from o2ml import io, selection
from o2ml.cli import main
from o2ml.errors import ColumnNotFoundError, ConfigError, SelectionSyntaxError
from o2ml.toymc.generate import ensure_sample
from o2ml.workflow import Expression, conjunction, load_config, prepare, train
from o2ml.workflow.prepare import PREPARE_SCHEMA
from o2ml.workflow.train import DONE

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "config_preparation_DsToKKPi.yml"


# ------------------------------------------------------------------------------- expressions
@pytest.fixture()
def frame():
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {"fM": rng.uniform(1.6, 2.2, 500), "fA": rng.integers(-2, 3, 500).astype(float),
         "fB": rng.normal(0, 2, 500), "fFlag": rng.integers(-6, 7, 500)}
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "python"),
    [
        (
            "fM < 1.82 || (1.92 < fM && fM < 2.00)",
            lambda d: (d.fM < 1.82) | ((1.92 < d.fM) & (d.fM < 2.0)),
        ),
        # && binds tighter than ||, as in C++
        ("fA > 0 || fB > 1 && fM < 1.8", lambda d: (d.fA > 0) | ((d.fB > 1) & (d.fM < 1.8))),
        # ! binds tighter than a comparison: (!fA) > 0, not !(fA > 0)
        ("!fA > 0", lambda d: (d.fA == 0).astype(int) > 0),
        ("!(fA > 0) && !(fB < -1)", lambda d: ~(d.fA > 0) & ~(d.fB < -1)),
        ("abs(fFlag) == 5 || std::abs(fB) > 3", lambda d: (d.fFlag.abs() == 5) | (d.fB.abs() > 3)),
        ("fA + fB * 2 >= 1 - fM / 2", lambda d: d.fA + d.fB * 2 >= 1 - d.fM / 2),
        ("-fB < 0 && fA != 0", lambda d: (-d.fB < 0) & (d.fA != 0)),
        ("fFlag == (fB < 0)", lambda d: d.fFlag == (d.fB < 0).astype(int)),
        ("sqrt(fM * fM) > 1.9f", lambda d: d.fM > 1.9),
    ],
)
def test_cpp_expressions_follow_cpp_precedence(frame, text, python):
    np.testing.assert_array_equal(Expression(text).mask(frame), python(frame).to_numpy())


def test_expression_errors_name_the_expression_and_position(frame):
    for text, what in [("fM <", "end of the expression"), ("foo(fM) > 1", "unknown function"),
                       ("fM $ 2", "character 4"), ("(fM > 1", r"expected '\)'"), ("", "empty")]:  # fmt: skip
        with pytest.raises(SelectionSyntaxError, match=what):
            Expression(text)
    with pytest.raises(ColumnNotFoundError, match=r"fMM.*Did you mean .fM."):
        Expression("fMM > 1").mask(frame)
    both = conjunction(["fM > 1.8", "fA > 0 || fB > 0"])
    assert both.text == "(fM > 1.8) && (fA > 0 || fB > 0)"
    assert conjunction([]) is None and conjunction(None) is None
    assert Expression("fB > 0 && fM < 2").columns == ["fB", "fM"]


# ------------------------------------------------------------------------------- configs
def test_configs_load_python_tuples_safely_and_keep_lines(tmp_path):
    cfg = tmp_path / "c.yml"
    cfg.write_text(
        "channel: Ds\nml:\n  ranges: {max_depth: !!python/tuple [2, 3], eta: !!python/tuple [0.03, 0.06]}\n"
        "colour: red\n"
    )
    c = load_config(cfg, {"channel": ((str,), True), "ml": {"ranges": ((dict,), True)}}, "test")
    assert c.get("ml.ranges") == {"max_depth": (2, 3), "eta": (0.03, 0.06)}
    assert isinstance(c.get("ml.ranges")["max_depth"][0], int)  # Optuna picks int from it
    assert c.lines["ml.ranges"] == 3 and c.unknown == [f"{cfg}, line 4: unknown key 'colour'"]
    evil = tmp_path / "evil.yml"
    evil.write_text("channel: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(ConfigError, match="not a valid YAML"):
        load_config(evil, {"channel": ((str,), True)}, "test")


def test_config_errors_name_key_file_and_line(tmp_path):
    text = EXAMPLE.read_text()
    bad = tmp_path / "bad.yml"
    bad.write_text(text.replace("col_tag: &col_tag fOriginMcRec", "col_tag: &col_tag 12"))
    with pytest.raises(
        ConfigError, match=rf"{bad}, line \d+: key 'col_tag': expected a string, found 12"
    ):
        load_config(bad, PREPARE_SCHEMA, "preparation config")
    bad.write_text(text.replace("filt_bkg_mass:", "filt_bkg_mas:"))
    with pytest.raises(
        ConfigError, match=r"expected the key 'filt_bkg_mass' .*Did you mean 'filt_bkg_mas'"
    ):
        load_config(bad, PREPARE_SCHEMA, "preparation config")
    bad.write_text(text.replace("    tree_name: O2hfcanddslite\n", ""))
    with pytest.raises(
        ConfigError, match=r"line \d+: expected the key 'prepare_samples.input.tree_name'"
    ):
        load_config(bad, PREPARE_SCHEMA, "preparation config")


# ------------------------------------------------------------------------------- prepare
def _config(tmp_path: Path, mc: Path, **replace) -> Path:
    text = (
        EXAMPLE.read_text()
        .replace("../data/ds_mc.root", str(mc))
        .replace("../output/prepared", str(tmp_path / "out"))
    )
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    cfg = tmp_path / "config.yml"
    cfg.write_text(text)
    return cfg


def test_prepare_writes_the_classes_as_the_macro_labels_them(tmp_path):
    """Bkg = fOriginMcRec 0 in the sidebands, Prompt/Nonprompt = 1/2, the example's preselection
    keeps O2Physics' Ds signal: exactly the candidates o2ml's own reader calls signal. Every DF_
    folder is read; outputs are flat trees without the removed columns."""
    s = ensure_sample("ds", fast=True)
    report = prepare(_config(tmp_path, s.mc))
    counts = {label: n for _, label, n in report.outputs}
    mc = selection.read_candidates(s.mc, "HfCandDsLites", [], kind="mc")
    assert counts["Prompt"] == int((mc.fOriginMcRec == 1).sum())
    assert counts["Nonprompt"] == int((mc.fOriginMcRec == 2).sum())
    raw = io.read_table(s.mc, "HfCandDsLites", columns=["fM", "fOriginMcRec"])
    sb = (raw.fOriginMcRec == 0) & ((raw.fM < 1.75) | (raw.fM > 2.10))
    assert counts["Bkg"] == int(sb.sum()) > 0
    for path, label, n in report.outputs:
        assert path == tmp_path / "out" / f"{label}_DsToKKPi.root"
        (info,) = io.describe(path)
        assert info.tree == "treeMLDsToKKPi" and info.paths == ("treeMLDsToKKPi;1",)
        assert info.entries == n and "fOriginMcRec" not in info.columns and "fM" in info.columns
    bkg = io.read_table(tmp_path / "out" / "Bkg_DsToKKPi.root", "treeMLDsToKKPi", columns=["fM"])
    assert ((bkg.fM < 1.75) | (bkg.fM > 2.10)).all()


def test_prepare_refuses_to_replace_outputs_and_reports_bad_columns(tmp_path, capsys):
    s = ensure_sample("ds", fast=True)
    cfg = _config(tmp_path, s.mc)
    assert main(["prepare", str(cfg)]) == 0
    first = (tmp_path / "out" / "Bkg_DsToKKPi.root").read_bytes()
    assert main(["prepare", str(cfg)]) == 2
    assert "exist; pass overwrite (--overwrite)" in capsys.readouterr().err
    assert (tmp_path / "out" / "Bkg_DsToKKPi.root").read_bytes() == first
    assert main(["prepare", str(cfg), "--overwrite"]) == 0
    bad = _config(tmp_path, s.mc, **{"    *col_tag\n": "    *col_tag, fNoSuchColumn\n"})
    assert main(["prepare", str(bad), "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert "key 'cols_to_remove'" in err and "fNoSuchColumn" in err, err
    extra = _config(
        tmp_path, s.mc, **{"channel: DsToKKPi\n": "channel: DsToKKPi\nseed_split: 42\n"}
    )
    assert main(["prepare", str(extra), "--overwrite"]) == 0
    assert "unknown key 'seed_split' (not used)" in capsys.readouterr().err


# ------------------------------------------------------------------------------- train
TRAIN_EXAMPLE = REPO / "examples" / "config_training_DsToKKPi.yml"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """The FAST Ds MC prepared by the example config."""
    d = tmp_path_factory.mktemp("prepared")
    s = ensure_sample("ds", fast=True)
    cfg = d / "prep.yml"
    cfg.write_text(
        EXAMPLE.read_text().replace("../data/ds_mc.root", str(s.mc)).replace("../output/prepared", str(d / "out"))
    )  # fmt: skip
    prepare(cfg)
    return d / "out"


def _train_config(tmp_path: Path, prepared: Path, **replace) -> Path:
    text = TRAIN_EXAMPLE.read_text().replace("../output/prepared/", f"{prepared}/")
    text = text.replace("../output/trainings/Ds", str(tmp_path / "trainings"))
    text = text.replace('"n_estimators": 800', '"n_estimators": 40')  # small and quick
    text = text.replace('extension: ["pdf", "png"]', 'extension: ["png"]')
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    tmp_path.mkdir(parents=True, exist_ok=True)
    cfg = tmp_path / "train.yml"
    cfg.write_text(text)
    return cfg


def _small_hyper_pars(cfg: Path, n_bins: int, trees: int) -> None:
    """Replace the config's hyper_pars by n_bins small models (quick trainings)."""
    text = cfg.read_text()
    start = text.index("  hyper_pars: [")
    end = text.index("]\n", text.index("hist}", start)) + 2
    one = f'{{"max_depth": 3, "n_estimators": {trees}, "tree_method": hist}}'
    cfg.write_text(text[:start] + f"  hyper_pars: [{', '.join([one] * n_bins)}]\n" + text[end:])


def test_train_writes_the_macro_outputs_and_a_deployable_model(tmp_path, prepared):
    """Per pT bin the macro's plots, log, test-set parquet (Labels + ML_output_<label>), the model
    as ONNX and XGBoost JSON (no pickle); the classes balanced as 'equal' takes them (head rows);
    the MlResponse twin of the written configuration gives the ONNX scores of the test set."""
    import xgboost as xgb

    from o2ml.export import o2physics

    report = train(_train_config(tmp_path, prepared), progress=False)
    assert [(b.lo, b.hi) for b in report.bins] == [(2, 4), (4, 6), (6, 12)]
    for b in report.bins:
        names = {p.name for p in b.folder.iterdir()}
        tag = f"pT_{b.lo:g}_{b.hi:g}"
        expected = {
            f"DistributionsAll_{tag}.png", f"CorrMatrixBkg_{tag}.png", f"MLOutputDistrPrompt_{tag}.png",
            f"ROCCurveAll_{tag}.png", f"ROCCurveTrainTest_{tag}.pdf", f"PrecisionRecallAll_{tag}.pdf",
            "FeatureImportance_Nonprompt_DsToKKPi.png", "FeatureImportanceAll_DsToKKPi.png", "log.txt",
            f"DsToKKPi_ModelApplied_{tag}.parquet.gzip", f"ModelHandler_onnx_DsToKKPi_{tag}.onnx",
            f"ModelHandler_DsToKKPi_{tag}.json",
        }  # fmt: skip
        assert expected <= names, expected - names
        assert {f.name for f in b.files} | {DONE} == names  # every file written is reported
        assert not [n for n in names if n.endswith((".pickle", ".pkl"))]
        o2p = report.mlresponse.parent / f"ModelHandler_onnx_DsToKKPi_{tag}.onnx"
        assert (
            b.folder / f"ModelHandler_onnx_DsToKKPi_{tag}.onnx"
        ).read_bytes() == o2p.read_bytes()
        used = (b.folder / "log.txt").read_text().split("used for training and testing")[1]
        counts = [int(n) for n in re.findall(r"(?:Bkg|Prompt|Nonprompt): (\d+)", used)[:3]]
        n_all = sum(counts)  # sklearn puts ceil(test_fraction x n) in the test set
        assert len(set(counts)) == 1 and sum(b.n_train.values()) == n_all - math.ceil(0.3 * n_all)
        test = pd.read_parquet(b.folder / f"DsToKKPi_ModelApplied_{tag}.parquet.gzip")
        assert list(test.columns) == [
            "fPt",
            "fM",
            "Labels",
            "ML_output_Bkg",
            "ML_output_Prompt",
            "ML_output_Nonprompt",
        ]
        assert ((test.fPt >= b.lo) & (test.fPt < b.hi)).all()
        np.testing.assert_allclose(test.filter(like="ML_output").sum(axis=1), 1, atol=1e-5)
        assert b.roc_auc_test > 0.85, b
        log = (b.folder / "log.txt").read_text()
        assert "Number of available candidates" in log and "Model hyperparameters" in log
        clf = xgb.XGBClassifier()
        clf.load_model(b.folder / f"ModelHandler_DsToKKPi_{tag}.json")
        assert clf.get_params()["n_estimators"] == 40
        assert clf.get_params()["subsample"] is None  # only the config's hyper-parameters
    twin = o2physics.MlResponse.from_json(report.mlresponse)
    b = report.bins[0]
    tag = f"pT_{b.lo:g}_{b.hi:g}"
    test = pd.read_parquet(b.folder / f"DsToKKPi_ModelApplied_{tag}.parquet.gzip")
    feats = io.read_table(prepared / "Prompt_DsToKKPi.root", "treeMLDsToKKPi")
    x = feats[(feats.fPt >= 2) & (feats.fPt < 4)].iloc[:200]
    cfg = load_config(_train_config(tmp_path, prepared), {}, "training config")
    features = cfg.get("ml.training_vars")
    scores = twin.get_model_output(x[features], x["fPt"].to_numpy())
    clf = xgb.XGBClassifier()
    clf.load_model(b.folder / f"ModelHandler_DsToKKPi_{tag}.json")
    np.testing.assert_allclose(scores, clf.predict_proba(x[features]), atol=1e-5)


def test_train_with_optuna_all_signal_and_the_cli(tmp_path, prepared, capsys):
    """hyper_pars_opt.activate: a stored Optuna study per bin over the config's tuple ranges
    (ints stay ints); all_signal keeps every signal candidate; a re-run needs --overwrite."""
    cfg = _train_config(
        tmp_path, prepared,
        **{"activate: false": "activate: true", "ntrials: 25": "ntrials: 2", "share: equal": "share: all_signal",
           '"n_estimators": !!python/tuple [400, 2000]': '"n_estimators": !!python/tuple [20, 40]',
           "pt_bins_limits: [2, 4, 6, 12]": "pt_bins_limits: [2, 6]", "bkg_factor: [1., 1., 1.]": "bkg_factor: [1.]"},
    )  # fmt: skip
    _small_hyper_pars(cfg, n_bins=1, trees=40)
    assert main(["train", str(cfg), "-q"]) == 0
    out = capsys.readouterr().out
    assert "pT 2-6" in out and "MlResponse configuration" in out
    import optuna

    db = f"sqlite:///{tmp_path / 'trainings' / 'optuna.db'}"
    (summary,) = optuna.get_all_study_summaries(db)
    assert summary.n_trials == 2
    study = optuna.load_study(study_name=summary.study_name, storage=db)
    assert all(isinstance(t.params["max_depth"], int) for t in study.trials)
    assert all(20 <= t.params["n_estimators"] <= 40 for t in study.trials)
    prompt = io.read_table(prepared / "Prompt_DsToKKPi.root", "treeMLDsToKKPi", columns=["fPt"])
    log = (tmp_path / "trainings" / "pt2_6" / "log.txt").read_text()
    assert f"Prompt: {int(((prompt.fPt >= 2) & (prompt.fPt < 6)).sum())}" in log  # all signal kept
    assert main(["train", str(cfg), "-q"]) == 2
    assert "not empty; pass --overwrite" in capsys.readouterr().err


def test_train_config_errors_name_the_key_and_line(tmp_path, prepared, capsys):
    bad = _train_config(tmp_path, prepared, **{"bkg_factor: [1., 1., 1.]": "bkg_factor: [1.]",
                                               "share: equal": "share: all_signal"})  # fmt: skip
    assert main(["train", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "key 'data_prep.class_balance.bkg_factor'" in err and "one factor per pT bin (3)" in err
    assert f"{bad}, line" in err
    gone = _train_config(tmp_path, prepared, **{f"{prepared}/": f"{tmp_path}/nowhere/"})
    assert main(["train", str(gone)]) == 2
    err = capsys.readouterr().err
    assert (
        "key 'data_prep.indirs.Bkg'" in err and "Bkg_DsToKKPi.root" in err and "o2ml prepare" in err
    )
    ranges = _train_config(
        tmp_path / "ranges", prepared,
        **{'"max_depth": !!python/tuple [2, 3]': '"max_depth": !!python/tuple [2, 3, 4]'},
    )  # fmt: skip
    assert main(["train", str(ranges)]) == 2
    err = capsys.readouterr().err
    assert "key 'ml.hyper_pars_opt.hyper_par_ranges'" in err and "(low, high)" in err
    assert "[2, 3, 4]" in err or "(2, 3, 4)" in err


# ------------------------------------------------------------------------------- export
def test_export_writes_the_plateau_choice_or_a_thresholds_file(tmp_path, capsys):
    """o2ml export: each bin's most efficient plateau point, or a thresholds file, into the
    MlResponse configuration the dashboards write (same exporter), with the scans' ONNX files."""
    import json

    from dashboard_helpers import make_toy_inputs

    from o2ml.export.o2physics import CutDirection, MlResponseConfig

    toy = make_toy_inputs(tmp_path / "scans")
    for p in (toy.candidates, toy.expected_path):  # only the scans stay in the folder
        p.rename(tmp_path / p.name)
    out = tmp_path / "plateau.json"
    assert main(["export", "--scan", str(tmp_path / "scans"), "--plateau", "--out", str(out)]) == 0
    config = MlResponseConfig.from_json(out, features=toy.scans[0].metadata.get("features"))
    for row, s in zip(config.cuts, toy.scans, strict=True):
        i = s.plateau.i_most_efficient
        assert row[:2] == pytest.approx(list(s.thresholds[i]))
    assert config.cut_dir[:2] == [CutDirection.CutGreater, CutDirection.CutSmaller]
    assert config.bins_pt == [toy.scans[0].pt_min] + [s.pt_max for s in toy.scans]
    chosen = {f"{s.pt_min:g}-{s.pt_max:g}": {"score_bkg": ["<", 0.1], "score_prompt": [">", 0.5]}
              for s in toy.scans}  # fmt: skip
    thr = tmp_path / "thresholds.json"
    thr.write_text(json.dumps(chosen))
    out2 = tmp_path / "chosen.json"
    assert (
        main(
            [
                "export",
                "--scan",
                str(tmp_path / "scans"),
                "--thresholds",
                str(thr),
                "--out",
                str(out2),
            ]
        )
        == 0
    )
    config2 = MlResponseConfig.from_json(out2, features=toy.scans[0].metadata.get("features"))
    assert all(row[:2] == [0.1, 0.5] for row in config2.cuts)
    assert main(["export", "--scan", str(tmp_path / "scans"), "--plateau", "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    bad_thresholds = {
        "1-2": "thresholds for pT bins [(1.0, 2.0)]",  # a bin the scans do not have
        "two-four": "expected 'lo-hi'",
    }
    for key, message in bad_thresholds.items():
        thr.write_text(json.dumps({key: {"score_bkg": ["<", 0.1]}}))
        export = ["export", "--scan", str(tmp_path / "scans"), "--thresholds", str(thr)]
        assert main([*export, "--out", str(tmp_path / "x.json")]) == 2
        assert message in capsys.readouterr().err


def test_a_cut_on_the_background_score_alone_exports_all_three_classes():
    """A 1-D scan of score_bkg (notebook 01's) belongs to a 3-class model: its export must give
    MlResponse three classes (CutGreater on the background, no cut on the others)."""
    from types import SimpleNamespace

    from o2ml.export.choices import CLASS_COLUMNS, class_columns_of, config_from_choices
    from o2ml.export.o2physics import CutDirection

    bkg_only = SimpleNamespace(metadata={}, cut_names=["score_bkg"])
    assert class_columns_of(bkg_only) == list(CLASS_COLUMNS)
    other = SimpleNamespace(metadata={}, cut_names=["mse"])
    assert class_columns_of(other) == ["mse"]
    recorded = SimpleNamespace(metadata={"class_columns": ["a", "b"]}, cut_names=["a"])
    assert class_columns_of(recorded) == ["a", "b"]
    config = config_from_choices(
        {(2.0, 4.0): {"score_bkg": ("<", 0.05)}}, class_columns=class_columns_of(bkg_only)
    )
    assert config.cut_dir == [CutDirection.CutGreater, CutDirection.CutNot, CutDirection.CutNot]
    assert config.cuts == [[0.05, 0.0, 0.0]]


# ------------------------------------------------------------------------------- the chain
def test_prepare_train_scan_export_from_configs_to_o2physics(tmp_path, prepared, capsys):
    """The analyser's four commands: the example configs (paths changed) through prepare, train,
    scan and export give scan files the dashboards open and an MlResponse configuration whose
    twin applies the trained models."""
    import json

    from o2ml.export.o2physics import MlResponse
    from o2ml.selection import ScanResult
    from o2ml.widgets import EfficiencyCurves, SignificancePlateau

    cfg = _train_config(
        tmp_path, prepared, **{"pt_bins_limits: [2, 4, 6, 12]": "pt_bins_limits: [2, 4, 6]"}
    )
    _small_hyper_pars(cfg, n_bins=2, trees=40)
    assert main(["train", str(cfg), "-q"]) == 0
    s = ensure_sample("ds", fast=True)
    model = tmp_path / "trainings" / "o2physics"
    scans = tmp_path / "scans"
    args = ["scan", "--model", str(model), "--data", str(s.data), "--mc", str(s.mc),
            "--expected-signal", str(s.expected_signal), "--out", str(scans)]  # fmt: skip
    assert main(args) == 0
    files = sorted(scans.glob("scan_pt*.json"))
    assert [f.name for f in files] == ["scan_pt2_4.json", "scan_pt4_6.json"]
    loaded = [ScanResult.load(f) for f in files]
    assert all(r.plateau is not None and np.isfinite(r.significance).any() for r in loaded)
    assert loaded[0].metadata["onnx_file"] == "ModelHandler_onnx_DsToKKPi_pT_2_4.onnx"
    SignificancePlateau({f"{r.pt_min:g}-{r.pt_max:g}": r for r in loaded})
    EfficiencyCurves(loaded[0])
    assert main(args) == 2 and "pass --overwrite" in capsys.readouterr().err
    # a task of no known channel: no MC signal definition or mass peaks to scan with
    custom = tmp_path / "custom"
    custom.mkdir()
    config_file = next(model.glob("dpl-config_*.json"))
    doc = json.loads(config_file.read_text())
    section = doc["hf-candidate-selector-ds-to-k-k-pi"]
    (custom / "dpl-config.json").write_text(json.dumps({"my-own-task": section}))
    for name in section["onnxFileNames"]["values"]:
        (custom / name).write_bytes((model / name).read_bytes())
    features = ",".join(loaded[0].metadata["features"])
    bad = ["scan", "--model", str(custom / "dpl-config.json"), "--features", features,
           "--data", str(s.data), "--mc", str(s.mc), "--expected-signal", str(s.expected_signal),
           "--out", str(tmp_path / "scans2")]  # fmt: skip
    assert main(bad) == 2
    assert (
        "o2ml scans the channels ['DplusToPiKPi', 'DsToKKPi', 'LcToPKPi']"
        in capsys.readouterr().err
    )
    out = tmp_path / "dpl-config.json"
    assert main(["export", "--scan", str(scans), "--plateau", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    section = doc["hf-candidate-selector-ds-to-k-k-pi"]
    assert section["onnxFileNames"]["values"] == [r.metadata["onnx_file"] for r in loaded]
    for name in section["onnxFileNames"]["values"]:  # the deployable folder: JSON + its ONNX files
        (tmp_path / name).write_bytes((model / name).read_bytes())
    twin = MlResponse.from_json(out)
    cand = io.read_table(s.data, "HfCandDsLites").query("fPt >= 2 and fPt < 6").iloc[:500]
    features = loaded[0].metadata["features"]
    selected = twin.is_selected_ml(cand[features], cand["fPt"].to_numpy())
    cut = {2: loaded[0].thresholds[loaded[0].plateau.i_most_efficient, 0],
           4: loaded[1].thresholds[loaded[1].plateau.i_most_efficient, 0]}  # fmt: skip
    scores = twin.get_model_output(cand[features], cand["fPt"].to_numpy())[:, 0]
    lo = np.where(cand["fPt"].to_numpy() < 4, 2, 4)
    np.testing.assert_array_equal(selected, scores <= np.vectorize(cut.get)(lo))


def test_train_bins_in_parallel_on_dask_give_the_same_models(tmp_path, prepared):
    """--workers 2: the pT bins as tasks of a local dask cluster (127.0.0.1, two processes),
    the same test-set scores as the sequential run."""
    seq = _train_config(
        tmp_path / "seq", prepared, **{"pt_bins_limits: [2, 4, 6, 12]": "pt_bins_limits: [2, 4, 6]"}
    )
    par = _train_config(
        tmp_path / "par", prepared, **{"pt_bins_limits: [2, 4, 6, 12]": "pt_bins_limits: [2, 4, 6]"}
    )
    for cfg in (seq, par):
        _small_hyper_pars(cfg, n_bins=2, trees=30)
    a = train(seq)
    b = train(par, workers=2)
    assert [(r.lo, r.hi) for r in b.bins] == [(2, 4), (4, 6)]
    for ra, rb in zip(a.bins, b.bins, strict=True):
        assert ra.roc_auc_test == rb.roc_auc_test and ra.n_train == rb.n_train
        name = f"DsToKKPi_ModelApplied_pT_{ra.lo:g}_{ra.hi:g}.parquet.gzip"
        pd.testing.assert_frame_equal(
            pd.read_parquet(ra.folder / name), pd.read_parquet(rb.folder / name)
        )
    assert b.mlresponse is not None and b.mlresponse.exists()


def test_train_one_bin_on_two_workers_forks_and_gives_the_same_model(tmp_path, prepared):
    """--workers 2 with one pT bin: no dask cluster, processes of a fork server (the training
    on one thread beside the input figures, then the figures side by side): the same test-set
    scores, files and SHAP figures as the sequential run."""
    cfgs = []
    for name in ("seq", "par"):
        cfg = _train_config(tmp_path / name, prepared,
                            **{"pt_bins_limits: [2, 4, 6, 12]": "pt_bins_limits: [2, 6]",
                               "bkg_factor: [1., 1., 1.]": "bkg_factor: [1.]"})  # fmt: skip
        _small_hyper_pars(cfg, n_bins=1, trees=30)
        cfgs.append(cfg)
    a = train(cfgs[0])
    b = train(cfgs[1], workers=2)
    ((ra,), (rb,)) = a.bins, b.bins
    assert ra.roc_auc_test == rb.roc_auc_test and ra.n_train == rb.n_train
    name = "DsToKKPi_ModelApplied_pT_2_6.parquet.gzip"
    pd.testing.assert_frame_equal(
        pd.read_parquet(ra.folder / name), pd.read_parquet(rb.folder / name)
    )
    assert [f.name for f in ra.files] == [f.name for f in rb.files]
    assert sorted(p.name for p in ra.folder.iterdir()) == sorted(
        p.name for p in rb.folder.iterdir()
    )
    assert {"FeatureImportance_Bkg_DsToKKPi.png", "FeatureImportanceAll_DsToKKPi.png",
            "MLOutputDistrPrompt_pT_2_6.png", "DistributionsAll_pT_2_6.png",
            DONE} <= {f.name for f in rb.folder.iterdir()}  # fmt: skip
    assert b.mlresponse is not None and b.mlresponse.exists()


def test_train_reads_parquet_inputs_and_names_a_missing_column(tmp_path, prepared, capsys):
    """tree_name null: <Label>_<channel>.parquet.gzip inputs (the macro's other format); a
    training variable the files lack is an error naming the key and the file."""
    pq_dir = tmp_path / "pq"
    pq_dir.mkdir()
    for lab in ("Bkg", "Prompt", "Nonprompt"):
        df = io.read_table(prepared / f"{lab}_DsToKKPi.root", "treeMLDsToKKPi")
        df.drop(columns="fChi2PCA").to_parquet(pq_dir / f"{lab}_DsToKKPi.parquet.gzip")
    cfg = _train_config(tmp_path, prepared, **{f"{prepared}/": f"{pq_dir}/",
                                               "tree_name: treeMLDsToKKPi": "tree_name: null"})  # fmt: skip
    assert main(["train", str(cfg), "-q"]) == 2
    err = capsys.readouterr().err
    assert (
        "key 'data_prep.indirs.Bkg'" in err
        and "Bkg_DsToKKPi.parquet.gzip has no columns ['fChi2PCA']" in err
    )


# -------------------------------------------------------------------------------- scan
@pytest.fixture(scope="module")
def trained(tmp_path_factory, prepared):
    """The O2Physics configuration of a quick 2-bin training of the example config."""
    d = tmp_path_factory.mktemp("trained")
    cfg = _train_config(
        d, prepared, **{"pt_bins_limits: [2, 4, 6, 12]": "pt_bins_limits: [2, 4, 6]"}
    )
    _small_hyper_pars(cfg, n_bins=2, trees=30)
    train(cfg)
    return d / "trainings" / "o2physics"


def test_scan_streamed_in_chunks_and_on_dask_is_the_in_memory_scan(tmp_path, trained):
    """o2ml scan fills histograms chunk by chunk (here 3000 rows, files as dask tasks): the
    scan files equal those of one chunk, and the significance scan of every bin equals
    notebook 01's in-memory scan (selection.scan_bin) of the same candidates; the grid equals
    the threshold dashboard's grid built from the candidates."""
    from o2ml.inference import BinnedModel
    from o2ml.schema import PtBin
    from o2ml.selection import BinInputs, ScanResult, SignificanceOptions, load_expected_signal
    from o2ml.selection.histograms import ScanHistograms
    from o2ml.widgets import ScanGrid
    from o2ml.workflow.scan import Execution, scan

    s = ensure_sample("ds", fast=True)
    common = dict(expected_signal=s.expected_signal)
    whole = scan(trained, s.data, s.mc, tmp_path / "a", execution=Execution(step=10**9), **common)
    chunked = scan(trained, s.data, s.mc, tmp_path / "c", execution=Execution(step=3000), **common)
    on_dask = Execution(step=3000, workers=2)
    twice = scan(trained, [s.data, s.data], s.mc, tmp_path / "b", execution=on_dask, **common)
    names = sorted(p.name for p in whole)
    assert names == sorted(p.name for p in chunked) == sorted(p.name for p in twice)
    assert "grid_pt2_4.npz" in names and "scan_pt4_6.json" in names
    binned = BinnedModel.load(trained)
    scorers = binned.scorers("auto")
    data = selection.read_candidates(s.data, "HfCandDsLites", binned.features)
    mc = selection.read_candidates(s.mc, "HfCandDsLites", binned.features, kind="mc")
    for df in (data, mc):
        sc = binned.score(df, scorers)
        for col, name in zip(
            sc.columns, ("score_bkg", "score_prompt", "score_nonprompt"), strict=True
        ):
            df[name] = sc[col].to_numpy()
    data, mc = (df[(df["fPt"] >= 2) & (df["fPt"] < 6)] for df in (data, mc))  # binsPtMl
    expected = load_expected_signal(s.expected_signal)
    ds_scan = SignificanceOptions(species="Ds", fit_raw_yield=True)  # what `o2ml scan` uses
    for lo, hi in [(2, 4), (4, 6)]:
        a = ScanResult.load(tmp_path / "a" / f"scan_pt{lo}_{hi}.json")
        b = ScanResult.load(tmp_path / "b" / f"scan_pt{lo}_{hi}.json")
        ref = selection.scan_bin(data, mc, BinInputs(expected, PtBin(lo, hi)), options=ds_scan).bdt
        np.testing.assert_array_equal(a.thresholds, ref.thresholds)
        np.testing.assert_array_equal(a.significance, ref.significance)
        np.testing.assert_array_equal(a.raw_yield, ref.raw_yield)
        assert a.plateau.i_most_efficient == ref.plateau.i_most_efficient
        c = ScanResult.load(tmp_path / "c" / f"scan_pt{lo}_{hi}.json")
        np.testing.assert_array_equal(c.significance, a.significance)
        # the same data twice in b (two dask tasks): twice the candidates, same MC efficiencies
        assert b.metadata["n_data_scanned"] == 2 * a.metadata["n_data_scanned"]
        np.testing.assert_array_equal(b.efficiencies["prompt"], a.efficiencies["prompt"])
        ga = ScanHistograms.load(tmp_path / "a" / f"grid_pt{lo}_{hi}.npz")
        gb = ScanHistograms.load(tmp_path / "b" / f"grid_pt{lo}_{hi}.npz")
        np.testing.assert_array_equal(gb.data, 2 * ga.data)
        gc = ScanHistograms.load(tmp_path / "c" / f"grid_pt{lo}_{hi}.npz")
        np.testing.assert_array_equal(gc.data, ga.data)
        bins = [BinInputs(expected, (lo, hi), peak=ga.metadata["peak"])]
        from_files = ScanGrid.from_histograms([ga], bins)
        from_frames = ScanGrid(data, mc, bins)
        for idx in [(0, 0), (10, 50), (33, 99)]:
            x, y = from_files.point(0, idx)["result"], from_frames.point(0, idx)["result"]
            assert x.significance[0] == y.significance[0] or (
                np.isnan(x.significance[0]) and np.isnan(y.significance[0])
            )
            assert x.efficiencies["prompt"][0] == y.efficiencies["prompt"][0]


def test_threshold_dashboard_opens_a_scan_folder_without_candidates(tmp_path, trained):
    """threshold_scan_app(scan_path=...) shows the o2ml scan histograms (no candidates read);
    its export names the model's features and ONNX files; a folder without grids is a clear
    error panel, and a URL may not choose a folder outside the data root."""
    import ipywidgets

    from o2ml.apps import threshold_scan_app
    from o2ml.widgets import ThresholdScanner
    from o2ml.workflow.scan import scan

    s = ensure_sample("ds", fast=True)
    out = tmp_path / "root" / "scans"
    scan(trained, s.data, s.mc, out, expected_signal=s.expected_signal)
    app = threshold_scan_app(scan_path=out, export_dir=tmp_path / "exports")
    assert isinstance(app, ThresholdScanner)
    assert app.pt_bins == [(2.0, 4.0), (4.0, 6.0)]
    assert np.isfinite(app.result.significance[0])
    for i in range(len(app.pt_bins)):
        app.bin_selector.value = i
        app.record()
    config = app.export_config()
    assert config.onnx_files == [
        f"ModelHandler_onnx_DsToKKPi_pT_{a}_{b}.onnx" for a, b in ((2, 4), (4, 6))
    ]
    by_url = threshold_scan_app(query="scan=scans", data_root=tmp_path / "root")
    assert isinstance(by_url, ThresholdScanner)
    refused = threshold_scan_app(query="scan=../..", data_root=tmp_path / "root")
    assert isinstance(refused, ipywidgets.Widget) and not isinstance(refused, ThresholdScanner)
    assert "give a path inside it" in refused.value
    (tmp_path / "root" / "empty").mkdir()
    missing = threshold_scan_app(scan_path=tmp_path / "root" / "empty")
    assert "grid_pt*.npz" in missing.value


def test_train_resumes_after_a_killed_bin_and_shares_studies_across_dask_tasks(
    tmp_path, prepared, capsys
):
    """A bin without its finished marker (a worker killed mid-bin) is trained again by
    --resume while finished bins are kept untouched, and the report equals a fresh run's;
    with two dask workers on 127.0.0.1 the Optuna trials of a bin run as njobs tasks on one
    stored study (distinct samplers: no duplicated trial)."""
    import optuna

    cfg = _train_config(
        tmp_path, prepared, **{"pt_bins_limits: [2, 4, 6, 12]": "pt_bins_limits: [2, 4, 6]"}
    )
    _small_hyper_pars(cfg, n_bins=2, trees=30)
    fresh = train(cfg)
    first, second = (r.folder for r in fresh.bins)
    kept = {f: f.stat().st_mtime_ns for f in first.iterdir()}
    (second / DONE).unlink()  # the second bin's worker died before finishing
    (second / "log.txt").unlink()
    assert main(["train", str(cfg), "-q"]) == 2
    assert "--resume to keep the bins" in capsys.readouterr().err
    resumed = train(cfg, resume=True)
    assert {f: f.stat().st_mtime_ns for f in first.iterdir()} == kept  # not trained again
    assert (second / DONE).exists() and (second / "log.txt").exists()
    for a, b in zip(fresh.bins, resumed.bins, strict=True):
        assert (a.roc_auc_test, a.n_train) == (b.roc_auc_test, b.n_train)
    assert resumed.mlresponse is not None and resumed.mlresponse.exists()

    tuned = _train_config(
        tmp_path / "tuned", prepared,
        **{"activate: false": "activate: true", "ntrials: 25": "ntrials: 4", "njobs: 4": "njobs: 2",
           '"n_estimators": !!python/tuple [400, 2000]': '"n_estimators": !!python/tuple [20, 40]',
           "pt_bins_limits: [2, 4, 6, 12]": "pt_bins_limits: [2, 6]", "bkg_factor: [1., 1., 1.]": "bkg_factor: [1.]"},
    )  # fmt: skip
    _small_hyper_pars(tuned, n_bins=1, trees=30)
    report = train(tuned, workers=2)
    db = f"sqlite:///{tmp_path / 'tuned' / 'trainings' / 'optuna.db'}"
    (summary,) = optuna.get_all_study_summaries(db)
    study = optuna.load_study(study_name=summary.study_name, storage=db)
    finished = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(finished) == 4
    assert len({tuple(sorted(t.params.items())) for t in finished}) == 4
    log = (report.bins[0].folder / "log.txt").read_text()
    assert "Optuna hyper-parameters optimisation: 4 trials" in log


# ------------------------------------------------------------------ D+ -> pi K pi: the macros' own configs
DPLUS_PREP = REPO / "examples" / "config_preparation_DplusToPiKPi.yml"
DPLUS_TRAIN = REPO / "examples" / "config_training_DplusToPiKPi.yml"


def test_the_macros_own_dplus_configs_run_end_to_end(tmp_path, capsys):
    """config_preparation/training_DplusToPiKPi.yml as O2Physics ships them (only the input paths
    changed: the copies in examples/ say so) through prepare, train, scan and export, with the
    macro's settings: 800 trees, one 1-24 GeV/c bin, the 'equal' share. Bkg is the config's own
    sideband expression on the MC background; the model beats chance by far; the exported
    configuration is the D+ selector's."""
    import json

    from o2ml.channels import dplus

    s = ensure_sample("dplus", fast=True)
    work = tmp_path / "examples"
    work.mkdir()
    (work / "prep.yml").write_text(
        DPLUS_PREP.read_text().replace("../data/dplus_mc.root", str(s.mc))
    )
    (work / "train.yml").write_text(DPLUS_TRAIN.read_text())
    text = DPLUS_TRAIN.read_text()  # the macro's settings, unchanged
    for setting in ('"n_estimators": 800', "pt_bins_limits: [1, 24]", "share: equal"):
        assert setting in text, setting
    assert main(["prepare", str(work / "prep.yml")]) == 0
    mc = io.read_table(s.mc, "HfCandDpLites")
    bkg = io.read_table(work / "Bkg_DplusToPiKPi.root", "treeMLDplus")
    m = mc[mc.fOriginMcRec == 0].fM.to_numpy()
    in_sb = (m < np.float32(1.82)) | ((np.float32(1.92) < m) & (m < np.float32(2.00)))
    assert len(bkg) == in_sb.sum() > 1000
    prompt = io.read_table(work / "Prompt_DplusToPiKPi.root", "treeMLDplus")
    assert len(prompt) == (mc.fOriginMcRec == 1).sum()
    assert main(["train", str(work / "train.yml"), "-q"]) == 0
    out = capsys.readouterr().out
    auc = float(out.split("ROC AUC test ")[1].split()[0])
    assert auc > 0.9, out
    model = work / "trainings" / "Dplus" / "o2physics"
    config = model / "dpl-config_hf-candidate-selector-dplus-to-pi-k-pi.json"
    assert config.exists() and (model / "ModelHandler_onnx_DplusToPiKPi_pT_1_24.onnx").exists()
    scans = tmp_path / "scans"
    assert main(["scan", "--model", str(model), "--data", str(s.data), "--mc", str(s.mc),
                 "--expected-signal", str(s.expected_signal), "--out", str(scans)]) == 0  # fmt: skip
    out_cfg = tmp_path / "dpl-config.json"
    assert main(["export", "--scan", str(scans), "--plateau", "--out", str(out_cfg)]) == 0
    section = json.loads(out_cfg.read_text())[dplus.SELECTOR.task]
    assert section["binsPtMl"]["values"] == ["1.0", "24.0"]
    assert section["namesInputFeatures"]["values"] == [
        dplus.SELECTOR.name_of(c) for c in dplus.FEATURES
    ]
