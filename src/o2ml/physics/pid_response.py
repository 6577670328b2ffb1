"""Response of a PID estimator measured on tracks: Gaussian cores per momentum bin, and the expected
value and resolution vs p per species that nsigma is computed from.

The functions take plain arrays: an estimator (the regressed beta, or the ITS ``<CS> cos(lambda)``),
the momentum, and integer species labels (0..3 for e, pi, K, p as in
:data:`o2ml.physics.constants.PID_SPECIES`, -1 for anything else). Labels may come from a tagging
(data-driven) or from the truth branch (closure), so the same code runs on real data.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ..errors import BadArgumentError, EmptySelectionError
from .constants import PID_SPECIES

#: fewest entries in a momentum bin for a Gaussian-core fit
MIN_ENTRIES = 30
#: half-width, in sigma, of the window in which the Gaussian core is fitted
CORE_WINDOW = 2.0

_SQRT_2PI = float(np.sqrt(2.0 * np.pi))

CORE_COLUMNS = ["species", "p_lo", "p_hi", "p", "n", "mu", "sigma", "mu_err", "sigma_err"]


# ------------------------------------------------------------------------------- Gaussian core
@dataclass(frozen=True)
class GaussianCore:
    """Mean and width of the Gaussian core of a distribution (tails of other species excluded)."""

    mu: float
    sigma: float
    mu_err: float
    sigma_err: float
    n: int


def _truncation_factor(k: float) -> float:
    """Standard deviation of a unit Gaussian truncated to [-k, k]."""
    from scipy.stats import norm

    inside = norm.cdf(k) - norm.cdf(-k)
    return float(np.sqrt(1.0 - 2.0 * k * norm.pdf(k) / inside))


def _mode_and_width(x: np.ndarray) -> tuple[float, float]:
    """Start of the core search: the highest peak of a smoothed histogram and its half width.

    Starting at the mode, not the median, keeps the fit on the right species when a tagged sample
    holds a sizeable contamination (up to about half) at another value.
    """
    lo, hi = np.quantile(x, [0.005, 0.995])
    if hi <= lo:
        return float(np.median(x)), float(x.std())
    counts, edges = np.histogram(x, bins=60, range=(lo, hi))
    smooth = np.convolve(counts, [1.0, 2.0, 3.0, 2.0, 1.0], mode="same")
    peak = int(np.argmax(smooth))
    above = smooth >= 0.5 * smooth[peak]
    left = peak
    while left > 0 and above[left - 1]:
        left -= 1
    right = peak
    while right < above.size - 1 and above[right + 1]:
        right += 1
    width = edges[1] - edges[0]
    mode = 0.5 * (edges[peak] + edges[peak + 1])
    # full width at half maximum / 2.355, at least one bin
    sigma = max((right - left + 1) * width / 2.3548, width)
    return float(mode), float(sigma)


def fit_gaussian_core(
    x: ArrayLike, window: float = CORE_WINDOW, min_entries: int = MIN_ENTRIES
) -> GaussianCore | None:
    """Gaussian core of ``x``: iterated truncated moments, then an unbinned iminuit fit in the window.

    The window is ``mu +- window * sigma``; the fit is a Gaussian normalised inside the window, so
    mis-identified tracks in the tails do not pull the result. Returns None with fewer than
    ``min_entries`` finite values. A distribution without spread returns sigma 0 (no fit).
    """
    from iminuit import Minuit
    from iminuit.cost import UnbinnedNLL
    from scipy.special import ndtr

    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size < min_entries:
        return None
    factor = _truncation_factor(window)
    mu, sigma = _mode_and_width(x)
    if sigma == 0.0:
        return GaussianCore(mu, 0.0, 0.0, 0.0, int(x.size))
    for _ in range(20):
        core = x[np.abs(x - mu) < window * sigma]
        if core.size < min_entries or core.std() == 0.0:
            break
        new_mu, new_sigma = float(core.mean()), float(core.std() / factor)
        converged = abs(new_mu - mu) < 1e-4 * sigma and abs(new_sigma - sigma) < 1e-4 * sigma
        mu, sigma = new_mu, new_sigma
        if converged:
            break
    lo, hi = mu - window * sigma, mu + window * sigma
    core = x[(x > lo) & (x < hi)]
    moments = GaussianCore(mu, sigma, sigma / np.sqrt(core.size), sigma / np.sqrt(2 * core.size), 0)
    if core.size < min_entries:
        return GaussianCore(moments.mu, moments.sigma, moments.mu_err, moments.sigma_err, x.size)

    def pdf(v: np.ndarray, mu: float, sigma: float) -> np.ndarray:
        # numpy and ndtr directly: 10x faster than scipy.stats.norm in this hot loop
        inside = ndtr((hi - mu) / sigma) - ndtr((lo - mu) / sigma)
        z = (v - mu) / sigma
        return np.exp(-0.5 * z * z) / (sigma * _SQRT_2PI * inside)

    m = Minuit(UnbinnedNLL(core, pdf), mu=mu, sigma=sigma)
    m.limits["sigma"] = (1e-3 * sigma, 10.0 * sigma)
    m.limits["mu"] = (lo, hi)
    m.migrad()
    if not m.valid:
        return GaussianCore(moments.mu, moments.sigma, moments.mu_err, moments.sigma_err, x.size)
    m.hesse()
    v, e = m.values, m.errors
    return GaussianCore(
        float(v["mu"]), float(v["sigma"]), float(e["mu"]), float(e["sigma"]), x.size
    )


def binned_cores(
    values: ArrayLike,
    p: ArrayLike,
    labels: ArrayLike,
    edges: Sequence[float],
    *,
    species: Sequence[str] = PID_SPECIES,
    min_entries: int = MIN_ENTRIES,
) -> pd.DataFrame:
    """Gaussian core of ``values`` per species (label = index in ``species``) and momentum bin.

    Returns a DataFrame with columns :data:`CORE_COLUMNS`, one row per (species, bin); bins with
    fewer than ``min_entries`` tracks have NaN in ``mu`` and ``sigma``.
    """
    values, p, labels = same_length(values=values, p=p, labels=labels)
    edges = check_edges(edges)
    rows = []
    for k, name in enumerate(species):
        mine = labels == k
        for lo, hi in itertools.pairwise(edges):
            sel = mine & (p >= lo) & (p < hi)
            fit = fit_gaussian_core(values[sel], min_entries=min_entries)
            if fit is None:
                rows.append((name, lo, hi, 0.5 * (lo + hi), int(sel.sum()), *[np.nan] * 4))
            else:
                rows.append(
                    (
                        name,
                        lo,
                        hi,
                        0.5 * (lo + hi),
                        fit.n,
                        fit.mu,
                        fit.sigma,
                        fit.mu_err,
                        fit.sigma_err,
                    )
                )
    return pd.DataFrame(rows, columns=CORE_COLUMNS)


# ------------------------------------------------------------------------------- response
@dataclass
class Response:
    """Expected value and resolution of an estimator vs momentum, per species.

    Tabulated from per-bin Gaussian-core fits and interpolated linearly in p (constant beyond the
    first and last fitted bin). A table rather than a formula because a regression's response has
    no closed form (it is bent by contamination and by species the detector cannot tell apart);
    O2Physics stores such responses as histograms in the CCDB for the same reason.
    """

    table: pd.DataFrame

    @property
    def species(self) -> list[str]:
        return list(dict.fromkeys(self.table["species"]))

    def _rows(self, species: str) -> pd.DataFrame:
        rows = self.table[(self.table["species"] == species) & np.isfinite(self.table["mu"])]
        rows = rows[rows["sigma"] > 0]
        if rows.empty:
            raise EmptySelectionError(
                f"The response has no fitted momentum bin for species {species!r} "
                f"(species with fits: {self._fitted()}); tag more tracks of it or widen the bins."
            )
        return rows

    def _fitted(self) -> list[str]:
        ok = self.table[np.isfinite(self.table["mu"]) & (self.table["sigma"] > 0)]
        return list(dict.fromkeys(ok["species"]))

    def p_range(self, species: str) -> tuple[float, float]:
        """First and last momentum-bin centre with a fit for ``species`` (GeV/c)."""
        p = self._rows(species)["p"]
        return float(p.min()), float(p.max())

    def expected(self, p: ArrayLike, species: str) -> np.ndarray:
        """Expected value of the estimator for ``species`` at momentum ``p``."""
        rows = self._rows(species)
        return np.interp(np.asarray(p, dtype=np.float64), rows["p"], rows["mu"])

    def sigma(self, p: ArrayLike, species: str) -> np.ndarray:
        """Resolution (Gaussian-core sigma) of the estimator for ``species`` at momentum ``p``."""
        rows = self._rows(species)
        return np.interp(np.asarray(p, dtype=np.float64), rows["p"], rows["sigma"])

    def nsigma(self, values: ArrayLike, p: ArrayLike, species: str) -> np.ndarray:
        """(value - expected) / sigma under the ``species`` hypothesis."""
        values = np.asarray(values, dtype=np.float64)
        return (values - self.expected(p, species)) / self.sigma(p, species)

    def nsigma_all(self, values: ArrayLike, p: ArrayLike) -> dict[str, np.ndarray]:
        """nsigma under every species hypothesis that has a fitted response."""
        return {s: self.nsigma(values, p, s) for s in self._fitted()}

    def to_dict(self) -> dict:
        """A JSON-serialisable form (see :meth:`from_dict`)."""
        return {c: self.table[c].tolist() for c in CORE_COLUMNS}

    @classmethod
    def from_dict(cls, data: Mapping) -> Response:
        missing = [c for c in CORE_COLUMNS if c not in data]
        if missing:
            raise BadArgumentError(f"A response needs the keys {CORE_COLUMNS}; missing {missing}.")
        return cls(pd.DataFrame({c: list(data[c]) for c in CORE_COLUMNS}))


def fit_response(
    values: ArrayLike,
    p: ArrayLike,
    labels: ArrayLike,
    edges: Sequence[float],
    *,
    species: Sequence[str] = PID_SPECIES,
    min_entries: int = MIN_ENTRIES,
) -> Response:
    """Fit the response (Gaussian core per species and momentum bin) of an estimator.

    Two passes: the cores of the values give the expected value per bin; the cores of the
    residuals to that expectation, interpolated in p, give the resolution (and a small correction
    of the mean). Without the second pass the width would include the change of the expected value
    across the bin, which is large where beta or the cluster size varies fast (kaons and protons
    at low p), and nsigma would be too narrow.
    """
    values, p, labels = same_length(values=values, p=p, labels=labels)
    values = values.astype(np.float64)
    first = binned_cores(values, p, labels, edges, species=species, min_entries=min_entries)
    coarse = Response(first)
    table = first.copy()
    for k, s in enumerate(species):
        mine = labels == k
        try:
            residual = values[mine] - coarse.expected(p[mine], s)
        except EmptySelectionError:
            continue
        res = binned_cores(
            residual, p[mine], np.zeros(residual.size), edges, species=[s], min_entries=min_entries
        )
        rows = np.flatnonzero((table["species"] == s).to_numpy())
        ok = (np.isfinite(res["mu"]) & np.isfinite(table.loc[rows, "mu"].to_numpy())).to_numpy()
        idx = rows[ok]
        table.loc[idx, "mu"] = table.loc[idx, "mu"].to_numpy() + res["mu"].to_numpy()[ok]
        for c in ("sigma", "mu_err", "sigma_err"):
            table.loc[idx, c] = res[c].to_numpy()[ok]
    return Response(table)


# ------------------------------------------------------------------------------- helpers
def same_length(**arrays: ArrayLike) -> list[np.ndarray]:
    out = [np.asarray(a) for a in arrays.values()]
    sizes = {k: a.shape for k, a in zip(arrays, out, strict=True)}
    if len({s for s in sizes.values()}) > 1:
        raise BadArgumentError(
            f"Arrays of different lengths: {sizes}; one entry per track expected."
        )
    return out


def check_edges(edges: Sequence[float]) -> np.ndarray:
    e = np.asarray(edges, dtype=np.float64)
    if e.ndim != 1 or e.size < 2 or not np.all(np.diff(e) > 0):
        raise BadArgumentError(
            f"Momentum bin edges must be increasing, at least two; got {list(e)}."
        )
    return e


__all__ = [
    "CORE_COLUMNS",
    "CORE_WINDOW",
    "MIN_ENTRIES",
    "GaussianCore",
    "Response",
    "binned_cores",
    "check_edges",
    "fit_gaussian_core",
    "fit_response",
    "same_length",
]
