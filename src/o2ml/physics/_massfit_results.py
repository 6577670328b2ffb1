"""The results of :mod:`o2ml.physics.massfit`: a peak fit and a mass fit with its covariance."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import MassFitError
from ._massfit_model import _Model


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PeakFit:
    """Gaussian peak fitted to MC: mean and sigma in GeV/c^2, with their errors.

    ``n`` is the fitted number of candidates in the fit range.
    """

    mean: float
    mean_error: float
    sigma: float
    sigma_error: float
    n: float
    n_error: float
    valid: bool

    def window(self, n_sigma: float = 2.0) -> tuple[float, float]:
        """The mass window mean +- ``n_sigma`` * sigma."""
        return (self.mean - n_sigma * self.sigma, self.mean + n_sigma * self.sigma)


@dataclass(frozen=True)
class MassFit:
    """Result of :func:`fit_background` or :func:`fit_signal`.

    Attributes
    ----------
    background : str
        Background model, ``"expo"`` or ``"pol2"``.
    edges : numpy.ndarray
        Bin edges of the fitted histogram.
    used_bins : numpy.ndarray
        Boolean mask of the bins that entered the likelihood.
    names, values, errors : tuple, numpy.ndarray, numpy.ndarray
        Parameter names, best values and (Hesse) errors, fixed parameters included.
    covariance : numpy.ndarray
        Parameter covariance (zero rows and columns for fixed parameters).
    valid : bool
        Whether MIGRAD converged, the covariance is accurate and no background parameter
        sits at a limit (too few sideband entries to constrain the shape).
    fval, ndof : float, int
        Minimum of the cost (asymptotically chi2 distributed) and degrees of freedom.
    """

    background: str
    edges: np.ndarray
    used_bins: np.ndarray
    names: tuple[str, ...]
    values: np.ndarray
    errors: np.ndarray
    covariance: np.ndarray
    valid: bool
    fval: float
    ndof: int
    dplus: tuple[float, float] | None = None
    has_signal: bool = False

    def __getitem__(self, name: str) -> float:
        """Best value of the parameter ``name``."""
        return float(self.values[self._index(name)])

    def error(self, name: str) -> float:
        """Error of the parameter ``name``."""
        return float(self.errors[self._index(name)])

    def _index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"no parameter {name!r}; parameters are {list(self.names)}") from None

    def _model(self) -> _Model:
        return _Model(
            self.background, float(self.edges[0]), float(self.edges[-1]), self.has_signal,
            self.dplus is not None,
        )  # fmt: skip

    @property
    def raw_yield(self) -> float:
        """Fitted signal yield (NaN for a background-only fit)."""
        return self["n_sig"] if self.has_signal else math.nan

    @property
    def raw_yield_error(self) -> float:
        """Error of :attr:`raw_yield` (NaN for a background-only fit)."""
        return self.error("n_sig") if self.has_signal else math.nan

    def background_integral(self, lo: float, hi: float) -> tuple[float, float]:
        """Background candidates in the mass window [lo, hi] and its uncertainty.

        The background shape is integrated analytically; the uncertainty propagates the full
        fit covariance (Jacobian by central differences).
        """
        if not (self.edges[0] <= lo < hi <= self.edges[-1]):
            raise MassFitError(
                f"background window: expected {self.edges[0]:g} <= lo < hi <= "
                f"{self.edges[-1]:g} (the fitted range), found lo={lo:g}, hi={hi:g}."
            )
        model = self._model()
        x = np.array([lo, hi])

        def integral(p: np.ndarray) -> float:
            c = model.background_cdf(x, p)
            return float(c[1] - c[0])

        value = integral(self.values)
        jac = np.zeros(len(self.values))
        for i in model.background_indices:
            h = (
                1e-4 * self.errors[i]
                if self.errors[i] > 0
                else 1e-7 * max(abs(self.values[i]), 1.0)
            )
            up, down = self.values.copy(), self.values.copy()
            up[i] += h
            down[i] -= h
            jac[i] = (integral(up) - integral(down)) / (2 * h)
        variance = float(jac @ self.covariance @ jac)
        return value, math.sqrt(max(variance, 0.0))

    def predict(self) -> dict[str, np.ndarray]:
        """Expected counts per bin of each component: ``background``, ``signal``, ``dplus``."""
        model = self._model()
        out = {"background": np.diff(model.background_cdf(self.edges, self.values))}
        if self.has_signal:
            out["signal"] = np.diff(model.gauss_cdf(self.edges, self.values, "sig"))
        if self.dplus is not None:
            out["dplus"] = np.diff(model.gauss_cdf(self.edges, self.values, "dplus"))
        return out
