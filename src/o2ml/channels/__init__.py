"""Per decay channel: what O2Physics' selectors compute, so that an exported model runs there.

:mod:`o2ml.channels.selectors` holds, for each supported ``MlResponse`` selector (Ds, Λc, D⁺),
its task name and every feature name it offers, mapped to the tree column holding the same value;
:mod:`o2ml.channels.signal` which MC rows are signal, as O2Physics labels them;
:mod:`o2ml.channels.ds`, :mod:`o2ml.channels.lc` and :mod:`o2ml.channels.dplus` everything that
belongs to one channel (table, selector, feature sets, sidebands, reference cuts, the physics of
its synthetic sample, ``GENERATOR``: a :class:`ThreeProngPhysics`, :class:`KKPiPhysics` or
:class:`PKPiPhysics`, pure data that :mod:`o2ml.toymc` draws from); :data:`CHANNELS` and
:func:`get` find them by name.
"""

from . import dplus, ds, lc, selectors, signal
from ._spec import CharmPhysics, KKPiPhysics, PartnerPeak, PKPiPhysics, ThreeProngPhysics
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
#: here (or with :func:`get`) instead of branching on its name. Each module has the same names:
#: NAME, MACRO_CHANNEL, SELECTOR, TABLE, SPECIES, MASS, MASS_LABEL, PARTNER_PEAK, PEAK_LABELS,
#: SIDEBANDS, FEATURES, SCAN_OPTIONS, MC_LABEL_COLUMNS, is_signal, GENERATOR, SAMPLE_SIZES (and
#: its own extras).
CHANNELS = {m.NAME: m for m in (ds, lc, dplus)}


def get(name: str):
    """The channel module called ``name``: its sample name (``"dplus"``), the D2H macros'
    channel (``"DplusToPiKPi"``), its signal species (``"Dplus"``), its table or selector task.
    An unknown name is a :class:`BadArgumentError` listing the channels."""
    from ..errors import BadArgumentError

    for m in CHANNELS.values():
        if name in (m.NAME, m.MACRO_CHANNEL, m.SPECIES, m.TABLE, m.SELECTOR.task):
            return m
    raise BadArgumentError(
        f"unknown channel {name!r}; o2ml knows "
        + ", ".join(f"{m.NAME} ({m.MACRO_CHANNEL}, table {m.TABLE})" for m in CHANNELS.values())
        + "."
    )


__all__ = [
    "ASSUMED_PT_CUT",
    "CHANNELS",
    "DPLUS_SELECTOR",
    "DS_SELECTOR",
    "LC_SELECTOR",
    "MC_LABEL_COLUMNS",
    "SELECTORS",
    "TUTORIAL_TASK",
    "CharmPhysics",
    "CustomTask",
    "Feature",
    "KKPiPhysics",
    "PKPiPhysics",
    "PartnerPeak",
    "PtCut",
    "Selector",
    "ThreeProngPhysics",
    "UnsupportedFeatureError",
    "dplus",
    "ds",
    "find_selector",
    "get",
    "is_signal",
    "lc",
    "row_hypothesis",
    "selectors",
    "signal",
]
