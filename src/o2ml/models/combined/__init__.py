"""Combined PID with missing detectors (notebook 06): the comparison of Kabus, CHEP 2023.

* :mod:`~o2ml.models.combined.inputs`: the track features per detector (kinematics, TPC, TOF,
  TRD) from the O2Physics PIDML tables, -999 where the TOF or the TRD is missing;
* :mod:`~o2ml.models.combined.nets`: the four methods as PyTorch modules on the raw features
  (mean imputation, linear-regression imputation, an ensemble of one network per detector
  pattern, attention over a feature-set embedding);
* :mod:`~o2ml.models.combined.model`: :class:`~o2ml.models.combined.model.CombinedPid`
  (``predict``, ``save``, ``load``, ``to_onnx``) and one training function for all methods,
  with an optional domain-adversarial head;
* :mod:`~o2ml.models.combined.evaluate`: the published comparison table measured here, F1 as
  mean ± spread over training seeds (``models.repeat``), winners or ties, a harder regime.

The modules load on first use, so that ``import o2ml.models.combined`` does not import torch.
"""

from ..._lazy import submodules

__all__ = ["evaluate", "inputs", "model", "nets"]
__getattr__, __dir__ = submodules(__name__, __all__)
