"""What leaves o2ml for the real ALICE software, in its own formats.

* :mod:`~o2ml.export.o2physics`: the ``MlResponse`` configurables of an O2Physics selector and
  a Python twin of ``o2::analysis::MlResponse`` that applies them;
* :mod:`~o2ml.export.model_dir`: a model folder (ONNX + XGBoost JSON per pT bin + the JSON
  configuration), the input of ``o2ml apply`` and of a Hyperloop wagon;
* :mod:`~o2ml.export.choices`: the configuration of thresholds chosen per pT bin;
* :mod:`~o2ml.export.files`: writing without ever replacing a file (numbered names).

The ONNX converters and metadata live in :mod:`o2ml.onnx`, below the models that convert
themselves through them; importing ``o2ml.export.onnx`` is an error that says so.
"""

from . import choices, files, model_dir, o2physics

__all__ = [
    "choices",
    "files",
    "model_dir",
    "o2physics",
]
