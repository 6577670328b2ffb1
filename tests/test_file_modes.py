"""Files o2ml writes under a temporary name get the mode the umask gives (0o666 & ~umask), as any
other tool's: a colleague in the same group folder can read them when the umask allows it
(issue #31; ``tempfile.mkstemp`` alone would leave 0o600)."""

from __future__ import annotations

import os
import stat

import numpy as np
import pandas as pd
import pytest

from o2ml import _atomic, io
from o2ml.schema import TPC_SKIM_V0

#: (umask, the mode of a new file under it)
UMASKS = [(0o002, 0o664), (0o077, 0o600)]


@pytest.fixture(params=UMASKS, ids=["group-writable", "private"])
def umask(request):
    """Set the process's umask for one test and restore it after."""
    mask, expected = request.param
    old = os.umask(mask)
    try:
        yield expected
    finally:
        os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _no_temporary_left(folder) -> None:
    assert not [p.name for p in folder.iterdir() if p.name.endswith((".tmp", ".tmp.npz"))]


def test_the_helper_reads_the_umask(umask):
    mask = os.umask(0o022)
    os.umask(mask)
    assert _atomic.umask() == mask and _atomic.file_mode() == umask


def test_write_table(tmp_path, umask):
    from o2ml.toymc import tpc as toy_tpc

    df = toy_tpc.generate_tpc_skims(50, 1, "data")[TPC_SKIM_V0.name]
    for name in ("skim.root", "skim.parquet"):
        path = io.write_table(df, tmp_path / name, TPC_SKIM_V0)
        assert _mode(path) == umask, name
        path = io.write_table(df, tmp_path / name, TPC_SKIM_V0, overwrite=True)
        assert _mode(path) == umask, f"{name}, replaced"
    _no_temporary_left(tmp_path)


def test_the_dashboards_export_json(tmp_path, umask, monkeypatch):
    from o2ml.export.files import write_numbered

    first = write_numbered(tmp_path, "ml_config_scan", "{}\n")
    assert first.name == "ml_config_scan_001.json" and _mode(first) == umask

    def no_hard_links(src, dst):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_hard_links)  # the exclusive-create fallback
    second = write_numbered(tmp_path, "ml_config_scan", "{}\n")
    assert second.name == "ml_config_scan_002.json" and _mode(second) == umask
    assert second.read_text() == "{}\n"
    _no_temporary_left(tmp_path)


def test_the_o2physics_configuration_json(tmp_path, umask):
    from o2ml.export.o2physics import CutDirection, MlResponseConfig

    config = MlResponseConfig(
        bins_pt=[2.0, 4.0],
        cut_dir=[CutDirection.CutGreater, CutDirection.CutSmaller, CutDirection.CutNot],
        cuts=[[0.3, 0.4, 0.0]],
        features=["fCpa", "fDecayLength"],
        onnx_files=["model.onnx"],
    )
    assert _mode(config.to_json(tmp_path / "dpl-config.json")) == umask


def test_scan_results_and_grids(tmp_path, umask):
    from o2ml.selection import ScanResult
    from o2ml.selection.efficiency import parse_cuts
    from o2ml.selection.histograms import ScanHistograms

    n = 3
    result = ScanResult(
        species="Ds", pt_min=2.0, pt_max=4.0, cut_names=["score_bkg"], cut_directions=["<"],
        thresholds=np.linspace(0.1, 0.3, n)[:, None], efficiencies={"prompt": np.ones(n)},
        efficiency_errors={"prompt": np.zeros(n)}, signal=np.ones(n), signal_error=np.ones(n),
        background=np.ones(n), background_error=np.ones(n), significance=np.ones(n),
        significance_error=np.ones(n), signal_efficiency=np.ones(n),
        signal_efficiency_error=np.ones(n), raw_yield=np.ones(n), raw_yield_error=np.ones(n),
        fit_ok=[True] * n,
    )  # fmt: skip
    for name in ("scan_pt2_4.json", "scan_pt2_4.parquet"):
        assert _mode(result.save(tmp_path / name)) == umask, name
    cuts = parse_cuts({"score_bkg": ("<", np.linspace(0.1, 1, 10))})
    grid = ScanHistograms.empty(cuts, np.linspace(1.7, 2.1, 11), pt_range=(2, 4))
    path = grid.save(tmp_path / "grid_pt2_4.npz")
    assert _mode(path) == umask and ScanHistograms.load(path).pt_range == (2, 4)
    _no_temporary_left(tmp_path)


def test_onnx_models_and_scored_candidates(tmp_path, umask):
    import torch

    from o2ml.apps import write_candidates
    from o2ml.onnx import model_metadata, torch_to_onnx

    path = tmp_path / "model.onnx"
    torch_to_onnx(torch.nn.Linear(2, 1), path, output="y", metadata=model_metadata(["a", "b"], []))
    assert _mode(path) == umask
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"fM": rng.uniform(1.8, 2.0, 20), "fPt": rng.uniform(2, 4, 20)})
    for c in ("score_bkg", "score_prompt", "score_nonprompt"):
        frame[c] = rng.random(20)
    frame["fOriginMcRec"] = 1
    assert _mode(write_candidates(tmp_path / "scored.parquet", frame, frame)) == umask
    _no_temporary_left(tmp_path)
