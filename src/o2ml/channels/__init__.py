"""Per decay channel: what O2Physics' selectors compute, so that an exported model runs there.

:mod:`o2ml.channels.selectors` holds, for each supported ``MlResponse`` selector (Ds, Λc, D⁺),
its task name and every feature name it offers, mapped to the tree column holding the same value.
"""

from .selectors import (
    DPLUS_SELECTOR,
    DS_SELECTOR,
    LC_SELECTOR,
    SELECTORS,
    TUTORIAL_TASK,
    CustomTask,
    Feature,
    Selector,
    UnsupportedFeatureError,
    find_selector,
)

__all__ = [
    "DPLUS_SELECTOR",
    "DS_SELECTOR",
    "LC_SELECTOR",
    "SELECTORS",
    "TUTORIAL_TASK",
    "CustomTask",
    "Feature",
    "Selector",
    "UnsupportedFeatureError",
    "find_selector",
]
