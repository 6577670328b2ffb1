"""The O2Physics side of a model: ``MlResponse`` configurables and a Python twin of ``MlResponse``.

O2Physics ``Tools/ML/MlResponse.h`` keeps one ONNX model per pT bin (``binsPtMl``), the number of
classes (``nClassesMl``), one cut direction per class (``cutDirMl``) and a table of cuts
(``cutsMl``, pT bin x class). :class:`MlResponseConfig` writes those configurables as they appear
in an O2 ``dpl-config.json`` (values as strings, as O2 writes them); :class:`MlResponse` reads that
JSON and the ONNX files and reproduces ``isSelectedMl`` so a selection can be checked in Python
before it runs on the grid.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import BadFileError, InputFileNotFoundError, O2mlError, OutputExistsError
from . import onnx as onnx_export

DEFAULT_TASK = "hf-candidate-selector-ds-to-k-k-pi"


class CutDirection(IntEnum):
    """``o2::cuts_ml::CutDirection``."""

    CutGreater = 0  #: reject if score > cut
    CutSmaller = 1  #: reject if score < cut
    CutNot = 2  #: no cut on this class


def _num(x: float) -> str:
    return repr(float(x))


@dataclass
class MlResponseConfig:
    """The ``MlResponse`` configurables of one O2Physics task."""

    bins_pt: list[float]
    cut_dir: list[CutDirection]
    cuts: list[list[float]]  # [pT bin][class]
    features: list[str]
    onnx_files: list[str]
    class_labels: list[str] | None = None
    task: str = DEFAULT_TASK

    def __post_init__(self) -> None:
        self.bins_pt = [float(b) for b in self.bins_pt]
        self.cut_dir = [CutDirection(d) for d in self.cut_dir]
        self.cuts = [[float(c) for c in row] for row in self.cuts]
        n_bins = len(self.bins_pt) - 1
        problems = []
        if n_bins < 1 or any(
            b >= a for a, b in zip(self.bins_pt[1:], self.bins_pt[:-1], strict=True)
        ):
            problems.append(f"binsPtMl must be at least two increasing edges, got {self.bins_pt}")
        if len(self.cuts) != n_bins or any(len(r) != self.n_classes for r in self.cuts):
            problems.append(
                f"cutsMl must be {n_bins} pT bins x {self.n_classes} classes, got "
                f"{len(self.cuts)} rows of {[len(r) for r in self.cuts]}"
            )
        if len(self.onnx_files) != n_bins:
            problems.append(
                f"onnxFileNames needs one file per pT bin ({n_bins}), got {len(self.onnx_files)}"
            )
        if self.class_labels is not None and len(self.class_labels) != self.n_classes:
            problems.append(f"{len(self.class_labels)} class labels for {self.n_classes} classes")
        if problems:
            raise O2mlError("Invalid MlResponse configuration: " + "; ".join(problems) + ".")

    @property
    def n_classes(self) -> int:
        return len(self.cut_dir)

    def configurables(self) -> dict:
        """The configurables as in an O2 ``dpl-config.json`` (all values written as strings)."""
        labels = self.class_labels or [f"score class {i}" for i in range(self.n_classes)]
        return {
            "applyMl": "true",
            "binsPtMl": {"values": [_num(b) for b in self.bins_pt]},
            "cutDirMl": {"values": [str(int(d)) for d in self.cut_dir]},
            "cutsMl": {
                "labels_rows": [f"pT bin {i}" for i in range(len(self.cuts))],
                "labels_cols": list(labels),
                "values": [[_num(c) for c in row] for row in self.cuts],
            },
            "nClassesMl": str(self.n_classes),
            "namesInputFeatures": {"values": list(self.features)},
            "onnxFileNames": {"values": list(self.onnx_files)},
            "loadModelsFromCCDB": "false",
        }

    def to_json(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write ``{task: configurables}``, ready to merge into a ``dpl-config.json``."""
        path = Path(path)
        if path.exists() and not overwrite:
            raise OutputExistsError(f"{path}: the file exists; pass overwrite=True to replace it.")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({self.task: self.configurables()}, indent=2) + "\n")
        return path

    @classmethod
    def from_json(cls, path: str | os.PathLike, task: str | None = None) -> MlResponseConfig:
        """Read the configurables of ``task`` (default: the only task in the file)."""
        path = Path(path)
        if not path.exists():
            raise InputFileNotFoundError(f"{path}: no such configuration file.")
        try:
            doc = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise BadFileError(f"{path}: not valid JSON ({err}).") from None
        tasks = [k for k, v in doc.items() if isinstance(v, dict) and "binsPtMl" in v]
        if task is None:
            if len(tasks) != 1:
                raise O2mlError(
                    f"{path}: expected one task with binsPtMl, found {tasks or 'none'}; name it."
                )
            task = tasks[0]
        if task not in tasks:
            raise O2mlError(
                f"{path}: no MlResponse configurables for task {task!r}; found {tasks}."
            )
        c = doc[task]
        try:
            return cls(
                bins_pt=[float(v) for v in c["binsPtMl"]["values"]],
                cut_dir=[int(v) for v in c["cutDirMl"]["values"]],
                cuts=[[float(v) for v in row] for row in c["cutsMl"]["values"]],
                features=list(c["namesInputFeatures"]["values"]),
                onnx_files=list(c["onnxFileNames"]["values"]),
                class_labels=list(c["cutsMl"].get("labels_cols", [])) or None,
                task=task,
            )
        except (KeyError, TypeError, ValueError) as err:
            raise BadFileError(
                f"{path}: task {task!r} lacks or mangles an MlResponse configurable ({err})."
            ) from None


def find_bin(edges: Sequence[float], pt: np.ndarray) -> np.ndarray:
    """pT-bin index per candidate, -1 outside ``[edges[0], edges[-1])`` (``MlResponse::findBin``)."""
    edges = np.asarray(edges, dtype=float)
    pt = np.asarray(pt, dtype=float)
    idx = np.searchsorted(edges, pt, side="right") - 1
    idx[(pt < edges[0]) | (pt >= edges[-1]) | np.isnan(pt)] = -1
    return idx


class MlResponse:
    """Python twin of ``o2::analysis::MlResponse``: same bins, same cuts, same ONNX models.

    Candidates outside ``binsPtMl`` are not selected (``findBin`` returns -1 there).
    """

    def __init__(self, config: MlResponseConfig, model_dir: str | os.PathLike = ".") -> None:
        self.config = config
        self.sessions = []
        for name in config.onnx_files:
            path = Path(model_dir) / name
            meta = onnx_export.read_metadata(path)
            stored = meta.get(onnx_export.META_FEATURES)
            if stored is not None and list(stored) != list(config.features):
                raise onnx_export.FeatureOrderError(
                    f"{path}: the model was trained with features {stored}, "
                    f"but namesInputFeatures is {config.features}."
                )
            self.sessions.append(onnx_export.session(path))

    @classmethod
    def from_json(cls, path: str | os.PathLike, task: str | None = None) -> MlResponse:
        """Load the configuration and the ONNX files it names (relative to the JSON file)."""
        return cls(MlResponseConfig.from_json(path, task), Path(path).parent)

    def find_bin(self, pt: np.ndarray) -> np.ndarray:
        """Model index per candidate, -1 outside the bins (``MlResponse::findBin``)."""
        return find_bin(self.config.bins_pt, pt)

    def _matrix(self, features: pd.DataFrame | np.ndarray) -> np.ndarray:
        if isinstance(features, pd.DataFrame):
            missing = [f for f in self.config.features if f not in features.columns]
            if missing:
                raise onnx_export.FeatureOrderError(
                    f"Candidates lack the model features {missing} (namesInputFeatures {self.config.features})."
                )
            return features[self.config.features].to_numpy(dtype=np.float32)
        X = np.asarray(features, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != len(self.config.features):
            raise onnx_export.FeatureOrderError(
                f"Expected candidates x {len(self.config.features)} features "
                f"({self.config.features}), got an array of shape {X.shape}."
            )
        return X

    def get_model_output(
        self, features: pd.DataFrame | np.ndarray, pt: Sequence[float]
    ) -> np.ndarray:
        """Scores ``[n, n_classes]`` from each candidate's pT-bin model (NaN outside the bins)."""
        X = self._matrix(features)
        bins = self.find_bin(pt)
        out = np.full((len(X), self.config.n_classes), np.nan, dtype=np.float32)
        for i, sess in enumerate(self.sessions):
            mask = bins == i
            if mask.any():
                out[mask] = onnx_export.run(sess, X[mask])[:, : self.config.n_classes]
        return out

    def is_selected_ml(
        self, features: pd.DataFrame | np.ndarray, pt: Sequence[float], return_scores: bool = False
    ):
        """``MlResponse::isSelectedMl`` for many candidates at once: a boolean array."""
        scores = self.get_model_output(features, pt)
        bins = self.find_bin(pt)
        cuts = np.asarray(self.config.cuts)[np.clip(bins, 0, None)]
        selected = bins >= 0
        for k, direction in enumerate(self.config.cut_dir):
            if direction == CutDirection.CutGreater:
                selected &= ~(scores[:, k] > cuts[:, k])
            elif direction == CutDirection.CutSmaller:
                selected &= ~(scores[:, k] < cuts[:, k])
        return (selected, scores) if return_scores else selected
