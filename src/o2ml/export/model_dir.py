"""Write a model directory: per pT bin an ONNX file and the XGBoost JSON, plus the MlResponse JSON.

This is what O2Physics needs (ONNX + configurables) and what ``o2ml apply`` reads (it can also
run the XGBoost JSON models, or compile them with hummingbird).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import O2mlError
from . import onnx as onnx_export
from .o2physics import DEFAULT_TASK, CutDirection, MlResponseConfig

#: the cut directions of notebook 01: reject a candidate whose background score is above the cut
BACKGROUND_CUT = (CutDirection.CutGreater, CutDirection.CutNot, CutDirection.CutNot)


def write_model_dir(
    models: Mapping,
    features: Sequence[str],
    out: str | os.PathLike,
    *,
    cuts: Sequence[Sequence[float]],
    cut_dir: Sequence[CutDirection] = BACKGROUND_CUT,
    class_labels: Sequence[str] | None = None,
    seed: int | None = None,
    prefix: str = "ModelHandler_Ds_pT_",
    config_name: str = "o2physics_ds_ml.json",
    task: str = DEFAULT_TASK,
    overwrite: bool = False,
) -> Path:
    """Write ``{PtBin: model}`` (XGBoost classifiers or hipe4ml ModelHandlers) to ``out``.

    ``cuts`` is one row per pT bin with one cut per class. Returns the configuration's path.
    """
    from ..models import bdt

    bins = sorted(models, key=lambda b: b.lo)
    for a, b in itertools.pairwise(bins):
        if a.hi != b.lo:
            raise O2mlError(f"pT bins must be contiguous for binsPtMl: {a} is followed by {b}.")
    labels = list(class_labels or bdt.CLASS_LABELS)
    out = Path(out)
    files = []
    for b in bins:
        model = models[b]
        clf = model.get_original_model() if hasattr(model, "get_original_model") else model
        name = f"{prefix}{b.label}"
        onnx_export.xgboost_to_onnx(
            clf,
            features,
            out / f"{name}.onnx",
            class_labels=labels,
            pt_bin=(b.lo, b.hi),
            seed=seed,
            overwrite=overwrite,
        )
        bdt.save_model(
            clf,
            out / f"{name}.json",
            features=features,
            class_labels=labels,
            pt_bin=b,
            seed=seed,
            overwrite=overwrite,
        )
        files.append(f"{name}.onnx")
    config = MlResponseConfig(
        bins_pt=[bins[0].lo] + [b.hi for b in bins],
        cut_dir=list(cut_dir),
        cuts=[list(row) for row in cuts],
        features=list(features),
        onnx_files=files,
        class_labels=labels,
        task=task,
    )
    return config.to_json(out / config_name, overwrite=overwrite)
