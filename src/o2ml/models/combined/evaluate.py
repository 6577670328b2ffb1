"""The comparison table of Kabus, CHEP 2023 ("Combination of detector PID information", shown in
"ML activities in ALICE", 2023), measured on o2ml's tracks, and who wins F1 with what certainty.

Rows: mean imputation, linear-regression imputation, case deletion, NN ensemble, attention + FSE;
columns: purity, efficiency and F1 of pi, p and K (a track is identified as the most probable
species). Case deletion keeps only the tracks that have every detector, so it cannot identify the
others: the published table shows it as "-", and so does this one (with the share of tracks it drops).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ...errors import BadArgumentError
from ..dann import species_scores
from .inputs import SPECIES, available

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


__all__ = [
    "METRICS",
    "PUBLISHED_TABLE",
    "ROWS",
    "TABLE_SPECIES",
    "case_deletion_share",
    "comparison_table",
    "f1_bootstrap",
    "published_table",
    "side_by_side",
]
