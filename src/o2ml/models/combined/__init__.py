"""Combined PID with missing detectors (notebook 06): the comparison of Kabus, CHEP 2023.

* :mod:`~o2ml.models.combined.inputs`: the track features per detector (kinematics, TPC, TOF,
  TRD) from the O2Physics PIDML tables, -999 where the TOF or the TRD is missing;
* :mod:`~o2ml.models.combined.model`: :class:`~o2ml.models.combined.model.CombinedPid`
  (``predict``, ``save``, ``load``, ``to_onnx``) and one training function for the four methods
  (:data:`~o2ml.models.combined.model.METHODS`: mean imputation, linear-regression imputation,
  an ensemble of one network per detector pattern, attention over a feature-set embedding; their
  PyTorch modules are private), with an optional domain-adversarial head;
* :mod:`~o2ml.models.combined.evaluate`: the published comparison table measured here, F1 as
  mean ± spread over training seeds (``models.repeat``), winners or ties, a harder regime.

``import o2ml.models.combined`` does not import torch: the functions that build a network do.
"""

from . import evaluate, inputs, model

__all__ = [
    "evaluate",
    "inputs",
    "model",
]
