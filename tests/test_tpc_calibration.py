"""TPC dE/dx calibration (notebook 05): the skim generator, the pidTPC contract, the splines, the
networks (teacher, distilled student, ONNX in the contract) and the evaluation."""

from __future__ import annotations

import json
import os
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from o2ml import io
from o2ml.errors import BadArgumentError, ColumnNotFoundError, ModelFileError, OutputExistsError
from o2ml.models.tpc import _nets, deploy, inputs, network, splines
from o2ml.models.tpc import evaluate as ev
from o2ml.physics import detectors as det
from o2ml.schema import TPC_SKIM_TOF, TPC_SKIM_V0
from o2ml.toymc import tpc as toy

pytestmark = pytest.mark.xdist_group("tpc")


@pytest.fixture(scope="module")
def sample():
    """Tagged data tracks (with truth) split into train / validation / test."""
    skims = toy.generate_tpc_skims(40_000, 3, "data", with_truth=True)
    frame = pd.concat(list(skims.values()), ignore_index=True)
    frame = frame[inputs.usable(frame)].reset_index(drop=True)
    part = np.random.default_rng(0).random(len(frame))
    return {
        "train": frame[part < 0.6].reset_index(drop=True),
        "val": frame[(part >= 0.6) & (part < 0.75)].reset_index(drop=True),
        "test": frame[part >= 0.75].reset_index(drop=True),
    }


def _xr(frame):
    return inputs.network_inputs(frame), inputs.target_ratio(frame)


@pytest.fixture(scope="module")
def trained(sample):
    X, r = _xr(sample["train"])
    Xv, rv = _xr(sample["val"])
    config = network.NetworkConfig(seed=5)
    teacher = network.train_teacher(X, r, Xv, rv, members=2, config=config, progress=False)
    student_config = replace(network.STUDENT_CONFIG, seed=5)
    student = network.distill(teacher, X, Xv, config=student_config, progress=False)
    return {"splines": splines.fit_splines(X, r), "teacher": teacher, "student": student}


# ------------------------------------------------------------------------------- generator
def test_skims_have_the_o2physics_layout_and_are_reproducible():
    a = toy.generate_tpc_skims(3000, 11, "data")
    b = toy.generate_tpc_skims(3000, 11, "data")
    for table in (TPC_SKIM_V0, TPC_SKIM_TOF):
        frame = a[table.name]
        assert list(frame.columns) == table.column_names("data", truth=False)
        assert "fTruthPidIndex" not in frame
        assert len(frame) == 3000
        pd.testing.assert_frame_equal(frame, b[table.name])
        assert frame.dtypes["fPidIndex"] == np.uint8 and frame.dtypes["fRunNumber"] == np.int32
    assert (
        TPC_SKIM_V0.tree_name == "O2tpcskimv0tree" and TPC_SKIM_TOF.tree_name == "O2tpctofskimtree"
    )
    other = toy.generate_tpc_skims(3000, 12, "data")
    assert not a[TPC_SKIM_V0.name].equals(other[TPC_SKIM_V0.name])


def test_skim_columns_follow_pidtpc_and_the_skim_creator():
    frame = toy.generate_tpc_skims(5000, 1, "data", with_truth=True)[TPC_SKIM_V0.name]
    p, m = frame["fTPCInnerParam"].to_numpy(float), frame["fMass"].to_numpy(float)
    expected = det.tpc_expected_signal(p, m)
    np.testing.assert_allclose(frame["fInvDeDxExpTPC"], 1.0 / expected, rtol=1e-5)
    np.testing.assert_allclose(frame["fBetaGamma"], p / m, rtol=1e-5)
    s = frame["fTPCSignal"].to_numpy(float)
    np.testing.assert_allclose(
        frame["fNSigTPC"], (s - expected) / (0.07 * expected), rtol=1e-4, atol=1e-4
    )
    ncl = 152.0 / frame["fNormNClustersTPC"].to_numpy(float) ** 2
    assert ncl.min() > 59.5 and ncl.max() < 159.5  # sqrt(152 / tpcNClsFound) of 60..159 clusters
    assert set(frame["fPidIndex"].unique()) == {0, 2, 4}  # V0s: e (gamma), pi (K0S), p (Lambda)
    assert (frame["fTPCdEdxNorm"] == -999).all() and (frame["fNSigITS"] == -999).all()
    # the Armenteros qT of a V0 stays below its decay momentum p*
    for pid, p_star in ((2, 0.2061), (4, 0.1010)):
        assert frame.loc[frame["fPidIndex"] == pid, "fQtV0"].max() <= p_star + 1e-6


def test_tag_contamination_is_measured_and_close_to_the_configured_one():
    skims = toy.generate_tpc_skims(60_000, 2, "data", with_truth=True)
    v0 = skims[TPC_SKIM_V0.name]
    wrong = v0["fTruthPidIndex"] != v0["fPidIndex"]
    # Lambda: 10 % combinatorial background, ~ 7 % of it are protons themselves
    assert 0.07 < wrong[v0["fPidIndex"] == 4].mean() < 0.11
    assert 0.03 < wrong[v0["fPidIndex"] == 0].mean() < 0.07  # conversions: 5 %
    tof = skims[TPC_SKIM_TOF.name]
    assert (tof["fNSigTOF"].abs() < 3).all()
    wrong = tof["fTruthPidIndex"] != tof["fPidIndex"]
    assert 0 < wrong.mean() < 0.05
    high = tof["fTPCInnerParam"] > 2
    assert wrong[high].mean() > wrong[~high].mean()  # the TOF bands meet at high p


def test_data_and_mc_follow_different_responses():
    args = np.column_stack([np.full(3, 1.0), [0.0, 0.5, 1.0], np.full(3, 1.0), np.full(3, 0.1396),
                            np.full(3, 0.8), np.full(3, 1.1)])  # fmt: skip
    data_mean, data_sigma = toy.true_response(args, domain="data")
    mc_mean, mc_sigma = toy.true_response(args, domain="mc")
    assert np.abs(data_mean - mc_mean).max() > 0.05 and (data_sigma > mc_sigma).all()
    with pytest.raises(BadArgumentError, match="domain"):
        toy.true_response(args, domain="pp")
    with pytest.raises(BadArgumentError, match=r"\[n, 6\]"):
        toy.true_response(args[:, :5])
    with pytest.raises(BadArgumentError, match="domain"):
        toy.generate_tpc_skims(10, 1, "Data")
    with pytest.raises(BadArgumentError, match="n must be"):
        toy.generate_tpc_tracks(-1, 1)


def test_the_true_response_has_terms_no_factorisation_holds():
    # mean(tgl, mult) - mean(tgl, 0) depends on tgl: the space-charge cross term
    def mean(tgl, mult):
        return toy.true_response(np.array([[1.0, tgl, 1.0, 0.14, mult, 1.0]]))[0][0]

    lo, hi = np.array([mean(0.0, 0.0), mean(1.0, 0.0)]), np.array([mean(0.0, 1.0), mean(1.0, 1.0)])
    assert abs((hi - lo)[1] - (hi - lo)[0]) > 0.05


def test_tracks_with_a_hypothesis_are_skim_rows():
    tracks = toy.generate_tpc_tracks(2000, 4)
    assert "fTruthPidIndex" in tracks and "fMass" not in tracks
    rows = toy.with_hypothesis(tracks, "K")
    assert list(rows.columns) == TPC_SKIM_TOF.column_names("data", truth=True)
    assert (rows["fPidIndex"] == 3).all()
    with pytest.raises(BadArgumentError, match="Unknown species"):
        toy.with_hypothesis(tracks, "kaon")
    with pytest.raises(BadArgumentError, match="with_truth"):
        toy.truth_species(toy.generate_tpc_tracks(10, 4, with_truth=False))


def test_the_sample_on_disk_reads_back_as_generated(tmp_path):
    from o2ml.toymc import generate as gen

    s = gen.ensure_sample("tpc", tmp_path, fast=True)
    assert s.data.name == gen.TPC_FILES["data"]["v0"]
    n_data, n_mc = gen.FAST_SIZES["tpc"]
    expected = toy.generate_tpc_skims(n_data, 42, "data", with_truth=True)
    for tree, table in (("v0", TPC_SKIM_V0), ("tof", TPC_SKIM_TOF)):
        back = io.read_table(tmp_path / gen.TPC_FILES["data"][tree], table.name)
        pd.testing.assert_frame_equal(back, expected[table.name], check_dtype=True)
        assert len(io.read_table(tmp_path / gen.TPC_FILES["mc"][tree], table.name)) == n_mc


# ------------------------------------------------------------------------------- contract
def test_network_inputs_are_the_six_pidtpc_inputs_in_order(sample):
    frame = sample["test"]
    X = inputs.network_inputs(frame)
    assert X.dtype == np.float32 and X.shape == (len(frame), 6)
    np.testing.assert_array_equal(X[:, 3], frame["fMass"].to_numpy(np.float32))
    assert (
        inputs.INPUT_COLUMNS[0] == "fTPCInnerParam"
        and inputs.INPUT_COLUMNS[-1] == "fNormNClustersTPC"
    )
    with pytest.raises(ColumnNotFoundError, match="fNormMultTPC"):
        inputs.network_inputs(frame.drop(columns="fNormMultTPC"), source="my_skim.root")
    with pytest.raises(BadArgumentError, match=r"outputs \[n, 2\]"):
        inputs.nsigma(np.ones(3), np.ones((3, 3)))
    z = inputs.nsigma(np.array([1.07, 1.0]), np.array([[1.0, 1.07], [1.0, 1.07]]))
    np.testing.assert_allclose(z, [1.0, 0.0])


def test_usable_rows_are_above_the_beta_gamma_cutoff():
    frame = pd.DataFrame({"fTPCInnerParam": [0.3, 0.5, 2.0], "fMass": [0.938, 0.938, 0.938],
                          "fInvDeDxExpTPC": [0.01, 0.01, -1.0], "fTPCSignal": [50.0, 50.0, 50.0]})  # fmt: skip
    np.testing.assert_array_equal(inputs.usable(frame), [False, True, False])


def test_a_model_outside_the_contract_is_refused(tmp_path):
    import torch

    from o2ml.onnx import model_metadata, torch_to_onnx

    path = tmp_path / "three_outputs.onnx"
    meta = model_metadata([f"x{i}" for i in range(6)], [])
    torch_to_onnx(torch.nn.Linear(6, 3), path, output="y", metadata=meta)
    with pytest.raises(ModelFileError, match=r"output as float32 \[batch, 2\]"):
        inputs.check_onnx_contract(path)


# ------------------------------------------------------------------------------- models
def test_splines_recover_a_factorising_response():
    skims = toy.generate_tpc_skims(30_000, 8, "mc", with_truth=True)
    frame = pd.concat(list(skims.values()), ignore_index=True)
    frame = frame[inputs.usable(frame) & (frame["fTruthPidIndex"] == frame["fPidIndex"])]
    model = splines.fit_splines(*_xr(frame), passes=3)
    assert list(model.history["pass"]) == [1, 2, 3, 1, 2, 3]
    mean, sigma = toy.true_ratio_response(frame, "mc")
    out = model.predict(frame)
    assert np.sqrt(np.mean(((out[:, 0] - mean) / sigma) ** 2)) < 0.06
    assert np.sqrt(np.mean(((out[:, 1] - out[:, 0]) / sigma - 1) ** 2)) < 0.05


def test_splines_save_and_load(tmp_path, trained, sample):
    model = trained["splines"]
    path = model.save(tmp_path / "splines.json")
    back = splines.SplineCalibration.load(path)
    np.testing.assert_array_equal(back.predict(sample["test"]), model.predict(sample["test"]))
    with pytest.raises(OutputExistsError):
        model.save(path)
    path.write_text(json.dumps({"grids": []}))
    with pytest.raises(ModelFileError, match="spline calibration"):
        splines.SplineCalibration.load(path)
    with pytest.raises(BadArgumentError, match="same number"):
        splines.fit_splines(np.ones((500, 6)), np.ones(499))


def test_the_networks_beat_the_splines_on_the_truth(trained, sample):
    frame = sample["test"]
    clean = frame[frame["fTruthPidIndex"] == frame["fPidIndex"]]
    mean, sigma = toy.true_ratio_response(clean)
    outputs = {name: ev.outputs_of(m, clean) for name, m in trained.items()}
    outputs["Bethe-Bloch"] = ev.outputs_of(None, clean)
    closure = ev.truth_closure(outputs, mean, sigma).set_index("method")
    for nn in ("teacher", "student"):
        assert closure.loc[nn, "mean_bias_rms"] < closure.loc["splines", "mean_bias_rms"]
        assert closure.loc[nn, "width_error_rms"] < closure.loc["splines", "width_error_rms"]
    assert closure.loc["splines", "mean_bias_rms"] < closure.loc["Bethe-Bloch", "mean_bias_rms"]
    # every training ended by early stopping, on the best epoch
    for m in (trained["teacher"], trained["student"]):
        assert m.history.groupby("member")["stopped_early"].all().all()
        assert m.history.groupby("member")["best"].sum().eq(1).all()


def test_the_student_follows_the_teacher_with_fewer_parameters(trained, sample):
    X = inputs.network_inputs(sample["test"])
    t, s = trained["teacher"].predict(X), trained["student"].predict(X)
    assert np.median(np.abs(s[:, 0] - t[:, 0]) / (t[:, 1] - t[:, 0])) < 0.05
    assert trained["student"].n_parameters * 5 < trained["teacher"].n_parameters
    assert trained["teacher"].n_parameters == 2 * network.n_parameters(
        trained["teacher"].ensemble.nets[0]
    )


def test_training_is_reproducible(sample):
    X, r = _xr(sample["train"].iloc[:4000])
    Xv, rv = _xr(sample["val"].iloc[:1000])
    kw = {"members": 1, "config": network.NetworkConfig(epochs=2, hidden=(8, 8)), "progress": False}
    a, b = (network.train_teacher(X, r, Xv, rv, **kw) for _ in range(2))
    for (k, va), vb in zip(
        a.ensemble.state_dict().items(), b.ensemble.state_dict().values(), strict=True
    ):
        assert np.array_equal(va.numpy(), vb.numpy()), k
    with pytest.raises(BadArgumentError, match="same numbers"):
        network.train_teacher(X, r[:-1], Xv, rv, **kw)
    with pytest.raises(BadArgumentError, match="Unknown network settings"):
        network.NetworkConfig.from_dict({"hiden": [8]})


def test_network_save_load_and_onnx_in_the_contract(tmp_path, trained, sample):
    from o2ml.onnx import read_metadata, run, session

    X = inputs.network_inputs(sample["test"])
    for name in ("teacher", "student"):
        model = trained[name]
        back = network.TpcNetwork.load(model.save(tmp_path / f"{name}.pt"))
        np.testing.assert_array_equal(back.predict(X), model.predict(X))
        assert back.role == name and len(back.ensemble.nets) == len(model.ensemble.nets)
        path = tmp_path / f"{name}.onnx"
        model.to_onnx(path)
        found = inputs.check_onnx_contract(path)
        assert found["inputs"][0][2][1] == 6 and found["outputs"][0][2][1] == 2
        assert np.abs(run(session(path), X) - model.predict(X)).max() <= 1e-5
        meta = read_metadata(path)
        assert "pidTPCModule.h" in meta["consumer"] and len(meta["inputs"]) == 6
        with pytest.raises(OutputExistsError):
            model.to_onnx(path)
    (tmp_path / "other.pt").write_bytes(b"")
    (tmp_path / "other.meta.json").write_text(json.dumps({"model": "o2ml.models.dann"}))
    with pytest.raises(ModelFileError, match="not a TPC network"):
        network.TpcNetwork.load(tmp_path / "other.pt")
    (tmp_path / "other.meta.json").write_text(json.dumps({"model": "o2ml.models.tpc.network"}))
    with pytest.raises(ModelFileError, match=r"lacks \['config', 'members'\]"):
        network.TpcNetwork.load(tmp_path / "other.pt")


# ------------------------------------------------------------------------------- evaluation
def test_profiles_of_a_perfect_calibration_are_flat():
    rng = np.random.default_rng(1)
    z, x = rng.standard_normal(60_000), rng.uniform(0, 1, 60_000)
    t = ev.profile(z, x, bins=10)
    assert len(t) == 10 and t["n"].sum() == 60_000
    assert t["mean"].abs().max() < 0.06 and (t["width"] - 1).abs().max() < 0.06
    # a drift in x shows up
    drifted = ev.profile(z + 0.5 * x, x, bins=10)
    assert drifted["mean"].iloc[-1] - drifted["mean"].iloc[0] > 0.3
    frame = pd.DataFrame({c: rng.uniform(0, 1, 60_000) for c in ev.VARIABLES.values()})
    flat = ev.flatness({"perfect": z, "drift": z + frame["fTgl"].to_numpy()}, frame)
    assert len(flat) == 2 * (5 + 10)
    worst = flat.groupby("method")["mean_rms"].max()
    assert worst["perfect"] < 0.08 < worst["drift"]
    with pytest.raises(BadArgumentError, match="nsigma values"):
        ev.flatness({"short": z[:10]}, frame)


def test_selection_separation_and_the_summary_table(trained):
    tracks = toy.generate_tpc_tracks(20_000, 9)
    tracks = tracks[tracks["fTPCInnerParam"].between(0.3, 2.0)].reset_index(drop=True)
    models = {"Bethe-Bloch": None, "student": trained["student"]}
    sel = ev.selection(
        {n: ev.species_nsigmas(m, tracks) for n, m in models.items()}, tracks, [0.3, 1.0, 2.0]
    )
    summary = ev.selection_summary(sel)
    assert set(summary["species"]) == {"pi", "K", "p"} and summary["efficiency"].between(0, 1).all()
    # a calibrated nsigma keeps close to the nominal 99.7 % of a species within 3 sigma
    eff = summary.set_index(["method", "species"])["efficiency"]
    assert eff["student", "pi"] > 0.98
    sep = ev.separation_table({n: ev.species_ratios(m, tracks) for n, m in models.items()}, tracks,
                              [0.3, 0.5, 0.8])  # fmt: skip
    assert set(sep["pair"]) == {"pi-K", "K-p"}
    assert (sep.loc[sep["pair"] == "pi-K", "separation"] > 1).all()  # pi/K well apart below 0.8
    flat = ev.flatness({n: ev.nsigma_of(m, toy.with_hypothesis(tracks, "pi")) for n, m in models.items()},
                       toy.with_hypothesis(tracks, "pi"))  # fmt: skip
    table = ev.summary_table(flat, purity=summary, separation=sep, separation_at={"pi-K": 0.4})
    assert list(table.index) == ["Bethe-Bloch", "student"]
    assert "separation pi-K at 0.4 GeV/c" in table and "purity K" in table


def test_the_cost_per_track_is_measured(tmp_path, trained, sample):
    from o2ml.onnx import per_track_cost

    path = tmp_path / "s.onnx"
    trained["student"].to_onnx(path)
    cost = per_track_cost(path, inputs.network_inputs(sample["test"]), n_single=200)
    assert cost["batch1_us"] > 0 and 0 < cost["bulk_us"] < cost["batch1_us"]


# ------------------------------------------------------------------------------- deployment
def _untrained_onnx(path):
    model = network.TpcNetwork(
        _nets.Ensemble([_nets.TpcNet((4,))]), network.NetworkConfig(hidden=(4,)), "student"
    )
    model.to_onnx(path)
    return path


def test_the_pidtpc_section_names_only_declared_configurables_and_all_network_ones(tmp_path):
    onnx = _untrained_onnx(tmp_path / "tpc_network_student.onnx")
    path = deploy.write_pidtpc_config(onnx, [0, 2, 3, 4])  # e, pi, K, p as in fPidIndex
    assert path == tmp_path / "tpc_network_student.dpl-config.json"
    doc = json.loads(path.read_text())
    assert list(doc) == ["pid-tpc-service"] and list(doc["pid-tpc-service"]) == ["pidTPC"]
    section = doc["pid-tpc-service"]["pidTPC"]
    # every key is a configurable of pidTPCConfigurables at the recorded commit, and every
    # configurable that loads or applies the network is set
    assert set(section) <= set(deploy.PIDTPC_CONFIGURABLES)
    assert set(deploy.NETWORK_CONFIGURABLES) <= set(section)
    assert len(deploy.PIDTPC_SOURCE["commit"]) == 40
    assert all(isinstance(v, str) for v in section.values())  # as O2 writes a configuration
    # the local file, never replaced by a CCDB download, and no corrected-dE/dx mode
    assert section["useNetworkCorrection"] == "true" and section["autofetchNetworks"] == "false"
    assert section["networkPathLocally"] == "tpc_network_student.onnx"
    assert section["ccdb-timestamp"] == "0" and section["useCorrecteddEdx"] == "false"
    assert float(section["networkBetaGammaCutoff"]) == inputs.BETA_GAMMA_CUTOFF
    # the species not trained are off (their default is on)
    on = {s: section[f"useNetwork{s}"] for s in deploy.SPECIES}
    assert on == {"El": "1", "Mu": "0", "Pi": "1", "Ka": "1", "Pr": "1",
                  "De": "0", "Tr": "0", "He": "0", "Al": "0"}  # fmt: skip
    assert all(deploy.PIDTPC_CONFIGURABLES[f"useNetwork{s}"][1] == 1 for s in deploy.SPECIES)
    assert deploy.network_species(doc) == ["El", "Pi", "Ka", "Pr"]
    with pytest.raises(OutputExistsError):
        deploy.write_pidtpc_config(onnx, [2])


def test_the_pidtpc_section_takes_species_by_name_and_refuses_the_unknown():
    by_name = deploy.pidtpc_section(["pi", "K", "Pr"], network_path="n.onnx")
    by_id = deploy.pidtpc_section(np.array([2, 3, 4], np.uint8), network_path="n.onnx")
    assert by_name == by_id
    assert deploy.network_species(by_name) == ["Pi", "Ka", "Pr"]
    for bad in ([], ["kaon"], [9], [True]):
        with pytest.raises(BadArgumentError, match="species"):
            deploy.pidtpc_section(bad, network_path="n.onnx")
    # pidTPC's defaults: the network off; on, it runs for every species the section leaves out
    assert deploy.network_species({}) == []
    flat = {"pid-tpc-service": {"pidTPC.useNetworkCorrection": "1", "pidTPC.useNetworkMu": "0"}}
    assert deploy.network_species(flat) == [s for s in deploy.SPECIES if s != "Mu"]


def test_the_pidtpc_section_is_written_for_a_network_pidtpc_can_run_only(tmp_path):
    import torch

    from o2ml.onnx import model_metadata, torch_to_onnx

    path = tmp_path / "three_outputs.onnx"
    meta = model_metadata([f"x{i}" for i in range(6)], [])
    torch_to_onnx(torch.nn.Linear(6, 3), path, output="y", metadata=meta)
    with pytest.raises(ModelFileError, match=r"\[batch, 2\]"):
        deploy.write_pidtpc_config(path, [2])
    assert not (tmp_path / "three_outputs.dpl-config.json").exists()


#: a git directory of O2Physics, to check the stored configurables against the source itself
O2PHYSICS_GIT = os.environ.get("O2PHYSICS_GIT_DIR", "/work/.mirror/AliceO2Group+O2Physics/repo")


@pytest.mark.skipif(not os.path.isdir(O2PHYSICS_GIT), reason="no O2Physics git directory")
def test_the_stored_configurables_are_those_of_the_recorded_commit():
    import re
    import subprocess

    src = deploy.PIDTPC_SOURCE
    try:
        text = subprocess.run(
            ["git", f"--git-dir={O2PHYSICS_GIT}", "show", f"{src['commit']}:{src['file']}"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        pytest.skip(f"{src['commit']} is not in {O2PHYSICS_GIT}")
    group = text[text.index("struct pidTPCConfigurables") :]
    group = group[: group.index("\n};")]
    assert f'std::string prefix = "{deploy.PIDTPC_GROUP}";' in group
    declared = re.findall(r'Configurable<(.+?)> \w+\{"([^"]+)", (.+?), \{?"', group)
    assert [(name, kind) for kind, name, _ in declared] == [
        (name, kind) for name, (kind, _) in deploy.PIDTPC_CONFIGURABLES.items()
    ]
    for kind, name, default in declared:
        if kind in ("int", "int64_t", "float", "bool"):
            value = {"true": 1, "false": 0}.get(default, default)
            assert float(value) == float(deploy.PIDTPC_CONFIGURABLES[name][1]), name
    task = subprocess.run(
        ["git", f"--git-dir={O2PHYSICS_GIT}", "show", f"{src['task_commit']}:{src['task_file']}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "struct pidTpcService {" in task and "pidTPCConfigurables pidTPCopts;" in task
    assert "adaptAnalysisTask<pidTpcService>(cfgc)" in task  # DPL: pidTpcService -> pid-tpc-service


@pytest.mark.parametrize("width", ["mad", "core"])
def test_the_flatness_floor_is_what_a_perfect_calibration_gives(width):
    """A perfect calibration (nσ ~ N(0, 1) everywhere) sits at its floor: the RMS over bins of
    the medians and widths is the stated floor, within the scatter of a 12-bin RMS."""
    from o2ml.models.tpc import evaluate as ev

    rng = np.random.default_rng(5)
    n = 24_000
    frame = pd.DataFrame({c: rng.random(n) for c in ev.VARIABLES.values()})
    ratios = []
    for seed in range(6):
        z = np.random.default_rng(seed).standard_normal(n)
        flat = ev.flatness({"perfect": z}, frame, width=width)
        ratios.append((flat["mean_rms"] / flat["mean_floor"]).mean())
        ratios.append((flat["width_rms"] / flat["width_floor"]).mean())
    assert 0.8 < np.mean(ratios) < 1.2, ratios
    # a miscalibrated one is far above it
    shifted = ev.flatness({"off": rng.standard_normal(n) + 0.2 * frame.iloc[:, 0]}, frame)
    assert (shifted["mean_rms"] > 3 * shifted["mean_floor"]).any()


def test_the_core_width_ignores_a_few_per_cent_of_contamination():
    from o2ml.models.tpc import evaluate as ev

    rng = np.random.default_rng(3)
    z = np.where(rng.random(200_000) < 0.05, 4 * rng.standard_normal(200_000),
                 rng.standard_normal(200_000))  # fmt: skip
    mad = ev.profile(z, rng.random(z.size), bins=4)["width"].mean()
    core = ev.profile(z, rng.random(z.size), bins=4, width="core")["width"].mean()
    assert abs(core - 1) < 0.03 < mad - 1
    with pytest.raises(BadArgumentError, match="width must be"):
        ev.profile(z, z, width="gauss")
