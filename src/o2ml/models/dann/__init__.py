"""Domain-adversarial PID (DANN): carry a PID classifier from simulation to data.

:mod:`~o2ml.models.dann.model` holds the classifier (:class:`DANNClassifier`: ``predict``,
``save``, ``load``, ``to_onnx``), its training (:func:`train_dann`, :func:`train_baseline`) and
the evaluation; the track inputs, the network and the metrics are private modules of this
package. Its public names are those of the model module.
"""

from . import model
from .model import *  # noqa: F403 (the package's names are model.__all__)

__all__ = list(model.__all__)
