"""Models on disk: the model file plus a JSON sidecar ``<stem>.meta.json`` (never pickle).

Every o2ml model stores itself the same way (``model.save(path, *, overwrite=False)``, then
``Model.load(path)``): XGBoost models as ``name.json`` + ``name.meta.json``, PyTorch models as a
``state_dict`` ``name.pt`` + ``name.meta.json``; the sidecar holds the features, the classes or
target, the seed and the versions.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import (
    InputFileNotFoundError,
    ModelFileError,
    OutputExistsError,
)

#: the sidecar's suffix: ``model.pt`` -> ``model.meta.json``
SIDECAR = ".meta.json"


def sidecar_path(path: str | os.PathLike) -> Path:
    """The metadata file next to the model file ``path``."""
    return Path(path).with_suffix(SIDECAR)


def save_with_sidecar(
    path: str | os.PathLike,
    suffix: str,
    meta: dict,
    write_model,
    *,
    overwrite: bool = False,
    what: str = "a model",
) -> Path:
    """Write a model with ``write_model(path)`` and ``meta`` to :func:`sidecar_path`.

    Checks the extension and refuses to replace either file without ``overwrite=True``.
    """
    path = Path(path)
    if path.suffix != suffix:
        raise ModelFileError(f"{path}: {what} is saved as {suffix}; use a {suffix} extension.")
    meta_path = sidecar_path(path)
    for p in (path, meta_path):
        if p.exists() and not overwrite:
            raise OutputExistsError(f"{p}: the file exists; pass overwrite=True to replace it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_model(path)
    meta_path.write_text(json.dumps(meta, indent=2, default=str) + "\n")
    return path


def read_sidecar(path: str | os.PathLike, *, what: str = "a model") -> dict:
    """The metadata of the model file ``path``; a missing file is an error naming both files
    (and the rename that fixes a ``.pt`` model saved with a ``name.json`` sidecar by o2ml 0.1)."""
    path, meta_path = Path(path), sidecar_path(path)
    for p in (path, meta_path):
        if not p.exists():
            old = path.with_suffix(".json")
            hint = (
                f"; found {old.name}: rename it to {meta_path.name}"
                if p == meta_path and path.suffix == ".pt" and old.exists()
                else ""
            )
            raise InputFileNotFoundError(
                f"{p}: no such file ({what} is {path.name} + {meta_path.name}{hint})."
            )
    try:
        return json.loads(meta_path.read_text())
    except json.JSONDecodeError as err:
        raise ModelFileError(
            f"{meta_path}: expected the JSON metadata of {path.name}, found invalid JSON ({err})."
        ) from None


def save_xgboost(model, path: str | os.PathLike, meta: dict, *, overwrite: bool = False) -> Path:
    """Write ``model`` to ``path`` (XGBoost JSON) and ``meta`` to ``<stem>.meta.json``."""
    return save_with_sidecar(
        path, ".json", meta, model.save_model, overwrite=overwrite, what="an XGBoost model (JSON)"
    )


def load_xgboost(path: str | os.PathLike, estimator: type | None = None) -> tuple:
    """Read what :func:`save_xgboost` wrote: an ``estimator`` instance (an ``XGBClassifier`` by
    default) and the metadata dict."""
    import xgboost as xgb

    meta = read_sidecar(path, what="an XGBoost model")
    model = (estimator or xgb.XGBClassifier)()
    try:
        model.load_model(path)
    except xgb.core.XGBoostError as err:
        raise ModelFileError(f"{path}: not an XGBoost JSON model ({err}).") from None
    return model, meta
