"""The O2Physics side of a model: ``MlResponse`` configurables and a Python twin of ``MlResponse``.

O2Physics ``Tools/ML/MlResponse.h`` keeps one ONNX model per pT bin (``binsPtMl``), the number of
classes (``nClassesMl``), one cut direction per class (``cutDirMl``) and a table of cuts
(``cutsMl``, pT bin x class). :class:`MlResponseConfig` is the one builder of those
configurables, written as a ``dpl-config.json`` section of the target task: every ML
configurable the HF selectors read (``applyMl``, ``binsPtMl``, ``cutDirMl``, ``cutsMl`` with
labels, ``nClassesMl``, ``namesInputFeatures``, ``onnxFileNames``, ``loadModelsFromCCDB``,
``modelPathsCCDB``, ``ccdbUrl``, ``timestampCCDB``), plus ``ptCandMin``/``ptCandMax`` set so that
no float pT the task's own cut accepts can miss a ``binsPtMl`` bin (:func:`pt_cand_range`: each
task's comparison, :class:`o2ml.channels.PtCut`). Values are strings, as O2 itself writes a configuration (boost's JSON reader
keeps every leaf as a string; bools ``"true"``/``"false"``, ints plain integers); vectors are
``{"values": [...]}`` and labelled arrays ``{"labels_rows", "labels_cols", "values"}`` (AliceO2
``Framework/Core/include/Framework/VariantPropertyTreeHelpers.h``).

The model is trained on tree columns (``fCpa``, ...); ``namesInputFeatures`` holds the names the
target selector offers for them (:mod:`o2ml.channels.selectors`), and a column the selector cannot
compute is refused. A custom task (no ``namesInputFeatures``, a fixed feature vector) is written
without names; the file's ``"o2ml"`` section (ignored by O2, which reads the task's own key) says
which task it is for and the tree column of every position of the vector.

:class:`MlResponse` reads such a JSON (o2ml's or any analyser's, without o2ml's metadata) and the
ONNX files, and behaves as ``MlResponse`` does: the same initialisation failures, ``findBin``
with ``[lo, hi)`` bins on the float pT, the task's own ``ptCandMin``/``ptCandMax`` cut before it
(``outside="selector"``), the first ``nClassesMl`` values of the model's last output, and the cut
directions ``CutGreater`` (reject if score > cut), ``CutSmaller`` (reject if score < cut),
``CutNot``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from .. import onnx as onnx_export
from ..channels import ASSUMED_PT_CUT, DS_SELECTOR, TUTORIAL_TASK, PtCut, find_selector
from ..errors import (
    BadFileError,
    FeatureOrderError,
    InputFileNotFoundError,
    MlResponseConfigError,
    ModelIndexError,
    OutputExistsError,
    UnsupportedFeatureError,
)
from ..schema import CLASS_LABELS, O2PHYSICS_DMESON_LABELS

DEFAULT_TASK = DS_SELECTOR.task
#: O2Physics ``ccdbUrl`` default of the HF selectors
CCDB_URL = "http://alice-ccdb.cern.ch"
#: the key of o2ml's own section in an exported JSON (O2 reads only its tasks' keys)
O2ML_KEY = "o2ml"


class CutDirection(IntEnum):
    """``o2::cuts_ml::CutDirection`` (Tools/ML/MlResponse.h)."""

    CutGreater = 0  #: reject if score > cut
    CutSmaller = 1  #: reject if score < cut
    CutNot = 2  #: no cut on this class


def onnx_file_name(channel: str, pt_lo: float, pt_hi: float) -> str:
    """The ONNX file of one pT bin, named as O2Physics ``PWGHF/D2H/Macros/ML/train_models.py``
    names it: ``ModelHandler_onnx_<channel>_pT_<lo>_<hi>.onnx``."""
    return f"ModelHandler_onnx_{channel}_pT_{pt_lo:g}_{pt_hi:g}.onnx"


def _num(x: float) -> str:
    # repr: the shortest text that reads back as the same double (O2 reads a Configurable<double>
    # with boost's stream_translator, ``istream >> double``, correctly rounded; it writes back
    # with max_digits10); a float32 value written so reads back exactly as float or double
    return repr(float(x))


def _f32(x: float) -> np.float32:
    with np.errstate(over="ignore"):
        return np.float32(x)


def float_at_or_above(x: float) -> float:
    """The smallest float32 value >= ``x`` (as an exact Python float)."""
    f = _f32(x)
    return float(np.nextafter(f, np.float32(np.inf)) if float(f) < x else f)


def float_at_or_below(x: float) -> float:
    """The largest float32 value <= ``x``."""
    f = _f32(x)
    return float(np.nextafter(f, np.float32(-np.inf)) if float(f) > x else f)


def float_below(x: float) -> float:
    """The largest float32 value < ``x``."""
    f = _f32(x)
    return float(np.nextafter(f, np.float32(-np.inf)) if float(f) >= x else f)


def pt_cand_range(edges: Sequence[float], pt_cut: PtCut = ASSUMED_PT_CUT) -> tuple[float, float]:
    """``ptCandMin``, ``ptCandMax`` for which a task with ``pt_cut`` accepts exactly the float pT
    in ``[edges[0], edges[-1])``, the range where ``MlResponse::findBin`` finds a bin.

    The task rejects ``pt < ptCandMin`` (float pT promoted to double): ptCandMin is the smallest
    float >= the first edge. It rejects ``pt > ptCandMax`` (Ds, D+, the tutorial): ptCandMax is
    the largest float below the last edge (6 -> 5.999999523162842); or ``pt >= ptCandMax`` (Λc):
    the smallest float >= the last edge (6 -> 6.0). Both limits are float32 values, so they
    read back exactly whether the configurable is a double or a float.
    """
    lo, hi = float(edges[0]), float(edges[-1])
    pt_max = float_below(hi) if pt_cut.above == ">" else float_at_or_above(hi)
    return float_at_or_above(lo), pt_max


def pt_accepted(
    pt, pt_min: float | None, pt_max: float | None, pt_cut: PtCut = ASSUMED_PT_CUT
) -> np.ndarray:
    """True where the task's own pT cut passes a candidate on to ``MlResponse`` (pT taken as the
    float ``candidate.pt()``, compared as double; None: no cut on that side; NaN passes, as in
    C++, where every comparison with NaN is false)."""
    x = np.asarray(pt, dtype=np.float32).astype(np.float64)
    rejected = np.zeros(x.shape, dtype=bool)
    if pt_min is not None:
        rejected |= x < pt_min
    if pt_max is not None:
        rejected |= (x > pt_max) if pt_cut.above == ">" else (x >= pt_max)
    return ~rejected


def pt_range_problems(
    edges: Sequence[float], pt_min: float | None, pt_max: float | None, pt_cut: PtCut
) -> list[str]:
    """The float pT that pass the task's cut yet have no ``binsPtMl`` bin (the job stops there):
    empty when every accepted float pT finds a model."""
    lo, hi = float(edges[0]), float(edges[-1])
    low = -np.inf if pt_min is None else float_at_or_above(pt_min)  # smallest accepted float
    if pt_max is None:
        high = np.inf
    else:  # largest accepted float
        high = float_at_or_below(pt_max) if pt_cut.above == ">" else float_below(pt_max)
    where = f"the task {pt_cut.describe()}"
    problems = []
    if low < lo:
        problems.append(
            f"a candidate at pT = {low!r} passes ptCandMin = {pt_min!r} ({where}) but is below "
            f"binsPtMl's first edge {lo!r}"
        )
    if high >= hi:
        problems.append(
            f"a candidate at pT = {high!r} passes ptCandMax = {pt_max!r} ({where}) but is not "
            f"below binsPtMl's last edge {hi!r}"
        )
    return problems


def _bool(value, what: str) -> bool:
    text = str(value).strip().lower()
    if text in ("1", "true"):
        return True
    if text in ("0", "false"):
        return False
    raise BadFileError(f"{what}: expected a bool (true/false/1/0), found {value!r}.")


def _number(value, what: str, kind: type = float) -> float | int:
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise BadFileError(f"{what}: expected a number, found {value!r}.") from None


@dataclass
class MlResponseConfig:
    """The ``MlResponse`` configurables of one O2Physics task, for a model trained on tree columns.

    ``features`` are the model's inputs as tree columns, in order. For a selector o2ml knows
    (:data:`o2ml.channels.SELECTORS`) they are written as its ``namesInputFeatures`` and any
    column it cannot compute is an error; for any other ``task`` (a custom task with a fixed
    feature vector) no names are written and the ``"o2ml"`` section records the vector's order.
    """

    bins_pt: list[float]
    cut_dir: list[CutDirection]
    cuts: list[list[float]]  # [pT bin][class]
    features: list[str]  # tree columns, model input order
    onnx_files: list[str]
    class_labels: list[str] | None = None
    task: str = DEFAULT_TASK
    ccdb_paths: list[str] | None = None  #: ``modelPathsCCDB``, one directory per pT bin
    ccdb_url: str = CCDB_URL
    timestamp_ccdb: int = -1
    load_from_ccdb: bool = False
    extra: dict = field(default_factory=dict)  #: more of the task's configurables, as given
    #: the task's own pT cut; None: :func:`pt_cand_range` of ``bins_pt`` (every accepted float pT
    #: has a model, no float pT of the bins is lost)
    pt_cand_min: float | None = None
    pt_cand_max: float | None = None

    def __post_init__(self) -> None:
        self.bins_pt = [float(b) for b in self.bins_pt]
        self.cut_dir = [CutDirection(d) for d in self.cut_dir]
        self.cuts = [[float(c) for c in row] for row in self.cuts]
        self.features = list(self.features)
        if self.class_labels is not None:  # e.g. o2ml.schema.CLASS_LABELS, a tuple
            self.class_labels = list(self.class_labels)
        n_bins = len(self.bins_pt) - 1
        problems = []
        if n_bins < 1 or any(
            b >= a for a, b in zip(self.bins_pt[1:], self.bins_pt[:-1], strict=True)
        ):
            problems.append(f"binsPtMl must be at least two increasing edges, got {self.bins_pt}")
        elif not np.all(np.abs(self.bins_pt) <= np.finfo(np.float32).max):
            problems.append(f"binsPtMl edges must be finite float pT values, got {self.bins_pt}")
        if len(self.cuts) != n_bins or any(len(r) != self.n_classes for r in self.cuts):
            problems.append(
                f"cutsMl must be {n_bins} pT bins x {self.n_classes} classes, got "
                f"{len(self.cuts)} rows of {[len(r) for r in self.cuts]}"
            )
        if len(self.onnx_files) != n_bins:
            problems.append(
                f"onnxFileNames needs one file per pT bin ({n_bins}), got {len(self.onnx_files)}"
            )
        if self.ccdb_paths is None and n_bins >= 1:
            self.ccdb_paths = [self.default_ccdb_path(i) for i in range(n_bins)]
        if self.ccdb_paths is not None and len(self.ccdb_paths) != n_bins:
            problems.append(
                f"modelPathsCCDB needs one path per pT bin ({n_bins}), got {len(self.ccdb_paths)}"
            )
        if self.class_labels is not None and len(self.class_labels) != self.n_classes:
            problems.append(f"{len(self.class_labels)} class labels for {self.n_classes} classes")
        if not self.features:
            problems.append("no input features")
        if problems:
            raise MlResponseConfigError(
                "Invalid MlResponse configuration: " + "; ".join(problems) + "."
            )
        safe_min, safe_max = pt_cand_range(self.bins_pt, self.pt_cut)
        self.pt_cand_min = safe_min if self.pt_cand_min is None else float(self.pt_cand_min)
        self.pt_cand_max = safe_max if self.pt_cand_max is None else float(self.pt_cand_max)
        self.check_pt_range()
        if self.selector is not None:
            self.selector.names_of(self.features)  # refuses columns the selector cannot compute
        elif self.task == TUTORIAL_TASK.task:
            TUTORIAL_TASK.check(self.features)

    @property
    def n_classes(self) -> int:
        return len(self.cut_dir)

    @property
    def selector(self):
        """The O2Physics selector of ``task`` (None for a custom task)."""
        return find_selector(self.task)

    @property
    def pt_cut(self) -> PtCut:
        """The task's own ``ptCandMin``/``ptCandMax`` comparison (assumed ``>`` for a task o2ml
        does not know, which keeps the limits it writes safe under ``>=`` as well)."""
        if self.selector is not None:
            return self.selector.pt_cut
        return TUTORIAL_TASK.pt_cut if self.task == TUTORIAL_TASK.task else ASSUMED_PT_CUT

    def pt_range_problems(self) -> list[str]:
        """Float pT that the task's own cut passes to ``MlResponse`` but no bin holds."""
        return pt_range_problems(self.bins_pt, self.pt_cand_min, self.pt_cand_max, self.pt_cut)

    def check_pt_range(self) -> None:
        """Refuse ``ptCandMin``/``ptCandMax`` that let a candidate reach ``findBin`` = -1."""
        problems = self.pt_range_problems()
        if problems:
            raise MlResponseConfigError(
                f"{self.task}: " + "; ".join(problems) + ": MlResponse::findBin returns -1 and "
                "O2Physics stops the job (Model index -1 is out of range). Leave ptCandMin/"
                f"ptCandMax unset to get {pt_cand_range(self.bins_pt, self.pt_cut)}."
            )

    @property
    def names(self) -> list[str] | None:
        """``namesInputFeatures`` (None for a custom task, which has no names)."""
        return None if self.selector is None else self.selector.names_of(self.features)

    def configurables(self) -> dict:
        """The task's configurables as in an O2 ``dpl-config.json`` (values as strings)."""
        n_bins = len(self.bins_pt) - 1
        labels = self.class_labels or [f"score class {i + 1}" for i in range(self.n_classes)]
        ccdb = self.ccdb_paths or [self.default_ccdb_path(i) for i in range(n_bins)]
        # candidates outside binsPtMl would make MlResponse::findBin return -1, and
        # getModelOutput stop the job ("Model index -1 is out of range"): the task's own cut
        # keeps them out (pt_cand_range); None (a custom task's file without them): not written
        limits = {"ptCandMin": self.pt_cand_min, "ptCandMax": self.pt_cand_max}
        out = {k: _num(v) for k, v in limits.items() if v is not None}
        out |= {
            "applyMl": "true",
            "binsPtMl": {"values": [_num(b) for b in self.bins_pt]},
            "cutDirMl": {"values": [str(int(d)) for d in self.cut_dir]},
            "cutsMl": {
                "labels_rows": [f"pT bin {i}" for i in range(n_bins)],
                "labels_cols": list(labels),
                "values": [[_num(c) for c in row] for row in self.cuts],
            },
            "nClassesMl": str(self.n_classes),
        }
        if self.selector is not None:
            out["namesInputFeatures"] = {"values": self.names}
        out |= {
            "onnxFileNames": {"values": list(self.onnx_files)},
            "loadModelsFromCCDB": "true" if self.load_from_ccdb else "false",
            "modelPathsCCDB": {"values": list(ccdb)},
            "ccdbUrl": self.ccdb_url,
            "timestampCCDB": str(int(self.timestamp_ccdb)),
        }
        out |= {k: v for k, v in self.extra.items() if k not in out}
        return out

    def default_ccdb_path(self, index: int) -> str:
        """A CCDB directory per pT bin (``MlResponse::setModelPathsCCDB`` wants one model in each)."""
        lo, hi = self.bins_pt[index], self.bins_pt[index + 1]
        stem = self.selector.default_ccdb_path if self.selector else f"Users/o2ml/{self.task}"
        return f"{stem}/pT_{lo:g}_{hi:g}"

    def o2ml_section(self) -> dict:
        """What the file says about itself (O2 ignores this key): task, tree columns, classes."""
        section = {
            "task": self.task,
            "features": list(self.features),
            "class_labels": list(self.class_labels) if self.class_labels else None,
            "o2ml_version": __version__,
        }
        if self.selector is not None:
            s = self.selector
            section["selector"] = f"{s.ml_response} ({s.source})"
            section["table"] = s.table
        else:
            section["feature_vector"] = (
                f"custom task {self.task}: no namesInputFeatures; it must fill its input vector "
                f"with these values, in this order: {', '.join(self.features)}"
            )
        return section

    def document(self) -> dict:
        """The whole JSON document: ``{task: configurables, "o2ml": about}``."""
        return {self.task: self.configurables(), O2ML_KEY: self.o2ml_section()}

    def to_json(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write :meth:`document`, ready to merge into a ``dpl-config.json``."""
        path = Path(path)
        if path.exists() and not overwrite:
            raise OutputExistsError(f"{path}: the file exists; pass overwrite=True to replace it.")
        self.check_pt_range()  # a configuration read from elsewhere, or changed, is checked too
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(self.document(), indent=2) + "\n")
        tmp.replace(path)
        return path

    @classmethod
    def from_json(
        cls,
        path: str | os.PathLike,
        task: str | None = None,
        features: Sequence[str] | None = None,
    ) -> MlResponseConfig:
        """Read the configurables of ``task`` (default: the only task with ``binsPtMl``).

        The JSON may be o2ml's or any analyser's ``dpl-config`` section (no ``"o2ml"`` part):
        ``namesInputFeatures`` are then mapped back to tree columns through the selector's
        table, failing on an unknown name as ``MlResponse`` does. ``features`` gives the tree
        columns when the task has no names (a custom task) or o2ml has no table of it.
        """
        path = Path(path)
        if not path.exists():
            raise InputFileNotFoundError(f"{path}: no such configuration file.")
        try:
            doc = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise BadFileError(f"{path}: not valid JSON ({err}).") from None
        if not isinstance(doc, dict):
            raise BadFileError(
                f"{path}: expected a JSON object of tasks, found {type(doc).__name__}."
            )
        tasks = [k for k, v in doc.items() if isinstance(v, dict) and "binsPtMl" in v]
        if task is None:
            if len(tasks) != 1:
                raise MlResponseConfigError(
                    f"{path}: expected one task with binsPtMl, found {tasks or 'none'}; "
                    "name it (task=..., --task)."
                )
            task = tasks[0]
        if task not in tasks:
            raise MlResponseConfigError(
                f"{path}: no MlResponse configurables for task {task!r}; found {tasks}."
            )
        c, about = doc[task], doc.get(O2ML_KEY) if isinstance(doc.get(O2ML_KEY), dict) else {}
        try:
            return cls._parse(c, task, about, features, path)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise BadFileError(
                f"{path}: task {task!r} lacks or mangles an MlResponse configurable "
                f"({err.__class__.__name__}: {err})."
            ) from None

    @classmethod
    def _parse(
        cls, c: Mapping, task: str, about: Mapping, features, path: Path
    ) -> MlResponseConfig:
        bins = [float(v) for v in c["binsPtMl"]["values"]]
        cut_dir = [int(v) for v in c["cutDirMl"]["values"]]
        n_bins = len(bins) - 1
        n_classes = int(c["nClassesMl"]) if "nClassesMl" in c else len(cut_dir)
        where = f"{path}, task {task}"
        if len(cut_dir) != n_classes:  # MlResponse::configure
            raise MlResponseConfigError(
                f"{where}: Number of classes ({n_classes}) different from the number of cuts on "
                f"model scores ({len(cut_dir)})! Please check your configurables."
            )
        onnx_files = [str(v) for v in c["onnxFileNames"]["values"]]
        if len(onnx_files) != n_bins:  # MlResponse::setModelPathsLocal
            raise MlResponseConfigError(
                f"{where}: Number of expected models ({n_bins}) different from the one set "
                f"({len(onnx_files)})! Please check your configurables."
            )
        rows = [[float(v) for v in row] for row in c["cutsMl"]["values"]]
        if len(rows) < n_bins or any(len(r) < n_classes for r in rows[:n_bins]):
            raise MlResponseConfigError(  # O2 would read past the array (Array2D has no range checks)
                f"{where}: cutsMl has {len(rows)} rows of {[len(r) for r in rows]} values; "
                f"expected at least {n_bins} pT bins x {n_classes} classes."
            )
        cuts = [r[:n_classes] for r in rows[:n_bins]]
        names = c.get("namesInputFeatures", {}).get("values") if "namesInputFeatures" in c else None
        selector = find_selector(task)
        recorded = (
            list(about["features"]) if about.get("task") == task and about.get("features") else None
        )
        if features is not None:
            columns = [str(f) for f in features]
            if names is not None and selector is not None:
                expected = selector.columns_of(names)  # the values the selector feeds
                if expected != columns:
                    raise FeatureOrderError(
                        f"{where}: namesInputFeatures {names} are the tree columns {expected} "
                        f"(o2ml.channels, {selector.ml_response}); the given features {columns} are "
                        "not: the selector would feed the model other values."
                    )
        elif names is not None and selector is not None:
            columns = selector.columns_of(names)  # fails on unknown names as MlResponse does
            if recorded is not None and recorded != columns:
                raise FeatureOrderError(
                    f"{where}: namesInputFeatures {names} are the tree columns {columns}, but the "
                    f"models were trained with features {recorded} (the file's o2ml section)."
                )
        elif recorded is not None:
            columns = recorded
        elif names is not None:
            raise MlResponseConfigError(
                f"{where}: o2ml has no table of this task's feature names {names}; give the tree "
                "columns in the same order (features=..., --features col1,col2,...)."
            )
        else:
            raise MlResponseConfigError(
                f"{where}: no namesInputFeatures (a custom task with a fixed feature vector); give "
                "the tree columns of that vector in order (features=..., --features col1,col2,...)."
            )
        if names is not None and len(names) != len(columns):
            raise MlResponseConfigError(
                f"{where}: {len(names)} namesInputFeatures but {len(columns)} tree columns given."
            )
        labels = about.get("class_labels") if about.get("task") == task else None
        if not labels:
            cols = [str(x) for x in c["cutsMl"].get("labels_cols", [])][:n_classes]
            labels = list(CLASS_LABELS) if tuple(cols) == O2PHYSICS_DMESON_LABELS else cols
        known = {
            "ptCandMin", "ptCandMax", "applyMl", "binsPtMl", "cutDirMl", "cutsMl", "nClassesMl",
            "namesInputFeatures", "onnxFileNames", "loadModelsFromCCDB", "modelPathsCCDB",
            "ccdbUrl", "timestampCCDB",
        }  # fmt: skip
        config = cls.__new__(cls)  # read as found: O2 accepts any cut direction (only 0, 1 cut)
        config.bins_pt, config.cuts, config.features = bins, cuts, columns
        config.cut_dir = [CutDirection(d) if d in (0, 1, 2) else d for d in cut_dir]
        config.onnx_files = onnx_files
        config.class_labels = list(labels) if labels and len(labels) == n_classes else None
        config.task = task
        paths = c.get("modelPathsCCDB", {}).get("values")
        config.ccdb_paths = [str(p) for p in paths] if paths else None
        config.ccdb_url = str(c.get("ccdbUrl", CCDB_URL))
        config.timestamp_ccdb = _number(c.get("timestampCCDB", -1), f"{where}, timestampCCDB", int)
        config.load_from_ccdb = _bool(
            c.get("loadModelsFromCCDB", "false"), f"{where}, loadModelsFromCCDB"
        )
        config.extra = {k: v for k, v in c.items() if k not in known}
        if any(b >= a for a, b in zip(bins[1:], bins[:-1], strict=True)) or n_bins < 1:
            raise MlResponseConfigError(
                f"{where}: binsPtMl must be at least two increasing edges, got {bins}."
            )
        # read as found (the twin reports what they let through); absent: the task's defaults
        cut = config.pt_cut
        for key, attr, default in (("ptCandMin", "pt_cand_min", cut.default_min),
                                   ("ptCandMax", "pt_cand_max", cut.default_max)):  # fmt: skip
            setattr(config, attr, _number(c[key], f"{where}, {key}") if key in c else default)
        return config


def find_bin(edges: Sequence[float], pt: np.ndarray) -> np.ndarray:
    """pT-bin index per candidate, -1 outside ``[edges[0], edges[-1])`` (``MlResponse::findBin``:
    ``upper_bound`` over the edges, so a value on an inner edge belongs to the upper bin)."""
    edges = np.asarray(edges, dtype=float)
    pt = np.asarray(pt, dtype=float)
    idx = np.searchsorted(edges, pt, side="right") - 1
    idx[(pt < edges[0]) | (pt >= edges[-1]) | np.isnan(pt)] = -1
    return idx


class MlResponse:
    """Python twin of ``o2::analysis::MlResponse``: same bins, same cuts, same ONNX models.

    Built from a configuration, it checks what ``configure``, ``setModelPathsLocal``,
    ``cacheInputFeaturesIndices`` and ``init`` check (class and file counts, feature names, the
    ONNX files load and take as many inputs as there are features).
    """

    def __init__(self, config: MlResponseConfig, model_dir: str | os.PathLike = ".") -> None:
        self.config = config
        self.sessions = []
        for name in config.onnx_files:
            path = Path(model_dir) / name
            meta = onnx_export.read_metadata(path)
            stored = meta.get(onnx_export.META_FEATURES)
            if stored is not None and list(stored) != list(config.features):
                raise FeatureOrderError(
                    f"{path}: the model was trained with features {stored}, "
                    f"but the configuration gives {config.features}."
                )
            sess = onnx_export.session(path)
            width = onnx_export.input_width(sess)
            if width is not None and width != len(config.features):
                raise FeatureOrderError(
                    f"{path}: the model takes {width} inputs, the configuration names "
                    f"{len(config.features)} features ({config.features})."
                )
            self.sessions.append(sess)

    @classmethod
    def from_json(
        cls, path: str | os.PathLike, task: str | None = None, features: Sequence[str] | None = None
    ) -> MlResponse:
        """Load the configuration and the ONNX files it names (relative to the JSON file)."""
        return cls(MlResponseConfig.from_json(path, task, features), Path(path).parent)

    def find_bin(self, pt: np.ndarray) -> np.ndarray:
        """Model index per candidate, -1 outside the bins (``MlResponse::findBin`` of the float
        ``candidate.pt()``: pT is rounded to float32 first)."""
        return find_bin(self.config.bins_pt, np.asarray(pt, dtype=np.float32))

    def accepts_pt(self, pt: np.ndarray) -> np.ndarray:
        """True where the task's own ``ptCandMin``/``ptCandMax`` cut, with its comparison
        (``config.pt_cut``), passes the candidate on to ``MlResponse``."""
        c = self.config
        return pt_accepted(pt, c.pt_cand_min, c.pt_cand_max, c.pt_cut)

    def _matrix(self, features: pd.DataFrame | np.ndarray) -> np.ndarray:
        if isinstance(features, pd.DataFrame):
            missing = [f for f in self.config.features if f not in features.columns]
            if missing:
                raise FeatureOrderError(
                    f"Candidates lack the model features {missing} (tree columns of "
                    f"namesInputFeatures: {self.config.features})."
                )
            return features[self.config.features].to_numpy(dtype=np.float32)
        X = np.asarray(features, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != len(self.config.features):
            raise FeatureOrderError(
                f"Expected candidates x {len(self.config.features)} features "
                f"({self.config.features}), got an array of shape {X.shape}."
            )
        return X

    def _bins(self, pt, outside: str) -> np.ndarray:
        if outside not in ("raise", "reject", "selector"):
            raise ValueError(f"outside must be 'raise', 'reject' or 'selector', not {outside!r}")
        bins = self.find_bin(pt)
        if outside == "selector":
            accepted = self.accepts_pt(pt)
            stops = accepted & (bins < 0)
            if stops.any():
                c = self.config
                first = float(np.asarray(pt, dtype=np.float32)[stops][0])
                raise ModelIndexError(
                    f"Model index -1 is out of range! The number of initialised models is "
                    f"{len(self.sessions)}. Please check your configurables. (a candidate at pT = "
                    f"{first!r} GeV/c passes the task's own cut, ptCandMin = {c.pt_cand_min!r}, "
                    f"ptCandMax = {c.pt_cand_max!r}: {c.pt_cut.describe()}, but is outside "
                    f"binsPtMl {c.bins_pt[0]!r}-{c.bins_pt[-1]!r}: O2Physics stops the job there)"
                )
            return np.where(accepted, bins, -1)
        if outside == "raise" and (bins < 0).any():
            first = float(np.asarray(pt, dtype=float)[bins < 0][0])
            raise ModelIndexError(
                f"Model index -1 is out of range! The number of initialised models is "
                f"{len(self.sessions)}. Please check your configurables. (a candidate at pT = "
                f"{first:g} GeV/c is outside binsPtMl {self.config.bins_pt[0]:g}-"
                f"{self.config.bins_pt[-1]:g}: O2Physics stops the job there; pass "
                "outside='selector' to apply the task's own ptCandMin/ptCandMax cut first, or "
                "outside='reject' to count such candidates as rejected)"
            )
        return bins

    def get_model_output(
        self, features: pd.DataFrame | np.ndarray, pt: Sequence[float], outside: str = "raise"
    ) -> np.ndarray:
        """Scores ``[n, nClassesMl]``: the first values of the last output of each candidate's
        pT-bin model (NaN outside the bins with ``outside="reject"``, and for the candidates the
        task's own pT cut rejects with ``outside="selector"``)."""
        X = self._matrix(features)
        bins = self._bins(pt, outside)
        out = np.full((len(X), self.config.n_classes), np.nan, dtype=np.float32)
        for i, sess in enumerate(self.sessions):
            mask = bins == i
            if mask.any():
                scores = onnx_export.run(sess, X[mask])
                out[mask] = scores.reshape(len(scores), -1)[:, : self.config.n_classes]
        return out

    def is_selected_ml(
        self,
        features: pd.DataFrame | np.ndarray,
        pt: Sequence[float],
        return_scores: bool = False,
        outside: str = "raise",
    ):
        """``MlResponse::isSelectedMl`` for many candidates at once: a boolean array.

        A score equal to its cut passes; a cut direction other than ``CutGreater`` (0) or
        ``CutSmaller`` (1) cuts nothing, as in O2Physics. A candidate outside ``binsPtMl`` stops
        O2Physics (``outside="raise"``, the default) or counts as rejected (``"reject"``); with
        ``"selector"`` the task's own ``ptCandMin``/``ptCandMax`` cut rejects first, with its
        comparison, and only a candidate it passes outside ``binsPtMl`` stops, as in O2Physics.
        """
        scores = self.get_model_output(features, pt, outside)
        bins = self._bins(pt, outside)
        cuts = np.asarray(self.config.cuts)[np.clip(bins, 0, None)]
        selected = bins >= 0
        for k, direction in enumerate(self.config.cut_dir):
            if direction == CutDirection.CutGreater:
                selected &= ~(scores[:, k] > cuts[:, k])
            elif direction == CutDirection.CutSmaller:
                selected &= ~(scores[:, k] < cuts[:, k])
        return (selected, scores) if return_scores else selected


__all__ = [
    "CCDB_URL",
    "DEFAULT_TASK",
    "CutDirection",
    "MlResponse",
    "MlResponseConfig",
    "ModelIndexError",
    "UnsupportedFeatureError",
    "find_bin",
    "float_at_or_above",
    "float_at_or_below",
    "float_below",
    "onnx_file_name",
    "pt_accepted",
    "pt_cand_range",
    "pt_range_problems",
]
