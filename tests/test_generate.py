"""`o2ml generate`: files in the O2Physics layout, manifest with content checksums, determinism."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from o2ml import io
from o2ml.errors import BadArgumentError
from o2ml.schema import HF_CAND_DS_LITES, HF_CAND_LC_LITES, PID_TRACKS_DATA_ML
from o2ml.toymc.generate import generate

SMALL = {"sizes": (20_000, 4_000), "folders": 2, "progress": False}


def cli(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "o2ml.cli", "generate", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def test_cli_writes_ds_files_and_manifest(tmp_path):
    out = cli(
        "ds", "--out", str(tmp_path), "--seed", "5", "--n-data", "20000", "--n-mc", "4000", "-q"
    )
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ds_data.root",
        "ds_expected_signal.json",
        "ds_mc.root",
        "manifest.json",
    ]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    entry = manifest["samples"]["ds"]
    assert (entry["seed"], entry["n_data"], entry["n_mc"], entry["with_truth"]) == (
        5,
        20000,
        4000,
        False,
    )
    for name in ("ds_data.root", "ds_mc.root"):
        assert entry["files"][name]["sha256"] == io.content_checksum(
            tmp_path / name, HF_CAND_DS_LITES
        )
    data = io.read_table(tmp_path / "ds_data.root", HF_CAND_DS_LITES)
    mc = io.read_table(tmp_path / "ds_mc.root", HF_CAND_DS_LITES)
    assert list(data.columns) == HF_CAND_DS_LITES.column_names("data")
    assert list(mc.columns) == HF_CAND_DS_LITES.column_names("mc")
    assert len(data) == 20000 and len(mc) == 4000
    expected = json.loads((tmp_path / "ds_expected_signal.json").read_text())
    assert expected["table"] == "HfCandDsLites" and expected["n_data"] == 20000
    info = subprocess.run(
        [sys.executable, "-m", "o2ml.cli", "info", str(tmp_path / "ds_data.root")],
        capture_output=True,
        text=True,
    )
    assert "O2hfcanddslite (table HfCandDsLites): 20000 entries in 4 DF_ folders" in info.stdout


def test_refuses_to_overwrite_and_keeps_files(tmp_path):
    assert (
        cli("ds", "--out", str(tmp_path), "--n-data", "5000", "--n-mc", "1000", "-q").returncode
        == 0
    )
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    again = cli("ds", "--out", str(tmp_path), "--n-data", "5000", "--n-mc", "1000", "-q")
    assert (
        again.returncode == 2
        and "already there" in again.stderr
        and "Traceback" not in again.stderr
    )
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before


def test_same_seed_same_content_other_seed_differs(tmp_path):
    runs = [
        generate("all", tmp_path / name, seed=seed, **SMALL)
        for name, seed in [("a", 1), ("b", 1), ("c", 2)]
    ]
    checksums = [
        {s: {f: v["sha256"] for f, v in e["files"].items()} for s, e in r["samples"].items()}
        for r in runs
    ]
    assert checksums[0] == checksums[1]
    for sample in ("ds", "lc", "dplus", "pid"):
        for name, digest in checksums[0][sample].items():
            if digest is not None:
                assert checksums[2][sample][name] != digest, name
    assert (tmp_path / "a" / "ds_expected_signal.json").read_text() == (
        tmp_path / "b" / "ds_expected_signal.json"
    ).read_text()


def test_truth_columns_only_on_request_and_only_in_data(tmp_path):
    generate("lc", tmp_path, seed=3, with_truth=True, **SMALL)
    generate("pid", tmp_path, seed=3, with_truth=True, **SMALL)
    lc = io.read_table(tmp_path / "lc_data.root", HF_CAND_LC_LITES)
    assert {"fTruthPdgCode", "fTruthOrigin"} <= set(lc.columns)
    assert "fTruthPdgCode" not in io.read_table(tmp_path / "lc_mc.root", HF_CAND_LC_LITES).columns
    pid = io.read_table(tmp_path / "pid_data.root", PID_TRACKS_DATA_ML)
    assert "fTruthPdgCode" in pid.columns and "fPdgCode" not in pid.columns
    assert "fTruthPdgCode" in io.read_table(tmp_path / "pid_data.root", "SyntheticTruth")
    assert "fPdgCode" in io.read_table(tmp_path / "pid_mc.root", "PidTracksMcMl").columns
    assert "o2synthetictruth" not in {i.tree for i in io.describe(tmp_path / "pid_mc.root")}
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert set(manifest["samples"]) == {"lc", "pid"}  # merged, not replaced


@pytest.mark.parametrize("bad", [["nope"], ["ds"]])
def test_cli_usage_errors(tmp_path, bad):
    out = cli(*bad) if bad == ["nope"] else cli("ds")  # unknown sample / missing --out
    assert out.returncode == 2 and "usage:" in out.stderr


def test_cli_bad_sizes_are_one_readable_line(tmp_path):
    out = cli("ds", "--out", str(tmp_path), "--n-data", "-5", "-q")
    assert out.returncode == 2 and "n_data must be a positive number, got -5" in out.stderr
    assert "Traceback" not in out.stderr and not any(tmp_path.iterdir())


# --------------------------------------------------------------------------------------------
# ensure_sample / make data: a folder is reused only when its manifest matches
# --------------------------------------------------------------------------------------------
@pytest.fixture
def tiny_fast_sizes(monkeypatch):
    from o2ml.toymc import generate as gen

    monkeypatch.setitem(gen.FAST_SIZES, "ds", (3_000, 600))
    return gen


@pytest.mark.parametrize("env", ["0", "1"])
def test_a_mode_and_one_size_take_that_modes_other_size(
    tmp_path, tiny_fast_sizes, monkeypatch, env
):
    """``o2ml generate --fast --n-data N``: the MC size is the fast one, whatever O2ML_FAST says;
    ``(n_data, None)`` takes the mode O2ML_FAST says."""
    gen = tiny_fast_sizes
    monkeypatch.setitem(gen.DEFAULT_SIZES, "ds", (5_000, 900))
    monkeypatch.setenv("O2ML_FAST", env)
    r = gen.generate("ds", tmp_path / "a", seed=3, sizes=("fast", 2_000, None), progress=False)
    assert (r["samples"]["ds"]["n_data"], r["samples"]["ds"]["n_mc"]) == (2_000, 600)
    r = gen.generate("ds", tmp_path / "b", seed=3, sizes=(2_000, None), progress=False)
    assert r["samples"]["ds"]["n_mc"] == (600 if env == "1" else 900)
    with pytest.raises(BadArgumentError, match="sizes must be 'fast', 'full'"):
        gen.generate("ds", tmp_path / "c", sizes=("quick", 1, 1), progress=False)


def test_a_sample_of_another_seed_is_never_used_silently(tmp_path, tiny_fast_sizes):
    gen = tiny_fast_sizes
    gen.generate("ds", tmp_path, seed=7, with_truth=True, sizes="fast", progress=False)
    assert gen.sample_differences("ds", tmp_path, seed=42, fast=True) == ["seed 7, expected 42"]
    with pytest.warns(UserWarning, match="seed 7, expected 42"):
        sample = gen.ensure_sample("ds", tmp_path, seed=42, fast=True)
    entry = json.loads((tmp_path / "manifest.json").read_text())["samples"]["ds"]
    assert entry["seed"] == 42
    fresh = tmp_path / "fresh"
    gen.generate("ds", fresh, seed=42, with_truth=True, sizes="fast", progress=False)
    again = json.loads((fresh / "manifest.json").read_text())["samples"]["ds"]
    assert entry["files"]["ds_data.root"]["sha256"] == again["files"]["ds_data.root"]["sha256"]
    # now it matches: reused as it is, no warning, not rewritten
    mtime = sample.data.stat().st_mtime_ns
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gen.ensure_sample("ds", tmp_path, seed=42, fast=True)
    assert sample.data.stat().st_mtime_ns == mtime
    # other sizes (e.g. the full sample asked in the same folder) are a difference too
    assert any("n_data" in d for d in gen.sample_differences("ds", tmp_path, seed=42, fast=False))


def test_files_o2ml_did_not_write_or_that_changed_are_never_replaced(tmp_path, tiny_fast_sizes):
    from o2ml.errors import SampleMismatchError

    gen = tiny_fast_sizes
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    for name in gen.sample_files("ds"):
        (foreign / name).write_bytes(b"a user's own file")
    with pytest.raises(SampleMismatchError, match="does not list the 'ds' sample"):
        gen.ensure_sample("ds", foreign, seed=42, fast=True)
    assert all((foreign / n).read_bytes() == b"a user's own file" for n in gen.sample_files("ds"))

    ours = tmp_path / "ours"
    gen.generate("ds", ours, seed=42, with_truth=True, sizes="fast", progress=False)
    with open(ours / "ds_mc.root", "ab") as f:
        f.write(b"appended by hand")
    changed = (ours / "ds_mc.root").read_bytes()
    with pytest.raises(SampleMismatchError, match="ds_mc.root changed since it was generated"):
        gen.ensure_sample("ds", ours, seed=42, fast=True)
    assert (ours / "ds_mc.root").read_bytes() == changed


def test_cli_if_needed(tmp_path):
    bad = cli("ds", "--out", str(tmp_path), "--if-needed", "--with-truth", "--n-data", "10")
    assert bad.returncode == 2 and "--if-needed makes the default sample" in bad.stderr
    assert not list(tmp_path.iterdir())
