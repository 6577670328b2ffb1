"""Default inputs of the dashboards: the demo scans and candidates, made on first use.

:func:`ensure_demo_inputs` trains a quick BDT per pT bin (2–4, 4–6, 6–12 GeV/c) on one half of
the generated Ds sample with :func:`o2ml.models.training.train_bin`, scores the other half of data and MC, scans
the prompt score (:func:`make_scans`, background scaled to the full sample) and writes the scored
candidates and the ScanResult files, under a file lock so that several kernels can ask at once.
Scored candidates without any training (tests, benchmarks) come from
:func:`o2ml.toymc.scored.scored_candidates`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from filelock import FileLock

from .. import __version__
from ..channels import DS_SELECTOR
from ..config import fast_mode
from ..export.model_dir import write_model_dir
from ..export.o2physics import onnx_file_name
from ..schema import SCORE_COLUMNS
from ..selection import (
    BinInputs,
    ScanResult,
    SignificanceOptions,
    load_expected_signal,
    scan_candidates,
)
from .files import write_candidates

__all__ = [
    "DEMO_BKG_CUT",
    "DEMO_CUTS",
    "PT_BINS",
    "DemoInputs",
    "demo_directory",
    "ensure_demo_inputs",
    "make_scans",
]

#: pT bins of the demo, one BDT each
PT_BINS = ((2.0, 4.0), (4.0, 6.0), (6.0, 12.0))
#: the fixed background-score cut of the demo's 1-D scans of the prompt score
DEMO_BKG_CUT = 0.05
DEMO_SIGNAL_THRESHOLDS = np.round(np.linspace(0.0, 0.99, 100), 6)
#: the demo's scanned cuts (:func:`o2ml.selection.scan_candidates`): the background score below
#: :data:`DEMO_BKG_CUT`, the prompt score above each of :data:`DEMO_SIGNAL_THRESHOLDS`
DEMO_CUTS = {"score_bkg": ("<", DEMO_BKG_CUT), "score_prompt": (">", DEMO_SIGNAL_THRESHOLDS)}
#: demo inputs made by an older recipe are made again (2: trained and scanned on separate
#: halves; 4: the peak fitted on the MC of the signal origins, selection.scan_candidates)
DEMO_VERSION = 4


def make_scans(
    data: pd.DataFrame,
    mc: pd.DataFrame,
    expected: Mapping[str, Any],
    *,
    pt_bins: Sequence[tuple[float, float]] = PT_BINS,
    cuts: Mapping[str, tuple] = DEMO_CUTS,
    metadata: Mapping[str, Any] | None = None,
    scale: float = 1.0,
) -> list[ScanResult]:
    """Scans of ``cuts`` (default :data:`DEMO_CUTS`: the prompt score, background score <
    :data:`DEMO_BKG_CUT`), one per pT bin, with raw yields.

    ``cuts`` as :func:`o2ml.selection.scan_candidates` takes them; ``metadata`` is added to each
    result's (default model name ``"BDT"``); ``scale``: full data sample / scanned data (see
    :func:`o2ml.selection.scan_significance`).
    """
    options = SignificanceOptions(fit_raw_yield=True)
    about = {"model": "BDT", "class_columns": list(SCORE_COLUMNS), **(metadata or {})}
    out = []
    for lo, hi in pt_bins:
        onnx = onnx_file_name(DS_SELECTOR.channel, lo, hi)
        out.append(
            scan_candidates(
                data,
                mc,
                cuts,
                BinInputs(expected, (lo, hi), scale=scale),
                options=options,
                metadata={"onnx_file": onnx, **about},
            )
        )
    return out


# --------------------------------------------------------------------------------------------
# demo inputs
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DemoInputs:
    """Paths of the dashboards' default inputs."""

    directory: Path
    candidates: Path
    expected_signal: Path
    scans: list[Path]


def demo_directory(directory: str | os.PathLike | None = None, fast: bool | None = None) -> Path:
    """The folder of the demo inputs (made by :func:`ensure_demo_inputs`; nothing is made here)."""
    if directory is not None:
        return Path(directory)
    from ..toymc.generate import default_data_dir

    return default_data_dir(fast_mode() if fast is None else fast) / "dashboards"


def ensure_demo_inputs(
    directory: str | os.PathLike | None = None,
    *,
    sample_dir: str | os.PathLike | None = None,
    seed: int = 42,
    fast: bool | None = None,
) -> DemoInputs:
    """Scored candidates and scans from the generated Ds sample, made on first use.

    A BDT per pT bin (2–4, 4–6, 6–12 GeV/c; few trees in fast mode) is trained on half of the
    generated sample (:func:`o2ml.toymc.generate.ensure_sample`) with
    :func:`o2ml.models.training.train_bin`; the
    other half of data and MC is scored and scanned (:func:`make_scans`), so that efficiencies
    are not biased by overtraining. Safe when several kernels ask at once.
    """
    fast = fast_mode() if fast is None else fast
    out = demo_directory(directory, fast)
    out.mkdir(parents=True, exist_ok=True)
    candidates = out / "ds_scored.parquet"
    expected = out / "ds_expected_signal.json"
    scans = [out / f"scan_ds_pt{lo:g}_{hi:g}.json" for lo, hi in PT_BINS]
    manifest = out / "manifest.json"
    with FileLock(out / ".demo.lock"):  # portable (fcntl is POSIX-only)
        if _manifest_version(manifest) != DEMO_VERSION:
            _make_demo(out, candidates, expected, scans, sample_dir, seed, fast)
            manifest.write_text(
                json.dumps(
                    {
                        "o2ml_version": __version__,
                        "demo_version": DEMO_VERSION,
                        "seed": seed,
                        "fast": fast,
                        "candidates": candidates.name,
                        "expected_signal": expected.name,
                        "scans": [s.name for s in scans],
                        "pt_bins": [list(b) for b in PT_BINS],
                    },
                    indent=1,
                )
                + "\n"
            )
    return DemoInputs(out, candidates, expected, scans)


def _manifest_version(manifest: Path) -> int | None:
    try:
        return json.loads(manifest.read_text()).get("demo_version")
    except (OSError, json.JSONDecodeError):
        return None


def _make_demo(out, candidates, expected, scans, sample_dir, seed, fast) -> None:
    from ..channels import ds
    from ..channels.ds import TUTORIAL_FEATURES
    from ..export.choices import ExportSettings
    from ..models.training import TrainSettings, train_bin
    from ..schema import pt_bins
    from ..selection import add_scores, in_pt_range, read_candidates, split_for_training
    from ..toymc.generate import ensure_sample

    sample = ensure_sample(ds.NAME, sample_dir, seed=seed, fast=fast)  # the demo is the Ds's
    data = read_candidates(sample.data, ds.TABLE, TUTORIAL_FEATURES)
    data = data[["fM", "fPt", *TUTORIAL_FEATURES]]
    mc = read_candidates(sample.mc, ds.TABLE, TUTORIAL_FEATURES, kind="mc")  # true Ds
    table = load_expected_signal(sample.expected_signal)
    # train on one half, score and scan the other: a model scores its training candidates too well
    data_train, data_eval = split_for_training(data, 0.5, seed=seed)
    mc_train, mc_eval = split_for_training(mc, 0.5, seed=seed + 1)
    scale = len(data) / len(data_eval)  # the expected signal refers to the whole sample
    fast_params = {"n_estimators": 50, "learning_rate": 0.2}
    params = {"n_estimators": 200, "learning_rate": 0.08}
    settings = TrainSettings(
        seed=seed, params=fast_params if fast else params, max_per_class=3000 if fast else 20000
    )
    models = {
        b: train_bin(data_train, mc_train, b, TUTORIAL_FEATURES, sidebands=ds.SIDEBANDS,
                     settings=settings).model
        for b in pt_bins([2, 4, 6, 12])
    }  # fmt: skip
    # each candidate scored by the model of its pT bin, as notebook 01 scores them
    d, m = (
        pd.concat([add_scores(in_pt_range(df, b), model, TUTORIAL_FEATURES)
                   for b, model in models.items()])
        for df in (data_eval, mc_eval)
    )  # fmt: skip
    expected.write_text(json.dumps(table, indent=1) + "\n")

    write_candidates(candidates, d, m, expected, scale=scale)
    # the models, so that a dashboard export names ONNX files that exist (write_model_dir's names)
    write_model_dir(models, out / "models", export=ExportSettings(features=TUTORIAL_FEATURES),
                    cuts=[[DEMO_BKG_CUT, 0.0, 0.0]] * 3, seed=seed, overwrite=True)  # fmt: skip
    meta = {
        "features": list(TUTORIAL_FEATURES),
        "task": DS_SELECTOR.task,
        "model_dir": str(out / "models"),
        "seed": seed,
        "sample": str(sample.directory),
    }
    results = make_scans(d, m, table, metadata=meta, scale=scale)
    for path, result in zip(scans, results, strict=True):
        result.save(path, overwrite=True)
