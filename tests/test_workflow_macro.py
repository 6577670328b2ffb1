"""`o2ml train` does what PWGHF/D2H/Macros/ML/train_models.py (O2Physics 29dabc5fb71f) does:
folder and file names formatted from the config's pT limits as the macro formats them,
``ml.raw_output`` for the saved test-set scores and the ROC and precision-recall figures, and
the seeds o2ml sets where the macro sets none. Small synthetic parquet inputs (tree_name null)."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from test_workflow import _small_hyper_pars, _train_config

from o2ml.workflow import load_config, train
from o2ml.workflow.train import TRAIN_SCHEMA, _settings

FEATURES = [
    "fCpa", "fCpaXY", "fDecayLength", "fDecayLengthXY", "fDeltaMassPhi", "fImpactParameterXY",
    "fAbsCos3PiK", "fDecayLengthXYNormalised", "fMaxNormalisedDeltaIP", "fChi2PCA",
    "fNSigTpcTofKa1",
]  # fmt: skip


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """Bkg/Prompt/Nonprompt_DsToKKPi.parquet.gzip: 300 candidates per class, pT in [1, 4.5),
    the features shifted by class (separable, not perfectly)."""
    d = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(11)
    for k, label in enumerate(["Bkg", "Prompt", "Nonprompt"]):
        n = 300
        df = pd.DataFrame({f: rng.normal(0.8 * k * (1 + j % 3), 1.0, n)
                           for j, f in enumerate(FEATURES)})  # fmt: skip
        df["fPt"] = rng.uniform(1.0, 4.5, n)
        df["fM"] = rng.uniform(1.7, 2.1, n).astype(np.float32)
        df.to_parquet(d / f"{label}_DsToKKPi.parquet.gzip", compression="gzip")
    return d


def _config(tmp_path: Path, inputs: Path, limits: str, **replace) -> Path:
    n_bins = len(yaml.safe_load(limits)) - 1
    cfg = _train_config(
        tmp_path, inputs,
        **{"tree_name: treeMLDsToKKPi": "tree_name: null",
           "pt_bins_limits: [2, 4, 6, 12]": f"pt_bins_limits: {limits}",
           "bkg_factor: [1., 1., 1.]": f"bkg_factor: [{', '.join(['1.'] * n_bins)}]"},
        **replace,
    )  # fmt: skip
    _small_hyper_pars(cfg, n_bins=n_bins, trees=10)
    return cfg


def _macro_names(cfg: Path) -> tuple[list[str], list[str]]:
    """The folders and tags exactly as train_models.py builds them: yaml.FullLoader, then
    ``self.pt_bins = [[a, b] for a, b in zip(pt_bins_limits[:-1], pt_bins_limits[1:])]``,
    ``os.path.join(os.path.expanduser(self.outdir), f"pt{pt_bin[0]}_{pt_bin[1]}")`` and
    ``f"_pT_{pt_bin[0]}_{pt_bin[1]}"`` (the !!python/tuple ranges need FullLoader)."""
    config = yaml.load(cfg.read_text(), yaml.FullLoader)
    limits = config["data_prep"]["pt_bins_limits"]
    pt_bins = [[a, b] for a, b in itertools.pairwise(limits)]  # the macro's zip(l[:-1], l[1:])
    outdir = config["output"]["dir"]
    folders = [os.path.join(os.path.expanduser(outdir), f"pt{b[0]}_{b[1]}") for b in pt_bins]
    return folders, [f"pT_{b[0]}_{b[1]}" for b in pt_bins]


@pytest.mark.parametrize(
    ("limits", "folders"),
    [
        ("[1, 24]", ["pt1_24"]),
        ("[2.0, 4.5]", ["pt2.0_4.5"]),
        ("[1, 2.0, 4.5, 24]", ["pt1_2.0", "pt2.0_4.5", "pt4.5_24"]),
        ("[0., 1.50, 1e1]", ["pt0.0_1.5", "pt1.5_1e1"]),  # PyYAML: 1e1 is the string '1e1'
    ],
)
def test_pt_folders_and_tags_are_formatted_as_the_macro_formats_them(
    tmp_path, inputs, limits, folders
):
    cfg = _config(tmp_path, inputs, limits)
    st = _settings(load_config(cfg, TRAIN_SCHEMA, "training config"))
    macro_folders, macro_tags = _macro_names(cfg)
    assert [f.name for f in st["folders"]] == folders
    assert [str(f) for f in st["folders"]] == macro_folders
    assert st["tags"] == macro_tags
    assert st["tags"] == [f.replace("pt", "pT_", 1) for f in folders]
    assert st["bins"] == list(itertools.pairwise(float(x) for x in yaml.safe_load(limits)))


def test_train_writes_the_macro_names_for_int_and_float_limits(tmp_path, inputs):
    """pt_bins_limits [1, 2.0, 4.5]: the folders pt1_2.0 and pt2.0_4.5, every file tagged
    pT_1_2.0 / pT_2.0_4.5, and the log's pT range and split as the macro prints them."""
    cfg = _config(tmp_path, inputs, "[1, 2.0, 4.5]", **{"share: equal": "share: all_signal"})
    report = train(cfg)
    out = tmp_path / "trainings"
    assert [b.folder for b in report.bins] == [out / "pt1_2.0", out / "pt2.0_4.5"]
    assert [(b.lo, b.hi) for b in report.bins] == [(1.0, 2.0), (2.0, 4.5)]
    for b, tag, (lo, hi) in zip(report.bins, ["pT_1_2.0", "pT_2.0_4.5"], [("1", "2.0"), ("2.0", "4.5")],
                                strict=True):  # fmt: skip
        names = {p.name for p in b.folder.iterdir()}
        expected = {
            f"DistributionsAll_{tag}.png", f"CorrMatrixBkg_{tag}.png", f"MLOutputDistrPrompt_{tag}.png",
            f"ROCCurveAll_{tag}.png", f"ROCCurveTrainTest_{tag}.pdf", f"PrecisionRecallAll_{tag}.pdf",
            f"DsToKKPi_ModelApplied_{tag}.parquet.gzip", f"ModelHandler_onnx_DsToKKPi_{tag}.onnx",
            f"ModelHandler_DsToKKPi_{tag}.json", "log.txt",
        }  # fmt: skip
        assert expected <= names, expected - names
        assert not [n for n in names if "pT_" in n and tag not in n]
        log = (b.folder / "log.txt").read_text()
        assert f"Number of available candidates in {lo} < pT < {hi} GeV/c" in log
        assert "for training and testing (0.7-0.3)" in log  # f"({1 - 0.3}-{0.3})"


def _recorder(monkeypatch, name: str, seen: dict):
    from hipe4ml import plot_utils

    original = getattr(plot_utils, name)

    def record(*args, **kwargs):
        seen.setdefault(name, []).append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(plot_utils, name, record)


@pytest.mark.parametrize("binary", [False, True])
def test_raw_output_gives_margins_to_the_test_set_and_the_figures(
    tmp_path, inputs, monkeypatch, binary
):
    """ml.raw_output true: ML_output* hold XGBoost's margins (the macro's
    train_test_model(output_margin=raw_output)), and plot_roc, plot_roc_train_test and
    plot_precision_recall receive those margins (the macro's y_pred_test / y_pred_train)."""
    import xgboost as xgb

    replace = {"raw_output: false": "raw_output: true"}
    if binary:  # the macro's binary case: labels [Bkg, Prompt] and indirs.Nonprompt null
        replace["labels: [Bkg, Prompt, Nonprompt]"] = "labels: [Bkg, Prompt]"
        replace[
            f"    Nonprompt: # set to null to deactivate this class\n      [\n        {inputs}/\n      ]\n"
        ] = "    Nonprompt: null\n"
    cfg = _config(tmp_path, inputs, "[1, 4.5]", **replace)
    seen: dict = {}
    for name in ("plot_roc", "plot_roc_train_test", "plot_precision_recall",
                 "plot_output_train_test"):  # fmt: skip
        _recorder(monkeypatch, name, seen)
    (b,) = train(cfg).bins
    test = pd.read_parquet(b.folder / "DsToKKPi_ModelApplied_pT_1_4.5.parquet.gzip")
    clf = xgb.XGBClassifier()
    clf.load_model(b.folder / "ModelHandler_DsToKKPi_pT_1_4.5.json")
    (out_args,) = seen["plot_output_train_test"]
    assert out_args[3] is True  # raw=raw_output, as the macro passes it
    x_tr, x_te = out_args[1][0], out_args[1][2]
    margins_te = clf.predict(x_te[FEATURES], output_margin=True)
    margins_tr = clf.predict(x_tr[FEATURES], output_margin=True)
    if binary:
        assert list(test.columns) == ["fPt", "fM", "Labels", "ML_output"]
        scores = test["ML_output"].to_numpy()
    else:
        cols = ["ML_output_Bkg", "ML_output_Prompt", "ML_output_Nonprompt"]
        assert list(test.columns) == ["fPt", "fM", "Labels", *cols]
        scores = test[cols].to_numpy()
        assert not np.allclose(scores.sum(axis=1), 1, atol=1e-3)
    assert scores.min() < 0 or scores.max() > 1  # margins, not probabilities
    np.testing.assert_allclose(scores, margins_te, rtol=1e-5, atol=1e-6)
    # ROCCurveAll first (plot_roc_train_test calls plot_roc twice after): (y_test, y_pred_test)
    roc = seen["plot_roc"][0]
    np.testing.assert_array_equal(roc[0], test["Labels"].to_numpy())
    np.testing.assert_allclose(roc[1], margins_te, rtol=1e-5, atol=1e-6)
    (pr,) = seen["plot_precision_recall"]
    np.testing.assert_allclose(pr[1], margins_te, rtol=1e-5, atol=1e-6)
    (tt,) = seen["plot_roc_train_test"]  # (y_test, y_pred_test, y_train, y_pred_train, ...)
    np.testing.assert_allclose(tt[1], margins_te, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tt[3], margins_tr, rtol=1e-5, atol=1e-6)
    assert 0.5 < b.roc_auc_test <= 1  # of the margins (binary) or probabilities (3 classes)
    assert f"ROC AUC: test {b.roc_auc_test:.4f}" in (b.folder / "log.txt").read_text()


def test_raw_output_false_keeps_probabilities(tmp_path, inputs, monkeypatch):
    seen: dict = {}
    _recorder(monkeypatch, "plot_precision_recall", seen)
    (b,) = train(_config(tmp_path, inputs, "[1, 4.5]")).bins
    test = pd.read_parquet(b.folder / "DsToKKPi_ModelApplied_pT_1_4.5.parquet.gzip")
    scores = test.filter(like="ML_output").to_numpy()
    np.testing.assert_allclose(scores.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(seen["plot_precision_recall"][0][1], scores, rtol=1e-6)


def _hyper(cfg: Path, extra: str) -> None:
    text = cfg.read_text()
    start = text.index("  hyper_pars: [")
    end = text.index("]\n", start) + 2
    one = f'{{"max_depth": 3, "n_estimators": 10, "tree_method": hist, "subsample": 0.5{extra}}}'
    cfg.write_text(text[:start] + f"  hyper_pars: [{one}]\n" + text[end:])


def test_seeds_same_config_same_models_and_a_config_seed_is_kept(tmp_path, inputs):
    """XGBoost's random_state is seed_split (the macro sets none), unless hyper_pars gives one:
    with subsample 0.5 two runs of one config give the same scores, another seed others."""

    def run(folder: str, extra: str = "", seed: str = "42"):
        cfg = _config(tmp_path / folder, inputs, "[1, 4.5]",
                      **{"seed_split: 42": f"seed_split: {seed}"})  # fmt: skip
        _hyper(cfg, extra)
        (b,) = train(cfg).bins
        test = pd.read_parquet(b.folder / "DsToKKPi_ModelApplied_pT_1_4.5.parquet.gzip")
        return b.params, test.filter(like="ML_output").to_numpy()

    params_a, a = run("a")
    params_b, b = run("b")
    assert params_a["random_state"] == params_b["random_state"] == 42
    np.testing.assert_array_equal(a, b)
    params_c, c = run("c", ', "random_state": 7')
    assert params_c["random_state"] == 7
    assert not np.array_equal(a, c)  # subsample draws from the config's seed
    params_d, _ = run("d", seed="43")
    assert params_d["random_state"] == 43


def test_shap_values_are_those_of_hipe4ml_plot_feature_imp(tmp_path, inputs):
    """The SHAP figures' values (computed with the model, XGBoost's approx_contribs) are
    shap.TreeExplainer(model).shap_values(sample, approximate=True), what hipe4ml's
    plot_feature_imp draws, on min(10000, smallest class) test candidates per class."""
    import shap
    import xgboost as xgb

    from o2ml.workflow.train import _shap_values

    cfg = _config(tmp_path, inputs, "[1, 4.5]")
    (b,) = train(cfg).bins
    clf = xgb.XGBClassifier()
    clf.load_model(b.folder / "ModelHandler_DsToKKPi_pT_1_4.5.json")
    st = _settings(load_config(cfg, TRAIN_SCHEMA, "training config"))
    rng = np.random.default_rng(3)
    x_te = pd.DataFrame(rng.normal(0.8, 1.0, (90, len(FEATURES))), columns=FEATURES)
    y_te = np.repeat([0, 1, 2], 30)
    got = _shap_values(st, x_te, y_te, clf)
    assert len(got["shap_index"]) == 90 and got["shap"].shape == (3, 90, len(FEATURES))
    want = shap.TreeExplainer(clf).shap_values(x_te.loc[got["shap_index"]], approximate=True)
    np.testing.assert_allclose(got["shap"], want.transpose(2, 0, 1), rtol=1e-6, atol=1e-7)
