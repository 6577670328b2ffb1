"""Per decay channel: what O2Physics' selectors compute, so that an exported model runs there.

:mod:`o2ml.channels.selectors` holds, for each supported ``MlResponse`` selector (Ds, Λc, D⁺),
its task name and every feature name it offers, mapped to the tree column holding the same value;
:mod:`o2ml.channels.signal` which MC rows are signal, as O2Physics labels them;
:mod:`o2ml.channels.ds` and :mod:`o2ml.channels.lc` the recipe of each notebook's channel
(table, selector, feature sets, sidebands, reference cuts).
"""

from . import ds, lc
from .selectors import (
    ASSUMED_PT_CUT,
    DPLUS_SELECTOR,
    DS_SELECTOR,
    LC_SELECTOR,
    SELECTORS,
    TUTORIAL_TASK,
    CustomTask,
    Feature,
    PtCut,
    Selector,
    UnsupportedFeatureError,
    find_selector,
)
from .signal import MC_LABEL_COLUMNS, is_signal, row_hypothesis

#: the channel modules by sample name (``o2ml generate ds``): generic code looks a channel up
#: here instead of branching on its name
CHANNELS = {"ds": ds, "lc": lc}

__all__ = [
    "ASSUMED_PT_CUT",
    "CHANNELS",
    "DPLUS_SELECTOR",
    "DS_SELECTOR",
    "LC_SELECTOR",
    "MC_LABEL_COLUMNS",
    "SELECTORS",
    "TUTORIAL_TASK",
    "CustomTask",
    "Feature",
    "PtCut",
    "Selector",
    "UnsupportedFeatureError",
    "ds",
    "find_selector",
    "is_signal",
    "lc",
    "row_hypothesis",
]
