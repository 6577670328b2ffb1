"""The core needs no optional extra; a missing extra is a clear error that names it.

Each check runs in a fresh interpreter in which the packages of the extras cannot be imported
(a meta-path finder raises ModuleNotFoundError for them, as a machine without them would).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from o2ml._extras import EXTRAS

REPO = Path(__file__).resolve().parents[1]

BLOCKER = """
import importlib.abc, sys
BLOCKED = set({blocked!r})
class _Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        top = name.split(".")[0]
        if top in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{top!r}}", name=top)
sys.meta_path.insert(0, _Missing())
"""


def _run(code: str, blocked, cwd: Path) -> subprocess.CompletedProcess:
    script = BLOCKER.format(blocked=sorted(blocked)) + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=cwd, timeout=600
    )


def test_the_extras_are_the_packages_pyproject_declares():
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert {"torch", "dashboards", "dask", "test"} <= set(extras)
    assert any(r.startswith("torch") for r in extras["torch"])
    assert any(r.startswith("plotly") for r in extras["dashboards"])
    assert any(r.startswith("dask") for r in extras["dask"])
    core = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    heavy = ("torch", "plotly", "ipywidgets", "voila", "jupyterlab", "dask", "hummingbird")
    assert not [r for r in core if r.startswith(heavy)], core


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ("torch", "import o2ml.models.autoencoder"),
        ("torch", "from o2ml.models import dann"),
        ("torch", "from o2ml.models.tpc import network"),
        ("torch", "from o2ml.models.combined import model"),
        ("dashboards", "from o2ml import plots"),
        ("dashboards", "from o2ml import widgets"),
        ("dask", "from o2ml.workflow._dask import client\nwith client(2): pass"),
    ],
)
def test_a_missing_extra_names_the_pip_command(extra, code, tmp_path):
    out = _run(code, EXTRAS[extra], tmp_path)
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert "MissingExtraError" in last and f'pip install "o2ml[{extra}]"' in last, out.stderr


def test_the_core_runs_without_any_extra(tmp_path):
    """generate, prepare, train, scan, export and apply (in this process) with none of torch,
    plotly, ipywidgets, voila, jupyterlab, dask or hummingbird importable."""
    blocked = {m for name in ("torch", "dashboards", "dask") for m in EXTRAS[name]}
    prep = (REPO / "examples" / "config_preparation_DplusToPiKPi.yml").read_text()
    (tmp_path / "prep.yml").write_text(prep.replace("../data/dplus_mc.root", "data/dplus_mc.root"))
    train = (REPO / "examples" / "config_training_DplusToPiKPi.yml").read_text()
    (tmp_path / "train.yml").write_text(train.replace('"n_estimators": 800', '"n_estimators": 20'))
    code = """
    from o2ml.cli import main
    d = "data/dplus_"
    steps = [
        ["generate", "dplus", "--out", "data", "--n-data", "30000", "--n-mc", "20000", "-q"],
        ["prepare", "prep.yml"], ["train", "train.yml", "-q"],
        ["scan", "--model", "trainings/Dplus/o2physics", "--data", d + "data.root",
         "--mc", d + "mc.root", "--expected-signal", d + "expected_signal.json", "--out", "s"],
        ["export", "--scan", "s", "--plateau", "--out", "dpl.json"],
        ["apply", "--model", "trainings/Dplus/o2physics", "--input", d + "data.root",
         "--out", "a", "--scheduler", "synchronous", "-q"],
    ]
    for step in steps:
        assert main(step) == 0, step
    import sys
    assert not {m.split(".")[0] for m in sys.modules} & BLOCKED
    print("core ok")
    """
    out = _run(code, blocked, tmp_path)
    assert out.returncode == 0 and "core ok" in out.stdout, out.stderr[-3000:]
