"""The ``MlResponse`` configuration of thresholds chosen per pT bin (dashboards, ``o2ml export``).

A choice is ``{(pt_min, pt_max): {score column: (direction, threshold)}}`` with keep-cut
directions (``score < t`` keeps a candidate); :func:`config_from_choices` turns them into the
configurables of an O2Physics selector (``cutDirMl``, ``cutsMl``, ``binsPtMl``, ...).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from ..errors import DashboardError
from ..schema import CLASS_LABELS, SCORE_COLUMNS

if TYPE_CHECKING:
    from .o2physics import CutDirection, MlResponseConfig

#: score columns of the three classes of the charm BDTs, in the models' output order
CLASS_COLUMNS = SCORE_COLUMNS


def cut_direction(direction: str) -> CutDirection:
    """``MlResponse`` direction of a keep-cut: ``score < t`` keeps what ``CutGreater`` keeps.

    (``CutGreater`` rejects score > cut, i.e. keeps score <= cut; the two differ only for a
    score exactly at the threshold.)
    """
    from .o2physics import CutDirection

    if direction in ("<", "<="):
        return CutDirection.CutGreater
    if direction in (">", ">="):
        return CutDirection.CutSmaller
    raise DashboardError(f"export: expected a cut direction <, <=, > or >=, found {direction!r}.")


def config_from_choices(
    choices: Mapping[tuple[float, float], Mapping[str, tuple[str, float]]],
    *,
    class_columns: Sequence[str] = CLASS_COLUMNS,
    class_labels: Sequence[str] | None = None,
    features: Sequence[str] | None = None,
    onnx_files: Sequence[str] | None = None,
    task: str | None = None,
) -> MlResponseConfig:
    """``MlResponse`` configurables for thresholds chosen per pT bin.

    Parameters
    ----------
    choices : mapping (pt_min, pt_max) -> {score column: (direction, threshold)}
        The chosen cuts of each pT bin; the bins must be contiguous.
    class_columns : sequence of str
        Score column of each model output class, in the model's order.
    class_labels : sequence of str, optional
        Names of the classes (``cutsMl`` column labels); default those of
        :class:`o2ml.schema.CharmClass` for 3 classes.
    features : sequence of str, optional
        Model input features, in order (``namesInputFeatures``); default the Ds tutorial's.
    onnx_files : sequence of str, optional
        One model file per pT bin; default the names
        :func:`o2ml.export.model_dir.write_model_dir` gives them
        (``ModelHandler_onnx_<channel>_pT_<lo>_<hi>.onnx``), so that the export names the files
        of an o2ml model directory.
    task : str, optional
        O2Physics task the configurables belong to (default the Ds selector).
    """
    from ..channels.ds import TUTORIAL_FEATURES
    from .model_dir import channel_of
    from .o2physics import DEFAULT_TASK, CutDirection, MlResponseConfig, onnx_file_name

    if not choices:
        raise DashboardError("export: no thresholds recorded yet; record one per pT bin first.")
    bins = sorted(choices)
    for (_, hi), (lo, _) in itertools.pairwise(bins):
        if not math.isclose(hi, lo):
            raise DashboardError(
                f"export: expected contiguous pT bins, found {[f'{a:g}-{b:g}' for a, b in bins]}; "
                "record thresholds for the missing bins."
            )
    columns = list(class_columns)
    directions: list[CutDirection | None] = [None] * len(columns)
    rows = []
    for b in bins:
        row = [0.0] * len(columns)
        for column, (direction, value) in choices[b].items():
            if column not in columns:
                raise DashboardError(
                    f"export: cut on {column!r}, expected one of the class columns {columns}."
                )
            k = columns.index(column)
            d = cut_direction(direction)
            if directions[k] not in (None, d):
                raise DashboardError(f"export: cuts on {column!r} change direction between bins.")
            directions[k] = d
            row[k] = float(value)
        rows.append(row)
    cut_dir = [CutDirection.CutNot if d is None else d for d in directions]
    task = DEFAULT_TASK if task is None else task
    if onnx_files is None:
        onnx_files = [onnx_file_name(channel_of(task), lo, hi) for lo, hi in bins]
    class_labels = CLASS_LABELS if class_labels is None else class_labels
    labels = list(class_labels) if class_labels and len(class_labels) == len(columns) else None
    edges = [bins[0][0]] + [hi for _, hi in bins]
    return MlResponseConfig(
        bins_pt=edges,
        cut_dir=cut_dir,
        cuts=rows,
        features=list(TUTORIAL_FEATURES if features is None else features),
        onnx_files=list(onnx_files),
        class_labels=labels,
        task=task,
    )


@dataclass(frozen=True)
class ExportSettings:
    """What an export says besides the thresholds: the model's classes, inputs and files, and the
    O2Physics task that runs it (the keyword arguments of :func:`config_from_choices`, grouped
    so that a dashboard or a command passes them as one). A None field takes the default of
    :func:`config_from_choices`, or, in a dashboard, what the scans' metadata records (their
    score columns, features, task and ONNX files)."""

    class_columns: Sequence[str] | None = None
    class_labels: Sequence[str] | None = None
    features: Sequence[str] | None = None
    onnx_files: Sequence[str] | None = None
    task: str | None = None

    def config(
        self, choices: Mapping[tuple[float, float], Mapping[str, tuple[str, float]]]
    ) -> MlResponseConfig:
        """:func:`config_from_choices` of ``choices`` with these settings."""
        given = {k: v for k, v in asdict(self).items() if v is not None}
        return config_from_choices(choices, **given)


def class_columns_of(scan) -> list[str]:
    """The model's output columns a scan's cuts refer to: the scan's ``class_columns`` metadata,
    else the three charm classes when its cuts are on their scores (a cut on ``score_bkg``
    alone still belongs to a 3-class model), else its cut names."""
    recorded = scan.metadata.get("class_columns")
    if recorded:
        return list(recorded)
    if set(scan.cut_names) <= set(CLASS_COLUMNS):
        return list(CLASS_COLUMNS)
    return list(scan.cut_names)


__all__ = [
    "CLASS_COLUMNS",
    "ExportSettings",
    "class_columns_of",
    "config_from_choices",
    "cut_direction",
]
