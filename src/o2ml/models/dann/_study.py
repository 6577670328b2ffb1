"""Repeated DANN trainings: failed trainings, the λ sweep over seeds, truth-free choices of λ,
the "calibrated inputs" competitor, and per-species gains with verdicts of
:mod:`o2ml.models.repeat`.

* :func:`training_failures`: a training that failed says so in its history: the domain head
  stuck at accuracy 0.5 (a constant output: the adversary is dead, the features it shaped are
  not "domain-invariant", they are unconstrained), or a class loss that did not decrease. Both
  are truth-free, so a choice of λ may drop failed trainings.
* :class:`InputCalibration`: the classical answer to a data/MC gap in the *inputs*: the data TPC
  dE/dx and TRD signal are rescaled per momentum bin so that TOF-tagged data tracks match the
  same tags in MC (no truth in either domain), the TOF β taken from data as it is. The network
  trained on MC only (λ = 0) then reads each domain's own calibrated inputs.
* :func:`~o2ml.models.dann.lambda_sweep_over_seeds` (in the model module) trains one network
  per (λ, seed), each evaluated on held-out tracks, with its failures; :func:`criterion_picks`: what each truth-free criterion picks per
  seed and what that costs against the best λ of the seed (known only with synthetic truth).
* :func:`species_f1`: F1 per species, macro-F1 over the four species and over π, K, p (without
  the rare electrons); :func:`gains`: each method minus a reference, per seed, with the verdict
  of :func:`o2ml.models.repeat.compare` (paired: same seeds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...errors import BadArgumentError
from .. import repeat
from ._data import FEATURES, SPECIES, Tracks
from ._eval import species_scores

#: |domain accuracy - 0.5| below this over the last epochs: the domain head is stuck at 0.5
STUCK_TOLERANCE = 0.002
#: epochs at the end of the training that must all be stuck to call it a failure
STUCK_EPOCHS = 3
#: the class loss must fall below this fraction of its first-epoch value
CLASS_LOSS_DROP = 0.5


# ------------------------------------------------------------------------------- failures
def training_failures(
    history: pd.DataFrame,
    *,
    tolerance: float = STUCK_TOLERANCE,
    epochs: int = STUCK_EPOCHS,
    class_loss_drop: float = CLASS_LOSS_DROP,
) -> list[str]:
    """Why a training failed, from its history (:attr:`DANNClassifier.history`); empty: it did
    not fail. Two truth-free signs:

    * the domain head's training accuracy within 0.5 ± ``tolerance`` in each of the last
      ``epochs`` epochs (balanced batches: a head that outputs the same value for every track
      scores exactly 0.5; an adversary still in the game fluctuates around it by more);
    * the last epoch's class loss above ``class_loss_drop`` × the first epoch's.
    """
    need = {"domain_acc_train", "class_loss"}
    if not need <= set(history.columns) or len(history) == 0:
        raise BadArgumentError(f"training_failures: a history with the columns {sorted(need)}.")
    out = []
    acc = history["domain_acc_train"].to_numpy(float)
    stuck = np.abs(acc - 0.5) < tolerance
    if len(acc) >= epochs and stuck[-epochs:].all():
        first = len(stuck) - int(np.argmin(stuck[::-1])) if not stuck.all() else 0
        out.append(
            f"domain head stuck at 0.5 (accuracy within ±{tolerance:g}) from epoch {first + 1}"
        )
    loss = history["class_loss"].to_numpy(float)
    if not loss[-1] < class_loss_drop * loss[0]:
        out.append(f"class loss did not decrease ({loss[0]:.3f} -> {loss[-1]:.3f})")
    return out


# ------------------------------------------------------------------------------- calibrated inputs
#: inputs rescaled by :class:`InputCalibration` (multiplicative responses: gains)
CALIBRATED = ("fTPCSignal", "fTRDSignal")
#: momentum bins of the calibration (GeV/c): where TOF tags exist (p <= 1.5 GeV/c)
CALIBRATION_EDGES = np.geomspace(0.2, 1.5, 8)


@dataclass(frozen=True)
class InputCalibration:
    """Per momentum bin, the factor that maps a data input onto the MC response (the data TPC
    dE/dx and TRD signal; TOF β stays as data have it). Fitted without truth on tagged tracks
    (:attr:`Tracks.tags`, TOF tags in both domains, so both carry the same selection): in each
    bin and for each tagged species, the ratio of the MC median to the data median; the bin's
    factor is their mean weighted by the tagged counts. Between bin centres the factor is
    interpolated in log p, outside them it is the nearest bin's."""

    edges: np.ndarray
    factors: Mapping[str, np.ndarray]  #: per input, one factor per bin
    min_tracks: int = 50

    @classmethod
    def fit(
        cls,
        mc: Tracks,
        data: Tracks,
        *,
        edges: Sequence[float] = CALIBRATION_EDGES,
        min_tracks: int = 50,
    ) -> InputCalibration:
        if mc.tags is None or data.tags is None:
            raise BadArgumentError(
                "InputCalibration.fit: tagged tracks (Tracks.tags) in both domains."
            )
        edges = np.asarray(edges, float)
        factors = {}
        for name in CALIBRATED:
            j = FEATURES.index(name)
            f = np.full(len(edges) - 1, np.nan)
            for b in range(len(edges) - 1):
                ratios, weights = [], []
                for k in range(len(SPECIES)):
                    vals = []
                    for t in (mc, data):
                        v = t.X[:, j]
                        sel = ((t.tags == k) & (t.p >= edges[b]) & (t.p < edges[b + 1])
                               & np.isfinite(v) & (v > 0))  # fmt: skip
                        if name == "fTRDSignal":
                            sel &= t.X[:, FEATURES.index("fTRDPattern")] > 0
                        vals.append(v[sel])
                    n = min(len(vals[0]), len(vals[1]))
                    if n >= min_tracks:
                        ratios.append(np.median(vals[0]) / np.median(vals[1]))
                        weights.append(n)
                if ratios:
                    f[b] = np.average(ratios, weights=weights)
            if np.isnan(f).all():
                raise BadArgumentError(
                    f"InputCalibration.fit: fewer than {min_tracks} tagged tracks per species in "
                    f"every bin for {name}."
                )
            # empty bins: the nearest filled bin's factor
            ok = np.flatnonzero(~np.isnan(f))
            f = f[ok[np.abs(np.arange(len(f))[:, None] - ok[None, :]).argmin(axis=1)]]
            factors[name] = f
        return cls(edges, factors, min_tracks)

    def factor(self, name: str, p: np.ndarray) -> np.ndarray:
        """The factor of input ``name`` at momenta ``p`` (interpolated in log p)."""
        centres = np.log(np.sqrt(self.edges[:-1] * self.edges[1:]))
        return np.interp(np.log(np.clip(p, 1e-3, None)), centres, self.factors[name])

    def apply(self, X: np.ndarray | Tracks) -> np.ndarray:
        """A copy of raw inputs (data) with the calibrated inputs multiplied by their factor;
        missing values (NaN) stay missing."""
        X = np.array(X.X if isinstance(X, Tracks) else X, dtype=np.float32, copy=True)
        p = X[:, FEATURES.index("fP")]
        for name in CALIBRATED:
            j = FEATURES.index(name)
            X[:, j] = (X[:, j] * self.factor(name, p)).astype(np.float32)
        return X

    def table(self) -> pd.DataFrame:
        """The factors per bin (rows: p ranges), for the notebook."""
        idx = [f"{a:.2f}-{b:.2f}" for a, b in zip(self.edges[:-1], self.edges[1:], strict=True)]
        return pd.DataFrame(dict(self.factors), index=pd.Index(idx, name="p (GeV/c)"))


# ------------------------------------------------------------------------------- scores
#: species averaged by the macro-F1 "without electrons"
NO_ELECTRONS = ("pi", "K", "p")


def species_f1(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """``F1_<species>`` for e, pi, K, p, ``macro_f1`` over the four and ``macro_f1_no_e`` over
    π, K, p (the electrons are 2 % of the tracks: their F1 moves the macro average alone)."""
    t = species_scores(y_true, y_pred)
    out = {f"F1_{s}": float(t.loc[s, "F1"]) for s in SPECIES}
    out["macro_f1"] = float(np.nanmean([out[f"F1_{s}"] for s in SPECIES]))
    out["macro_f1_no_e"] = float(np.nanmean([out[f"F1_{s}"] for s in NO_ELECTRONS]))
    return out


#: truth-free criteria of λ: the column and how a λ is chosen by it
CRITERIA = {
    "domain probe closest to 0.5": ("domain_probe_acc", "closest_to_half"),
    "domain head closest to 0.5": ("domain_head_acc", "closest_to_half"),
    "F1 on TOF-tagged data tracks (TOF hidden)": ("data_tof_tag_f1", "max"),
}


def criterion_picks(
    sweep: pd.DataFrame, metric: str = "data_macro_f1", *, drop_failed: bool = True
) -> pd.DataFrame:
    """Per seed and truth-free criterion (:data:`CRITERIA`), the λmax it picks among the trainings
    of that seed (failed ones dropped: the failure detector needs no truth), the ``metric`` there,
    the best ``metric`` of the seed over all λmax (truth) and the loss against it. Also the rows
    "best on data (truth)" and "no adaptation (λ = 0)" where λ = 0 is in the sweep."""
    rows = []
    for seed, t in sweep.groupby("seed", sort=True):
        ok = t[~t["failed"]] if drop_failed and (~t["failed"]).any() else t
        best = t[metric].max()
        picks = {"best on data (truth)": t.loc[t[metric].idxmax()]}
        for name, (col, how) in CRITERIA.items():
            key = (ok[col] - 0.5).abs() if how == "closest_to_half" else -ok[col]
            picks[name] = ok.loc[key.idxmin()]
        if (t["lambda_max"] == 0).any():
            picks["no adaptation (λ = 0)"] = t[t["lambda_max"] == 0].iloc[0]
        for name, r in picks.items():
            rows.append({"seed": seed, "criterion": name, "lambda_max": r["lambda_max"],
                         metric: r[metric], "loss_vs_best": best - r[metric]})  # fmt: skip
    return pd.DataFrame(rows)


def criterion_verdicts(
    picks: pd.DataFrame, metric: str = "data_macro_f1", *, tolerance: float = 0.001
) -> pd.DataFrame:
    """Per truth-free criterion, its loss against the best λ of each seed (mean ± spread) and two
    paired verdicts (:func:`o2ml.models.repeat.compare`): against the best λ and against no
    adaptation (λ = 0). ``choice``: "chooses well" (a tie with the best λ and a mean loss within
    ``tolerance``), "worse than the best" (beyond the spread) or "undecided" (a tie only because
    the loss varies from seed to seed by more than it costs on average)."""
    wide = picks.pivot(index="seed", columns="criterion", values=metric)
    rows = []
    for name in CRITERIA:
        if name not in wide:
            continue
        v_best = repeat.compare(wide[name], wide["best on data (truth)"],
                                (name, "best λ"), paired=True)  # fmt: skip
        row = {
            "criterion": name,
            "loss_mean": float(-v_best.difference),
            "loss_std": float((wide["best on data (truth)"] - wide[name]).std(ddof=1))
            if len(wide) > 1
            else 0.0,
            "picks": ", ".join(
                f"{x:g}" for x in picks.loc[picks["criterion"] == name, "lambda_max"]
            ),
            "vs best λ": "tie" if v_best.winner is None else f"{v_best.winner} wins",
            "choice": "worse than the best"
            if v_best.winner is not None
            else ("chooses well" if -v_best.difference <= tolerance else "undecided"),
            "n": v_best.n,
        }
        if "no adaptation (λ = 0)" in wide:
            v0 = repeat.compare(wide[name], wide["no adaptation (λ = 0)"], (name, "λ = 0"),
                                paired=True)  # fmt: skip
            row["vs λ = 0"] = "tie" if v0.winner is None else f"{v0.winner} wins"
        rows.append(row)
    return pd.DataFrame(rows).set_index("criterion")


# ------------------------------------------------------------------------------- gains
def gains(
    table: pd.DataFrame,
    reference: str,
    metrics: Sequence[str],
    *,
    by: str = "method",
    seed_column: str = "seed",
) -> pd.DataFrame:
    """Each method of ``table`` (one row per method and seed) minus ``reference`` on each metric:
    mean ± spread of the per-seed difference and the paired verdict of
    :func:`o2ml.models.repeat.compare` ("wins", "loses" or "tie"; n < 3 seeds: a smoke test)."""
    ref = table[table[by] == reference].set_index(seed_column)
    rows = []
    for method, t in table.groupby(by, sort=False):
        if method == reference:
            continue
        t = t.set_index(seed_column).loc[ref.index]
        for m in metrics:
            v = repeat.compare(t[m], ref[m], (str(method), reference), paired=True)
            rows.append({
                "method": method, "metric": m, "gain": v.difference, "spread": v.spread, "n": v.n,
                "verdict": "tie" if v.winner is None else ("wins" if v.winner == method else "loses"),
                "smoke": v.smoke,
            })  # fmt: skip
    return pd.DataFrame(rows)


__all__ = [
    "CALIBRATED",
    "CRITERIA",
    "NO_ELECTRONS",
    "InputCalibration",
    "criterion_picks",
    "criterion_verdicts",
    "gains",
    "species_f1",
    "training_failures",
]
