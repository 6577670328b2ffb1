"""How well the DANN classifies, and how domain-invariant its features are.

* per-species purity (precision), efficiency (recall) and F1 of the predicted class against true
  labels, the macro-F1 over the species present, and the table format of 'ML activities in ALICE' (2023, from M. Kabus, CHEP 2023; docs/physics.md) (pi, p, K);
* the same vs momentum (:func:`o2ml.physics.pid_performance.selection_performance`);
* a domain probe: a *fresh* classifier trained to tell MC from data on frozen features. Its
  held-out accuracy is the diagnostic of the DANN papers (0.5: the domains are indistinguishable).
  A fresh probe is used instead of the network's own domain head, which the adversarial game
  keeps near its current equilibrium and therefore underestimates what is still separable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..._extras import load
from ...errors import BadArgumentError
from ...physics.pid_performance import selection_performance
from ._data import FEATURES, SPECIES, TOF_TAG_SPECIES, Tracks

#: species printed as in that table
SEED_TABLE_SPECIES = ("pi", "p", "K", "e")  # the table's three (Kabus, CHEP 2023), then e
#: species names as printed
SPECIES_LABELS = {"e": "e", "pi": "π", "K": "K", "p": "p"}


def _check(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise BadArgumentError(f"{y_true.size} true labels but {y_pred.size} predictions.")
    keep = y_true >= 0  # -1: another particle, not scored
    return y_true[keep], y_pred[keep]


def species_scores(y_true: np.ndarray, y_pred: np.ndarray) -> pd.DataFrame:
    """Purity, efficiency and F1 per species (rows :data:`SPECIES`), with counts."""
    y_true, y_pred = _check(y_true, y_pred)
    rows = []
    for k, s in enumerate(SPECIES):
        true, sel = y_true == k, y_pred == k
        ok = np.count_nonzero(true & sel)
        pur = ok / sel.sum() if sel.any() else np.nan
        eff = ok / true.sum() if true.any() else np.nan
        f1 = 2 * ok / (sel.sum() + true.sum()) if (sel.any() or true.any()) else np.nan
        rows.append((s, int(true.sum()), int(sel.sum()), pur, eff, f1))
    cols = ["species", "n_true", "n_selected", "purity", "efficiency", "F1"]
    return pd.DataFrame(rows, columns=cols).set_index("species")


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean F1 over the species that occur in ``y_true``."""
    t = species_scores(y_true, y_pred)
    return float(t.loc[t["n_true"] > 0, "F1"].mean())


def without_tof(X: np.ndarray) -> np.ndarray:
    """A copy of model inputs with the TOF hidden (``fBeta`` NaN, PIDML's missing TOF)."""
    X = np.array(X, dtype=np.float32, copy=True)
    X[:, FEATURES.index("fBeta")] = np.nan
    return X


def tagged_macro_f1(
    tags: np.ndarray, y_pred: np.ndarray, species: Sequence[str] = TOF_TAG_SPECIES
) -> float:
    """Macro-F1 over ``species`` (default all four) against truth-free tags (the TOF tags of
    :func:`o2ml.models.dann.tof_tags`): F1 of each species counts the tagged tracks only (-1:
    untagged), so the misidentification left in the tags enters as it does in real data."""
    from sklearn.metrics import f1_score

    tags, y_pred = np.asarray(tags), np.asarray(y_pred)
    keep = tags >= 0
    labels = [SPECIES.index(s) for s in species]
    return float(
        f1_score(tags[keep], y_pred[keep], labels=labels, average="macro", zero_division=0)
    )


def macro_f1_difference(
    y_true: np.ndarray,
    pred_a: np.ndarray,
    pred_b: np.ndarray,
    *,
    n_boot: int = 200,
    seed: int = 0,
) -> tuple[float, float]:
    """macro-F1 of ``pred_b`` minus that of ``pred_a`` on the same tracks, and its standard
    deviation over paired bootstrap resamples of the tracks (Poisson weights, seeded): whether a
    difference between two models is more than the statistics of the test sample."""
    y, a = _check(y_true, pred_a)
    _, b = _check(y_true, pred_b)
    k = len(SPECIES)
    present = np.bincount(y, minlength=k) > 0

    def diff(w: np.ndarray) -> float:
        f1 = []
        for pred in (a, b):
            cm = np.bincount(y * k + pred, weights=w, minlength=k * k).reshape(k, k)
            total = cm.sum(axis=0) + cm.sum(axis=1)
            f1.append((2 * np.diag(cm) / np.where(total > 0, total, 1.0))[present].mean())
        return float(f1[1] - f1[0])

    rng = np.random.default_rng(seed)
    boots = [diff(rng.poisson(1.0, len(y)).astype(float)) for _ in range(n_boot)]
    return diff(np.ones(len(y))), float(np.std(boots))


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    y_true, y_pred = _check(y_true, y_pred)
    return float(np.mean(y_true == y_pred))


def seed_table(
    results: Mapping[str, tuple[np.ndarray, np.ndarray]],
    species: Sequence[str] = SEED_TABLE_SPECIES,
) -> pd.DataFrame:
    """``{model: (y_true, y_pred)}`` -> that table (docs/physics.md): per species purity, efficiency,
    F1 (columns), one row per model, plus accuracy and macro-F1 over all species."""
    rows = {}
    for name, (y_true, y_pred) in results.items():
        t = species_scores(y_true, y_pred)
        row = {
            (SPECIES_LABELS[s], m): t.loc[s, m]
            for s in species
            for m in ("purity", "efficiency", "F1")
        }
        row[("all", "accuracy")] = accuracy(y_true, y_pred)
        row[("all", "macro F1")] = macro_f1(y_true, y_pred)
        rows[name] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    out.index.name = "model"
    return out


def scores_vs_p(
    y_true: np.ndarray, y_pred: np.ndarray, p: np.ndarray, edges: Sequence[float]
) -> pd.DataFrame:
    """Efficiency, purity (binomial errors) and F1 per species and momentum bin (tidy table
    with the columns of :func:`o2ml.physics.pid_performance.selection_performance` + ``F1``)."""
    y_true, y_pred, p = np.asarray(y_true), np.asarray(y_pred), np.asarray(p)
    keep = y_true >= 0
    selected = {s: y_pred[keep] == k for k, s in enumerate(SPECIES)}
    t = selection_performance(selected, y_true[keep], p[keep], edges, species=SPECIES)
    t["F1"] = 2 * t["n_correct"] / (t["n_true"] + t["n_selected"]).where(lambda n: n > 0)
    return t


def evaluate(
    model, mc: Tracks, data: Tracks, *, probe_seed: int = 0, probe: bool = True
) -> dict[str, float]:
    """Held-out scores of a :class:`~o2ml.models.dann.DANNClassifier`: accuracy and macro-F1 on
    each domain with labels; ``<domain>_tof_tag_f1``, the macro-F1 on the TOF-tagged tracks
    scored with their TOF hidden (:func:`without_tof`; no truth needed: with TOF the tagged tracks
    are trivial, without it they test the TPC and TRD inputs); the network's domain head accuracy;
    and (``probe``) the accuracy of a fresh domain probe on the frozen features."""
    out: dict[str, float] = {}
    for t in (mc, data):
        if t.y is not None or t.tags is not None:
            pred = model.predict(t)
        if t.y is not None:
            out[f"{t.domain}_accuracy"] = accuracy(t.y, pred)
            out[f"{t.domain}_macro_f1"] = macro_f1(t.y, pred)
        if t.tags is not None and np.any(t.tags >= 0):
            tagged = t.tags >= 0
            blind = model.predict(without_tof(t.X[tagged]))
            out[f"{t.domain}_tof_tag_f1"] = tagged_macro_f1(t.tags[tagged], blind)
    right = [(model.domain_score(t) > 0.5) == (t.domain == "data") for t in (mc, data)]
    out["domain_head_acc"] = float(np.mean(np.concatenate(right)))
    if probe:
        out["domain_probe_acc"] = domain_probe_accuracy(
            model.embed(mc), model.embed(data), seed=probe_seed
        )
    return out


# ------------------------------------------------------------------------------- domain probe
def domain_probe_accuracy(
    features_mc: np.ndarray,
    features_data: np.ndarray,
    *,
    seed: int = 0,
    n_max: int = 20_000,
    epochs: int = 10,
    hidden: int = 64,
    threads: int = 1,
) -> float:
    """Held-out accuracy of a fresh MLP that tells MC (0) from data (1) on frozen features.

    Equal numbers of tracks per domain (at most ``n_max``, seeded choice) so that 0.5 means
    indistinguishable; half train the probe (Adam, ``epochs``), half measure its accuracy.
    """
    torch = load("torch", "torch")
    nn = torch.nn
    rng = np.random.default_rng(seed)
    n = min(len(features_mc), len(features_data), n_max)
    if n < 10:
        raise BadArgumentError(f"The domain probe needs >= 10 tracks per domain; got {n}.")
    a = features_mc[rng.choice(len(features_mc), n, replace=False)]
    b = features_data[rng.choice(len(features_data), n, replace=False)]
    X = np.concatenate([a, b]).astype(np.float32)
    y = np.concatenate([np.zeros(n), np.ones(n)]).astype(np.float32)
    X = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
    order = rng.permutation(2 * n)
    train, test = order[:n], order[n:]
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        probe = nn.Sequential(
            nn.Linear(X.shape[1], hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 1),
        )
        opt = torch.optim.Adam(probe.parameters(), lr=1e-3)
        xt, yt = torch.from_numpy(X[train]), torch.from_numpy(y[train])
        loss_fn = nn.BCEWithLogitsLoss()
        for _ in range(epochs):
            perm = torch.randperm(len(train), generator=gen)
            for i in range(0, len(train), 256):
                idx = perm[i : i + 256]
                opt.zero_grad(set_to_none=True)
                loss_fn(probe(xt[idx]).squeeze(1), yt[idx]).backward()
                opt.step()
        with torch.no_grad():
            pred = probe(torch.from_numpy(X[test])).squeeze(1) > 0
    finally:
        torch.set_num_threads(before)
    return float(np.mean(pred.numpy() == (y[test] > 0.5)))


def embedding_2d(
    features: Mapping[str, np.ndarray],
    method: str = "pca",
    n_max: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """2D map of learned features of several domains (``{"MC": F_mc, "data": F_data}``).

    ``method`` ``"pca"`` (fast, linear) or ``"tsne"`` (scikit-learn, slower, local structure).
    At most ``n_max`` tracks per domain (seeded choice). Returns columns x, y, domain.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    rng = np.random.default_rng(seed)
    parts, names = [], []
    for name, f in features.items():
        f = np.asarray(f, dtype=np.float32)
        idx = rng.choice(len(f), min(n_max, len(f)), replace=False)
        parts.append(f[idx])
        names += [name] * len(idx)
    X = np.concatenate(parts)
    X = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
    if method == "pca":
        xy = PCA(n_components=2, random_state=seed).fit_transform(X)
    elif method == "tsne":
        xy = TSNE(n_components=2, init="pca", perplexity=30, random_state=seed).fit_transform(X)
    else:
        raise BadArgumentError(f"method must be 'pca' or 'tsne', not {method!r}.")
    return pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "domain": names})


__all__ = [
    "SEED_TABLE_SPECIES",
    "accuracy",
    "domain_probe_accuracy",
    "embedding_2d",
    "evaluate",
    "macro_f1",
    "macro_f1_difference",
    "scores_vs_p",
    "seed_table",
    "species_scores",
    "tagged_macro_f1",
    "without_tof",
]
