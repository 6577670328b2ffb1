"""The ONNX format of o2ml's models: every converter to ONNX (XGBoost via onnxmltools, PyTorch)
with the metadata O2Physics users need to apply a model correctly, reading it back, and running it
in onnxruntime as O2Physics does.

Models convert themselves through this module (``to_onnx``); ``o2ml.export`` writes model folders
and ``o2ml.inference`` scores with it, so it sits below all three.

Contract with O2Physics (``Tools/ML/model.h``): one float input named ``input`` of shape
``[batch, n_features]`` (features in training order); tree classifiers give outputs ``label`` and
``probabilities``, regressors (e.g. the ITS2 beta regression) ``variable`` ``[batch, 1]``, and
O2Physics reads the last output. Every file o2ml writes carries, as ONNX
metadata, the feature names in order, the class labels, the pT bin, the o2ml version and the seed.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import __version__
from ._atomic import replacing
from ._extras import load
from .errors import (
    BadFileError,
    FeatureOrderError,
    InputFileNotFoundError,
    OutputExistsError,
)

INPUT_NAME = "input"
#: metadata keys written into every ONNX file (values are JSON strings)
META_FEATURES = "features"
META_CLASSES = "class_labels"
META_PT_BIN = "pt_bin"
META_VERSION = "o2ml_version"
META_SEED = "seed"


def set_metadata(model, metadata: dict) -> None:
    """Replace an ONNX model's metadata by ``metadata`` (each value JSON-encoded)."""
    del model.metadata_props[:]
    for key, value in metadata.items():
        prop = model.metadata_props.add()
        prop.key = key
        prop.value = json.dumps(value)


def write_model(model, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write an ONNX model to ``path`` (atomically; an existing file only with ``overwrite``)."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path}: the file exists; pass overwrite=True to replace it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as tmp:
        tmp.write_bytes(model.SerializeToString())
    return path


def model_metadata(
    features: Sequence[str],
    class_labels: Sequence[str],
    *,
    pt_bin: Sequence[float] | None = None,
    seed: int | None = None,
    extra: dict | None = None,
) -> dict:
    """The metadata dict o2ml writes into an ONNX file."""
    meta = {
        META_FEATURES: list(features),
        META_CLASSES: list(class_labels),
        META_PT_BIN: None if pt_bin is None else [float(x) for x in pt_bin],
        META_VERSION: __version__,
        META_SEED: seed,
    }
    meta.update(extra or {})
    return meta


def anonymous(model):
    """A copy of an XGBoost model without feature names: onnxmltools and hummingbird only
    understand the anonymous names f0, f1, ... (o2ml checks the feature order itself)."""
    clf = copy.deepcopy(model)
    clf.get_booster().feature_names = None
    return clf


def xgboost_to_onnx(
    model,
    features: Sequence[str],
    path: str | os.PathLike | None = None,
    *,
    class_labels: Sequence[str],
    pt_bin: Sequence[float] | None = None,
    seed: int | None = None,
    extra_metadata: dict | None = None,
    overwrite: bool = False,
):
    """Convert an XGBoost classifier (or regressor: ``class_labels=[]``) to ONNX with
    onnxmltools; optionally write it to ``path``.

    Returns the ``onnx.ModelProto``. A classifier's outputs are ``label`` (int64) and
    ``probabilities`` (float ``[batch, n_classes]``, two columns also for binary models); a
    regressor's ``variable`` ``[batch, 1]``.
    """
    import onnxmltools
    from onnxmltools.convert.common.data_types import FloatTensorType

    booster_features = model.get_booster().feature_names
    if booster_features is not None and list(booster_features) != list(features):
        raise FeatureOrderError(
            f"The model was trained with features {list(booster_features)}, "
            f"but the export was given {list(features)}."
        )
    onx = onnxmltools.convert_xgboost(
        anonymous(model), initial_types=[(INPUT_NAME, FloatTensorType([None, len(features)]))]
    )
    set_metadata(
        onx, model_metadata(features, class_labels, pt_bin=pt_bin, seed=seed, extra=extra_metadata)
    )
    if path is not None:
        write_model(onx, path, overwrite=overwrite)
    return onx


def torch_to_onnx(
    module,
    path: str | os.PathLike | None = None,
    *,
    output: str,
    metadata: dict,
    overwrite: bool = False,
):
    """Convert a PyTorch module of one float input ``[batch, n_features]`` and one output named
    ``output`` (dynamic batch, opset 17) to ONNX with o2ml's ``metadata`` (what
    :func:`model_metadata` returns: its features give ``n_features``); optionally write it.

    The TorchScript exporter is used on purpose: the torch.export-based one needs onnxscript,
    which the pinned environment does not have, and the plain MLPs o2ml exports convert exactly.
    The module is exported on the CPU in eval mode. Returns the ``onnx.ModelProto``.
    """
    import io
    import warnings

    import onnx

    torch = load("torch", "torch")
    if path is not None and Path(path).exists() and not overwrite:
        raise OutputExistsError(f"{path}: the file exists; pass overwrite=True to replace it.")
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # "legacy TorchScript-based exporter": on purpose
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.to("cpu").eval(), (torch.zeros(2, len(metadata[META_FEATURES])),), buffer,
            input_names=[INPUT_NAME], output_names=[output],
            dynamic_axes={INPUT_NAME: {0: "batch"}, output: {0: "batch"}}, opset_version=17,
            dynamo=False,
        )  # fmt: skip
    onx = onnx.load_from_string(buffer.getvalue())
    set_metadata(onx, dict(metadata))
    if path is not None:
        write_model(onx, path, overwrite=overwrite)
    return onx


def read_metadata(path: str | os.PathLike) -> dict:
    """The o2ml metadata of an ONNX file (values decoded from JSON)."""
    import onnx

    path = Path(path)
    if not path.exists():
        raise InputFileNotFoundError(f"{path}: no such ONNX file.")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as err:
        raise BadFileError(f"{path}: not a readable ONNX file ({err}).") from None
    out = {}
    for prop in model.metadata_props:
        try:
            out[prop.key] = json.loads(prop.value)
        except json.JSONDecodeError:
            out[prop.key] = prop.value
    return out


def session(path: str | os.PathLike, threads: int = 1):
    """An onnxruntime session on the CPU (``threads`` intra-op threads, as O2Physics' default)."""
    import onnxruntime as ort

    path = Path(path)
    if not path.exists():
        raise InputFileNotFoundError(f"{path}: no such ONNX file.")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as err:
        raise BadFileError(f"{path}: onnxruntime cannot load it ({err}).") from None


def input_width(sess) -> int | None:
    """Features per candidate the model's first input takes (None if its shape leaves it open)."""
    shape = sess.get_inputs()[0].shape
    return shape[1] if len(shape) == 2 and isinstance(shape[1], int) else None


def run(sess, X: np.ndarray) -> np.ndarray:
    """The last output of the model (what O2Physics reads): class probabilities or a score."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    return sess.run(None, {sess.get_inputs()[0].name: X})[-1]


def per_track_cost(
    path: str | os.PathLike, X: np.ndarray, *, n_single: int = 2000
) -> dict[str, float]:
    """Inference cost per row in onnxruntime (1 thread, O2Physics' default): at batch 1 (median
    of ``n_single`` calls) and in one call over all of ``X`` (best of 3), in microseconds."""
    import time

    sess = session(path, threads=1)
    X = np.ascontiguousarray(X, dtype=np.float32)
    for i in range(min(50, len(X))):
        run(sess, X[i : i + 1])
    times = np.empty(min(n_single, len(X)))
    for i in range(times.size):
        t0 = time.perf_counter()
        run(sess, X[i : i + 1])
        times[i] = time.perf_counter() - t0
    bulk = []
    for _ in range(3):
        t0 = time.perf_counter()
        run(sess, X)
        bulk.append(time.perf_counter() - t0)
    return {"batch1_us": float(np.median(times) * 1e6), "bulk_us": float(min(bulk) / len(X) * 1e6)}


def bind_single(sess):
    """A function scoring one row ``[n_features]`` through an I/O binding on preallocated
    buffers, as a C++ caller such as O2Physics binds its tensors: no allocation per call.

    It returns the model's last output for that row, which is that buffer: the next call
    overwrites it (copy it to keep it).
    """
    import onnxruntime as ort

    inp = sess.get_inputs()[0]
    x_buf = np.zeros((1, inp.shape[1]), np.float32)
    binding = sess.io_binding()
    binding.bind_ortvalue_input(inp.name, ort.OrtValue.ortvalue_from_numpy(x_buf))
    keep = []  # output buffers must outlive the binding
    for o in sess.get_outputs():
        dtype = np.int64 if "int64" in o.type else np.float32
        shape = [1] + [d if isinstance(d, int) else 1 for d in o.shape[1:]]
        buf = np.zeros(shape, dtype)
        keep.append(buf)
        binding.bind_output(o.name, "cpu", 0, dtype, shape, buf.ctypes.data)
    last = keep[-1].reshape(-1)
    run_bound = sess.run_with_iobinding

    def score(x: np.ndarray) -> np.ndarray:
        x_buf[0] = x
        run_bound(binding)
        return last

    score._buffers = (x_buf, keep, binding)  # keep the bound memory alive
    return score


def xgboost_latency_us(model, X: np.ndarray, n: int = 500) -> float:
    """Batch-1 latency (µs per candidate, median over ``n`` rows of ``X``) of an XGBoost
    classifier exported to ONNX and run in onnxruntime: 1 thread, one candidate per call through
    :func:`bind_single`, as O2Physics calls a model."""
    import tempfile

    from .profiling import call_latency_us

    features = [f"f{i}" for i in range(X.shape[1])]
    n_classes = max(2, int(getattr(model, "n_classes_", 2)))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        xgboost_to_onnx(
            anonymous(model), features, path, class_labels=[str(i) for i in range(n_classes)]
        )
        sess = session(path, threads=1)
    return call_latency_us(bind_single(sess), X, n=n)
