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


#: every optional package, blocked at once (a machine with the core only)
ALL_EXTRAS = {m for name in ("torch", "dashboards", "dask") for m in EXTRAS[name]}


def _public_modules() -> list[str]:
    """Every public module of o2ml (no private part), but the moved ``o2ml.export.onnx``."""
    src = REPO / "src"
    names = []
    for path in sorted((src / "o2ml").rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not any(p.startswith("_") for p in parts):
            names.append(".".join(parts))
    return [n for n in names if n != "o2ml.export.onnx"]


def test_every_module_imports_without_any_extra(tmp_path):
    """``import o2ml`` (every subpackage) and every public module import with none of the
    extras installed, and import none of them: a missing extra is an error at first use."""
    code = f"""
    import importlib, sys
    import o2ml
    for name in {_public_modules()!r}:
        importlib.import_module(name)
    assert not {{m.split(".")[0] for m in sys.modules}} & BLOCKED, sorted(sys.modules)
    print("imports ok")
    """
    out = _run(code, ALL_EXTRAS, tmp_path)
    assert out.returncode == 0 and "imports ok" in out.stdout, out.stderr[-3000:]


#: the first use of each extra, with ``import o2ml`` (it works without the extra) before it
FIRST_USES = [
    pytest.param(
        "torch",
        """
        from o2ml.models import autoencoder
        autoencoder.fit(np.ones((50, 2)), ["a", "b"], progress=False)
        """,
        id="autoencoder",
    ),
    pytest.param(
        "torch",
        """
        from o2ml.models import dann
        x = np.ones((20, len(dann.FEATURES)), np.float32)
        dann.train_dann((x, np.zeros(20, np.int64)), x, progress=False)
        """,
        id="dann",
    ),
    pytest.param(
        "torch",
        """
        from o2ml.models.tpc import network
        x, r = np.ones((20, 6), np.float32), np.ones(20, np.float32)
        network.train_teacher(x, r, x, r, progress=False)
        """,
        id="tpc-network",
    ),
    pytest.param(
        "torch",
        """
        from o2ml.models.combined import inputs, model
        xy = (np.ones((20, len(inputs.FEATURES)), np.float32), np.zeros(20, np.int64))
        model.train_combined("mean", xy, xy)
        """,
        id="combined-pid",
    ),
    pytest.param(
        "dashboards",
        """
        from o2ml import plots
        plots.loss_curves({"train_loss": [1.0, 0.5], "val_loss": [1.0, 0.6]})
        """,
        id="plots",
    ),
    pytest.param(
        "dashboards",
        """
        from o2ml import widgets
        widgets.error_panel("no scan to show")
        """,
        id="widget",
    ),
    pytest.param(
        "dask",
        """
        from o2ml.workflow._dask import client
        with client(2):
            pass
        """,
        id="dask-client",
    ),
]


@pytest.mark.parametrize(("extra", "code"), FIRST_USES)
def test_a_missing_extra_names_the_pip_command(extra, code, tmp_path):
    """Only the extra in question is missing: ``import o2ml`` works, and its first use is a
    MissingExtraError that names ``pip install "o2ml[EXTRA]"``."""
    first = "import numpy as np\nimport o2ml\nprint('o2ml imported', flush=True)\n"
    out = _run(first + textwrap.dedent(code), EXTRAS[extra], tmp_path)
    assert out.returncode != 0 and "o2ml imported" in out.stdout, out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert "MissingExtraError" in last and f'pip install "o2ml[{extra}]"' in last, out.stderr


def test_the_core_runs_without_any_extra(tmp_path):
    """generate, prepare, train, scan, export and apply (in this process) with none of torch,
    plotly, ipywidgets, voila, jupyterlab, dask or hummingbird importable."""
    blocked = ALL_EXTRAS
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
