"""`o2ml generate`: files in the O2Physics layout, manifest with content checksums, determinism."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from o2ml import io
from o2ml.schema import HF_CAND_DS_LITES, HF_CAND_LC_LITES, PID_TRACKS
from o2ml.toymc.generate import generate

SMALL = {"n_data": 20_000, "n_mc": 4_000, "folders": 2, "progress": False}


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
    for sample in ("ds", "lc", "pid"):
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
    pid = io.read_table(tmp_path / "pid_data.root", PID_TRACKS)
    assert "fTruthPdgCode" in pid.columns and "fPdgCode" not in pid.columns
    assert "fPdgCode" in io.read_table(tmp_path / "pid_mc.root", PID_TRACKS).columns
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
