"""Which MC rows are signal, as O2Physics labels them.

A reconstructed MC candidate is Ds (or Λc) signal when the MC matching found the decay channel
(``fFlagMcMatchRec`` / ``fFlagMcDecayChanRec``, signed with the charge), its origin is prompt or
non-prompt (``fOriginMcRec``), and the row's mass hypothesis is the true one (the tree creators
write one row per hypothesis; ``fIsCandidateSwapped`` says which one the decay has). D+ -> K K pi
candidates, other channels and reflections (the wrong hypothesis of a true decay) are not signal.

Sources: O2Physics ``PWGHF/TableProducer/treeCreatorDsToKKPi.cxx`` (signal partition:
``|flagMcMatchRec| == DsToPiKK && flagMcDecayChanRec == DsToPhiPi``, row hypothesis from
``isCandidateSwapped``), ``treeCreatorLcToPKPi.cxx`` (``determineSignalBgStatus``: ``|flagMc| ==
LcToPKPi`` with (swapped 0, pKpi) or (swapped 1, piKp)), ``PWGHF/Core/DecayChannels.h``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ..errors import ColumnNotFoundError
from ..schema import DecayChannelMain, DecayChannelResonant, Origin

__all__ = ["MC_LABEL_COLUMNS", "is_signal", "row_hypothesis"]


def row_hypothesis(df: pd.DataFrame) -> np.ndarray:
    """The mass hypothesis of each Ds row: 0 KKpi (``fIsSelDsToKKPi`` >= 0), 1 piKK."""
    return np.where(df["fIsSelDsToKKPi"].to_numpy() >= 0, 0, 1)


def _ds(df: pd.DataFrame) -> np.ndarray:
    return (
        (np.abs(df["fFlagMcMatchRec"].to_numpy()) == DecayChannelMain.DsToPiKK)
        & (df["fFlagMcDecayChanRec"].to_numpy() == DecayChannelResonant.DsToPhiPi)
        & np.isin(df["fOriginMcRec"].to_numpy(), (Origin.PROMPT, Origin.NONPROMPT))
        & (df["fIsCandidateSwapped"].to_numpy() == row_hypothesis(df))
    )


def _lc(df: pd.DataFrame) -> np.ndarray:
    swapped = df["fIsCandidateSwapped"].to_numpy()
    hypothesis = df["fCandidateSelFlag"].to_numpy()
    return (
        (np.abs(df["fFlagMc"].to_numpy()) == DecayChannelMain.LcToPKPi)
        & np.isin(df["fOriginMcRec"].to_numpy(), (Origin.PROMPT, Origin.NONPROMPT))
        & (((swapped == 0) & (hypothesis == 1)) | ((swapped == 1) & (hypothesis == 2)))
    )


_SIGNAL: dict[str, Callable[[pd.DataFrame], np.ndarray]] = {
    "HfCandDsLites": _ds,
    "HfCandLcLites": _lc,
}
#: the MC columns each table's signal definition reads
MC_LABEL_COLUMNS = {
    "HfCandDsLites": (
        "fFlagMcMatchRec", "fFlagMcDecayChanRec", "fOriginMcRec", "fIsCandidateSwapped",
        "fIsSelDsToKKPi",
    ),
    "HfCandLcLites": ("fFlagMc", "fOriginMcRec", "fIsCandidateSwapped", "fCandidateSelFlag"),
}  # fmt: skip


def is_signal(df: pd.DataFrame, table: str) -> np.ndarray:
    """Boolean mask of the rows of an MC table that are signal (see the module docstring)."""
    if table not in _SIGNAL:
        raise ColumnNotFoundError(
            f"o2ml has no MC signal definition for table {table!r}; known: {sorted(_SIGNAL)}."
        )
    missing = [c for c in MC_LABEL_COLUMNS[table] if c not in df.columns]
    if missing:
        raise ColumnNotFoundError(
            f"MC candidates of {table} lack {missing}: the signal definition of O2Physics needs "
            f"{list(MC_LABEL_COLUMNS[table])} (is this an MC file of the tree creator?)."
        )
    return _SIGNAL[table](df)
