"""How well a PID estimator separates species, measured on tracks: separation power vs p, and the
purity and efficiency of an nsigma selection against true labels.

Labels are integers 0..3 (e, pi, K, p as in :data:`o2ml.physics.constants.PID_SPECIES`), -1 for
anything else; Gaussian cores and responses come from :mod:`o2ml.physics.pid_response` (its main
names are re-exported here).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ..errors import BadArgumentError, EmptySelectionError
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


def compare_at_efficiency(
    curves: pd.DataFrame, a: str, b: str, efficiency: float = 0.8, *, n_sigma: float = 2.0
) -> pd.DataFrame:
    """Purity of methods ``a`` and ``b`` at the same efficiency, per species and momentum bin.

    The purity is interpolated linearly in efficiency along each curve (NaN where a curve never
    reaches ``efficiency``); its error is that of the nearest point. ``winner`` is ``a`` or
    ``b`` when the difference exceeds ``n_sigma`` combined errors, else ``tie``.
    """
    rows = []
    for (sp, pc), g in curves.groupby(["species", "p"], sort=True):
        row = {"species": sp, "p": pc}
        for m in (a, b):
            c = g[g["method"] == m].dropna(subset=["efficiency", "purity"]).sort_values("cut")
            eff, pur = c["efficiency"].to_numpy(), c["purity"].to_numpy()
            if len(c) == 0 or eff.max() < efficiency or eff.min() > efficiency:
                row[m], row[f"{m} err"] = np.nan, np.nan
                continue
            order = np.argsort(eff, kind="stable")
            row[m] = float(np.interp(efficiency, eff[order], pur[order]))
            row[f"{m} err"] = float(c["purity_err"].to_numpy()[np.argmin(np.abs(eff - efficiency))])
        diff, err = row[a] - row[b], np.hypot(row[f"{a} err"], row[f"{b} err"])
        row["difference"] = diff
        row["winner"] = (
            "n/a" if not np.isfinite(diff)
            else a if diff > n_sigma * err else b if -diff > n_sigma * err else "tie"
        )  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)


def _ratio(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return np.nan, np.nan
    r = k / n
    return r, float(np.sqrt(r * (1.0 - r) / n))


__all__ = [
    "CORE_COLUMNS",
    "DEFAULT_PAIRS",
    "MIN_ENTRIES",
    "PERFORMANCE_COLUMNS",
    "GaussianCore",
    "Response",
    "at_momentum",
    "binned_cores",
    "compare_at_efficiency",
    "fit_gaussian_core",
    "fit_response",
    "nsigma_selection",
    "parametrised_separation",
    "purity_efficiency_curves",
    "selection_performance",
    "selection_table",
    "separation",
    "separation_table",
    "separation_vs_p",
]
