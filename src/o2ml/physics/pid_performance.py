"""How well a PID estimator separates species, measured on tracks: separation power vs p, and the
purity and efficiency of an nsigma selection against true labels.

Labels are integers 0..3 (e, pi, K, p as in :data:`o2ml.physics.constants.PID_SPECIES`), -1 for
anything else; Gaussian cores and responses come from :mod:`o2ml.physics.pid_response` (its main
names are re-exported here).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ..errors import BadArgumentError, EmptySelectionError
from ..schema import require_columns
from . import its
from .constants import PID_SPECIES
from .pid_response import (
    CORE_COLUMNS,
    MIN_ENTRIES,
    GaussianCore,
    Response,
    binned_cores,
    check_edges,
    fit_gaussian_core,
    fit_response,
    same_length,
)
from .stats import binomial_error


# ------------------------------------------------------------------------------- separation
def separation(
    mu_a: ArrayLike, sigma_a: ArrayLike, mu_b: ArrayLike, sigma_b: ArrayLike
) -> np.ndarray:
    """|mu_a - mu_b| / ((sigma_a + sigma_b) / 2), as :func:`o2ml.physics.its.its_separation`."""
    mu_a, sigma_a, mu_b, sigma_b = (
        np.asarray(v, dtype=np.float64) for v in (mu_a, sigma_a, mu_b, sigma_b)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.abs(mu_a - mu_b) / (0.5 * (sigma_a + sigma_b))


def separation_vs_p(cores: pd.DataFrame | Response, a: str, b: str) -> pd.DataFrame:
    """Separation power of species ``a`` and ``b`` per momentum bin, with its uncertainty.

    Returns columns ``p_lo, p_hi, p, separation, separation_err`` (NaN where a core is missing).
    """
    table = cores.table if isinstance(cores, Response) else cores
    known = set(table["species"])
    for s in (a, b):
        if s not in known:
            raise BadArgumentError(f"No species {s!r} in the cores table; it has {sorted(known)}.")
    ta = table[table["species"] == a].set_index(["p_lo", "p_hi"])
    tb = table[table["species"] == b].set_index(["p_lo", "p_hi"])
    ta, tb = ta.align(tb, join="inner")
    sep = separation(ta["mu"], ta["sigma"], tb["mu"], tb["sigma"])
    mean_sigma = 0.5 * (ta["sigma"] + tb["sigma"])
    with np.errstate(divide="ignore", invalid="ignore"):
        err = np.sqrt(
            (ta["mu_err"] ** 2 + tb["mu_err"] ** 2) / mean_sigma**2
            + sep**2 * (ta["sigma_err"] ** 2 + tb["sigma_err"] ** 2) / (4.0 * mean_sigma**2)
        )
    out = pd.DataFrame(
        {"p": ta["p"].to_numpy(), "separation": np.asarray(sep), "separation_err": np.asarray(err)},
        index=ta.index,
    ).reset_index()
    return out


#: species pairs whose separation the ITS PID studies quote
DEFAULT_PAIRS = (("pi", "K"), ("K", "p"), ("e", "pi"))


def separation_table(
    estimators: Mapping[str, ArrayLike],
    p: ArrayLike,
    labels: ArrayLike,
    edges: Sequence[float],
    *,
    pairs: Sequence[tuple[str, str]] = DEFAULT_PAIRS,
    species: Sequence[str] = PID_SPECIES,
    min_entries: int = MIN_ENTRIES,
) -> pd.DataFrame:
    """Separation power of species pairs vs p for several estimators, measured on the same tracks.

    Means and widths come from :func:`fit_response` (widths without the change of the mean
    across a bin). ``estimators`` maps a method name to one value per track. Returns the columns of
    :func:`separation_vs_p` with ``method`` and ``pair`` (``"pi-K"``) in front.
    """
    tables = []
    for method, values in estimators.items():
        cores = fit_response(values, p, labels, edges, species=species, min_entries=min_entries)
        for a, b in pairs:
            t = separation_vs_p(cores, a, b)
            t.insert(0, "pair", f"{a}-{b}")
            t.insert(0, "method", method)
            tables.append(t)
    return pd.concat(tables, ignore_index=True)


def parametrised_separation(
    edges: Sequence[float],
    pairs: Sequence[tuple[str, str]] = DEFAULT_PAIRS,
    params: its.ITSResponseParams = its.ITS_PARAMS_DATA,
    method: str = "O2Physics parametrisation",
) -> pd.DataFrame:
    """Separation the O2Physics ITS response predicts at the bin centres (reference curve), in
    the layout of :func:`separation_table` (uncertainty 0)."""
    e = check_edges(edges)
    rows = [
        (
            method,
            f"{a}-{b}",
            lo,
            hi,
            0.5 * (lo + hi),
            its.its_separation(0.5 * (lo + hi), a, b, params),
            0.0,
        )
        for a, b in pairs
        for lo, hi in itertools.pairwise(e)
    ]
    return pd.DataFrame(
        rows, columns=["method", "pair", "p_lo", "p_hi", "p", "separation", "separation_err"]
    )


def at_momentum(table: pd.DataFrame, p: float) -> pd.DataFrame:
    """The rows of a per-bin table (columns ``p_lo``, ``p_hi``) whose bin contains ``p``."""
    rows = table[(table["p_lo"] <= p) & (table["p_hi"] > p)]
    if rows.empty:
        raise EmptySelectionError(
            f"No momentum bin contains p = {p} GeV/c; the bins span "
            f"{table['p_lo'].min():g}-{table['p_hi'].max():g} GeV/c."
        )
    return rows


# ------------------------------------------------------------------------------- selections
PERFORMANCE_COLUMNS = [
    "species",
    "p_lo",
    "p_hi",
    "p",
    "n_true",
    "n_selected",
    "n_correct",
    "efficiency",
    "efficiency_err",
    "purity",
    "purity_err",
]


def nsigma_selection(nsigma: Mapping[str, ArrayLike], cut: float = 2.0) -> dict[str, np.ndarray]:
    """Boolean selections |nsigma| < cut per species."""
    return {s: np.abs(np.asarray(v)) < cut for s, v in nsigma.items()}


def selection_performance(
    selected: Mapping[str, ArrayLike],
    truth: ArrayLike,
    p: ArrayLike,
    edges: Sequence[float],
    *,
    species: Sequence[str] = PID_SPECIES,
) -> pd.DataFrame:
    """Efficiency and purity of per-species selections against true labels, per momentum bin.

    ``selected[s]`` is a boolean array (a track selected as ``s``); ``truth`` holds the true
    labels (index in ``species``). Efficiency = selected and true / true; purity = selected and
    true / selected; binomial uncertainties. Returns columns :data:`PERFORMANCE_COLUMNS`.
    """
    truth, p = same_length(truth=truth, p=p)
    edges = check_edges(edges)
    unknown = [s for s in selected if s not in species]
    if unknown:
        raise BadArgumentError(f"Selections for unknown species {unknown}; known: {list(species)}.")
    rows = []
    for name, sel in selected.items():
        sel = np.asarray(sel, dtype=bool)
        if sel.shape != truth.shape:
            raise BadArgumentError(
                f"Selection {name!r} has {sel.size} entries but there are {truth.size} tracks."
            )
        true = truth == species.index(name)
        bin_index = np.digitize(p, edges) - 1
        nbins = len(edges) - 1
        inside = (bin_index >= 0) & (bin_index < nbins)
        n_true = np.bincount(bin_index[inside & true], minlength=nbins)
        n_sel = np.bincount(bin_index[inside & sel], minlength=nbins)
        n_ok = np.bincount(bin_index[inside & sel & true], minlength=nbins)
        for i, (lo, hi) in enumerate(itertools.pairwise(edges)):
            eff, eff_err = _ratio(n_ok[i], n_true[i])
            pur, pur_err = _ratio(n_ok[i], n_sel[i])
            rows.append(
                (
                    name,
                    lo,
                    hi,
                    0.5 * (lo + hi),
                    n_true[i],
                    n_sel[i],
                    n_ok[i],
                    eff,
                    eff_err,
                    pur,
                    pur_err,
                )
            )
    return pd.DataFrame(rows, columns=PERFORMANCE_COLUMNS)


def selection_table(
    nsigmas: Mapping[str, Mapping[str, ArrayLike]],
    truth: ArrayLike,
    p: ArrayLike,
    edges: Sequence[float],
    *,
    cut: float = 2.0,
    species: Sequence[str] = PID_SPECIES,
) -> pd.DataFrame:
    """Efficiency and purity of |nsigma| < ``cut`` for several methods (``{method: {species:
    nsigma}}``) against true labels; :data:`PERFORMANCE_COLUMNS` with ``method`` in front."""
    tables = []
    for method, ns in nsigmas.items():
        t = selection_performance(nsigma_selection(ns, cut), truth, p, edges, species=species)
        t.insert(0, "method", method)
        tables.append(t)
    return pd.concat(tables, ignore_index=True)


def purity_efficiency_curves(
    nsigmas: Mapping[str, Mapping[str, ArrayLike]],
    truth: ArrayLike,
    p: ArrayLike,
    edges: Sequence[float],
    *,
    cuts: Sequence[float] = tuple(np.round(np.geomspace(0.25, 30.0, 36), 3)),
    species: Sequence[str] = PID_SPECIES,
) -> pd.DataFrame:
    """Purity and efficiency of |nσ| < cut for every cut: one curve per method, species and
    momentum bin (:func:`selection_table` rows with a ``cut`` column). The default cuts reach 30:
    a regression's nσ has a narrow core and wide tails, so its curve needs large cuts to reach
    high efficiencies. Comparing methods along
    these curves, not at one cut, is fair to estimators whose nσ are not Gaussian."""
    tables = [
        selection_table(nsigmas, truth, p, edges, cut=c, species=species).assign(cut=c)
        for c in cuts
    ]
    return pd.concat(tables, ignore_index=True)


def _purity_at(c: pd.DataFrame, efficiency: float) -> tuple[float, float]:
    """Purity (linear interpolation in efficiency) and its error of one purity-vs-efficiency
    curve at ``efficiency``; NaN where the curve does not reach it.

    The error is binomial for the selected tracks n of the nearest point, with the purity
    shrunk as (purity·n + 1)/(n + 2) (Laplace): a purity of exactly 1 then has an error of about
    1/n instead of 0, which would make any difference from it infinitely significant."""
    c = c.dropna(subset=["efficiency", "purity"]).sort_values("cut")
    eff, pur = c["efficiency"].to_numpy(), c["purity"].to_numpy()
    if len(c) == 0 or eff.max() < efficiency or eff.min() > efficiency:
        return np.nan, np.nan
    order = np.argsort(eff, kind="stable")
    value = float(np.interp(efficiency, eff[order], pur[order]))
    n = float(c["n_selected"].to_numpy()[np.argmin(np.abs(eff - efficiency))])
    q = (value * n + 1.0) / (n + 2.0)  # (k + 1) / (n + 2): never 0 or 1 on a few candidates
    return value, binomial_error(q, n + 2.0)


def purity_at_efficiency(
    curves: pd.DataFrame, efficiencies: Sequence[float] = (0.8, 0.9)
) -> pd.DataFrame:
    """Purity at fixed efficiencies, with its error, per method, species and momentum bin.

    ``curves`` is :func:`purity_efficiency_curves`; the purity is interpolated linearly in
    efficiency along each curve, NaN where a curve never reaches the efficiency. The error is
    binomial for the n tracks selected at the nearest point, with the purity shrunk to
    (purity·n + 1)/(n + 2) so that a purity of 1 keeps an error of about 1/n. Columns
    ``method, species, p, efficiency, purity, purity_err``."""
    rows = [
        (m, sp, pc, float(e), *_purity_at(g, float(e)))
        for (m, sp, pc), g in curves.groupby(["method", "species", "p"], sort=True)
        for e in efficiencies
    ]
    cols = ["method", "species", "p", "efficiency", "purity", "purity_err"]
    return pd.DataFrame(rows, columns=cols)


def compare_at_efficiency(
    curves: pd.DataFrame, a: str, b: str, efficiency: float = 0.8, *, n_sigma: float = 2.0
) -> pd.DataFrame:
    """Purity of methods ``a`` and ``b`` at the same efficiency, per species and momentum bin.

    The purity is interpolated linearly in efficiency along each curve (NaN where a curve never
    reaches ``efficiency``); its error is binomial at the nearest point (as
    :func:`purity_at_efficiency`). ``difference`` = a − b,
    ``difference_err`` their errors in quadrature (as if independent; both are measured on the
    same tracks), ``z`` their ratio and ``p_value`` its
    two-sided Gaussian p-value. ``winner`` is ``a`` or ``b`` when the difference exceeds
    ``n_sigma`` combined errors, else ``tie``: a *local* verdict, one bin at a time; over many
    bins some pass by chance (:func:`look_elsewhere`, :func:`wins_significance`).
    """
    rows = []
    for (sp, pc), g in curves.groupby(["species", "p"], sort=True):
        row = {"species": sp, "p": pc, "efficiency": float(efficiency)}
        for m in (a, b):
            row[m], row[f"{m} err"] = _purity_at(g[g["method"] == m], efficiency)
        diff, err = row[a] - row[b], np.hypot(row[f"{a} err"], row[f"{b} err"])
        row["difference"], row["difference_err"] = diff, err
        row["z"] = _z(diff, err)
        row["p_value"] = _two_sided(row["z"])
        row["winner"] = _verdict(diff, err, a, b, n_sigma)
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------- many bins
#: how per-bin p-values are corrected for the number of bins looked at (:func:`look_elsewhere`)
CORRECTIONS = ("bonferroni", "sidak")


def look_elsewhere(
    comparison: pd.DataFrame,
    a: str,
    b: str,
    *,
    n_sigma: float = 2.0,
    method: str = "bonferroni",
) -> pd.DataFrame:
    """Per-bin verdicts corrected for the number of bins compared (the look-elsewhere effect).

    ``comparison`` has ``p_value`` and ``difference`` per bin (:func:`compare_at_efficiency` or
    :func:`combine_seeds`). Within each efficiency (one family of N bins with a finite p-value),
    ``p_value_global`` is the chance that *any* of the N bins fluctuates as far:
    Bonferroni N·p (capped at 1), valid however the bins are correlated (the species of one
    momentum bin share their tracks, and both methods are measured on the same tracks), or
    Šidák 1 − (1 − p)^N, exact for independent bins and barely less conservative.
    ``winner_global`` names a winner only where ``p_value_global`` is below the two-sided
    p-value of ``n_sigma`` (2σ: 4.55 %), i.e. a family-wise 2σ. ``z_global`` is the Gaussian
    significance of ``p_value_global``. ``attrs['n_trials']`` holds N per efficiency.
    """
    if method not in CORRECTIONS:
        raise BadArgumentError(
            f"look_elsewhere: method must be one of {CORRECTIONS}, not {method!r}."
        )
    require_columns(comparison, ["p_value", "difference"], "look_elsewhere: the comparison")
    out = comparison.copy()
    families = out["efficiency"].to_numpy() if "efficiency" in out else np.zeros(len(out))
    p_value = out["p_value"].to_numpy(dtype=np.float64)
    glob = np.full(len(out), np.nan)
    trials = {}
    for eff in np.unique(families):
        member = families == eff
        p = p_value[member]
        n = int(np.count_nonzero(np.isfinite(p)))
        trials[float(eff)] = n
        if method == "bonferroni":
            glob[member] = np.minimum(1.0, n * p)
        else:
            with np.errstate(divide="ignore"):  # p = 1: log(0), and 1 - (1 - p)^n = 1
                glob[member] = -np.expm1(n * np.log1p(-np.minimum(p, 1.0)))
    out["p_value_global"] = glob
    out["z_global"] = _z_of(glob)
    sig = glob < _two_sided(n_sigma)
    diff = out["difference"].to_numpy()
    winner = np.where(
        ~np.isfinite(glob), "n/a",
        np.where(sig & (diff > 0), a, np.where(sig & (diff < 0), b, "tie")),
    ).astype(object)  # fmt: skip
    if "winner" in out:  # a bin decided globally must be decided locally (same direction)
        decided = np.isin(winner, [a, b])
        winner[decided] = out["winner"].to_numpy()[decided]
    out["winner_global"] = winner
    out.attrs["n_trials"] = trials
    out.attrs["correction"] = method
    return out


@dataclass(frozen=True)
class WinCount:
    """The global test of "``who`` wins in k of n bins" (:func:`wins_significance`)."""

    who: str
    k: int  #: bins that ``who`` wins at the local ``n_sigma``
    n: int  #: bins compared
    n_sigma: float
    expected: float  #: wins expected by chance alone, n · Φ(−n_sigma)
    p_value: float  #: P(K ≥ k) for K ~ Binomial(n, Φ(−n_sigma))
    significance: float  #: the Gaussian one-sided significance of ``p_value`` (σ)
    k_global: int  #: bins ``who`` still wins after the look-elsewhere correction

    @property
    def text(self) -> str:
        return (
            f"{self.who} wins {self.k} of {self.n} bins at {self.n_sigma:g}σ locally "
            f"({self.expected:.1f} expected by chance; binomial p = {self.p_value:.1e}, "
            f"{self.significance:.1f}σ globally); {self.k_global} of them survive the "
            "look-elsewhere correction"
        )

    def __str__(self) -> str:
        return self.text


def wins_significance(comparison: pd.DataFrame, who: str, *, n_sigma: float = 2.0) -> WinCount:
    """A global test of "``who`` wins in k of n bins": how unlikely k local wins are by chance.

    With no real difference anywhere, each bin is a local win of ``who`` (difference above
    ``n_sigma`` errors in its favour) with probability Φ(−n_sigma), 2.3 % at 2σ, so the count of
    wins follows Binomial(n, Φ(−n_sigma)); the p-value is P(K ≥ k). This counts the bins as
    independent (disjoint tracks per momentum bin; the species of one bin share tracks, which
    makes the count somewhat more variable than binomial: read the significance as approximate).
    ``comparison`` is one efficiency's table with ``winner`` (and ``winner_global`` if
    :func:`look_elsewhere` ran)."""
    from scipy.special import ndtr, ndtri
    from scipy.stats import binom

    require_columns(comparison, ["winner"], "wins_significance: the comparison")
    decided = comparison[comparison["winner"] != "n/a"]
    n = len(decided)
    if n == 0:
        raise EmptySelectionError("wins_significance: no bin has a comparison.")
    k = int((decided["winner"] == who).sum())
    p0 = float(ndtr(-n_sigma))
    p_value = float(binom.sf(k - 1, n, p0)) if k > 0 else 1.0
    k_global = int((decided.get("winner_global", pd.Series([], dtype=object)) == who).sum())
    significance = float(0.0 - ndtri(min(max(p_value, 0.0), 0.5)))  # one-sided; 0 if p >= 0.5
    return WinCount(who, k, n, float(n_sigma), n * p0, p_value, significance, k_global)


def combine_seeds(
    per_seed: pd.DataFrame,
    a: str,
    b: str,
    *,
    n_sigma: float = 2.0,
    method: str = "bonferroni",
    seed_column: str = "seed",
) -> pd.DataFrame:
    """Per-bin comparisons of several trainings (seeds) of ``a`` against ``b``, combined.

    ``per_seed`` stacks :func:`compare_at_efficiency` tables with a ``seed`` column (same
    evaluation tracks, another training seed of ``a``). Per efficiency, species and bin:
    the mean purities and their spreads over seeds (``{a} std``), the mean gain
    ``difference`` ± ``seed_spread`` (standard deviation over seeds) and ``stat_err`` (the
    statistical error of one measurement on the evaluation tracks, which averaging over seeds
    does not reduce), ``difference_err`` = both in quadrature, ``z``, ``p_value`` and the local
    ``winner``, then :func:`look_elsewhere`. As ``o2ml.models.repeat.compare`` (paired), a winner
    also needs |gain| above its spread over seeds and at least two seeds; ``n_seeds`` says how
    many (fewer than 3: a smoke test)."""
    need = [seed_column, "species", "p", a, b, "difference", "difference_err"]
    require_columns(per_seed, need, "combine_seeds: the per-seed comparison")
    keys = [k for k in ("efficiency", "species", "p") if k in per_seed]
    rows = []
    for key, g in per_seed.groupby(keys, sort=True):
        row = dict(zip(keys, key, strict=True))
        g = g[np.isfinite(g["difference"].to_numpy(dtype=np.float64))]  # seeds that reach it
        n = int(g[seed_column].nunique())
        for m in (a, b):
            row[m] = float(g[m].mean())
            row[f"{m} std"] = float(g[m].std(ddof=1)) if n > 1 else 0.0
            row[f"{m} err"] = float(np.sqrt(np.mean(g[f"{m} err"] ** 2)))
        diff = float(g["difference"].mean())
        spread = float(g["difference"].std(ddof=1)) if n > 1 else 0.0
        stat = float(np.sqrt(np.mean(g["difference_err"] ** 2)))
        err = float(np.hypot(stat, spread))
        z = _z(diff, err)
        row |= {"difference": diff, "seed_spread": spread, "stat_err": stat,
                "difference_err": err, "z": z, "p_value": _two_sided(z), "n_seeds": n}  # fmt: skip
        winner = _verdict(diff, err, a, b, n_sigma)
        if winner in (a, b) and (n < 2 or abs(diff) <= spread):
            winner = "tie"  # does not hold over the seeds
        row["winner"] = winner
        rows.append(row)
    return look_elsewhere(pd.DataFrame(rows), a, b, n_sigma=n_sigma, method=method)


def losses(comparison: pd.DataFrame, who: str, column: str = "winner") -> str:
    """The bins ``who`` loses, as text ("pi 0.15, 0.20; p 0.95"), "none" if none."""
    lost = comparison[~comparison[column].isin([who, "tie", "n/a"])]
    if lost.empty:
        return "none"
    parts = [
        f"{sp} " + ", ".join(f"{v:.2f}" for v in g["p"])
        for sp, g in lost.groupby("species", sort=False)
    ]
    return "; ".join(parts)


def _verdict(diff: float, err: float, a: str, b: str, n_sigma: float) -> str:
    if not np.isfinite(diff):
        return "n/a"
    return a if diff > n_sigma * err else b if -diff > n_sigma * err else "tie"


def _z(diff: float, err: float) -> float:
    """diff / err; 0 for equal purities (both errors 0 at purity 1), NaN where undefined."""
    if np.isfinite(diff) and diff == 0.0:
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(diff) / np.float64(err))


def _two_sided(z):
    """Two-sided Gaussian p-value of ``z`` (NaN stays NaN)."""
    from scipy.special import ndtr

    return 2.0 * ndtr(-np.abs(z))


def _z_of(p_two_sided: np.ndarray) -> np.ndarray:
    """The |z| whose two-sided Gaussian p-value is ``p_two_sided``."""
    from scipy.special import ndtri

    return 0.0 - ndtri(np.clip(np.asarray(p_two_sided, dtype=np.float64), 0.0, 1.0) / 2.0)  # no -0


def _ratio(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return np.nan, np.nan
    r = k / n
    return r, binomial_error(r, n)


__all__ = [
    "CORE_COLUMNS",
    "CORRECTIONS",
    "DEFAULT_PAIRS",
    "MIN_ENTRIES",
    "PERFORMANCE_COLUMNS",
    "GaussianCore",
    "Response",
    "WinCount",
    "at_momentum",
    "binned_cores",
    "combine_seeds",
    "compare_at_efficiency",
    "fit_gaussian_core",
    "fit_response",
    "look_elsewhere",
    "losses",
    "nsigma_selection",
    "parametrised_separation",
    "purity_at_efficiency",
    "purity_efficiency_curves",
    "selection_performance",
    "selection_table",
    "separation",
    "separation_table",
    "separation_vs_p",
    "wins_significance",
]
