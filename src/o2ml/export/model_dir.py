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
from typing import TYPE_CHECKING

from .. import onnx as onnx_export
from ..channels import find_selector
from ..errors import MlResponseConfigError
from ..schema import CLASS_LABELS
from .o2physics import DEFAULT_TASK, CutDirection, MlResponseConfig, onnx_file_name

if TYPE_CHECKING:  # choices imports this module
    from .choices import ExportSettings

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


def plan_model_dir(
    bins: Sequence,
    features: Sequence[str],
    *,
    cuts: Sequence[Sequence[float]],
    cut_dir: Sequence[CutDirection] = BACKGROUND_CUT,
    class_labels: Sequence[str] | None = None,
    task: str = DEFAULT_TASK,
    ccdb_paths: Sequence[str] | None = None,
) -> MlResponseConfig:
    """The checked MlResponse configuration of a model directory for ``bins`` (contiguous
    :class:`o2ml.schema.PtBin`), before any model or file exists: :func:`write_bin_model` then
    writes each bin's files (in any process, in any order) and ``config.to_json`` the
    configuration, as :func:`write_model_dir` does."""
    class_labels = CLASS_LABELS if class_labels is None else class_labels
    bins = sorted(bins, key=lambda b: b.lo)
    for a, b in itertools.pairwise(bins):
        if a.hi != b.lo:
            raise MlResponseConfigError(
                f"pT bins must be contiguous for binsPtMl: {a} is followed by {b}."
            )
    return MlResponseConfig(
        bins_pt=[bins[0].lo] + [b.hi for b in bins],
        cut_dir=list(cut_dir),
        cuts=[list(row) for row in cuts],
        features=list(features),
        onnx_files=[onnx_name(task, b) for b in bins],
        class_labels=list(class_labels),
        task=task,
        ccdb_paths=None if ccdb_paths is None else list(ccdb_paths),
    )


def write_bin_model(
    config: MlResponseConfig,
    pt_bin,
    model,
    out: str | os.PathLike,
    *,
    seed: int | None = None,
    overwrite: bool = False,
) -> Path:
    """Write one pT bin's model of ``config`` (an XGBoost classifier or a hipe4ml
    ModelHandler) to ``out``: the ONNX file the configuration names and its XGBoost JSON.
    Returns the ONNX file's path."""
    from ..models import bdt

    name = onnx_name(config.task, pt_bin)
    if name not in config.onnx_files:
        raise MlResponseConfigError(
            f"{pt_bin} is not a pT bin of the configuration (binsPtMl {config.bins_pt})."
        )
    clf = model.get_original_model() if hasattr(model, "get_original_model") else model
    path = Path(out) / name
    onnx_export.xgboost_to_onnx(
        clf,
        config.features,
        path,
        class_labels=config.class_labels,
        pt_bin=(pt_bin.lo, pt_bin.hi),
        seed=seed,
        extra_metadata={"task": config.task, "names_input_features": config.names},
        overwrite=overwrite,
    )
    bdt.save_model(
        clf,
        path.with_suffix(".json"),
        features=config.features,
        class_labels=config.class_labels,
        pt_bin=pt_bin,
        seed=seed,
        overwrite=overwrite,
    )
    return path


def write_model_dir(
    models: Mapping,
    out: str | os.PathLike,
    *,
    export: ExportSettings,
    cuts: Sequence[Sequence[float]],
    cut_dir: Sequence[CutDirection] = BACKGROUND_CUT,
    ccdb_paths: Sequence[str] | None = None,
    seed: int | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``{PtBin: model}`` (XGBoost classifiers or hipe4ml ModelHandlers) to ``out``.

    ``export`` (:class:`o2ml.export.choices.ExportSettings`): its ``features`` are the tree
    columns the models were trained on (required), ``class_labels`` the classes (default those of
    :class:`o2ml.schema.CharmClass`), ``task`` the O2Physics task that will apply them (default
    the Ds selector, whose names must cover every feature; any other task name is a custom task
    fed a fixed vector); its ``onnx_files`` and ``class_columns`` are not used (the files are
    named here). ``cuts`` is one row per pT bin with one cut per class. Returns the
    configuration's path (:func:`config_file_name`).
    """
    if export.features is None:
        raise MlResponseConfigError(
            "write_model_dir: expected the models' features in export=ExportSettings(features=...), "
            "found None."
        )
    task = DEFAULT_TASK if export.task is None else export.task
    features, class_labels = export.features, export.class_labels
    config = plan_model_dir(  # checked before any file is written
        list(models), features, cuts=cuts, cut_dir=cut_dir, class_labels=class_labels,
        task=task, ccdb_paths=ccdb_paths,
    )  # fmt: skip
    for b, model in models.items():
        write_bin_model(config, b, model, out, seed=seed, overwrite=overwrite)
    return config.to_json(Path(out) / config_file_name(task), overwrite=overwrite)
