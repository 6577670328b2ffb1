"""PID with the ITS2 cluster sizes: tagging, the β regression, and the classical nσ baseline.

:mod:`~o2ml.models.pid.tagging` labels tracks in data (TPC, TOF, V0 decays);
:mod:`~o2ml.models.pid.beta` trains the β regression (:class:`BetaRegressor`: ``predict``,
``save``, ``load``, ``to_onnx``) and its truncated-mean baseline;
:mod:`~o2ml.models.pid.nsigma` is the nσ classifier calibrated per domain. The package's names
are those of the three modules.
"""

from . import beta, nsigma, tagging
from .beta import *  # noqa: F403
from .nsigma import *  # noqa: F403
from .tagging import *  # noqa: F403

__all__ = sorted({*beta.__all__, *nsigma.__all__, *tagging.__all__})
