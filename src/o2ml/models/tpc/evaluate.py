"""How good a TPC dE/dx calibration is: flat nsigma across the input space, closure on the truth,
species separation, purity and efficiency of |nsigma| < 3 (the inference cost:
:func:`o2ml.onnx.per_track_cost`).

A "model" is anything with ``predict(X) -> [n, 2]`` (the pidTPC outputs: the splines, a network),
or ``None`` for pidTPC without the network (mean 1, width 7 %). nsigma follows pidTPC: the
calibration is applied above beta*gamma 0.45 and the Bethe-Bloch nsigma is kept below.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ...errors import BadArgumentError
from ...physics import detectors as det
from ...physics.constants import O2_PID_INDEX, PID_SPECIES
from ...physics.pid_performance import binned_cores, selection_table, separation_vs_p
from ...physics.stats import robust_width
from .inputs import BETA_GAMMA_CUTOFF, bethe_bloch_outputs, network_inputs, nsigma, target_ratio

#: the calibration's input variables as shown (label -> skim column)
VARIABLES = {
    "p (GeV/c)": "fTPCInnerParam",
    "tan λ": "fTgl",
    "q/pT (c/GeV)": "fSigned1Pt",
    "mult / 11000": "fNormMultTPC",
    "sqrt(152/Ncl)": "fNormNClustersTPC",
}
#: robust width of a Gaussian from the median absolute deviation


def outputs_of(model, frame: pd.DataFrame) -> np.ndarray:
    """pidTPC's two outputs for skim rows: the model's above the beta*gamma cut-off, the
    Bethe-Bloch ones (1, 1.07) below it and everywhere for ``model=None``."""
    out = bethe_bloch_outputs(len(frame), det.TPC_RELATIVE_RESOLUTION)
    if model is not None:
        above = frame["fTPCInnerParam"].to_numpy(float) / frame["fMass"].to_numpy(float)
        above = above > BETA_GAMMA_CUTOFF
        if above.any():
            out[above] = model.predict(network_inputs(frame[above]))
    return out


def nsigma_of(model, frame: pd.DataFrame) -> np.ndarray:
    """nsigma of skim rows in their own hypothesis, as pidTPC computes it with ``model``."""
    return nsigma(target_ratio(frame), outputs_of(model, frame))


# ------------------------------------------------------------------------------- flatness
#: statistical floor of a perfect calibration, per bin of n tracks of N(0, 1): the spread of the
#: median is sqrt(pi/2)/sqrt(n); that of the normalised MAD width 1.1664/sqrt(n) (its asymptotic
#: value) and of the core width (CORE_CLIP) 0.86/sqrt(n), measured by simulation
#: (tests/test_tpc_calibration.py checks all three)
MEDIAN_FLOOR = float(np.sqrt(np.pi / 2.0))
WIDTH_FLOOR = {"mad": 1.1664, "core": 0.86}
#: the core width: the standard deviation within +-CORE_CLIP widths of the median, iterated from
#: the MAD, and divided by that of a unit Gaussian truncated there (a Gaussian core fit in one
#: line: the same estimator for every method, blind to a few per cent of contamination)
CORE_CLIP = 2.5
_CORE_SCALE = float(np.sqrt(1.0 - 2.0 * CORE_CLIP * np.exp(-0.5 * CORE_CLIP**2) / np.sqrt(2.0 * np.pi)
                            / math.erf(CORE_CLIP / np.sqrt(2.0))))  # fmt: skip


def _robust(z: np.ndarray, width: str = "mad") -> tuple[float, float]:
    med, sigma = robust_width(z)
    if width == "core":
        for _ in range(3):
            core = z[np.abs(z - med) < CORE_CLIP * sigma]
            if core.size < 2:
                break
            sigma = float(core.std() / _CORE_SCALE)
    return med, sigma


def profile(z: np.ndarray, x: np.ndarray, *, bins: int = 12, width: str = "mad") -> pd.DataFrame:
    """Median and width of nsigma ``z`` in equal-population bins of ``x``: flat 0 and 1 is a
    perfect calibration. ``width``: ``"mad"`` (1.4826 MAD, robust) or ``"core"`` (the Gaussian
    core, :data:`CORE_CLIP`). Columns ``x_lo, x_hi, x, n, mean, width``."""
    if width not in WIDTH_FLOOR:
        raise BadArgumentError(f"profile: width must be one of {list(WIDTH_FLOOR)}, not {width!r}.")
    z, x = np.asarray(z, float), np.asarray(x, float)
    if z.shape != x.shape or z.size < bins:
        raise BadArgumentError(
            f"profile: {z.size} nsigma values and {x.size} x values, {bins} bins."
        )
    order = np.argsort(x, kind="stable")
    rows = []
    for chunk in np.array_split(order, bins):
        xs = x[chunk]
        rows.append(
            (xs.min(), xs.max(), float(np.median(xs)), chunk.size, *_robust(z[chunk], width))
        )
    return pd.DataFrame(rows, columns=["x_lo", "x_hi", "x", "n", "mean", "width"])


def profile_map(
    z: np.ndarray, x: np.ndarray, y: np.ndarray, *, bins: int = 6, width: str = "mad"
) -> pd.DataFrame:
    """:func:`profile` in 2-D: equal-population bins of ``x``, then of ``y`` within each."""
    z, x, y = (np.asarray(a, float) for a in (z, x, y))
    rows = []
    for i, cx in enumerate(np.array_split(np.argsort(x, kind="stable"), bins)):
        for j, c in enumerate(np.array_split(cx[np.argsort(y[cx], kind="stable")], bins)):
            rows.append(
                (i, j, float(np.median(x[c])), float(np.median(y[c])), c.size,
                 *_robust(z[c], width))
            )  # fmt: skip
    return pd.DataFrame(rows, columns=["ix", "iy", "x", "y", "n", "mean", "width"])


def flatness(
    nsigmas: Mapping[str, np.ndarray],
    frame: pd.DataFrame,
    *,
    bins: int = 12,
    map_bins: int = 6,
    variables: Mapping[str, str] = VARIABLES,
    width: str = "mad",
) -> pd.DataFrame:
    """For every method (``{name: nsigma}``) and every variable and pair of variables: the RMS
    over bins of the nsigma mean (ideal 0) and of width - 1 (ideal 0), and the worst bins.

    ``mean_floor`` and ``width_floor`` are the statistical floor of each RMS, what a perfect
    calibration gives with ``n_per_bin`` tracks per bin (:data:`MEDIAN_FLOOR`,
    :data:`WIDTH_FLOOR`): an RMS at its floor cannot be improved on this sample. ``width``
    chooses the width estimator (``"mad"`` or ``"core"``, :func:`profile`), the same for every
    method."""
    rows = []
    cols = {label: frame[c].to_numpy(float) for label, c in variables.items()}
    for method, z in nsigmas.items():
        z = np.asarray(z, float)
        if z.shape != (len(frame),):
            raise BadArgumentError(f"{method}: {z.size} nsigma values for {len(frame)} rows.")
        for label, x in cols.items():
            rows.append((method, label, *_summary(profile(z, x, bins=bins, width=width), width)))
        for (la, xa), (lb, xb) in itertools.combinations(cols.items(), 2):
            t = profile_map(z, xa, xb, bins=map_bins, width=width)
            rows.append((method, f"{la} × {lb}", *_summary(t, width)))
    columns = [
        "method",
        "variables",
        "n_per_bin",
        "mean_rms",
        "width_rms",
        "worst_mean",
        "worst_width",
        "mean_floor",
        "width_floor",
    ]
    return pd.DataFrame(rows, columns=columns)


def _summary(t: pd.DataFrame, width: str) -> tuple:
    dev_w = t["width"] - 1.0
    n = float(t["n"].mean())
    return (
        int(t["n"].min()),
        float(np.sqrt(np.mean(t["mean"] ** 2))),
        float(np.sqrt(np.mean(dev_w**2))),
        float(t["mean"].abs().max()),
        float(dev_w.abs().max()),
        MEDIAN_FLOOR / np.sqrt(n),
        WIDTH_FLOOR[width] / np.sqrt(n),
    )


# ------------------------------------------------------------------------------- truth
def truth_closure(
    outputs: Mapping[str, np.ndarray], true_mean: np.ndarray, true_sigma: np.ndarray
) -> pd.DataFrame:
    """Per method: RMS over tracks of (predicted - true mean) / true sigma and of predicted
    sigma / true sigma - 1 (0 and 0 for a perfect calibration)."""
    rows = []
    for method, out in outputs.items():
        out = np.asarray(out, float)
        bias = (out[:, 0] - true_mean) / true_sigma
        width = (out[:, 1] - out[:, 0]) / true_sigma - 1.0
        rows.append((method, float(np.sqrt(np.mean(bias**2))), float(np.sqrt(np.mean(width**2)))))
    return pd.DataFrame(rows, columns=["method", "mean_bias_rms", "width_error_rms"])


# ------------------------------------------------------------------------------- species
def _in_hypotheses(model, tracks: pd.DataFrame, species: Sequence[str]):
    p, signal = tracks["fTPCInnerParam"].to_numpy(float), tracks["fTPCSignal"].to_numpy(float)
    for s in species:
        hyp = tracks.assign(**det.tpc_hypothesis(p, signal, s))
        yield s, target_ratio(hyp), outputs_of(model, hyp)


def species_nsigmas(model, tracks: pd.DataFrame, species: Sequence[str] = ("pi", "K", "p")) -> dict:
    """nsigma of every track in each hypothesis of ``species``, as pidTPC computes it."""
    return {s: nsigma(r, out) for s, r, out in _in_hypotheses(model, tracks, species)}


def species_ratios(model, tracks: pd.DataFrame, species: Sequence[str] = ("pi", "K", "p")) -> dict:
    """The calibrated signal dE/dx / (expected x o0) of every track in each hypothesis: what the
    calibration does to the dE/dx bands themselves (separation power, independent of the width
    the calibration assigns)."""
    return {s: r / out[:, 0] for s, r, out in _in_hypotheses(model, tracks, species)}


def truth_labels(tracks: pd.DataFrame) -> np.ndarray:
    """Labels 0..3 (index in PID_SPECIES) from ``fTruthPidIndex``; -1 for other particles."""
    by_id = {O2_PID_INDEX[s]: k for k, s in enumerate(PID_SPECIES)}
    return np.array([by_id.get(int(i), -1) for i in tracks["fTruthPidIndex"].to_numpy()], np.int8)


def separation_table(
    values: Mapping[str, Mapping[str, np.ndarray]],
    tracks: pd.DataFrame,
    edges: Sequence[float],
    *,
    pairs: Sequence[tuple[str, str]] = (("pi", "K"), ("K", "p")),
) -> pd.DataFrame:
    """Separation power |mu_a - mu_b| / ((sigma_a + sigma_b) / 2) of species a and b, per momentum
    bin and method, from the Gaussian cores of the true species in ``values[method][a]`` (the
    calibrated signal of :func:`species_ratios` in hypothesis a)."""
    labels, p = truth_labels(tracks), tracks["fTPCInnerParam"].to_numpy(float)
    tables = []
    for method, vs in values.items():
        for a, b in pairs:
            cores = binned_cores(vs[a], p, labels, edges)
            t = separation_vs_p(cores, a, b)
            tables.append(t.assign(method=method, pair=f"{a}-{b}"))
    return pd.concat(tables, ignore_index=True)


def selection(
    nsigmas: Mapping[str, Mapping[str, np.ndarray]],
    tracks: pd.DataFrame,
    edges: Sequence[float],
    *,
    cut: float = 3.0,
) -> pd.DataFrame:
    """Purity and efficiency of |nsigma| < ``cut`` per species, momentum bin and method."""
    return selection_table(
        nsigmas, truth_labels(tracks), tracks["fTPCInnerParam"].to_numpy(float), edges, cut=cut
    )


def selection_summary(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`selection` summed over momentum: efficiency and purity per method and species."""
    g = table.groupby(["method", "species"], sort=False)[
        ["n_true", "n_selected", "n_correct"]
    ].sum()
    return pd.DataFrame(
        {"efficiency": g["n_correct"] / g["n_true"], "purity": g["n_correct"] / g["n_selected"]}
    ).reset_index()


def summary_table(
    flat: pd.DataFrame,
    closure: pd.DataFrame | None = None,
    purity: pd.DataFrame | None = None,
    separation: pd.DataFrame | None = None,
    *,
    separation_at: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """One row per method: the worst and the average flatness over all variables and pairs
    (:func:`flatness`), the truth closure, efficiency and purity per species
    (:func:`selection_summary`) and the separation of each pair in the bin holding
    ``separation_at[pair]`` GeV/c (:func:`separation_table`). Missing parts are left out."""
    g = flat.groupby("method", sort=False)
    out = pd.DataFrame({
        "nσ mean: worst RMS": g["mean_rms"].max(), "nσ mean: average RMS": g["mean_rms"].mean(),
        "nσ mean: floor": g["mean_floor"].mean(),
        "nσ width: worst RMS": g["width_rms"].max(), "nσ width: average RMS": g["width_rms"].mean(),
        "nσ width: floor": g["width_floor"].mean(),
    })  # fmt: skip
    if closure is not None:
        c = closure.set_index("method")
        out["truth: mean bias (σ)"] = c["mean_bias_rms"]
        out["truth: width error"] = c["width_error_rms"]
    if purity is not None:
        for what in ("efficiency", "purity"):
            t = purity.pivot(index="method", columns="species", values=what)
            for sp in t.columns:
                out[f"{what} {sp}"] = t[sp]
    if separation is not None:
        for pair, p in (separation_at or {}).items():
            t = separation[
                (separation["pair"] == pair) & (separation["p_lo"] <= p) & (separation["p_hi"] > p)
            ]
            out[f"separation {pair} at {p:g} GeV/c"] = t.set_index("method")["separation"]
    return out


__all__ = [
    "CORE_CLIP",
    "MEDIAN_FLOOR",
    "VARIABLES",
    "WIDTH_FLOOR",
    "flatness",
    "nsigma_of",
    "outputs_of",
    "profile",
    "profile_map",
    "selection",
    "selection_summary",
    "separation_table",
    "species_nsigmas",
    "species_ratios",
    "summary_table",
    "truth_closure",
    "truth_labels",
]
