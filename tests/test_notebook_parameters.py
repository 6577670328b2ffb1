"""Notebook 1 runs unchanged on other files in the same layout (here: another seed, no truth)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from o2ml.toymc.generate import generate

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def with_parameters(path: Path, **params) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source += "\n" + "\n".join(f"{k} = {v!r}" for k, v in params.items())
    return nb


def test_ds_notebook_on_another_sample_without_truth(tmp_path, monkeypatch):
    sample = tmp_path / "other"
    generate("ds", sample, seed=7, fast=True, with_truth=False, progress=False)
    nb = with_parameters(
        REPO / "notebooks" / "01_ds_bdt.ipynb",
        data_path=str(sample / "ds_data.root"),
        mc_path=str(sample / "ds_mc.root"),
        expected_signal_path=str(sample / "ds_expected_signal.json"),
        output_dir=str(tmp_path / "out"),
    )
    monkeypatch.setenv("O2ML_FAST", "1")
    NotebookClient(
        nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    text = json.dumps([c.get("outputs", []) for c in nb.cells])
    assert "synthetic truth available: False" in text
    assert "closure needs synthetic data" in text
    assert "100.0000% same decision" in text
    assert (tmp_path / "out" / "fast" / "o2physics_ds_ml.json").exists()
