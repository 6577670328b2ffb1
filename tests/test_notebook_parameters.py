"""The notebooks run unchanged on other files in the same layout (here: another seed, no truth).

Real data have no truth columns: each notebook's no-truth branch runs here, so that the cells an
analyser meets on real files are executed by the tests too.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from test_channels import DS_NAMES

from o2ml import onnx as onnx_export
from o2ml.toymc.generate import generate

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def with_parameters(path: Path, **params) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source += "\n" + "\n".join(f"{k} = {v!r}" for k, v in params.items())
    return nb


def run_notebook(name: str, tmp_path: Path, monkeypatch, **params) -> str:
    """Execute a notebook in fast mode with extra parameters; its outputs as one JSON text."""
    nb = with_parameters(REPO / "notebooks" / name, output_dir=str(tmp_path / "out"), **params)
    monkeypatch.setenv("O2ML_FAST", "1")
    NotebookClient(
        nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    return json.dumps([c.get("outputs", []) for c in nb.cells], ensure_ascii=False)


def other_sample(kind: str, tmp_path: Path) -> Path:
    """A fast sample of another seed and without truth columns, as real files are."""
    sample = tmp_path / "other"
    generate(kind, sample, seed=7, sizes="fast", with_truth=False, progress=False)
    return sample


def test_ds_notebook_on_another_sample_without_truth(tmp_path, monkeypatch):
    sample = other_sample("ds", tmp_path)
    text = run_notebook(
        "01_ds_bdt.ipynb",
        tmp_path,
        monkeypatch,
        data_path=str(sample / "ds_data.root"),
        mc_path=str(sample / "ds_mc.root"),
        expected_signal_path=str(sample / "ds_expected_signal.json"),
    )
    assert "synthetic truth available: False" in text
    assert "closure needs synthetic data" in text
    assert "100.0000% same decision" in text
    # the exported JSON runs in the real selector: every name is one HfMlResponseDsToKKPi
    # offers (the list tests/test_channels.py holds, with its source), and each ONNX file takes
    # as many inputs as there are names
    out = tmp_path / "out" / "fast"
    config = json.loads((out / "dpl-config_hf-candidate-selector-ds-to-k-k-pi.json").read_text())
    section = config["hf-candidate-selector-ds-to-k-k-pi"]
    names = section["namesInputFeatures"]["values"]
    assert names and set(names) <= set(DS_NAMES)
    for name in section["onnxFileNames"]["values"]:
        assert onnx_export.input_width(onnx_export.session(out / name)) == len(names)


def test_lc_notebook_on_another_sample_without_truth(tmp_path, monkeypatch):
    sample = other_sample("lc", tmp_path)
    text = run_notebook(
        "02_lc_bdt_vs_autoencoder.ipynb",
        tmp_path,
        monkeypatch,
        data_path=str(sample / "lc_data.root"),
        mc_path=str(sample / "lc_mc.root"),
        expected_signal_path=str(sample / "lc_expected_signal.json"),
    )
    assert "max |ONNX - native|" in text
    assert (tmp_path / "out" / "bdt" / "dpl-config_hf-candidate-selector-lc.json").exists()
    assert (tmp_path / "out" / "ae" / "dpl-config_hf-candidate-selector-lc.json").exists()


def test_its_pid_notebook_without_truth(tmp_path, monkeypatch):
    sample = other_sample("pid", tmp_path)
    text = run_notebook(
        "03_its2_pid.ipynb", tmp_path, monkeypatch, data_path=str(sample / "pid_data.root")
    )
    assert "truth branch: no (real data)" in text
    assert "the purity of the tagging cannot be measured here" in text
    assert "purity and efficiency need the true species; skipped" in text
    assert "max |Δβ|" in text  # the model is still trained, exported and checked


def test_dann_notebook_without_truth_in_data(tmp_path, monkeypatch):
    sample = other_sample("pid", tmp_path)
    text = run_notebook(
        "04_dann_pid.ipynb",
        tmp_path,
        monkeypatch,
        data_path=str(sample / "pid_data.root"),
        mc_path=str(sample / "pid_mc.root"),
    )
    assert "truth branch in data: no (real data)" in text
    assert "No truth branch in the data file (real data): no evaluation on data." in text
    assert "Without a truth branch the data cannot score the models" in text
    assert "max |ONNX - torch|" in text
