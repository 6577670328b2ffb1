"""Models, each with one shape: train -> a model with ``predict``, ``save(path, *, overwrite)``,
``Model.load(path)`` and ``to_onnx(path, *, overwrite)``, stored as the model file plus a
``<stem>.meta.json`` sidecar (XGBoost JSON or a PyTorch ``state_dict``; never pickle).

* :mod:`~o2ml.models.bdt`: the hipe4ml/XGBoost layer (class handlers, balanced sets, Optuna
  studies, ``save_model``/``load_model``); :mod:`~o2ml.models.training`: one BDT per pT bin,
  held-out comparison, the sideband training set;
* :mod:`~o2ml.models.autoencoder`: the MSE autoencoder (:class:`AutoencoderModel`);
* :mod:`~o2ml.models.pid`: ITS2 β regression, tagging and the nσ baseline;
* :mod:`~o2ml.models.dann`: the domain-adversarial PID classifier;
* :mod:`~o2ml.models.tpc`: the TPC dE/dx calibration (splines, networks for pidTPC);
* :mod:`~o2ml.models.combined`: PID with missing detectors (imputation, ensemble, attention + FSE);
* :mod:`~o2ml.models.cost_aware`: the latency-aware Optuna search;
* :mod:`~o2ml.models.repeat`: trainings repeated over seeds, mean ± spread, winner or tie.

Importing the package imports every module but neither torch nor hipe4ml nor XGBoost: the
modules import those inside the functions that use them.
"""

from . import autoencoder, bdt, combined, cost_aware, dann, pid, repeat, tpc, training

__all__ = [
    "autoencoder",
    "bdt",
    "combined",
    "cost_aware",
    "dann",
    "pid",
    "repeat",
    "tpc",
    "training",
]
