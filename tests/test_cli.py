"""The o2ml command line, run as a user runs it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd

import o2ml
from o2ml import io
from o2ml.schema import HF_CAND_DS_LITES, TPC_SKIM_TOF


def run(*args: str) -> subprocess.CompletedProcess:
    exe = [sys.executable, "-m", "o2ml.cli"]
    return subprocess.run([*exe, *args], capture_output=True, text=True, timeout=120)


def test_version():
    out = run("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"o2ml {o2ml.__version__}"


def test_info_lists_tables_entries_and_columns(tmp_path):
    df = pd.DataFrame(
        {c: np.ones(100, HF_CAND_DS_LITES[c].dtype) for c in HF_CAND_DS_LITES.column_names("mc")}
    )
    path = io.write_table(df, tmp_path / "ds_mc.root", HF_CAND_DS_LITES, folders=4)
    out = run("info", str(path))
    assert out.returncode == 0, out.stderr
    assert "O2hfcanddslite (table HfCandDsLites): 100 entries in 4 DF_ folders" in out.stdout
    assert "fDecayLength" in out.stdout and "[cm]" in out.stdout
    assert "fOriginMcRec                 int8  [MC; 0 in data]" in out.stdout


def test_info_names_the_declared_columns_a_file_lacks(tmp_path):
    """A file of an older tree creator (no fPdgBhadMotherPart, O2Physics 9beb96e7) and a TPC skim
    without fIsGoodRct (aa53e5da): info reads them and says what they lack."""
    names = [c for c in HF_CAND_DS_LITES.column_names("mc") if c != "fPdgBhadMotherPart"]
    df = pd.DataFrame({c: np.ones(50, HF_CAND_DS_LITES[c].dtype) for c in names})
    path = io.write_table(df, tmp_path / "old_ds.root", HF_CAND_DS_LITES, conform=False)
    skim = pd.DataFrame({"fTPCSignal": np.ones(5, "f4"), "fPidIndex": np.ones(5, "u1")})
    skim_path = io.write_table(skim, tmp_path / "skim.root", TPC_SKIM_TOF)
    out = run("info", str(path))
    assert out.returncode == 0, out.stderr
    assert "O2hfcanddslite (table HfCandDsLites): 50 entries" in out.stdout
    commit = HF_CAND_DS_LITES.commit[:8]
    assert (
        "lacks 1 declared column(s) of HfCandDsLites (o2ml follows "
        f"PWGHF/TableProducer/treeCreatorDsToKKPi.cxx @ {commit}): fPdgBhadMotherPart;"
    ) in out.stdout
    both = run("info", str(path), str(skim_path))  # several files: the lacks line all the same
    assert both.returncode == 0 and "): fPdgBhadMotherPart;" in both.stdout
    assert "of SkimmedTPCTOFTree" in both.stdout and ": fIsGoodRct, fInvDeDxExpTPC," in both.stdout
    complete = io.write_table(df.assign(fPdgBhadMotherPart=np.int32(0)), tmp_path / "new.root",
                              HF_CAND_DS_LITES)  # fmt: skip
    assert "lacks" not in run("info", str(complete)).stdout


def test_info_on_parquet(tmp_path):
    df = pd.DataFrame({"fPt": np.ones(7, "f4")})
    path = io.write_table(df, tmp_path / "x.parquet", HF_CAND_DS_LITES)
    out = run("info", str(path))
    assert out.returncode == 0 and "HfCandDsLites (table HfCandDsLites): 7 entries" in out.stdout


def test_info_bad_file_is_one_readable_line(tmp_path):
    bad = tmp_path / "broken.root"
    bad.write_bytes(b"\x00" * 100)
    out = run("info", str(bad))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert out.stderr.startswith("o2ml info: error: ") and "broken.root" in out.stderr
    missing = run("info", str(tmp_path / "missing.root"))
    assert missing.returncode == 2 and "missing.root: no such file" in missing.stderr


def test_subcommands_exist():
    out = run("--help")
    for cmd in ["info", "generate", "train", "scan", "export", "apply", "bench"]:
        assert cmd in out.stdout
