"""One shape for every o2ml model: ``predict``, ``save(path, *, overwrite)``, ``load``,
``to_onnx(path, *, overwrite)``, and one sidecar name (``<stem>.meta.json``)."""

from __future__ import annotations

import inspect

import pytest

from o2ml.models import autoencoder, dann, pid
from o2ml.models._storage import SIDECAR, sidecar_path
from o2ml.models.combined.model import CombinedPid
from o2ml.models.tpc import network as tpc_network

MODELS = [
    autoencoder.AutoencoderModel,
    dann.DANNClassifier,
    pid.BetaRegressor,
    tpc_network.TpcNetwork,
    CombinedPid,
]


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
def test_every_model_has_the_same_methods_with_overwrite_keyword_only(model):
    for name in ("predict", "save", "to_onnx"):
        assert callable(getattr(model, name, None)), f"{model.__name__}.{name}"
    assert isinstance(inspect.getattr_static(model, "load"), classmethod)
    for name in ("save", "to_onnx"):
        params = inspect.signature(getattr(model, name)).parameters
        assert params["overwrite"].kind is inspect.Parameter.KEYWORD_ONLY, (
            f"{model.__name__}.{name}"
        )
        assert params["overwrite"].default is False


def test_the_sidecar_sits_next_to_the_model_under_one_name(tmp_path):
    assert SIDECAR == ".meta.json"
    assert sidecar_path(tmp_path / "ae.pt") == tmp_path / "ae.meta.json"
    assert sidecar_path(tmp_path / "beta.json") == tmp_path / "beta.meta.json"
