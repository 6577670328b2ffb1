"""The comparison table of Kabus, CHEP 2023 ("Combination of detector PID information", shown in
"ML activities in ALICE", 2023), measured on o2ml's tracks, and who wins F1 with what certainty.

Rows: mean imputation, linear-regression imputation, case deletion, NN ensemble, attention + FSE;
columns: purity, efficiency and F1 of pi, p and K (a track is identified as the most probable
species). Case deletion keeps only the tracks that have every detector, so it cannot identify the
others: the published table shows it as "-", and so does this one (with the share of tracks it drops).

Over seeds (:mod:`o2ml.models.repeat`): :func:`seed_metrics` and :func:`long_table` turn one
seed's F1 per regime, method and species into the rows of ``repeat.over_seeds``;
:func:`seed_table` gives F1 as mean ± spread next to the published numbers, :func:`winners` the
``repeat.compare_all`` verdict per species (ties called ties), :func:`resolution` whether the
published margins exceed the measured spread, :func:`paired_gain` the gain of one method over
another (the domain-adversarial training on data) and :func:`harder_regime` the tracks of a
momentum window with more detectors missing, where the methods separate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ...errors import BadArgumentError
from .. import repeat
from ..dann import species_scores
from .inputs import FEATURES, GROUPS, MISSING, SPECIES, available

#: the table's species and metrics, in its order
TABLE_SPECIES = ("pi", "p", "K")
METRICS = ("purity", "efficiency", "F1")
#: the table's rows, in its order, and the method that fills each (None: case deletion)
ROWS = {"mean": "mean", "regression": "regression", "case deletion": None,
        "NN ensemble": "ensemble", "attention + FSE": "attention"}  # fmt: skip
#: the published numbers (Kabus CHEP 2023, Run 2 pp MC): {row: (pi purity, efficiency, F1, p ..., K ...)}
PUBLISHED_TABLE = {
    "mean": (0.9718, 0.9934, 0.9825, 0.9559, 0.8927, 0.9232, 0.8858, 0.8081, 0.8452),
    "regression": (0.9723, 0.9931, 0.9826, 0.9520, 0.8973, 0.9238, 0.8795, 0.8168, 0.8470),
    "case deletion": (np.nan,) * 9,
    "NN ensemble": (0.9745, 0.9914, 0.9829, 0.9607, 0.8895, 0.9237, 0.8751, 0.8207, 0.8470),
    "attention + FSE": (0.9734, 0.9937, 0.9835, 0.9648, 0.9009, 0.9318, 0.8841, 0.8337, 0.8581),
}
_LABELS = {"pi": "π", "p": "p", "K": "K"}


def _columns() -> pd.MultiIndex:
    return pd.MultiIndex.from_product([[_LABELS[s] for s in TABLE_SPECIES], METRICS])


def published_table() -> pd.DataFrame:
    """The table as published (NaN: "-")."""
    return pd.DataFrame(
        list(PUBLISHED_TABLE.values()), index=list(PUBLISHED_TABLE), columns=_columns()
    )


def comparison_table(y_true: np.ndarray, predictions: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """The published rows and columns measured here: ``predictions`` maps method names
    (``"mean"``, ...) to predicted labels of the tracks ``y_true``; rows without one are NaN."""
    rows = {}
    for row, method in ROWS.items():
        if method is None or method not in predictions:
            rows[row] = [np.nan] * 9
            continue
        t = species_scores(y_true, predictions[method])
        rows[row] = [t.loc[s, m] for s in TABLE_SPECIES for m in METRICS]
    return pd.DataFrame(list(rows.values()), index=list(rows), columns=_columns())


def side_by_side(
    ours: pd.DataFrame, *, ours_label: str = "o2ml", published_label: str = "published"
) -> pd.DataFrame:
    """Each row twice, ours then the published one, in the table's order."""
    both = pd.concat(
        {ours_label: ours, published_label: published_table()}, names=["source", "model"]
    )
    return both.swaplevel().reindex(
        pd.MultiIndex.from_product([list(ROWS), [ours_label, published_label]])
    )


def case_deletion_share(X: np.ndarray) -> float:
    """Share of tracks case deletion cannot use (a detector missing)."""
    a = available(X)
    return float(1.0 - np.mean(np.logical_and.reduce(list(a.values()))))


def f1_bootstrap(
    y_true: np.ndarray,
    predictions: Mapping[str, np.ndarray],
    *,
    species: Sequence[str] = TABLE_SPECIES,
    n: int = 300,
    seed: int = 0,
) -> pd.DataFrame:
    """Per species: every method's F1, its bootstrap standard deviation, the winner, and how often
    (share of bootstrap resamples of the tracks, paired for all methods) the winner beats the
    runner-up. Columns ``species, winner, runner_up, F1_winner, F1_runner_up, margin, margin_std,
    p_win``."""
    y_true = np.asarray(y_true)
    keep = y_true >= 0
    y_true = y_true[keep]
    preds = {m: np.asarray(p)[keep] for m, p in predictions.items()}
    if len(preds) < 2:
        raise BadArgumentError("f1_bootstrap: at least two methods are needed to name a winner.")
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(y_true), size=(n, len(y_true)))
    rows = []
    for s in species:
        k = SPECIES.index(s)
        true = y_true == k

        def f1(idx, pred, true=true, k=k):
            sel, t = pred[idx] == k, true[idx]
            return 2.0 * np.sum(sel & t) / max(np.sum(sel) + np.sum(t), 1)

        full = {m: f1(slice(None), p) for m, p in preds.items()}
        order = sorted(full, key=full.get, reverse=True)
        best, second = order[0], order[1]
        diffs = np.array([f1(d, preds[best]) - f1(d, preds[second]) for d in draws])
        rows.append((s, best, second, full[best], full[second], full[best] - full[second],
                     float(diffs.std()), float(np.mean(diffs > 0))))  # fmt: skip
    return pd.DataFrame(rows, columns=["species", "winner", "runner_up", "F1_winner", "F1_runner_up",
                                       "margin", "margin_std", "p_win"])  # fmt: skip


# ------------------------------------------------------------------- over seeds (models.repeat)
_KEY = "{regime}|{method}|{species}"


def published_margins() -> dict[str, float]:
    """Per species: the published F1 of attention + FSE minus the best other published F1."""
    f1 = published_table().xs("F1", axis=1, level=1).drop(index="case deletion")
    out = {}
    for s in TABLE_SPECIES:
        col = f1[_LABELS[s]]
        out[s] = round(float(col["attention + FSE"] - col.drop("attention + FSE").max()), 4)
    return out


def harder_regime(
    X: np.ndarray,
    y: np.ndarray,
    *,
    p_range: tuple[float, float] = (0.8, 2.0),
    drop: Mapping[str, float] | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """The tracks with ``p_range[0] <= p < p_range[1]`` (where the TPC bands of pi, K and p cross,
    so the TOF and the TRD carry the separation), with each detector of ``drop`` (default TOF
    0.5, TRD 0.5) lost with that probability on top of its own gaps (-999 in its features).
    Deterministic in ``seed``; returns copies."""
    drop = {"TOF": 0.5, "TRD": 0.5} if drop is None else dict(drop)
    unknown = set(drop) - set(GROUPS)
    if unknown or not all(0.0 <= v <= 1.0 for v in drop.values()):
        raise BadArgumentError(
            f"harder_regime: drop must map detectors to shares in [0, 1], got {drop}."
        )
    X, y = np.asarray(X), np.asarray(y)
    p = X[:, FEATURES.index("fP")]
    keep = (p >= p_range[0]) & (p < p_range[1])
    if not keep.any():
        raise BadArgumentError(f"harder_regime: no track with p in {p_range} GeV/c.")
    Xh, yh = X[keep].copy(), y[keep].copy()
    rng = np.random.default_rng([int(seed), 11])
    u = rng.random((len(Xh), len(drop)))
    for j, (det, share) in enumerate(drop.items()):
        lost = u[:, j] < share
        Xh[np.ix_(lost, [FEATURES.index(f) for f in GROUPS[det]])] = MISSING
    return Xh, yh


def f1_scores(
    y_true: np.ndarray, pred: np.ndarray, species: Sequence[str] = TABLE_SPECIES
) -> dict[str, float]:
    """F1 of each species (a track: its most probable species; label -1 tracks ignored)."""
    y_true, pred = np.asarray(y_true), np.asarray(pred)
    keep = y_true >= 0
    y_true, pred = y_true[keep], pred[keep]
    out = {}
    for s in species:
        k = SPECIES.index(s)
        sel, t = pred == k, y_true == k
        out[s] = 2.0 * float(np.sum(sel & t)) / max(int(np.sum(sel) + np.sum(t)), 1)
    return out


def seed_metrics(scores: Mapping[tuple[str, str], Mapping[str, float]]) -> dict[str, float]:
    """One seed's ``{(regime, method): {species: F1}}`` flattened for
    :func:`o2ml.models.repeat.over_seeds` (keys ``regime|method|species``)."""
    return {_KEY.format(regime=r, method=m, species=s): float(v)
            for (r, m), f in scores.items() for s, v in f.items()}  # fmt: skip


def long_table(wide: pd.DataFrame) -> pd.DataFrame:
    """The table of :func:`~o2ml.models.repeat.over_seeds` (one row per seed, columns
    ``regime|method|species``) as one row per seed, regime and method, one column per species."""
    stacked = wide.rename_axis(columns="key").stack().rename("F1").reset_index()
    stacked[["regime", "method", "species"]] = stacked["key"].str.split("|", expand=True)
    out = stacked.pivot_table(index=["seed", "regime", "method"], columns="species", values="F1",
                              sort=False).reset_index()  # fmt: skip
    out.columns.name = None
    return out


def seed_table(long: pd.DataFrame, regime: str, *, published: bool = True) -> pd.DataFrame:
    """Per method (the published rows) and species: F1 as "mean ± std (n seeds)" next to the
    published number (``published=False``: the measured column only)."""
    part = long[long["regime"] == regime]
    if part.empty:
        raise BadArgumentError(f"seed_table: no rows for the regime {regime!r}.")
    stats = repeat.summarize(part.drop(columns=["seed", "regime"]), by="method")
    pub = published_table()
    rows = {}
    for row, method in ROWS.items():
        cells = {}
        for s in TABLE_SPECIES:
            if s not in part:
                continue
            label = _LABELS[s]
            if method is None or method not in stats.index:
                cells[(label, "measured")] = "−"
            else:
                m, sd = (stats.loc[method, (s, k)] for k in ("mean", "std"))
                cells[(label, "measured")] = f"{m:.4f} ± {sd:.4f}"
            if published:
                v = pub.loc[row, (label, "F1")]
                cells[(label, "published")] = "−" if np.isnan(v) else f"{v:.4f}"
        rows[row] = cells
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    out.attrs["n_seeds"] = int(part["seed"].nunique())
    return out


def winners(long: pd.DataFrame, regime: str, *, species: Sequence[str] = TABLE_SPECIES,
            paired: bool = True) -> pd.DataFrame:  # fmt: skip
    """Per species, :func:`~o2ml.models.repeat.compare_all` of the methods' F1 over the seeds
    (paired by seed: same splits, same seed): the best mean, whether it beats every other method
    beyond the spread (``leads``), the methods it ties with and those it beats, the smallest difference and its
    spread, the number of seeds and ``smoke`` (fewer than :data:`~o2ml.models.repeat.MIN_REPETITIONS`)."""
    part = long[long["regime"] == regime]
    rows = []
    for s in species:
        c = repeat.compare_all(part, s, by="method", paired=paired)
        closest = c.loc[c["difference"].idxmin()]
        rows.append({"species": s, "best": c["best"].iloc[0], "leads": bool(c.attrs["leads"]),
                     "ties": [str(o) for o in c.loc[c["verdict"] == "tie", "other"]],
                     "beats": [str(o) for o in c.loc[c["verdict"] == "wins", "other"]],
                     "runner_up": closest["other"], "difference": float(closest["difference"]),
                     "spread": float(closest["spread"]), "n": int(c["n"].min()),
                     "smoke": int(c["n"].min()) < repeat.MIN_REPETITIONS})  # fmt: skip
    return pd.DataFrame(rows)


def resolution(
    long: pd.DataFrame, regime: str, *, margins: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """Can this sample resolve the published margins? Per species: the published margin of
    attention + FSE over the best other method, and the measured spread it would have to exceed:
    the largest standard deviation over the seeds of the paired F1 difference attention − other
    (the spread :func:`~o2ml.models.repeat.compare` uses). ``resolved``: margin > spread."""
    margins = published_margins() if margins is None else dict(margins)
    part = long[long["regime"] == regime]
    att = part[part["method"] == "attention"].set_index("seed")
    rows = []
    for s, margin in margins.items():
        spreads = {}
        for m in part["method"].unique():
            if m == "attention":
                continue
            other = part[part["method"] == m].set_index("seed")[s].reindex(att.index)
            d = (att[s] - other).to_numpy()
            spreads[m] = float(np.std(d, ddof=1)) if len(d) > 1 else float("nan")
        worst = max(spreads, key=lambda k: spreads[k])
        spread = spreads[worst]
        rows.append({"species": s, "published_margin": margin, "measured_spread": spread,
                     "against": worst, "n": len(att),
                     "resolved": bool(np.isfinite(spread) and margin > spread)})  # fmt: skip
    return pd.DataFrame(rows)


def paired_gain(long: pd.DataFrame, regime: str, new: str, old: str, *,
                species: Sequence[str] = TABLE_SPECIES) -> pd.DataFrame:  # fmt: skip
    """Per species: the F1 gain of method ``new`` over ``old`` as mean ± std over the seeds
    (paired by seed) and the :func:`~o2ml.models.repeat.compare` verdict: "gain", "loss" or "tie"."""
    part = long[long["regime"] == regime]
    a = part[part["method"] == new].sort_values("seed")
    b = part[part["method"] == old].sort_values("seed")
    if a.empty or b.empty:
        raise BadArgumentError(f"paired_gain: no rows for {new!r} or {old!r} in {regime!r}.")
    rows = []
    for s in species:
        v = repeat.compare(a[s], b[s], (new, old), paired=True)
        d = a[s].to_numpy() - b[s].to_numpy()
        rows.append({"species": s, "gain": v.difference,
                     "gain_std": float(np.std(d, ddof=1)) if len(d) > 1 else 0.0, "n": v.n,
                     "verdict": "tie" if v.winner is None else ("gain" if v.winner == new else "loss"),
                     "smoke": v.smoke})  # fmt: skip
    return pd.DataFrame(rows)


__all__ = [
    "METRICS",
    "PUBLISHED_TABLE",
    "ROWS",
    "TABLE_SPECIES",
    "case_deletion_share",
    "comparison_table",
    "f1_bootstrap",
    "f1_scores",
    "harder_regime",
    "long_table",
    "paired_gain",
    "published_margins",
    "published_table",
    "resolution",
    "seed_metrics",
    "seed_table",
    "side_by_side",
    "winners",
]
