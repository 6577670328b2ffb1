"""Conclusions that survive another seed: a model trained and evaluated over several seeds (and
over bootstrap resamples of its test set), each metric reported as mean ± spread, and
comparisons that name a winner only when the difference exceeds the combined spread.

One training is one draw: a second seed can flip a ranking that one seed suggests. The rule used
throughout o2ml's notebooks:

* train each competitor with N seeds (N ≥ 3 for a claim; fewer is a smoke test, and the verdict
  says so), on the same samples and splits;
* report each metric as mean ± standard deviation over the seeds (:func:`over_seeds`,
  :func:`summarize`);
* call a winner only when |mean_a − mean_b| exceeds the combined spread
  √(σ_a² + σ_b²), otherwise a tie (:func:`compare`). With ``paired=True`` (both trained with the
  same seeds, the differences per seed are what varies) the spread is that of the per-seed
  differences.

The spread over seeds measures the training; :func:`bootstrap` measures the finite test sample
(resampled with replacement). A difference smaller than either is not a result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..errors import BadArgumentError

#: the fewest repetitions a claim rests on; fewer is a smoke test
MIN_REPETITIONS = 3

__all__ = [
    "MIN_REPETITIONS",
    "Verdict",
    "bootstrap",
    "compare",
    "compare_all",
    "over_seeds",
    "summarize",
]


def over_seeds(
    run: Callable[[int], Mapping[str, float]],
    seeds: Sequence[int],
    *,
    progress: bool = False,
) -> pd.DataFrame:
    """``run(seed)`` for every seed: one row per seed (index ``seed``), one column per metric.

    ``run`` trains a model with that seed and returns its metrics on held-out data, e.g.
    ``{"macro_f1": ..., "auc": ...}``; every call must return the same metrics."""
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise BadArgumentError("over_seeds: no seed given.")
    if len(set(seeds)) != len(seeds):
        raise BadArgumentError(f"over_seeds: the seeds repeat: {seeds}.")
    rows = {}
    for seed in tqdm(seeds, desc="seeds", disable=not progress):
        metrics = dict(run(seed))
        if rows and set(metrics) != set(next(iter(rows.values()))):
            raise BadArgumentError(
                f"over_seeds: seed {seed} returned the metrics {sorted(metrics)}, the first seed "
                f"{sorted(next(iter(rows.values())))}."
            )
        rows[seed] = metrics
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("seed")


def bootstrap(
    metric: Callable[[np.ndarray], Mapping[str, float]],
    n_items: int,
    *,
    n_resamples: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """``metric(rows)`` on ``n_resamples`` resamples (with replacement) of ``n_items`` test rows:
    one row per resample. ``metric`` gets the row indices and returns its metrics."""
    if n_items < 1 or n_resamples < 2:
        raise BadArgumentError(
            f"bootstrap: needs at least one item and two resamples (got {n_items}, {n_resamples})."
        )
    rng = np.random.default_rng(seed)
    rows = [dict(metric(rng.integers(0, n_items, n_items))) for _ in range(n_resamples)]
    return pd.DataFrame(rows).rename_axis("resample")


def summarize(table: pd.DataFrame, by: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Mean, standard deviation (ddof 1; 0 for one value) and count of every numeric column of
    ``table`` (rows: repetitions), optionally per group ``by`` (e.g. a "method" column).
    Columns: a MultiIndex (metric, "mean" | "std" | "n")."""
    numeric = table.select_dtypes("number")
    if by is not None:
        keys = [by] if isinstance(by, str) else list(by)
        numeric = table[[*keys, *[c for c in numeric.columns if c not in keys]]]
        grouped = numeric.groupby(keys, sort=False)
        out = grouped.agg(["mean", "std", "count"])
    else:
        out = numeric.agg(["mean", "std", "count"]).T.stack().to_frame().T
    out = out.rename(columns={"count": "n"}, level=1)
    return out.fillna({c: 0.0 for c in out.columns if c[1] == "std"})


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`compare`: a winner or a tie, with the numbers it rests on."""

    names: tuple[str, str]
    means: tuple[float, float]
    stds: tuple[float, float]
    n: int
    difference: float  #: mean of a − mean of b
    spread: float  #: the combined spread the difference is compared with
    winner: str | None  #: None: a tie

    @property
    def smoke(self) -> bool:
        """Too few repetitions for a claim (fewer than :data:`MIN_REPETITIONS`)."""
        return self.n < MIN_REPETITIONS

    @property
    def text(self) -> str:
        """One sentence for a notebook: the means ± spreads and the verdict."""
        (a, b), (ma, mb), (sa, sb) = self.names, self.means, self.stds
        numbers = f"{a} {ma:.4f} ± {sa:.4f}, {b} {mb:.4f} ± {sb:.4f} over {self.n} seeds"
        if self.winner is None:
            verdict = (
                f"a tie (difference {self.difference:+.4f} within the spread {self.spread:.4f})"
            )
        else:
            verdict = f"{self.winner} wins by {abs(self.difference):.4f} > spread {self.spread:.4f}"
        smoke = "; a smoke test, too few seeds for a claim" if self.smoke else ""
        return f"{numbers}: {verdict}{smoke}"

    def __str__(self) -> str:
        return self.text


def compare(
    a: Sequence[float],
    b: Sequence[float],
    names: tuple[str, str] = ("a", "b"),
    *,
    higher_is_better: bool = True,
    paired: bool = False,
) -> Verdict:
    """Compare one metric of two models over repetitions (seeds or resamples).

    A winner only when |mean(a) − mean(b)| exceeds the combined spread: √(σ_a² + σ_b²) of the
    values over the repetitions, or, with ``paired=True`` (the i-th values of a and b share a
    seed or a resample), the standard deviation of the differences a_i − b_i. Otherwise a tie.
    One repetition has no spread: it is always a tie."""
    x, y = np.asarray(a, float), np.asarray(b, float)
    if x.size == 0 or y.size == 0:
        raise BadArgumentError("compare: no values to compare.")
    if paired and x.shape != y.shape:
        raise BadArgumentError(f"compare(paired=True): {x.size} values against {y.size}.")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise BadArgumentError(f"compare: non-finite values in {names}.")
    sx = float(x.std(ddof=1)) if x.size > 1 else 0.0
    sy = float(y.std(ddof=1)) if y.size > 1 else 0.0
    diff = float(x.mean() - y.mean())
    if paired:
        spread = float((x - y).std(ddof=1)) if x.size > 1 else 0.0
    else:
        spread = float(np.hypot(sx, sy))
    n = int(min(x.size, y.size))
    decided = n > 1 and abs(diff) > spread
    better = names[0] if (diff > 0) == higher_is_better else names[1]
    return Verdict(
        names=tuple(names),
        means=(float(x.mean()), float(y.mean())),
        stds=(sx, sy),
        n=n,
        difference=diff,
        spread=spread,
        winner=better if decided else None,
    )


def compare_all(
    table: pd.DataFrame,
    metric: str,
    by: str = "method",
    *,
    higher_is_better: bool = True,
    paired: bool = False,
    seed_column: str = "seed",
) -> pd.DataFrame:
    """The best method of ``table`` (one row per method and repetition) on ``metric`` against
    each other: one row per pair (best, other) with both means ± spreads and the verdict.
    The best is the highest (or lowest) mean; "leads" says whether it beats every other."""
    if metric not in table or by not in table:
        raise BadArgumentError(f"compare_all: the table has no column {metric!r} or {by!r}.")
    means = table.groupby(by, sort=False)[metric].mean()
    best = means.idxmax() if higher_is_better else means.idxmin()
    rows = []
    for other in means.index:
        if other == best:
            continue
        a = table[table[by] == best]
        b = table[table[by] == other]
        if paired:
            a, b = a.sort_values(seed_column), b.sort_values(seed_column)
        v = compare(a[metric], b[metric], (str(best), str(other)),
                    higher_is_better=higher_is_better, paired=paired)  # fmt: skip
        rows.append({
            "best": best, "other": other, "best_mean": v.means[0], "best_std": v.stds[0],
            "other_mean": v.means[1], "other_std": v.stds[1], "difference": v.difference,
            "spread": v.spread, "n": v.n, "verdict": "wins" if v.winner == best else "tie",
        })  # fmt: skip
    out = pd.DataFrame(rows)
    out.attrs["leads"] = bool(len(out)) and bool((out["verdict"] == "wins").all())
    return out
