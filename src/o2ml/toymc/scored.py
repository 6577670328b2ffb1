"""Scored charm candidates without a model: what a trained BDT's output looks like, in seconds.

:func:`scored_candidates` draws Ds and D+ -> KKpi candidates over an exponential background
with the three score columns of the charm BDTs (``score_bkg``, ``score_prompt``,
``score_nonprompt``: Dirichlet draws whose parameters depend on the true class), MC signal with
``fOriginMcRec``, and the expected-signal table that counts the injected signal, so that scans
close on the truth. The dashboards' tests and benchmarks use it at 10^4 to 10^7 candidates;
:func:`o2ml.toymc.generate.draw` (``draw("ds", ...)``) is the full generator (features, trees,
truth).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..channels import ds
from ..physics import constants
from ..schema import SCORE_COLUMNS, Origin

__all__ = ["scored_candidates"]

#: the channel of the scored toy: Ds -> KKπ with its D+ -> KKπ partner peak (o2ml.channels.ds)
CHANNEL = ds


def scored_candidates(
    n_data: int, n_mc: int, seed: int = 1, pt_range: tuple[float, float] = (2.0, 12.0)
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Scored Ds candidates without training: (data, MC, expected-signal table).

    Mass: exponential background, a D+ and a Ds Gaussian; scores: Dirichlet draws whose
    parameters depend on the true class (background, prompt, non-prompt). The expected-signal
    table counts the injected signal, so scans close on the truth.
    """
    rng = np.random.default_rng(seed)
    species, partner = CHANNEL.SPECIES, CHANNEL.PARTNER_PEAK
    lo, hi = pt_range
    cls = rng.choice(
        5, size=n_data, p=[0.9949, 0.003, 0.0006, 0.0012, 0.0003]
    )  # bkg, Ds p/np, D+ p/np
    pt = lo + rng.exponential(1.8, n_data) % (hi - lo)
    mass = 1.65 + rng.exponential(1 / 2.5, n_data) % 0.6
    ds = np.isin(cls, (1, 2))
    dplus = np.isin(cls, (3, 4))
    sigma = 0.008 + 0.0008 * pt
    mass = np.where(ds, rng.normal(CHANNEL.MASS, sigma), mass)
    mass = np.where(dplus, rng.normal(constants.mass(partner), sigma * 0.95), mass)
    alphas = np.array([[2.0, 1.0, 1.0], [1.0, 2.5, 1.2], [1.0, 1.2, 2.5]])  # by class, origin
    score_class = np.where(cls == 0, 0, np.where(np.isin(cls, (1, 3)), 1, 2))
    scores = rng.standard_gamma(alphas[score_class])
    scores /= scores.sum(axis=1, keepdims=True)
    data = pd.DataFrame(
        {
            "fM": mass,
            "fPt": pt,
            **{c: scores[:, k] for k, c in enumerate(SCORE_COLUMNS)},
        }
    )
    origin = rng.choice([int(Origin.PROMPT), int(Origin.NONPROMPT)], size=n_mc)
    mc_pt = lo + rng.exponential(2.5, n_mc) % (hi - lo)
    mc_scores = rng.standard_gamma(alphas[origin])
    mc_scores /= mc_scores.sum(axis=1, keepdims=True)
    mc = pd.DataFrame(
        {
            "fM": rng.normal(CHANNEL.MASS, 0.008 + 0.0008 * mc_pt),
            "fPt": mc_pt,
            **{c: mc_scores[:, k] for k, c in enumerate(SCORE_COLUMNS)},
            "fOriginMcRec": origin.astype(np.int8),
        }
    )
    edges = np.arange(0.0, 24.5, 0.5)

    def counts(k: int) -> list[float]:
        return np.histogram(pt[cls == k], edges)[0].astype(float).tolist()

    expected = {
        "table": "toy",
        "n_data": n_data,
        "pt_edges": edges.tolist(),
        "species": {
            species: {"prompt": counts(1), "nonprompt": counts(2)},
            partner: {"prompt": counts(3), "nonprompt": counts(4)},
        },
    }
    return data, mc, expected
