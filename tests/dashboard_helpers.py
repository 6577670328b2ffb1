"""Fixtures and helpers of the dashboard tests: toy inputs on disk, a Voila server, number checks.

Import the fixtures into a test module (``from dashboard_helpers import toy_inputs``) to use them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, free_port, running_server

from o2ml.apps import make_scans, write_candidates
from o2ml.physics.massfit import fit_peak
from o2ml.selection import BinInputs, ScanResult, scan_significance
from o2ml.toymc.scored import scored_candidates

TOY_BKG_CUT = 0.3
TOY_THRESHOLDS = np.round(np.linspace(0.0, 0.95, 40), 6)
VOILA = str(Path(sys.executable).with_name("voila"))
#: Voila's kernels talk to it over Unix sockets, not TCP: a TCP kernel's ports are picked free,
#: released and bound again by the kernel, and another test's server or dask cluster on the other
#: xdist worker took one in between ("ZMQError: Address already in use", the dashboard never
#: rendered; seen once in make test)
KERNELS_OVER_IPC = "--KernelManager.transport=ipc"


@dataclass
class ToyInputs:
    """Toy scored candidates and scans, in memory and on disk."""

    directory: Path
    data: pd.DataFrame
    mc: pd.DataFrame
    expected: dict[str, Any]
    candidates: Path
    expected_path: Path
    scans: list[ScanResult]
    scan_paths: list[Path]


#: the threshold dashboard's pT bins in the dashboard tests
TOY_PT_BINS = ((2.0, 4.0), (4.0, 6.0), (6.0, 12.0))


def toy_grid(inputs: ToyInputs, **grid: Any):
    """The threshold dashboard's ScanGrid of the toy candidates (``grid``: ScanGrid keywords)."""
    from o2ml.widgets import ScanGrid

    bins = [BinInputs(inputs.expected, pt) for pt in TOY_PT_BINS]
    return ScanGrid(inputs.data, inputs.mc, bins, **grid)


def make_toy_inputs(directory: Path, n_data: int = 60_000, n_mc: int = 20_000) -> ToyInputs:
    """Write toy candidates (parquet + expected-signal JSON) and three 1-D scans to ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    data, mc, expected = scored_candidates(n_data, n_mc, seed=5)
    expected_path = directory / "toy_expected_signal.json"
    expected_path.write_text(json.dumps(expected))
    candidates = write_candidates(directory / "toy_scored.parquet", data, mc, expected_path)
    cuts = {"score_bkg": ("<", TOY_BKG_CUT), "score_prompt": (">", TOY_THRESHOLDS)}
    scans = make_scans(data, mc, expected, cuts=cuts)
    paths = []
    for s in scans:
        paths.append(s.save(directory / f"scan_toy_pt{s.pt_min:g}_{s.pt_max:g}.json"))
    return ToyInputs(directory, data, mc, expected, candidates, expected_path, scans, paths)


@pytest.fixture(scope="module")
def toy_inputs(tmp_path_factory) -> ToyInputs:
    return make_toy_inputs(tmp_path_factory.mktemp("dashboards"))


def library_point(
    inputs: ToyInputs, pt: tuple[float, float], cuts: dict[str, tuple[str, float]]
) -> ScanResult:
    """``o2ml.selection.scan_significance`` at one threshold point of one pT bin."""
    lo, hi = pt
    d = inputs.data[(inputs.data["fPt"] >= lo) & (inputs.data["fPt"] < hi)]
    m = inputs.mc[(inputs.mc["fPt"] >= lo) & (inputs.mc["fPt"] < hi)]
    per_origin = {"prompt": m[m["fOriginMcRec"] == 1], "nonprompt": m[m["fOriginMcRec"] == 2]}
    peak = fit_peak(per_origin["prompt"]["fM"])
    return scan_significance(
        d["fM"], d, per_origin, cuts, inputs=BinInputs(inputs.expected, pt, peak=peak)
    )


_NUMBER = re.compile(r"^\s*([-+0-9.e]+)(?:\s*±\s*([-+0-9.e]+))?\s*$")


def assert_shows(text: str, value: float, error: float | None = None, rtol: float = 1e-6) -> None:
    """The shown ``value ± error`` equals the library's up to the shown rounding.

    (The Voila kernel runs iminuit without numba, this process with it: fits may differ in the
    last bits, so the comparison allows half a unit of the last shown digit.)
    """
    match = _NUMBER.match(text)
    assert match, f"not a number: {text!r}"
    for shown, expected in ((match.group(1), value), (match.group(2), error)):
        if expected is None or shown is None:
            continue
        decimals = len(shown.split("e")[0].split(".")[1]) if "." in shown else 0
        unit = 10.0**-decimals
        if "e" in shown:
            unit *= 10.0 ** int(shown.split("e")[1])
        assert abs(float(shown) - expected) <= 0.5 * unit + rtol * abs(expected), (
            text,
            value,
            error,
        )


def served_export_dir(inputs: ToyInputs) -> Path:
    """Where the test server's dashboards export (``$O2ML_EXPORT_DIR``)."""
    return inputs.directory / "exports"


@contextlib.contextmanager
def voila_server(env_inputs: dict[str, str | None], args: tuple[str, ...] = ()):
    """A Voila server on notebooks/dashboards with ``env_inputs`` set (None: unset) in its
    environment and ``args`` on its command line; yields the render URL and stops the server
    at the end."""
    port = free_port()
    cmd = [
        VOILA, str(REPO / "notebooks" / "dashboards"), "--Voila.ip=127.0.0.1",
        f"--port={port}", "--Voila.port_retries=0", "--no-browser", KERNELS_OVER_IPC, *args,
    ]  # fmt: skip
    old = {k: os.environ.get(k) for k in env_inputs}
    for k, v in env_inputs.items():  # running_server passes this process's environment on
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    try:
        server = running_server(cmd, f"http://127.0.0.1:{port}/", timeout=120)
        server.__enter__()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    try:
        yield f"http://127.0.0.1:{port}/voila/render"
    finally:
        server.__exit__(None, None, None)


@pytest.fixture(scope="module")
def voila_url(toy_inputs, artifacts):
    """A Voila server on notebooks/dashboards reading the toy inputs; stopped at the end."""
    with voila_server(toy_environment(toy_inputs)) as url:
        yield url


def toy_environment(toy_inputs) -> dict[str, str | None]:
    """The server environment of :func:`voila_url`: the toy inputs, exports in their own folder."""
    return {
        "O2ML_CANDIDATES": str(toy_inputs.candidates),
        "O2ML_EXPECTED_SIGNAL": str(toy_inputs.expected_path),
        "O2ML_SCAN": str(toy_inputs.directory),
        # the data root is the folder of these default inputs; exports go to a folder of their own
        "O2ML_EXPORT_DIR": str(served_export_dir(toy_inputs)),
        "O2ML_DATA_ROOT": None,
    }


@pytest.fixture(scope="module")
def voila_default_url(artifacts):
    """A Voila server whose dashboards open their default inputs (the demo, made on first use)."""
    names = ("CANDIDATES", "EXPECTED_SIGNAL", "SCAN", "DATA_ROOT", "EXPORT_DIR")
    with voila_server({f"O2ML_{n}": None for n in names}) as url:
        yield url
