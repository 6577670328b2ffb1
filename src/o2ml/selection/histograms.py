"""The cumulative histograms of a significance scan, filled chunk by chunk and saved compactly.

A scan needs, per pT bin, only (i) the data mass histogram after every threshold point and
(ii) the MC signal candidates passing each point, per origin. Both are sums, so they can be
filled from any number of chunks (or files, on dask workers) and added; the candidates
themselves are never held. :func:`o2ml.selection.scan_significance` is these histograms
filled at once plus :func:`o2ml.selection.scan.scan_histograms`; ``o2ml scan`` fills them in chunks
(:mod:`o2ml.workflow.scan`) and saves them (``grid_pt<lo>_<hi>.npz``, a few MiB whatever the
number of candidates), which the threshold dashboard opens instead of the candidates.

Files are NumPy ``.npz`` archives of plain arrays plus a JSON header, read with
``allow_pickle=False``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._atomic import replacing
from ..errors import BadFileError, InputFileNotFoundError, OutputExistsError, ScanInputError
from ._binning import count_below
from .efficiency import (
    Efficiency,
    ScoreCut,
    Scores,
    _same_length,
    _weights_array,
    column_values,
    passing,
    points_shape,
)

__all__ = ["EXPECTED_SIGNAL_FILE", "GRID_CUTS", "ScanHistograms"]

#: the file beside saved histograms holding the expected-signal table they were scanned with
EXPECTED_SIGNAL_FILE = "expected_signal.json"

#: the threshold dashboard's grid of a 3-class model: background score < t (finer at small t)
#: and prompt score > t (0 ... 0.99)
GRID_CUTS: dict[str, tuple[str, np.ndarray]] = {
    "score_bkg": (
        "<",
        np.unique(
            np.round(
                np.r_[
                    [0.001, 0.002, 0.003, 0.005, 0.007, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05],
                    [0.06, 0.07, 0.08, 0.09],
                    np.linspace(0.1, 1.0, 19),
                ],
                6,
            )
        ),
    ),
    "score_prompt": (">", np.round(np.linspace(0.0, 0.99, 100), 6)),
}

FORMAT = "o2ml.ScanHistograms"
VERSION = 1


@dataclass
class ScanHistograms:
    """Data mass histograms and MC passing sums at every threshold point of one pT bin.

    Attributes
    ----------
    pt_range : (float, float)
        The pT bin.
    cuts : list of ScoreCut
        The score cuts and their thresholds.
    grid : bool
        Every combination of thresholds (True) or one point per threshold (False), as in
        :func:`o2ml.selection.scan_significance`.
    mass_edges : numpy.ndarray
        Mass bin edges of the data histograms.
    data : numpy.ndarray
        Data candidates passing, shape ``(n_mass + 2, *points)`` (under- and overflow first and
        last).
    n_data : int
        Data candidates filled.
    mc : dict origin -> [passed, passed_sq, total, total_sq]
        MC sums of weights (and squared weights) passing, shape ``points``, and in all.
    n_mc : dict origin -> int
        MC candidates filled, per origin.
    metadata : dict
        Free provenance (model, task, features...), saved with the histograms.
    """

    pt_range: tuple[float, float]
    cuts: list[ScoreCut]
    grid: bool
    mass_edges: np.ndarray
    data: np.ndarray
    n_data: int = 0
    mc: dict[str, list[Any]] = field(default_factory=dict)
    n_mc: dict[str, int] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def empty(
        cls,
        cuts: Sequence[ScoreCut],
        mass_edges: ArrayLike,
        *,
        pt_range: tuple[float, float],
        grid: bool = False,
        metadata: Mapping[str, Any] | None = None,
    ) -> ScanHistograms:
        """Histograms with nothing filled yet."""
        edges = np.asarray(mass_edges, dtype=np.float64)
        if edges.ndim != 1 or len(edges) < 3 or not np.all(np.diff(edges) > 0):
            raise ScanInputError("mass_edges: expected at least 3 strictly increasing edges.")
        cuts = list(cuts)
        varying = [k for k, c in enumerate(cuts) if len(c.thresholds) > 1]
        if not grid and len(varying) == 1:  # a 1-D scan: sorted thresholds, as scan_significance
            c = cuts[varying[0]]
            cuts[varying[0]] = ScoreCut(c.column, c.direction, np.unique(c.thresholds))
        shape = (len(edges) + 1, *points_shape(cuts, grid))
        return cls(
            (float(pt_range[0]), float(pt_range[1])), cuts, bool(grid), edges,
            np.zeros(shape, dtype=np.float64), metadata=dict(metadata or {}),
        )  # fmt: skip

    @property
    def points(self) -> tuple[int, ...]:
        """Shape of the threshold points."""
        return self.data.shape[1:]

    def fill_data(self, mass: ArrayLike, scores: Scores) -> None:
        """Add data candidates of this pT bin: their mass and one score column per cut."""
        mass = np.asarray(mass, dtype=np.float64)
        columns = [column_values(scores, c.column, "data scores") for c in self.cuts]
        for col, c in zip(columns, self.cuts, strict=True):
            if len(col) != len(mass):
                raise ScanInputError(
                    f"data scores: expected {len(mass)} values (one per mass) in {c.column!r}, "
                    f"found {len(col)}."
                )
        if not len(mass):
            return
        n_mass = len(self.mass_edges) - 1
        index = count_below(self.mass_edges, mass, "right")
        counts, _ = passing(columns, self.cuts, extra=(index, n_mass + 2), grid=self.grid)
        self.data += counts
        self.n_data += len(mass)

    def fill_mc(self, origin: str, scores: Scores, weights: ArrayLike | None = None) -> None:
        """Add MC signal candidates of one origin (``"prompt"``, ``"nonprompt"``)."""
        source = f"MC {origin} scores"
        cols = [column_values(scores, c.column, source) for c in self.cuts]
        n = _same_length(cols, [c.column for c in self.cuts], source)
        w = _weights_array(weights, n, source)
        sums = self.mc.setdefault(origin, [np.zeros(self.points), np.zeros(self.points), 0.0, 0.0])
        self.n_mc[origin] = self.n_mc.get(origin, 0) + n
        if not n:
            return
        passed, passed_sq = passing(cols, self.cuts, weights=w, grid=self.grid)
        sums[0] = sums[0] + passed
        sums[1] = sums[1] + passed_sq
        sums[2] += float(n) if w is None else float(w.sum())
        sums[3] += float(n) if w is None else float((w * w).sum())

    def efficiencies(self) -> dict[str, Efficiency]:
        """MC efficiency of every origin filled, flattened over the threshold points."""
        return {
            o: Efficiency(p.ravel(), p2.ravel(), float(t), float(t2))
            for o, (p, p2, t, t2) in self.mc.items()
        }

    def __add__(self, other: ScanHistograms) -> ScanHistograms:
        """The histograms of both (same bin, cuts and mass edges): chunks or files combined."""
        same = (
            self.pt_range == other.pt_range
            and self.grid == other.grid
            and np.array_equal(self.mass_edges, other.mass_edges)
            and [(c.column, c.direction) for c in self.cuts]
            == [(c.column, c.direction) for c in other.cuts]
            and all(
                np.array_equal(a.thresholds, b.thresholds)
                for a, b in zip(self.cuts, other.cuts, strict=True)
            )
        )
        if not same:
            raise ScanInputError(
                f"ScanHistograms: cannot add histograms of {other.pt_range} to those of "
                f"{self.pt_range}: expected the same pT bin, cuts, thresholds and mass edges."
            )
        out = ScanHistograms(
            self.pt_range, self.cuts, self.grid, self.mass_edges, self.data + other.data,
            self.n_data + other.n_data, metadata={**other.metadata, **self.metadata},
        )  # fmt: skip
        for o in dict.fromkeys([*self.mc, *other.mc]):
            a = self.mc.get(o, [0.0, 0.0, 0.0, 0.0])
            b = other.mc.get(o, [0.0, 0.0, 0.0, 0.0])
            out.mc[o] = [x + y for x, y in zip(a, b, strict=True)]
            out.n_mc[o] = self.n_mc.get(o, 0) + other.n_mc.get(o, 0)
        return out

    # ------------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the histograms to ``path`` (``.npz``); an existing file only with ``overwrite``."""
        path = Path(path)
        if path.suffix != ".npz":
            raise ScanInputError(f"{path}: expected a .npz file name for ScanHistograms.")
        if path.exists() and not overwrite:
            raise OutputExistsError(f"{path}: the file exists; pass overwrite=True to replace it.")
        origins = list(self.mc)
        header = {
            "format": FORMAT,
            "version": VERSION,
            "pt_range": list(self.pt_range),
            "grid": self.grid,
            "cuts": [[c.column, c.direction] for c in self.cuts],
            "n_data": self.n_data,
            "origins": origins,
            "mc_totals": {o: [self.mc[o][2], self.mc[o][3]] for o in origins},
            "n_mc": self.n_mc,
            "metadata": self.metadata,
        }
        arrays = {f"thresholds_{k}": c.thresholds for k, c in enumerate(self.cuts)}
        for k, o in enumerate(origins):
            arrays[f"mc_{k}_passed"] = np.asarray(self.mc[o][0], dtype=np.float64)
            arrays[f"mc_{k}_passed_sq"] = np.asarray(self.mc[o][1], dtype=np.float64)
        path.parent.mkdir(parents=True, exist_ok=True)
        with replacing(path, suffix=".tmp.npz") as tmp:  # np.savez adds .npz to other names
            np.savez_compressed(
                tmp, header=np.array(json.dumps(header)), mass_edges=self.mass_edges,
                data=self.data, **arrays,
            )  # fmt: skip
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> ScanHistograms:
        """Read histograms written by :meth:`save`; a wrong file is a clear error."""
        path = Path(path)
        if not path.is_file():
            raise InputFileNotFoundError(f"{path}: expected a ScanHistograms file, found none.")
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except Exception as err:
            raise BadFileError(
                f"{path}: expected a ScanHistograms .npz file, found an unreadable file ({err})."
            ) from None
        try:
            header = json.loads(str(arrays["header"]))
        except (KeyError, ValueError) as err:
            raise BadFileError(
                f"{path}: expected a ScanHistograms header, found none ({err})."
            ) from None
        if header.get("format") != FORMAT or header.get("version") != VERSION:
            raise BadFileError(
                f"{path}: expected format {FORMAT} version {VERSION}, found "
                f"{header.get('format')!r} version {header.get('version')!r}."
            )
        try:
            cuts = [
                ScoreCut(col, direction, arrays[f"thresholds_{k}"])
                for k, (col, direction) in enumerate(header["cuts"])
            ]
            out = cls(
                tuple(header["pt_range"]), cuts, bool(header["grid"]), arrays["mass_edges"],
                arrays["data"], int(header["n_data"]), metadata=header.get("metadata", {}),
            )  # fmt: skip
            for k, o in enumerate(header["origins"]):
                total, total_sq = header["mc_totals"][o]
                out.mc[o] = [arrays[f"mc_{k}_passed"], arrays[f"mc_{k}_passed_sq"], total, total_sq]
                out.n_mc[o] = int(header["n_mc"][o])
        except KeyError as err:
            raise BadFileError(f"{path}: ScanHistograms file lacks {err}.") from None
        except (TypeError, ValueError) as err:  # a header edited by hand, or of another tool
            raise BadFileError(f"{path}: expected a ScanHistograms header, found {err}.") from None
        expected_shape = (len(out.mass_edges) + 1, *points_shape(cuts, out.grid))
        if out.data.shape != expected_shape:
            raise BadFileError(
                f"{path}: expected data histograms of shape {expected_shape}, found "
                f"{out.data.shape}."
            )
        return out
