"""The Run 2-style baseline: one smoothing spline per input dimension, iterated, factorised.

The mean of r = dE/dx / expected is modelled as a product of one function per variable,
mean(x) = prod_d f_d(x_d), and so is its width, sigma(x) = prod_d g_d(x_d). Each f_d is a
smoothing spline (``scipy.interpolate.make_smoothing_spline``, smoothing chosen by generalised
cross-validation) through the medians of r / prod_{e != d} f_e in equal-population bins of x_d;
the passes over the dimensions repeat (backfitting), because the dimensions are correlated in the
sample. The widths are robust (1.4826 x MAD, so that the tagged samples' contamination does not
inflate them). This is the factorisation assumption of the Run 2 calibration; a response with
terms that multiply two variables is beyond it by construction.

The variables are those of the network, in the forms the splines need: log10(beta*gamma)
(the Bethe-Bloch dimension, all masses at once), tan(lambda), q/pT, multiplicity, sqrt(152/Ncl).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ... import __version__
from ...errors import BadArgumentError, ModelFileError
from ...physics.stats import robust_width
from .._storage import read_sidecar, save_with_sidecar
from .inputs import network_inputs

#: the spline variables, computed from the six network inputs
VARIABLES = ("log10(betagamma)", "tgl", "signed1Pt", "mult", "ncl")
#: robust width of a Gaussian from the median absolute deviation
#: points at which each spline is tabulated for storage and fast evaluation
GRID_POINTS = 256
#: the width assumed while the mean is fitted (pidTPC's default 7 %), for the history only
DEFAULT_WIDTH = 0.07


def spline_variables(X: np.ndarray) -> np.ndarray:
    """[n, 5] spline variables of the network inputs [n, 6]."""
    X = np.asarray(X, float)
    if X.ndim != 2 or X.shape[1] != 6:
        raise BadArgumentError(f"expected the 6 network inputs [n, 6], got shape {X.shape}.")
    return np.column_stack([np.log10(X[:, 0] / X[:, 3]), X[:, 1], X[:, 2], X[:, 4], X[:, 5]])


@dataclass
class SplineCalibration:
    """Tabulated per-dimension factors of the mean and the width of dE/dx / expected."""

    grids: list[np.ndarray]  # per variable: the x grid
    mean_factors: list[np.ndarray]  # per variable: f_d on the grid
    width_factors: list[np.ndarray]  # per variable: g_d on the grid
    passes: int = 3
    bins: int = 24
    history: pd.DataFrame = field(default_factory=pd.DataFrame)

    def _product(self, V: np.ndarray, factors: list[np.ndarray]) -> np.ndarray:
        out = np.ones(len(V))
        for d, (grid, f) in enumerate(zip(self.grids, factors, strict=True)):
            out *= np.interp(V[:, d], grid, f)  # constant beyond the fitted range
        return out

    def predict(self, X: np.ndarray | pd.DataFrame) -> np.ndarray:
        """The two pidTPC outputs [n, 2]: mean and mean + 1 sigma of dE/dx / expected."""
        X = network_inputs(X) if isinstance(X, pd.DataFrame) else X
        V = spline_variables(X)
        mean = self._product(V, self.mean_factors)
        sigma = mean * self._product(V, self.width_factors)
        return np.column_stack([mean, mean + sigma])

    # ------------------------------------------------------------------ storage (JSON only)
    def metadata(self) -> dict:
        return {
            "model": "o2ml.models.tpc.splines",
            "variables": list(VARIABLES),
            "passes": self.passes,
            "bins": self.bins,
            "o2ml_version": __version__,
        }

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """The tabulated splines as JSON at ``path`` plus ``<stem>.meta.json``."""
        tables = {
            "grids": [g.tolist() for g in self.grids],
            "mean_factors": [f.tolist() for f in self.mean_factors],
            "width_factors": [g.tolist() for g in self.width_factors],
        }
        return save_with_sidecar(
            path, ".json", self.metadata(), lambda p: Path(p).write_text(json.dumps(tables)),
            overwrite=overwrite, what="a spline calibration (JSON)",
        )  # fmt: skip

    @classmethod
    def load(cls, path: str | os.PathLike) -> SplineCalibration:
        meta = read_sidecar(path, what="a spline calibration")
        try:
            tables = json.loads(Path(path).read_text())
            arrays = {k: [np.asarray(v, float) for v in tables[k]] for k in
                      ("grids", "mean_factors", "width_factors")}  # fmt: skip
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise ModelFileError(
                f"{path}: expected the tables of a spline calibration, found {err!r}."
            ) from None
        if any(len(v) != len(VARIABLES) for v in arrays.values()):
            raise ModelFileError(f"{path}: expected {len(VARIABLES)} splines per table.")
        return cls(**arrays, passes=meta.get("passes", 3), bins=meta.get("bins", 24))


def _robust_scale(x: np.ndarray) -> float:
    return robust_width(x)[1]


def _binned(order: np.ndarray, x: np.ndarray, y: np.ndarray, bins: int, stat):
    """Bin centres (medians of x), ``stat`` of y and its uncertainty in ``bins`` equal-population
    bins (``order`` sorts x)."""
    centres, values, errors = [], [], []
    for chunk in np.array_split(order, bins):
        if chunk.size < 20:
            continue
        yb = y[chunk]
        centres.append(np.median(x[chunk]))
        values.append(stat(yb))
        errors.append(_robust_scale(yb) / np.sqrt(chunk.size) + 1e-12)
    centres = np.array(centres)
    keep = np.concatenate(([True], np.diff(centres) > 0))  # a spline needs increasing x
    return centres[keep], np.array(values)[keep], np.array(errors)[keep]


def _spline(x: np.ndarray, y: np.ndarray, err: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """A smoothing spline through (x, y) with weights 1/err^2, tabulated on ``grid``."""
    from scipy.interpolate import make_smoothing_spline

    if len(x) < 5 or np.ptp(x) == 0:  # a variable without spread: its factor is the mean value
        return np.full(grid.size, float(np.mean(y)) if len(y) else 1.0)
    w = 1.0 / err**2
    spline = make_smoothing_spline(x, y, w=w / w.mean())
    return spline(np.clip(grid, x[0], x[-1]))


def fit_splines(
    X: np.ndarray | pd.DataFrame,
    ratio: np.ndarray,
    *,
    passes: int = 3,
    bins: int = 24,
) -> SplineCalibration:
    """Fit the factorised calibration to network inputs [n, 6] and r = dE/dx / expected.

    ``passes`` rounds of backfitting over the five variables, first for the mean, then for the
    width of r / mean. ``history`` holds, per pass, the robust mean and width of the residual
    nsigma, the convergence of the iteration.
    """
    if passes < 1 or bins < 4:
        raise BadArgumentError(f"passes >= 1 and bins >= 4 expected, got {passes} and {bins}.")
    X = network_inputs(X) if isinstance(X, pd.DataFrame) else np.asarray(X)
    ratio = np.asarray(ratio, float)
    if len(ratio) != len(X) or len(X) < 10 * bins:
        raise BadArgumentError(
            f"fit_splines: {len(X)} input rows and {len(ratio)} ratios; expected the same number, "
            f"at least {10 * bins}."
        )
    V = spline_variables(X)
    orders = [np.argsort(V[:, d], kind="stable") for d in range(V.shape[1])]
    grids = [np.linspace(V[o[0], d], V[o[-1], d], GRID_POINTS) for d, o in enumerate(orders)]
    model = SplineCalibration(
        grids, [np.ones(GRID_POINTS) for _ in grids], [np.ones(GRID_POINTS) for _ in grids],
        passes=passes, bins=bins,
    )  # fmt: skip
    rows = []
    mean = np.ones(len(V))
    for what, factors in (("mean", model.mean_factors), ("width", model.width_factors)):
        at_data = np.ones_like(V)  # each factor evaluated at the data, updated as it is refitted
        for it in range(passes):
            for d in range(V.shape[1]):
                others = np.prod(np.delete(at_data, d, axis=1), axis=1)
                if what == "mean":
                    y, stat = ratio / others, np.median
                else:  # the spread of the residual per bin is the width factor
                    y, stat = (ratio / mean - 1.0) / others, _robust_scale
                x, values, errors = _binned(orders[d], V[:, d], y, bins, stat)
                factors[d] = _spline(x, values, errors, grids[d])
                at_data[:, d] = np.interp(V[:, d], grids[d], factors[d])
            if what == "mean":
                mean = at_data.prod(axis=1)
                z = (ratio - mean) / (DEFAULT_WIDTH * mean)
            else:
                z = (ratio / mean - 1.0) / at_data.prod(axis=1)
            rows.append(
                {"what": what, "pass": it + 1, "nsigma_median": float(np.median(z)),
                 "nsigma_width": _robust_scale(z)}
            )  # fmt: skip
    model.history = pd.DataFrame(rows)
    return model


__all__ = ["GRID_POINTS", "VARIABLES", "SplineCalibration", "fit_splines", "spline_variables"]
