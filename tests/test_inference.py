"""o2ml.inference: backends that agree, ``o2ml apply`` over files (restartable, never destructive)."""

from __future__ import annotations

import itertools
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from o2ml import cli
from o2ml.channels import ds
from o2ml.errors import ColumnNotFoundError, InputFileNotFoundError, O2mlError, UnknownBackendError
from o2ml.export.choices import ExportSettings
from o2ml.export.model_dir import write_model_dir
from o2ml.inference import (
    BACKENDS,
    DEFAULT_COLUMNS,
    OUTPUT_TABLE,
    BinnedModel,
    Execution,
    apply_files,
    check_output,
    make_scorer,
)
from o2ml.io import file_metadata, read_table, write_table
from o2ml.models import bdt
from o2ml.schema import PtBin, pt_bins
from o2ml.toymc.generate import draw

pytestmark = pytest.mark.xdist_group("inference")

EDGES = [1, 2, 24]  # GeV/c: every synthetic candidate falls in a bin
TABLE = "HfCandDsLites"
SYNCHRONOUS = Execution(scheduler="synchronous")


def train_model_dir(out: Path, sample, n_estimators: int, max_depth: int) -> Path:
    models = {}
    for b in pt_bins(EDGES):
        handlers = bdt.class_handlers(sample.data, sample.mc, b, sidebands=ds.SIDEBANDS)
        train_test = bdt.balanced_train_test(handlers, seed=1, max_per_class=2000)
        params = {"n_estimators": n_estimators, "max_depth": max_depth}
        models[b] = bdt.model_handler(ds.TUTORIAL_FEATURES, params, seed=1, n_jobs=1)
        models[b].fit(train_test[0], train_test[1])
    cuts = [[0.5, 0.0, 0.0]] * len(models)
    export = ExportSettings(features=ds.TUTORIAL_FEATURES)
    return write_model_dir(models, out, export=export, cuts=cuts, seed=1).parent


@pytest.fixture(scope="module")
def sample():
    return draw("ds", 400_000, 40_000, seed=5)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, sample) -> Path:
    return train_model_dir(tmp_path_factory.mktemp("model"), sample, 60, 4)


@pytest.fixture()
def inputs(tmp_path, sample) -> Path:
    """4 files in run sub-directories, all named AO2D.root as on the grid, 2 DF_ folders each."""
    root = tmp_path / "in"
    for i in range(4):
        part = sample.data.iloc[i * 25_000 : (i + 1) * 25_000]
        write_table(part, root / f"run{i}" / "AO2D.root", TABLE, folders=2)
    return root


def run(model_dir, inputs, out, *, columns=DEFAULT_COLUMNS, fmt="parquet", **how):
    """apply_files on the 4 inputs; ``how``: the fields of its :class:`Execution`."""
    execution = Execution(**{"scheduler": "synchronous", "progress": False, **how})
    return apply_files(model_dir, str(inputs / "*" / "AO2D.root"), out, columns=columns, fmt=fmt,
                       execution=execution)  # fmt: skip


def test_backends_agree_on_100k_candidates(model_dir, sample):
    model = BinnedModel.load(model_dir)
    df = sample.data.iloc[:100_000]
    scores = {b: model.score(df, model.scorers(b)).to_numpy() for b in BACKENDS}
    reference = scores["xgboost"]
    assert np.isfinite(reference).all() and reference.shape == (100_000, 3)
    np.testing.assert_allclose(reference.sum(axis=1), 1, atol=1e-5)
    for name, s in scores.items():
        assert np.abs(s - reference).max() < 1e-5, name
    # the same as XGBoost's own predict_proba of each bin's model
    clf, _ = bdt.load_model(model.xgboost_path(0))
    in_bin0 = (df["fPt"] >= 1) & (df["fPt"] < 2)
    native = clf.predict_proba(df.loc[in_bin0, ds.TUTORIAL_FEATURES])
    assert np.abs(reference[in_bin0.to_numpy()] - native).max() < 1e-6


@pytest.mark.parametrize("depth", [2, 6])
def test_every_backend_scores_one_candidate_and_any_batch(sample, depth, tmp_path):
    """Shallow trees are where hummingbird switches strategy (its GEMM export had a fixed batch)."""
    import xgboost as xgb

    X = sample.data[ds.TUTORIAL_FEATURES].to_numpy(np.float32)[:3000]
    y = np.arange(len(X)) % 3
    clf = xgb.XGBClassifier(n_estimators=20, max_depth=depth, n_jobs=1).fit(X, y)
    onnx_path = write_model_dir(
        {PtBin(1, 24): clf}, tmp_path, export=ExportSettings(features=ds.TUTORIAL_FEATURES),
        cuts=[[0.5, 0, 0]],
    ).with_name("ModelHandler_onnx_DsToKKPi_pT_1_24.onnx")  # fmt: skip
    reference = clf.predict_proba(X)
    for name in BACKENDS:
        scorer = make_scorer(name, xgb_model=clf, onnx_path=onnx_path)
        # hummingbird's dense tensors grow with the batch: bulk calls are cut in chunks
        assert (scorer.chunk is not None) == name.startswith("hummingbird"), name
        one = scorer.single()
        assert np.abs(one(X[7]) - reference[7]).max() < 1e-5, name
        for n in (1, 2, 1000):
            assert np.abs(scorer.predict(X[:n]) - reference[:n]).max() < 1e-5, (name, n)


def test_scores_outside_the_bins_are_nan(model_dir, sample):
    model = BinnedModel.load(model_dir)
    df = sample.data.iloc[:1000].copy()
    df.loc[df.index[:10], "fPt"] = 30.0  # above binsPtMl
    out = model.score(df, model.scorers("onnxruntime"))
    assert out.iloc[:10].isna().all().all() and out.iloc[10:].notna().all().all()
    assert list(out.columns) == ["score_bkg", "score_prompt", "score_nonprompt"]
    with pytest.raises(ColumnNotFoundError, match="fCpa"):
        model.score(df.drop(columns="fCpa"), model.scorers("onnxruntime"))


def test_apply_writes_one_complete_output_per_input(model_dir, inputs, tmp_path):
    out = tmp_path / "out"
    report = run(model_dir, inputs, out, columns=["fM", "fPt", "fCpa"])
    assert report.ok and [r.status for r in report.results] == ["written"] * 4
    model = BinnedModel.load(model_dir)
    for i in range(4):
        path = out / f"run{i}" / "AO2D.parquet"  # the inputs' layout is kept: no name clash
        got = read_table(path, OUTPUT_TABLE)
        src = read_table(inputs / f"run{i}" / "AO2D.root", TABLE)
        assert list(got.columns) == ["fM", "fPt", "fCpa", *model.score_columns]
        assert len(got) == len(src) and np.array_equal(got["fM"], src["fM"])
        expected = model.score(src, model.scorers("xgboost"))
        assert np.array_equal(got[model.score_columns].to_numpy(), expected.to_numpy())
        meta = file_metadata(path)["o2ml_apply"]
        assert meta["entries"] == len(src) and meta["backend"] == "xgboost"  # auto: JSON present
    # run again: everything is complete, nothing is rewritten
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*.parquet")}
    again = run(model_dir, inputs, out, columns=["fM", "fPt", "fCpa"])
    assert [r.status for r in again.results] == ["skipped"] * 4
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.parquet")} == mtimes


def test_local_dask_cluster_and_root_output(model_dir, inputs, tmp_path):
    assert run(model_dir, inputs, tmp_path / "ref", backend="onnxruntime", fmt="root").ok
    report = run(
        model_dir, inputs, tmp_path / "out", backend="onnxruntime", fmt="root", scheduler=None,
        workers=2,
    )  # fmt: skip
    assert report.ok and report.workers == 2 and report.scheduler == "local"
    for i in range(4):
        a = read_table(tmp_path / "ref" / f"run{i}" / "AO2D.root", OUTPUT_TABLE)
        b = read_table(tmp_path / "out" / f"run{i}" / "AO2D.root", OUTPUT_TABLE)
        pd.testing.assert_frame_equal(a, b)


def test_bad_input_is_reported_and_the_others_continue(model_dir, inputs, tmp_path, capsys):
    bad = inputs / "run9" / "AO2D.root"
    bad.parent.mkdir()
    good = (inputs / "run0" / "AO2D.root").read_bytes()
    bad.write_bytes(good[: len(good) // 2])  # truncated transfer
    out = tmp_path / "out"
    code = cli.main(
        ["apply", "--model", str(model_dir), "--input", str(inputs / "*" / "AO2D.root"),
         "--out", str(out), "--scheduler", "synchronous", "-q"]
    )  # fmt: skip
    text = capsys.readouterr().out
    assert code == 1
    assert f"FAILED {bad}" in text and "1 failed" in text and "4 written" in text
    assert not (out / "run9" / "AO2D.parquet").exists()
    assert all((out / f"run{i}" / "AO2D.parquet").exists() for i in range(4))
    assert bad.read_bytes() == good[: len(good) // 2]  # the input is untouched


def test_foreign_or_stale_outputs_are_never_replaced_silently(model_dir, inputs, tmp_path):
    out = tmp_path / "out"
    foreign = out / "run0" / "AO2D.parquet"
    write_table(pd.DataFrame({"x": [1.0, 2.0]}), foreign, "Mine")
    before = foreign.read_bytes()
    report = run(model_dir, inputs, out)
    assert [r.status for r in report.results] == ["failed", "written", "written", "written"]
    assert "not written by o2ml apply" in report.results[0].error
    assert "--overwrite" in report.results[0].error
    assert foreign.read_bytes() == before

    # the input changes after its output was written: the output is stale, not complete
    src = inputs / "run1" / "AO2D.root"
    write_table(read_table(src, TABLE).iloc[:100], src, TABLE, overwrite=True)
    report = run(model_dir, inputs, out)
    assert report.results[1].status == "failed"
    assert "written for another input_size/input_mtime_ns" in report.results[1].error
    report = run(model_dir, inputs, out, overwrite=True)
    assert report.ok and [r.status for r in report.results] == [
        "written", "written", "skipped", "skipped"
    ]  # fmt: skip
    assert len(read_table(out / "run1" / "AO2D.parquet", OUTPUT_TABLE)) == 100

    # another backend is another request
    report = run(model_dir, inputs, out, backend="onnxruntime")
    assert not report.ok and "written for another model/backend" in report.results[0].error


def test_incomplete_own_output_is_redone_and_stale_temporaries_removed(model_dir, inputs, tmp_path):
    out = tmp_path / "out"
    run(model_dir, inputs, out)
    path = out / "run2" / "AO2D.parquet"
    ok, why = check_output(path, file_metadata(path)["o2ml_apply"])
    assert ok, why
    meta = file_metadata(path)
    meta["o2ml_apply"]["entries"] += 1  # a file claiming rows it does not hold
    write_table(read_table(path, OUTPUT_TABLE), path, OUTPUT_TABLE, overwrite=True, metadata=meta)
    leftover = path.with_name(f".{path.name}.abc123.tmp")  # as a killed worker leaves it
    leftover.write_bytes(b"partial")
    report = run(model_dir, inputs, out)
    assert [r.status for r in report.results] == ["skipped", "skipped", "written", "skipped"]
    assert check_output(path, file_metadata(path)["o2ml_apply"])[0]
    assert not leftover.exists()


def test_refuses_to_write_over_inputs_or_to_merge_outputs(model_dir, sample, tmp_path):
    d = tmp_path / "in"
    write_table(sample.data.iloc[:1000], d / "a.parquet", TABLE)
    with pytest.raises(O2mlError, match="would replace an input"):
        apply_files(model_dir, str(d / "*.parquet"), d, execution=SYNCHRONOUS)
    write_table(sample.data.iloc[:1000], d / "a.root", TABLE)
    with pytest.raises(O2mlError, match="would both be written"):
        apply_files(model_dir, str(d / "a.*"), tmp_path / "out", execution=SYNCHRONOUS)
    assert len(read_table(d / "a.parquet", TABLE)) == 1000


def test_model_directory_errors(model_dir, tmp_path, capsys):
    with pytest.raises(InputFileNotFoundError, match="no such model"):
        BinnedModel.load(tmp_path / "nope")
    with pytest.raises(O2mlError, match="expected one MlResponse configuration"):
        BinnedModel.load(tmp_path)
    only_onnx = tmp_path / "only_onnx"
    shutil.copytree(model_dir, only_onnx, ignore=shutil.ignore_patterns("ModelHandler*.json"))
    model = BinnedModel.load(only_onnx)
    assert model.resolve_backend("auto") == "onnxruntime"
    with pytest.raises(
        InputFileNotFoundError, match="ModelHandler_onnx_DsToKKPi_pT_1_2.json.*only ONNX"
    ):
        model.scorers("hummingbird-torch")
    with pytest.raises(UnknownBackendError, match="choose one of"):
        model.scorers("tensorflow")
    code = cli.main(
        ["apply", "--model", str(only_onnx), "--input", str(tmp_path / "none*.root"),
         "--out", str(tmp_path / "o"), "--backend", "xgboost", "-q"]
    )  # fmt: skip
    assert code == 2 and "only ONNX" in capsys.readouterr().err
    for option in ("--workers", "--threads"):
        code = cli.main(
            ["apply", "--model", str(model_dir), "--input", str(tmp_path / "x.root"),
             "--out", str(tmp_path / "o"), option, "0", "-q"]
        )  # fmt: skip
        assert code == 2 and "must be at least 1" in capsys.readouterr().err


@pytest.mark.parametrize("backend", ["xgboost", "onnxruntime"])
def test_apply_scores_equal_native_predict_proba_at_and_outside_the_bin_edges(
    model_dir, sample, tmp_path, backend
):
    """Every candidate gets the XGBoost probabilities of its own bin's model, [lo, hi) as
    MlResponse::findBin; NaN below the first and at or above the last edge."""
    df = sample.data.iloc[:6000].copy()
    edge_pts = np.array([0.5, 0.999, 1.0, 1.5, 2.0, 2.0001, 23.999, 24.0, 30.0], np.float32)
    df.loc[df.index[: len(edge_pts)], "fPt"] = edge_pts
    src = tmp_path / "in" / "AO2D.root"
    write_table(df, src, TABLE, folders=3)
    execution = Execution(backend=backend, scheduler="synchronous", progress=False)
    report = apply_files(model_dir, src, tmp_path / "out", execution=execution)
    assert report.ok, report.summary()
    got = read_table(report.results[0].output, OUTPUT_TABLE)
    model = BinnedModel.load(model_dir)
    pt = read_table(src, TABLE)["fPt"].to_numpy()
    expected = np.full((len(df), 3), np.nan)
    for i, (lo, hi) in enumerate(itertools.pairwise(EDGES)):
        clf, _ = bdt.load_model(model.xgboost_path(i))  # the native model of bin i
        rows = (pt >= lo) & (pt < hi)
        expected[rows] = clf.predict_proba(df.loc[rows, ds.TUTORIAL_FEATURES])
    scores = got[model.score_columns].to_numpy()
    assert np.array_equal(np.isnan(scores), np.isnan(expected))
    assert np.isnan(scores[[0, 1, 7, 8]]).all() and np.isfinite(scores[2:7]).all()
    np.testing.assert_allclose(scores, expected, atol=1e-5 if backend == "onnxruntime" else 1e-7)
    # the candidate at pT = 2 is scored by the 2-24 model, not by the 1-2 one
    clf_low, _ = bdt.load_model(model.xgboost_path(0))
    assert not np.allclose(scores[4], clf_low.predict_proba(df.iloc[[4]][ds.TUTORIAL_FEATURES])[0])


def test_feature_order_disagreeing_with_the_configuration_exits_2(model_dir, tmp_path, capsys):
    swapped = tmp_path / "swapped"
    shutil.copytree(model_dir, swapped)
    config_path = next(p for p in swapped.glob("*.json") if "binsPtMl" in p.read_text())
    config = json.loads(config_path.read_text())
    task = next(iter(config))
    names = config[task]["namesInputFeatures"]["values"]
    names[0], names[1] = names[1], names[0]
    config_path.write_text(json.dumps(config))
    code = cli.main(
        ["apply", "--model", str(swapped), "--input", str(tmp_path / "none.root"),
         "--out", str(tmp_path / "o"), "-q"]
    )  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "trained with features" in err and names[0] in err and "Traceback" not in err


def test_unreachable_scheduler_is_a_clear_error_not_a_hang(model_dir, inputs, tmp_path):
    import time

    from conftest import free_port

    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    start = time.monotonic()
    with pytest.raises(O2mlError, match=f"Cannot reach the dask scheduler {address}"):
        run(model_dir, inputs, tmp_path / "out", scheduler=address)
    assert time.monotonic() - start < 30  # the connection attempt is bounded, it does not hang
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_bench_inference_table(model_dir, sample, tmp_path, capsys):
    src = tmp_path / "cands.parquet"
    write_table(sample.data.iloc[:20_000], src, TABLE)
    code = cli.main(
        ["bench", "inference", "--model", str(model_dir), "--input", str(src), "-n", "5000",
         "--backends", "xgboost", "onnxruntime", "hummingbird-torchscript"]
    )  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0
    for word in ("batch 1 (µs/cand)", "bulk (cand/s)", "xgboost", "hummingbird-torchscript"):
        assert word in text
    assert "fastest at batch 1" in text and "largest score difference" in text
    diffs = [
        float(line.split()[-1]) for line in text.splitlines() if line.startswith("hummingbird-")
    ]
    assert diffs and max(diffs) < 1e-5


# ---------------------------------------------------------------- a worker dies in the middle


def _wait(predicate, timeout: float, what: str) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.1)


@pytest.mark.slow
def test_killed_worker_loses_and_corrupts_nothing(tmp_path, sample, artifacts):
    """8 files, a scheduler and 2 workers on 127.0.0.1; one worker is killed mid-run; a re-run
    completes every output, and they equal a single-process run."""
    import signal
    import subprocess
    import sys

    from conftest import free_port

    model_dir = train_model_dir(tmp_path / "model", sample, 300, 5)  # ~1 s per file and worker
    inputs = tmp_path / "in"
    for i in range(8):
        part = sample.data.iloc[i * 50_000 : (i + 1) * 50_000]
        write_table(part, inputs / f"run{i}" / "AO2D.root", TABLE, folders=2)
    reference = run(model_dir, inputs, tmp_path / "single")
    assert reference.ok

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = open(artifacts / f"dask-{os.getpid()}.log", "w")
    common = {"stdout": log, "stderr": subprocess.STDOUT, "start_new_session": True}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
             "--port", str(port), "--no-dashboard"], **common
        )
    ]  # fmt: skip
    worker_cmd = [
        sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
        "--no-nanny", "--host", "127.0.0.1", "--no-dashboard",
    ]  # fmt: skip
    workers = {
        f"w{i}": subprocess.Popen([*worker_cmd, "--name", f"w{i}"], **common) for i in range(2)
    }
    procs += list(workers.values())
    out = tmp_path / "out"
    apply_cmd = [
        sys.executable, "-m", "o2ml.cli", "apply", "--model", str(model_dir), "--input",
        str(inputs / "*" / "AO2D.root"), "--out", str(out), "--scheduler", address, "-q",
    ]  # fmt: skip
    try:
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
            first = subprocess.Popen(
                apply_cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            _wait(lambda: any(out.rglob("AO2D.parquet")), 300, "no output appeared")
            in_flight: dict = {}

            def busy_worker() -> bool:  # a worker that is scoring a file right now
                names = {a: w["name"] for a, w in client.scheduler_info()["workers"].items()}
                in_flight.update(
                    {names[a]: keys for a, keys in client.processing().items() if keys}
                )
                return bool(in_flight)

            _wait(busy_worker, 60, "no task in flight after the first output")
            victim = sorted(in_flight)[0]
            os.killpg(workers[victim].pid, signal.SIGKILL)  # it dies in the middle of a file
            done_at_kill = len(list(out.rglob("AO2D.parquet")))
        first_out, _ = first.communicate(timeout=600)
        # the kill hit a run in flight: the victim held an o2ml apply task when it died
        assert any(str(k).startswith("o2ml-apply-") for k in in_flight[victim]), in_flight
        assert done_at_kill < 8, "the run ended before the worker was killed"
        # the survivor may have finished everything (dask re-runs lost tasks) or some failed
        assert first.returncode in (0, 1), first_out
        second = subprocess.run(apply_cmd, capture_output=True, text=True, timeout=600)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "0 failed" in second.stdout
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
        log.close()
    assert not list(out.rglob("*.tmp"))
    for i in range(8):
        path = out / f"run{i}" / "AO2D.parquet"
        assert check_output(path, file_metadata(path)["o2ml_apply"])[0]
        pd.testing.assert_frame_equal(
            read_table(path, OUTPUT_TABLE),
            read_table(tmp_path / "single" / f"run{i}" / "AO2D.parquet", OUTPUT_TABLE),
        )


# ------------------------------------------------------- an analyser's own O2Physics model
def _foreign_model(sample, directory: Path) -> tuple[Path, list[str], list]:
    """Two ONNX files as plain onnxmltools writes them (hipe4ml's converter: input ``input`` of
    shape [1, n], outputs ``label`` and ``probabilities``, no metadata), and a hand-written
    dpl-config for the Ds selector, its numbers as JSON numbers, no labels."""
    import onnxmltools
    import xgboost as xgb
    from onnxmltools.convert.common.data_types import FloatTensorType

    columns = ["fCpa", "fDecayLength", "fAbsCos3PiK"]
    directory.mkdir(parents=True)
    files = []
    for i in range(2):  # one model per bin, different, so that the bin choice shows
        X = sample.data[columns].to_numpy(np.float32)[i * 3000 : (i + 1) * 3000]
        clf = xgb.XGBClassifier(n_estimators=10 + 10 * i, max_depth=3, n_jobs=1)
        clf.fit(X, np.arange(len(X)) % 3)
        onx = onnxmltools.convert_xgboost(clf, initial_types=[("input", FloatTensorType([1, 3]))])
        (directory / f"model_{i}.onnx").write_bytes(onx.SerializeToString())
        files.append(directory / f"model_{i}.onnx")
    section = {
        "applyMl": "1",
        "binsPtMl": {"values": [1, 2, 24]},
        "cutDirMl": {"values": [0, 1, 1]},
        "cutsMl": {"values": [[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]]},
        "nClassesMl": 3,
        "namesInputFeatures": {"values": ["cpa", "decayLength", "absCos3PiK"]},
        "onnxFileNames": {"values": ["model_0.onnx", "model_1.onnx"]},
        "loadModelsFromCCDB": "0",
    }
    path = directory / "dpl-config.json"
    path.write_text(json.dumps({"hf-candidate-selector-ds-to-k-k-pi": section}))
    return path, columns, files


def test_a_foreign_o2physics_model_is_applied_and_benchmarked(sample, tmp_path, capsys):
    import onnxruntime as ort

    config, columns, files = _foreign_model(sample, tmp_path / "foreign")
    src = tmp_path / "in" / "AO2D.root"
    write_table(sample.data.iloc[:4000], src, TABLE, folders=2)
    code = cli.main(
        ["apply", "--model", str(config), "--input", str(src), "--out", str(tmp_path / "out"),
         "--scheduler", "synchronous", "-q"]
    )  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0, printed
    got = read_table(tmp_path / "out" / "AO2D.parquet", OUTPUT_TABLE)
    assert list(got.columns) == ["fM", "fPt", "score_0", "score_1", "score_2"]
    # the same rows through onnxruntime, one candidate per call as O2Physics calls it
    df = read_table(src, TABLE)
    for i, (lo, hi) in enumerate(itertools.pairwise([1, 2, 24])):
        sess = ort.InferenceSession(str(files[i]), providers=["CPUExecutionProvider"])
        rows = np.flatnonzero((df["fPt"] >= lo) & (df["fPt"] < hi))[:300]
        x = df.loc[rows, columns].to_numpy(np.float32)
        expected = np.concatenate(
            [sess.run(None, {"input": x[k : k + 1]})[-1] for k in range(len(x))]
        )
        np.testing.assert_allclose(
            got.iloc[rows][["score_0", "score_1", "score_2"]], expected, atol=1e-6
        )
    code = cli.main(
        ["bench", "inference", "--model", str(config), "--input", str(src), "-n", "2000"]
    )
    text = capsys.readouterr().out
    assert code == 0 and "onnxruntime" in text and "xgboost" not in text.split("\n\n")[1]
    assert "30 trees" in text  # bin 0's model: 10 rounds x 3 classes, read from the ONNX file


def test_a_custom_task_needs_its_tree_columns(sample, tmp_path, capsys):
    config, columns, _ = _foreign_model(sample, tmp_path / "custom")
    doc = json.loads(config.read_text())
    section = doc.pop("hf-candidate-selector-ds-to-k-k-pi")
    del section["namesInputFeatures"]  # a task with a fixed feature vector has no names
    config.write_text(json.dumps({"my-own-task": section}))
    src = tmp_path / "AO2D.root"
    write_table(sample.data.iloc[:2000], src, TABLE)
    args = ["apply", "--model", str(config), "--input", str(src), "--out", str(tmp_path / "o"),
            "--scheduler", "synchronous", "-q"]  # fmt: skip
    assert cli.main(args) == 2
    assert "no namesInputFeatures" in capsys.readouterr().err
    assert cli.main([*args, "--features", ",".join(columns)]) == 2  # no selector: which table?
    assert (
        "is no selector o2ml knows the table of; pass table= (--table)" in capsys.readouterr().err
    )
    args += ["--table", TABLE]
    assert cli.main([*args, "--features", ",".join(columns)]) == 0
    assert len(read_table(tmp_path / "o" / "AO2D.parquet", OUTPUT_TABLE)) == 2000
    assert cli.main([*args, "--features", "fCpa,fDecayLength"]) == 2  # the model takes 3 inputs
    assert "takes 3 inputs" in capsys.readouterr().err
