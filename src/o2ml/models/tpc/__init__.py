"""TPC dE/dx calibration for O2Physics' pidTPC (notebook 05).

* :mod:`~o2ml.models.tpc.inputs`: the pidTPC network contract (inputs, target, nsigma);
* :mod:`~o2ml.models.tpc.splines`: the Run 2-style factorised, iterated splines (the baseline);
* :mod:`~o2ml.models.tpc.evaluate`: flatness of nsigma, truth closure, separation, purity, cost;
* :mod:`~o2ml.models.tpc.network`: the PyTorch networks (a teacher ensemble, a distilled
  student) with ``predict``, ``save``, ``load`` and ``to_onnx`` in the pidTPC contract;
* :mod:`~o2ml.models.tpc.deploy`: the ``pid-tpc-service`` dpl-config section that runs the ONNX
  file (the network on for the trained species only).

``import o2ml.models.tpc`` does not import torch: the functions that build a network do.
"""

from . import deploy, evaluate, inputs, network, splines

__all__ = [
    "deploy",
    "evaluate",
    "inputs",
    "network",
    "splines",
]
