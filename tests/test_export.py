"""ONNX export and the Python twin of O2Physics MlResponse."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from o2ml import errors
from o2ml import onnx as onnx_export
from o2ml.channels import SELECTORS, TUTORIAL_TASK
from o2ml.errors import UnsupportedFeatureError
from o2ml.export import o2physics
from o2ml.export.o2physics import CutDirection, MlResponse, MlResponseConfig
from o2ml.schema import CLASS_LABELS

FEATURES = ["fCpa", "fDecayLength", "fImpactParameterXY", "fAbsCos3PiK"]
EDGES = [2.0, 4.0, 6.0]


def toy(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = pd.DataFrame(
        {f: rng.normal(size=n) + 0.8 * y * (i + 1) / 4 for i, f in enumerate(FEATURES)}
    ).astype(np.float32)
    return X, y


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """One 3-class model per pT bin, exported, plus a configuration JSON."""
    out = tmp_path_factory.mktemp("models")
    clfs = []
    files = []
    for i in range(len(EDGES) - 1):
        X, y = toy(4000, seed=i)
        clf = xgb.XGBClassifier(n_estimators=60, max_depth=4, random_state=i, n_jobs=2).fit(X, y)
        name = f"model_pt{i}.onnx"
        onnx_export.xgboost_to_onnx(
            clf, FEATURES, out / name, class_labels=CLASS_LABELS, pt_bin=EDGES[i : i + 2], seed=i
        )
        clfs.append(clf)
        files.append(name)
    config = MlResponseConfig(
        bins_pt=EDGES,
        cut_dir=[CutDirection.CutGreater, CutDirection.CutSmaller, CutDirection.CutNot],
        cuts=[[0.3, 0.4, 0.0], [0.2, 0.5, 0.0]],
        features=FEATURES,
        onnx_files=files,
        class_labels=CLASS_LABELS,
    )
    config.to_json(out / "o2physics.json")
    return out, clfs, config


def test_onnx_contract_and_metadata(models):
    out, _, _ = models
    sess = onnx_export.session(out / "model_pt0.onnx")
    assert [i.name for i in sess.get_inputs()] == ["input"]
    assert sess.get_inputs()[0].shape[1] == len(FEATURES)
    assert [o.name for o in sess.get_outputs()] == ["label", "probabilities"]
    meta = onnx_export.read_metadata(out / "model_pt1.onnx")
    assert meta["features"] == FEATURES
    assert meta["class_labels"] == ["background", "prompt", "nonprompt"]
    assert meta["pt_bin"] == [4.0, 6.0] and meta["seed"] == 1
    assert meta["o2ml_version"]


def test_onnx_scores_agree_with_xgboost(models):
    out, clfs, _ = models
    X, _ = toy(100_000, seed=7)
    onnx_scores = onnx_export.run(onnx_export.session(out / "model_pt0.onnx"), X.to_numpy())
    assert np.abs(onnx_scores - clfs[0].predict_proba(X)).max() < 1e-5


def test_twin_of_isselectedml_agrees_with_native_decision(models):
    out, clfs, config = models
    X, _ = toy(100_000, seed=11)
    pt = np.random.default_rng(3).uniform(1.0, 7.0, len(X))  # some outside the bins
    twin = MlResponse.from_json(out / "o2physics.json")
    selected, scores = twin.is_selected_ml(X, pt, return_scores=True, outside="reject")

    native = np.zeros(len(X), dtype=bool)
    native_scores = np.full((len(X), 3), np.nan)
    for i, clf in enumerate(clfs):
        mask = (pt >= EDGES[i]) & (pt < EDGES[i + 1])
        p = clf.predict_proba(X[mask])
        native_scores[mask] = p
        cut = config.cuts[i]
        native[mask] = (p[:, 0] <= cut[0]) & (p[:, 1] >= cut[1])
    inside = ~np.isnan(native_scores[:, 0])
    assert np.abs(scores[inside] - native_scores[inside]).max() < 1e-5
    assert np.isnan(scores[~inside]).all() and not selected[~inside].any()
    assert 0.05 < native.mean() < 0.95  # the cuts really select
    assert np.array_equal(selected, native)  # 100 % agreement


def test_configurables_are_every_ml_configurable_of_the_selector_typed_as_o2_reads_them(models):
    """The Ds selector's ML configurables (candidateSelectorDsToKKPi.cxx), as strings in the
    task's section (O2 reads the JSON with boost: every leaf a string; vectors {"values": [...]},
    LabeledArray with labels_rows/labels_cols), namesInputFeatures in HfMlResponseDsToKKPi names."""
    out, _, config = models
    doc = json.loads((out / "o2physics.json").read_text())
    assert set(doc) == {"hf-candidate-selector-ds-to-k-k-pi", "o2ml"}
    task = doc[o2physics.DEFAULT_TASK]
    assert task == {
        "ptCandMin": "2.0",
        # the Ds selector rejects pt > ptCandMax (float pT): the largest float below the last
        # edge, so a candidate at exactly 6.0 (findBin = -1, the job stops) is rejected first
        "ptCandMax": "5.999999523162842",
        "applyMl": "true",
        "binsPtMl": {"values": ["2.0", "4.0", "6.0"]},
        "cutDirMl": {"values": ["0", "1", "2"]},
        "cutsMl": {
            "labels_rows": ["pT bin 0", "pT bin 1"],
            "labels_cols": ["background", "prompt", "nonprompt"],
            "values": [["0.3", "0.4", "0.0"], ["0.2", "0.5", "0.0"]],
        },
        "nClassesMl": "3",
        "namesInputFeatures": {"values": ["cpa", "decayLength", "impactParameterXY", "absCos3PiK"]},
        "onnxFileNames": {"values": ["model_pt0.onnx", "model_pt1.onnx"]},
        "loadModelsFromCCDB": "false",
        "modelPathsCCDB": {
            "values": ["EventFiltering/PWGHF/BDTDs/pT_2_4", "EventFiltering/PWGHF/BDTDs/pT_4_6"]
        },  # one directory per model, as MlResponse::setModelPathsCCDB requires
        "ccdbUrl": "http://alice-ccdb.cern.ch",
        "timestampCCDB": "-1",
    }
    assert doc["o2ml"]["features"] == FEATURES and doc["o2ml"]["task"] == o2physics.DEFAULT_TASK
    assert MlResponseConfig.from_json(out / "o2physics.json") == config


def test_a_foreign_configuration_without_o2ml_metadata_maps_names_back(models, tmp_path):
    out, _, config = models
    doc = json.loads((out / "o2physics.json").read_text())
    section = doc[o2physics.DEFAULT_TASK]
    section["cutsMl"]["labels_cols"] = list(o2physics.O2PHYSICS_DMESON_LABELS)
    section["nClassesMl"] = 3  # O2 accepts plain JSON numbers as well
    for name in config.onnx_files:
        (tmp_path / name).write_bytes((out / name).read_bytes())
    path = tmp_path / "dpl-config.json"
    path.write_text(json.dumps({"some-other-task": {"x": "1"}, o2physics.DEFAULT_TASK: section}))
    back = MlResponseConfig.from_json(path)
    assert back.features == FEATURES  # namesInputFeatures -> tree columns via the selector table
    assert back.class_labels == ["background", "prompt", "nonprompt"]
    twin = MlResponse.from_json(path)
    X, _ = toy(50, seed=2)
    np.testing.assert_array_equal(
        twin.is_selected_ml(X, np.full(50, 3.0)),
        MlResponse.from_json(out / "o2physics.json").is_selected_ml(X, np.full(50, 3.0)),
    )
    # given tree columns must be those the selector feeds for namesInputFeatures
    assert MlResponseConfig.from_json(path, features=FEATURES).features == FEATURES
    swapped = [FEATURES[1], FEATURES[0], *FEATURES[2:]]
    with pytest.raises(onnx_export.FeatureOrderError, match="the selector would feed the model"):
        MlResponseConfig.from_json(path, features=swapped)
    # an unknown name stops MlResponse at initialisation; the twin fails the same way
    section["namesInputFeatures"]["values"][3] = "cos3PiK"
    path.write_text(json.dumps({o2physics.DEFAULT_TASK: section}))
    with pytest.raises(
        UnsupportedFeatureError, match="Input feature cos3PiK not available! Please check"
    ):
        MlResponse.from_json(path)
    # the counts MlResponse::configure and setModelPathsLocal check
    section["namesInputFeatures"]["values"][3] = "absCos3PiK"
    section["cutDirMl"]["values"] = ["0", "1"]
    path.write_text(json.dumps({o2physics.DEFAULT_TASK: section}))
    with pytest.raises(
        errors.O2mlError, match=r"Number of classes \(3\) different from the number"
    ):
        MlResponseConfig.from_json(path)
    section["cutDirMl"]["values"] = ["0", "1", "2"]
    section["onnxFileNames"]["values"] = ["model_pt0.onnx"]
    path.write_text(json.dumps({o2physics.DEFAULT_TASK: section}))
    with pytest.raises(errors.O2mlError, match=r"Number of expected models \(2\) different"):
        MlResponseConfig.from_json(path)


def test_twin_bins_cut_directions_and_candidates_outside_as_mlresponse(models):
    out = models[0]
    twin = MlResponse.from_json(out / "o2physics.json")
    # findBin: [lo, hi), a value on an inner edge goes to the upper bin, the last edge is outside
    np.testing.assert_array_equal(twin.find_bin([1.999, 2.0, 3.9, 4.0, 5.999, 6.0, np.nan]),
                                  [-1, 0, 0, 1, 1, -1, -1])  # fmt: skip
    X, _ = toy(20, seed=5)
    with pytest.raises(o2physics.ModelIndexError, match=r"Model index -1 is out of range!.*pT = 6"):
        twin.is_selected_ml(X, np.r_[np.full(19, 3.0), 6.0])
    # a score equal to its cut passes; CutNot and unknown directions cut nothing (O2Physics)
    scores = twin.get_model_output(X, np.full(20, 3.0))
    at_cut = MlResponseConfig(
        EDGES, [CutDirection.CutGreater, CutDirection.CutSmaller, CutDirection.CutNot],
        [[float(scores[0, 0]), float(scores[0, 1]), 0.0]] * 2, FEATURES, twin.config.onnx_files,
    )  # fmt: skip
    exact = MlResponse(at_cut, out)
    assert exact.is_selected_ml(X[:1], [3.0])[0]
    strange = MlResponseConfig.from_json(out / "o2physics.json")
    strange.cut_dir = [7, 7, 7]
    assert MlResponse(strange, out).is_selected_ml(X, np.full(20, 3.0)).all()


def test_export_refuses_columns_the_selector_cannot_compute():
    with pytest.raises(UnsupportedFeatureError, match="cannot compute the training column 'fM'"):
        MlResponseConfig(EDGES, [0, 2, 2], [[0.5, 0, 0]] * 2, ["fCpa", "fM"], ["a.onnx", "b.onnx"])
    # a custom task of one's own: no names, the o2ml section says the order of its vector
    custom = MlResponseConfig(
        EDGES, [0, 2, 2], [[0.5, 0, 0]] * 2, ["fCpa", "fM"], ["a.onnx", "b.onnx"], task="my-task"
    )
    assert "namesInputFeatures" not in custom.configurables()
    assert "in this order: fCpa, fM" in custom.document()["o2ml"]["feature_vector"]
    # the tutorial's own task feeds a fixed vector with a signed cos^3: the tree's |cos^3| is refused
    with pytest.raises(UnsupportedFeatureError, match="apply-ml-selection"):
        MlResponseConfig(EDGES, [0, 2, 2], [[0.5, 0, 0]] * 2, FEATURES, ["a.onnx", "b.onnx"],
                         task="apply-ml-selection")  # fmt: skip


def test_feature_order_mismatch_is_caught(models, tmp_path):
    out, clfs, config = models
    with pytest.raises(onnx_export.FeatureOrderError, match="trained with features"):
        onnx_export.xgboost_to_onnx(clfs[0], FEATURES[::-1], class_labels=CLASS_LABELS)
    swapped = MlResponseConfig(**{**config.__dict__, "features": FEATURES[::-1]})
    with pytest.raises(onnx_export.FeatureOrderError, match="trained with features"):
        MlResponse(swapped, out)
    twin = MlResponse(config, out)
    with pytest.raises(onnx_export.FeatureOrderError, match=r"lack the model features \['fCpa'\]"):
        twin.is_selected_ml(pd.DataFrame({f: [0.0] for f in FEATURES[1:]}), [3.0])


def test_bad_configurations_and_files(models, tmp_path):
    out, _, config = models
    with pytest.raises(errors.O2mlError, match="cutsMl must be 2 pT bins x 3 classes"):
        MlResponseConfig(EDGES, config.cut_dir, [[0.1, 0.2, 0.3]], FEATURES, config.onnx_files)
    with pytest.raises(errors.OutputExistsError):
        config.to_json(out / "o2physics.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(errors.BadFileError, match="bad.json: not valid JSON"):
        MlResponseConfig.from_json(bad)
    (tmp_path / "cfg.json").write_text(json.dumps({"task": {"binsPtMl": {"values": ["1"]}}}))
    with pytest.raises(errors.BadFileError, match="lacks or mangles"):
        MlResponseConfig.from_json(tmp_path / "cfg.json")
    written = json.loads((out / "o2physics.json").read_text())
    section = next(iter(written.values()))
    for key in ("ptCandMax", "timestampCCDB"):  # a value that is no number: named, no traceback
        mangled = tmp_path / f"mangled_{key}.json"
        mangled.write_text(json.dumps({k: {**v, key: "twelve"} for k, v in written.items()}))
        with pytest.raises(errors.BadFileError, match=f"{key}: expected a number, found 'twelve'"):
            MlResponseConfig.from_json(mangled)
    assert "ptCandMax" in section
    with pytest.raises(errors.InputFileNotFoundError, match="missing.onnx"):
        MlResponse(
            MlResponseConfig(**{**config.__dict__, "onnx_files": ["missing.onnx", "x.onnx"]}), out
        )
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"junk")
    with pytest.raises(errors.BadFileError, match="junk.onnx"):
        onnx_export.read_metadata(junk)


# ------------------------------------------------------------------- ptCandMin / ptCandMax


#: each task's own pT cut as read on O2Physics master (file:line of the comparison)
PT_CUTS = {
    "hf-candidate-selector-ds-to-k-k-pi": (">", "candidateSelectorDsToKKPi.cxx:172"),
    "hf-candidate-selector-lc": (">=", "candidateSelectorLc.cxx:226"),
    "hf-candidate-selector-dplus-to-pi-k-pi": (">", "candidateSelectorDplusToPiKPi.cxx:163"),
    "apply-ml-selection": (">", "Tutorials/ML/applyMlSelection.cxx:106"),
}
TWO = ["fCpa", "fDecayLength"]  # columns every selector computes (cpa, decayLength)
EDGE_SETS = [[2.0, 4.0, 6.0], [0.1, 1.3, 24.7], [1.0, 2.5, 36.0], [0.0, 1.0, 3.3]]


@pytest.fixture(scope="module")
def two_feature_onnx(tmp_path_factory):
    out = tmp_path_factory.mktemp("two")
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(600, 2)), columns=TWO).astype(np.float32)
    clf = xgb.XGBClassifier(n_estimators=5, max_depth=2, n_jobs=1).fit(X, rng.integers(0, 3, 600))
    onnx_export.xgboost_to_onnx(clf, TWO, out / "m.onnx", class_labels=CLASS_LABELS)
    return out


def _probes(edges, config) -> np.ndarray:
    """Every binsPtMl edge, ptCandMin, ptCandMax, and the float32 just below and above each."""
    values = np.array([*edges, config.pt_cand_min, config.pt_cand_max], dtype=np.float32)
    up = np.nextafter(values, np.float32(np.inf))
    down = np.nextafter(values, np.float32(-np.inf))
    return np.unique(np.concatenate([values, up, down]))


def test_each_selector_records_its_own_pt_comparison():
    for task, (above, where) in PT_CUTS.items():
        cut = (SELECTORS[task] if task in SELECTORS else TUTORIAL_TASK).pt_cut
        assert (cut.below, cut.above) == ("<", above), task
        assert cut.source.endswith(where) and len(cut.commit) == 40
        assert (cut.limit_type, cut.pt_type) == ("double", "float")


#: a git directory of O2Physics, to check the recorded comparisons against the source itself
O2PHYSICS_GIT = os.environ.get("O2PHYSICS_GIT_DIR", "/work/.mirror/AliceO2Group+O2Physics/repo")


@pytest.mark.skipif(not os.path.isdir(O2PHYSICS_GIT), reason="no O2Physics git directory")
def test_the_recorded_pt_cuts_are_those_of_the_recorded_commits():
    """At each recorded commit: the comparison line, the Configurable<double> limits and their
    defaults, the float pT, MlResponse::findBin's [front, back) and its double edges."""
    import subprocess

    def show(commit: str, file: str) -> str:
        try:
            return subprocess.run(
                ["git", f"--git-dir={O2PHYSICS_GIT}", "show", f"{commit}:{file}"],
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
        except (OSError, subprocess.CalledProcessError):
            pytest.skip(f"{commit} is not in {O2PHYSICS_GIT}")

    for task in PT_CUTS:
        cut = (SELECTORS[task] if task in SELECTORS else TUTORIAL_TASK).pt_cut
        file, line = cut.source.rsplit(":", 1)
        lines = show(cut.commit, file).splitlines()
        code = lines[int(line) - 1]
        assert "< ptCandMin || " in code and f" {cut.above} ptCandMax)" in code, (task, code)
        text = "\n".join(lines)
        for name, default in (("ptCandMin", cut.default_min), ("ptCandMax", cut.default_max)):
            assert f'Configurable<double> {name}{{"{name}", {default:g}.,' in text, (task, name)
        if task in SELECTORS:
            assert "Configurable<std::vector<double>> binsPtMl" in text
    tables = show("13b7152150042efb4eea55e103744e7a364195fc",
                  "PWGHF/DataModel/CandidateReconstructionTables.h")  # fmt: skip
    assert "[](float px, float py) -> float { return RecoDecay::pt(px, py); }" in tables
    ml = show("7b8b028bf493f1bf5739199ebfbccb47554172ac", "Tools/ML/MlResponse.h")
    assert "if (value < mBinsLimits.front()) {" in ml and "if (value >= mBinsLimits.back()) {" in ml
    assert "std::vector<double> mBinsLimits;" in ml


# (the tutorial's task is left out: no tree columns make its vector, so nothing is exported for it)
@pytest.mark.parametrize("task", [*SELECTORS, "my-own-task"])
@pytest.mark.parametrize("edges", EDGE_SETS, ids=str)
def test_exported_pt_limits_let_no_accepted_candidate_reach_a_missing_bin(
    task, edges, two_feature_onnx, tmp_path
):
    """A candidate exactly on every binsPtMl edge, at ptCandMin/ptCandMax and at the float just
    below/above each: the task's own cut (its comparison, float pT against the values read back
    from the JSON) never passes one that findBin puts at -1, and rejects none that has a bin."""
    config = MlResponseConfig(edges, [0, 2, 2], [[0.5, 0, 0]] * 2, TWO, ["m.onnx"] * 2,
                              class_labels=CLASS_LABELS, task=task)  # fmt: skip
    above = PT_CUTS.get(task, (">",))[0]  # a task o2ml does not know: assumed ">" (stricter)
    assert config.pt_cut.above == above
    # ptCandMin: the smallest float >= the first edge; ptCandMax: the largest float below the
    # last edge (">") or the smallest float >= it (">="); float32 values written exactly
    # (compared as Python floats: numpy would turn edges[-1] into a float32 beside a float32)
    f_lo, f_hi = np.float32(edges[0]), np.float32(edges[-1])
    up, down = np.float32(np.inf), np.float32(-np.inf)
    assert config.pt_cand_min == float(f_lo if float(f_lo) >= edges[0] else np.nextafter(f_lo, up))
    if above == ">":
        below = f_hi if float(f_hi) < edges[-1] else np.nextafter(f_hi, down)
        assert config.pt_cand_max == float(below) < edges[-1]
    else:
        ceil = f_hi if float(f_hi) >= edges[-1] else np.nextafter(f_hi, up)
        assert config.pt_cand_max == float(ceil) >= edges[-1]
    path = config.to_json(tmp_path / "cfg.json")
    section = json.loads(path.read_text())[task]
    assert float(section["ptCandMin"]) == config.pt_cand_min  # reads back as the same double
    assert float(np.float32(section["ptCandMax"])) == config.pt_cand_max  # and as a float
    (tmp_path / "m.onnx").write_bytes((two_feature_onnx / "m.onnx").read_bytes())
    twin = MlResponse.from_json(path, features=TWO)
    assert twin.config == config and twin.config.pt_range_problems() == []
    pt = _probes(edges, twin.config)
    accepted, bins = twin.accepts_pt(pt), twin.find_bin(pt)
    assert not (accepted & (bins < 0)).any()  # the job never stops
    assert (accepted == (bins >= 0)).all()  # and no candidate of the bins is lost
    X = np.zeros((len(pt), 2), dtype=np.float32)
    selected, scores = twin.is_selected_ml(X, pt, return_scores=True, outside="selector")
    assert np.isfinite(scores[accepted]).all() and np.isnan(scores[~accepted]).all()
    assert not selected[~accepted].any()


def test_limits_that_let_a_candidate_reach_findbin_minus_one_are_refused(models, tmp_path):
    """ptCandMax = the last edge is right for the Λc selector (pt >= ptCandMax) and stops a Ds job
    (pt > ptCandMax): o2ml refuses to write it; the twin reads such a file and stops as O2Physics."""
    lc = MlResponseConfig(EDGES, [0, 2, 2], [[0.5, 0, 0]] * 2, TWO, ["a.onnx", "b.onnx"],
                          task="hf-candidate-selector-lc", pt_cand_max=6.0)  # fmt: skip
    assert lc.pt_range_problems() == []
    with pytest.raises(errors.MlResponseConfigError, match=r"pT = 6\.0 passes ptCandMax = 6\.0"):
        MlResponseConfig(EDGES, [0, 2, 2], [[0.5, 0, 0]] * 2, TWO, ["a.onnx", "b.onnx"],
                         pt_cand_max=6.0)  # fmt: skip
    with pytest.raises(errors.MlResponseConfigError, match=r"pT = 1\.5 passes ptCandMin"):
        MlResponseConfig(EDGES, [0, 2, 2], [[0.5, 0, 0]] * 2, TWO, ["a.onnx", "b.onnx"],
                         pt_cand_min=1.5)  # fmt: skip
    out = models[0]
    doc = json.loads((out / "o2physics.json").read_text())
    doc[o2physics.DEFAULT_TASK]["ptCandMax"] = "6.0"  # what o2ml wrote before
    for name in models[2].onnx_files:
        (tmp_path / name).write_bytes((out / name).read_bytes())
    (tmp_path / "old.json").write_text(json.dumps(doc))
    twin = MlResponse.from_json(tmp_path / "old.json")
    assert twin.config.pt_cand_max == 6.0
    assert "pT = 6.0 passes ptCandMax = 6.0" in twin.config.pt_range_problems()[0]
    X, _ = toy(3, seed=1)
    with pytest.raises(o2physics.ModelIndexError, match=r"pT = 6\.0 GeV/c passes the task's own"):
        twin.is_selected_ml(X, [3.0, 5.0, 6.0], outside="selector")
    # a float64 pT that rounds to the float 6.0 is the same candidate for O2Physics
    assert twin.find_bin([5.99999999])[0] == -1
    with pytest.raises(errors.MlResponseConfigError, match="findBin returns -1"):
        twin.config.to_json(tmp_path / "again.json")
    # without ptCandMin/ptCandMax the selector's defaults (1, 36) apply: both sides leak
    del doc[o2physics.DEFAULT_TASK]["ptCandMin"], doc[o2physics.DEFAULT_TASK]["ptCandMax"]
    (tmp_path / "none.json").write_text(json.dumps(doc))
    config = MlResponseConfig.from_json(tmp_path / "none.json")
    assert (config.pt_cand_min, config.pt_cand_max) == (1.0, 36.0)
    assert len(config.pt_range_problems()) == 2
    # the exported file: the same candidates pass, a candidate at 6.0 is rejected, not fatal
    good = MlResponse.from_json(out / "o2physics.json")
    sel = good.is_selected_ml(X, [3.0, 5.0, 6.0], outside="selector")
    assert not sel[2] and good.accepts_pt([1.9999999, 2.0, 5.9999995, 6.0]).tolist() == [
        False, True, True, False
    ]  # fmt: skip
