"""Write a model directory: per pT bin an ONNX file and the XGBoost JSON, plus the MlResponse JSON.

This is what O2Physics needs (ONNX + configurables of the target task) and what ``o2ml apply``
reads (it can also run the XGBoost JSON models, or compile them with hummingbird). The ONNX files
are named as the O2Physics training macro names them
(:func:`o2ml.export.o2physics.onnx_file_name`), so every configuration, the dashboards' exports
included, names files this function wrote.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..channels import find_selector
from ..errors import O2mlError
from . import onnx as onnx_export
from .o2physics import DEFAULT_TASK, CutDirection, MlResponseConfig, onnx_file_name

#: the cut directions of notebook 01: reject a candidate whose background score is above the cut
BACKGROUND_CUT = (CutDirection.CutGreater, CutDirection.CutNot, CutDirection.CutNot)


def config_file_name(task: str) -> str:
    """The configuration's file name: ``dpl-config_<task>.json``."""
    return f"dpl-config_{task}.json"


def channel_of(task: str) -> str:
    """The decay channel in file names: the selector's (``DsToKKPi``), else the task name."""
    selector = find_selector(task)
    return selector.channel if selector is not None else task


def onnx_name(task: str, pt_bin) -> str:
    """The ONNX file name of one pT bin's model for ``task`` (what :func:`write_model_dir` writes)."""
    return onnx_file_name(channel_of(task), pt_bin.lo, pt_bin.hi)


def write_model_dir(
    models: Mapping,
    features: Sequence[str],
    out: str | os.PathLike,
    *,
    cuts: Sequence[Sequence[float]],
    cut_dir: Sequence[CutDirection] = BACKGROUND_CUT,
    class_labels: Sequence[str] | None = None,
    seed: int | None = None,
    task: str = DEFAULT_TASK,
    ccdb_paths: Sequence[str] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``{PtBin: model}`` (XGBoost classifiers or hipe4ml ModelHandlers) to ``out``.

    ``features`` are the tree columns the models were trained on; ``task`` the O2Physics task
    that will apply them (default the Ds selector, whose names must cover every feature; any
    other task name is a custom task fed a fixed vector). ``cuts`` is one row per pT bin with one
    cut per class. Returns the configuration's path (:func:`config_file_name`).
    """
    from ..models import bdt

    bins = sorted(models, key=lambda b: b.lo)
    for a, b in itertools.pairwise(bins):
        if a.hi != b.lo:
            raise O2mlError(f"pT bins must be contiguous for binsPtMl: {a} is followed by {b}.")
    labels = list(class_labels or bdt.CLASS_LABELS)
    files = [onnx_name(task, b) for b in bins]
    config = MlResponseConfig(  # checked before any file is written
        bins_pt=[bins[0].lo] + [b.hi for b in bins],
        cut_dir=list(cut_dir),
        cuts=[list(row) for row in cuts],
        features=list(features),
        onnx_files=files,
        class_labels=labels,
        task=task,
        ccdb_paths=None if ccdb_paths is None else list(ccdb_paths),
    )
    out = Path(out)
    for b, name in zip(bins, files, strict=True):
        model = models[b]
        clf = model.get_original_model() if hasattr(model, "get_original_model") else model
        onnx_export.xgboost_to_onnx(
            clf,
            features,
            out / name,
            class_labels=labels,
            pt_bin=(b.lo, b.hi),
            seed=seed,
            extra_metadata={"task": task, "names_input_features": config.names},
            overwrite=overwrite,
        )
        bdt.save_model(
            clf,
            (out / name).with_suffix(".json"),
            features=features,
            class_labels=labels,
            pt_bin=b,
            seed=seed,
            overwrite=overwrite,
        )
    return config.to_json(out / config_file_name(task), overwrite=overwrite)
