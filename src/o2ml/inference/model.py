"""A model directory: one model per pT bin, as O2Physics ``MlResponse`` applies them.

The directory is what notebook 01 (and :func:`o2ml.export.model_dir.write_model_dir`) writes: the
``MlResponse`` configuration JSON (``binsPtMl``, ``namesInputFeatures``, ``onnxFileNames``), one
ONNX file per pT bin and, next to each, the XGBoost JSON model of the same name (``.json`` +
``.meta.json``) that the ``xgboost`` and hummingbird backends need.

It may also be an analyser's own O2Physics model: a ``dpl-config`` JSON with one task's ML
configurables and the ONNX files it names beside it (from CCDB, the O2Physics training macros
or the tutorial), without o2ml's metadata. ``task`` picks the task when the file holds several;
``namesInputFeatures`` are mapped back to tree columns through the selector's table
(:mod:`o2ml.channels.selectors`), or ``features`` gives the tree columns (custom tasks). Such a
model runs with onnxruntime.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import onnx as onnx_export
from ..errors import (
    FeatureOrderError,
    InputFileNotFoundError,
    MlResponseConfigError,
)
from ..export.o2physics import MlResponseConfig, find_bin
from ..schema import require_columns, score_column
from .backends import Scorer, check_backend, make_scorer


def _find_config(directory: Path) -> Path:
    found = []
    for path in sorted(directory.glob("*.json")):
        if path.name.endswith(".meta.json"):
            continue
        try:
            doc = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(doc, dict) and any(
            isinstance(v, dict) and "binsPtMl" in v for v in doc.values()
        ):
            found.append(path)
    if len(found) != 1:
        what = f"{len(found)}: {[p.name for p in found]}" if found else "none"
        raise MlResponseConfigError(
            f"{directory}: expected one MlResponse configuration JSON (with binsPtMl), found "
            f"{what}; pass the configuration file itself."
        )
    return found[0]


@dataclass
class BinnedModel:
    """The per-pT-bin models of an MlResponse configuration, on disk."""

    config_path: Path
    config: MlResponseConfig
    onnx_paths: list[Path]
    class_labels: list[str]

    task: str | None = None
    given_features: tuple[str, ...] | None = None

    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        task: str | None = None,
        check: bool = True,
        features: Sequence[str] | None = None,
    ) -> BinnedModel:
        """Read a model directory (or its configuration JSON) and check its files agree.

        ``task`` and ``features`` as :meth:`o2ml.export.o2physics.MlResponseConfig.from_json`
        takes them (for an O2Physics configuration without o2ml's metadata). ``check=False``
        skips reading the ONNX files when the configuration names the class labels (for workers
        of a run whose model was checked once already).
        """
        path = Path(path)
        if not path.exists():
            raise InputFileNotFoundError(f"{path}: no such model directory or configuration.")
        config_path = _find_config(path) if path.is_dir() else path
        config = MlResponseConfig.from_json(config_path, task, features)
        onnx_paths = [config_path.parent / name for name in config.onnx_files]
        labels = None
        for p in onnx_paths if check or not config.class_labels else []:
            if not p.exists():
                raise InputFileNotFoundError(
                    f"{p}: no such ONNX file ({config_path.name} names it in onnxFileNames; the "
                    "files must lie beside the configuration)."
                )
            meta = onnx_export.read_metadata(p)
            stored = meta.get(onnx_export.META_FEATURES)
            if stored is not None and list(stored) != config.features:
                raise FeatureOrderError(
                    f"{p}: the model was trained with features {stored}, but "
                    f"{config_path.name} names {config.features}."
                )
            if stored is None:  # a foreign model: at least its input width must agree
                width = onnx_export.input_width(onnx_export.session(p))
                if width is not None and width != len(config.features):
                    raise FeatureOrderError(
                        f"{p}: the model takes {width} inputs, but {config_path.name} gives "
                        f"{len(config.features)} features ({config.features})."
                    )
            labels = labels or meta.get(onnx_export.META_CLASSES)
        labels = list(config.class_labels or labels or range(config.n_classes))
        given = None if features is None else tuple(features)
        return cls(config_path, config, onnx_paths, [str(x) for x in labels], task, given)

    @property
    def features(self) -> list[str]:
        return self.config.features

    @property
    def score_columns(self) -> list[str]:
        return [score_column(label, i) for i, label in enumerate(self.class_labels)]

    @property
    def has_xgboost(self) -> bool:
        """Whether the XGBoost JSON model of every bin is there (o2ml's model directories)."""
        return all(self.xgboost_path(i).exists() for i in range(len(self.onnx_paths)))

    def xgboost_path(self, index: int) -> Path:
        return self.onnx_paths[index].with_suffix(".json")

    def fingerprint(self, backend: str) -> str:
        """SHA-256 of the configuration and of the model files ``backend`` reads."""
        h = hashlib.sha256(self.config_path.read_bytes())
        for i, p in enumerate(self.onnx_paths):
            files = [p] if backend == "onnxruntime" else [self.xgboost_path(i)]
            for f in files:
                h.update(f.name.encode())
                h.update(f.read_bytes())
        return h.hexdigest()

    def resolve_backend(self, backend: str) -> str:
        """``auto``: XGBoost when its JSON models are there (fastest in bulk here), else onnxruntime."""
        if backend == "auto":
            return "xgboost" if self.has_xgboost else "onnxruntime"
        return check_backend(backend)

    def check_files(self, backend: str) -> str:
        """The resolved backend, once the files it reads are known to be there."""
        backend = self.resolve_backend(backend)
        for i, onnx_path in enumerate(self.onnx_paths):
            if backend == "onnxruntime":
                if not onnx_path.exists():
                    raise InputFileNotFoundError(f"{onnx_path}: no such ONNX file.")
            elif not self.xgboost_path(i).exists():
                raise InputFileNotFoundError(
                    f"{self.xgboost_path(i)}: the {backend} backend needs the XGBoost JSON model "
                    f"next to {onnx_path.name}; this directory has only ONNX files "
                    "(use onnxruntime)."
                )
        return backend

    def scorers(self, backend: str, threads: int = 1) -> list[Scorer]:
        """One loaded :class:`Scorer` per pT bin."""
        from ..models.bdt import load_model

        backend = self.check_files(backend)
        out = []
        for i, onnx_path in enumerate(self.onnx_paths):
            if backend == "onnxruntime":
                out.append(make_scorer(backend, onnx_path=onnx_path, threads=threads))
                continue
            json_path = self.xgboost_path(i)
            clf, meta = load_model(json_path)
            if list(meta.get("features", self.features)) != self.features:
                raise FeatureOrderError(
                    f"{json_path}: trained with features {meta['features']}, but "
                    f"{self.config_path.name} names {self.features}."
                )
            out.append(make_scorer(backend, xgb_model=clf, threads=threads))
        return out

    def score(
        self, df: pd.DataFrame, scorers: list[Scorer], pt_column: str = "fPt"
    ) -> pd.DataFrame:
        """Scores of every candidate from its pT bin's model (NaN outside ``binsPtMl``)."""
        require_columns(df, [*self.features, pt_column], f"the model in {self.config_path.parent}")
        X = df[self.features].to_numpy(dtype=np.float32)
        bins = find_bin(self.config.bins_pt, df[pt_column].to_numpy())
        out = np.full((len(df), self.config.n_classes), np.nan, dtype=np.float32)
        for i, scorer in enumerate(scorers):
            rows = np.flatnonzero(bins == i)
            if len(rows):
                out[rows] = scorer.predict(X[rows])[:, : self.config.n_classes]
        return pd.DataFrame(out, columns=self.score_columns, index=df.index)
