"""Which MC rows are signal, as O2Physics labels them: the definition of each channel's module
(``is_signal`` and ``MC_LABEL_COLUMNS`` of :mod:`o2ml.channels.ds`, :mod:`~o2ml.channels.lc`,
:mod:`~o2ml.channels.dplus`), found by the table's name.

A reconstructed MC candidate is signal when the MC matching found the channel's decay (its flags,
signed with the charge), its origin is prompt or non-prompt (``fOriginMcRec``), and, for
channels with two mass hypotheses per candidate, the row's is the true one. Other channels and
reflections (the wrong hypothesis of a true decay) are not signal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ColumnNotFoundError
from ..schema import require_columns
from . import dplus, ds, lc
from .ds import row_hypothesis

__all__ = ["MC_LABEL_COLUMNS", "is_signal", "row_hypothesis"]

_BY_TABLE = {m.TABLE: m for m in (ds, lc, dplus)}
#: the MC columns each table's signal definition reads
MC_LABEL_COLUMNS = {t: m.MC_LABEL_COLUMNS for t, m in _BY_TABLE.items()}


def is_signal(df: pd.DataFrame, table: str) -> np.ndarray:
    """Boolean mask of the rows of an MC table that are signal (the channel's definition)."""
    if table not in _BY_TABLE:
        raise ColumnNotFoundError(
            f"o2ml has no MC signal definition for table {table!r}; known: {sorted(_BY_TABLE)}."
        )
    what = f"The O2Physics signal definition of {table} (MC candidates of the tree creator)"
    require_columns(df, MC_LABEL_COLUMNS[table], what)
    return _BY_TABLE[table].is_signal(df)
