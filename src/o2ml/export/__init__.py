"""What leaves o2ml for the real ALICE software, in its own formats.

* :mod:`~o2ml.export.onnx`: every converter to ONNX (XGBoost via onnxmltools, PyTorch) with
  o2ml's metadata, and reading it back;
* :mod:`~o2ml.export.o2physics`: the ``MlResponse`` configurables of an O2Physics selector and
  a Python twin of ``o2::analysis::MlResponse`` that applies them;
* :mod:`~o2ml.export.model_dir`: a model folder (ONNX + XGBoost JSON per pT bin + the JSON
  configuration), the input of ``o2ml apply`` and of a Hyperloop wagon;
* :mod:`~o2ml.export.choices`: the configuration of thresholds chosen per pT bin;
* :mod:`~o2ml.export.files`: writing without ever replacing a file (numbered names).

The modules load on first use (``from o2ml.export import onnx``).
"""

from .._lazy import submodules

__all__ = ["choices", "files", "model_dir", "o2physics", "onnx"]
__getattr__, __dir__ = submodules(__name__, __all__)
