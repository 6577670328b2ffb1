"""Models on disk: the model file plus a JSON sidecar of metadata (never pickle)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import xgboost as xgb

from ..errors import InputFileNotFoundError, O2mlError, OutputExistsError


def save_with_sidecar(
    path: str | os.PathLike,
    suffix: str,
    meta: dict,
    write_model,
    overwrite: bool = False,
    meta_suffix: str = ".meta.json",
    what: str = "a model",
) -> Path:
    """Write a model with ``write_model(path)`` and ``meta`` as JSON next to it.

    Checks the extension and refuses to replace either file without ``overwrite=True``; shared by
    the XGBoost models (JSON + ``.meta.json``) and the PyTorch ones (``.pt`` + ``.json``).
    """
    path = Path(path)
    if path.suffix != suffix:
        raise O2mlError(f"{path}: {what} is saved as {suffix}; use a {suffix} extension.")
    meta_path = path.with_suffix(meta_suffix)
    for p in (path, meta_path):
        if p.exists() and not overwrite:
            raise OutputExistsError(f"{p}: the file exists; pass overwrite=True to replace it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_model(path)
    meta_path.write_text(json.dumps(meta, indent=2, default=str) + "\n")
    return path


def save_xgboost(model, path: str | os.PathLike, meta: dict, overwrite: bool = False) -> Path:
    """Write ``model`` to ``path`` (XGBoost JSON) and ``meta`` to ``<path>.meta.json``."""
    return save_with_sidecar(
        path, ".json", meta, model.save_model, overwrite, what="an XGBoost model (JSON)"
    )


def load_xgboost(path: str | os.PathLike, estimator: type = xgb.XGBClassifier) -> tuple:
    """Read what :func:`save_xgboost` wrote: an ``estimator`` instance and the metadata dict."""
    path = Path(path)
    meta_path = path.with_suffix(".meta.json")
    for p in (path, meta_path):
        if not p.exists():
            raise InputFileNotFoundError(
                f"{p}: no such file (a model is {path.name} + {meta_path.name})."
            )
    model = estimator()
    try:
        model.load_model(path)
    except xgb.core.XGBoostError as err:
        raise O2mlError(f"{path}: not an XGBoost JSON model ({err}).") from None
    return model, json.loads(meta_path.read_text())
