"""``o2ml export``: the ``MlResponse`` configuration of thresholds chosen on saved scans.

The scans are the files a notebook, ``o2ml scan`` or the dashboards save (one
:class:`~o2ml.selection.ScanResult` per pT bin, with the model's features, task and ONNX file
in their metadata). The thresholds come from each bin's significance plateau (its most efficient
point, what the dashboards start from) or from a thresholds file, a JSON mapping of pT bins to
keep-cuts::

    {"2-4": {"score_bkg": ["<", 0.02]}, "4-6": {"score_bkg": ["<", 0.05]}, ...}

Written with the exporter the dashboards use (:func:`o2ml.export.choices.config_from_choices`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import ConfigError, DashboardError, InputFileNotFoundError
from ..export.choices import class_columns_of, config_from_choices
from ..selection import ScanResult


def load_scans(directory: str | os.PathLike) -> list[ScanResult]:
    """Every scan file (``scan*.json``, ``scan*.parquet``) in ``directory``, by pT bin."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputFileNotFoundError(f"{directory}: no such folder of scans.")
    files = sorted([*directory.glob("scan*.json"), *directory.glob("scan*.parquet")])
    scans = [ScanResult.load(f) for f in files]
    if not scans:
        raise InputFileNotFoundError(
            f"{directory}: no scan files (scan*.json, scan*.parquet) found."
        )
    keys = [(s.pt_min, s.pt_max) for s in scans]
    doubles = sorted({k for k in keys if keys.count(k) > 1})
    if doubles:
        raise DashboardError(
            f"{directory}: more than one scan of the pT bins {doubles}; keep one scan per bin."
        )
    return sorted(scans, key=lambda s: s.pt_min)


def plateau_choices(scans: list[ScanResult]) -> dict:
    """Each bin's most efficient plateau point (the maximum where a scan has no plateau)."""
    out = {}
    for s in scans:
        row = s.thresholds[s.chosen_index()]  # the working-point rule (selection.plateau)
        out[s.pt_min, s.pt_max] = {
            n: (d, float(t)) for n, d, t in zip(s.cut_names, s.cut_directions, row, strict=True)
        }
    return out


def file_choices(path: str | os.PathLike) -> dict:
    """Thresholds from a JSON file ``{"lo-hi": {column: [direction, value]}}``."""
    path = Path(path)
    if not path.is_file():
        raise InputFileNotFoundError(f"{path}: no such thresholds file.")
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}: not JSON ({err}).") from None
    if not isinstance(doc, dict) or not doc:
        raise ConfigError(
            f'{path}: expected {{"lo-hi": {{column: [direction, value]}}}}, found {doc!r}.'
        )
    out = {}
    for key, cuts in doc.items():
        try:
            lo, hi = (float(x) for x in str(key).split("-"))
        except ValueError:
            raise ConfigError(f"{path}: pT bin {key!r}: expected 'lo-hi' such as '2-4'.") from None
        if not isinstance(cuts, dict) or not all(
            isinstance(v, list) and len(v) == 2 and isinstance(v[1], int | float)
            for v in cuts.values()
        ):
            raise ConfigError(
                f"{path}: pT bin {key!r}: expected {{column: [direction, value]}}, found {cuts!r}."
            )
        out[lo, hi] = {c: (str(d), float(t)) for c, (d, t) in cuts.items()}
    return out


def export(
    scan_dir: str | os.PathLike,
    out: str | os.PathLike,
    *,
    thresholds: str | os.PathLike | None = None,
    task: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the configuration for the scans of ``scan_dir`` (plateau choice, or ``thresholds``)."""
    scans = load_scans(scan_dir)
    choices = file_choices(thresholds) if thresholds is not None else plateau_choices(scans)
    have = {(s.pt_min, s.pt_max) for s in scans}
    unknown = sorted(set(choices) - have)
    if unknown:
        raise DashboardError(
            f"{thresholds}: thresholds for pT bins {unknown}, but the scans cover {sorted(have)}."
        )
    first = scans[0]
    files = [s.metadata.get("onnx_file") for s in scans if (s.pt_min, s.pt_max) in choices]
    config = config_from_choices(
        choices,
        class_columns=class_columns_of(first),
        class_labels=first.metadata.get("class_labels"),
        features=first.metadata.get("features"),
        onnx_files=files if all(files) else None,
        task=task or first.metadata.get("task"),
    )
    return config.to_json(out, overwrite=overwrite)


__all__ = ["export", "file_choices", "load_scans", "plateau_choices"]
