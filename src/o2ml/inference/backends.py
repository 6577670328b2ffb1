"""One interface over the ways to run a gradient-boosted tree model on the CPU.

Every backend turns a float32 matrix ``[n, n_features]`` into class probabilities
``[n, n_classes]`` (two columns also for binary models, as the ONNX export writes them):

- ``xgboost``: the model itself (XGBoost JSON), ``Booster.inplace_predict``;
- ``onnxruntime``: the onnxmltools export (``TreeEnsembleClassifier``), what O2Physics runs;
- ``hummingbird-torch`` / ``hummingbird-torchscript``: hummingbird's tensor compilation of the trees,
  run by PyTorch (eager or TorchScript);
- ``hummingbird-onnx``: the same tensor program exported to ONNX (through PyTorch's TorchScript-based
  exporter: the new dynamo exporter needs ``onnxscript``) and run by onnxruntime.

``Scorer.single()`` returns the cheapest way to score one candidate at a time (for onnxruntime an
I/O binding on preallocated buffers, as a C++ caller such as O2Physics binds its tensors).
"""

from __future__ import annotations

import functools
import os
import tempfile
import warnings
from collections.abc import Callable
from unittest import mock

import numpy as np

from .._extras import load
from ..errors import (
    BadArgumentError,
    ModelFileError,
    UnknownBackendError,
)
from ..onnx import anonymous, bind_single

#: backend names, in the order the benchmark table shows them
BACKENDS = (
    "xgboost",
    "onnxruntime",
    "hummingbird-torch",
    "hummingbird-torchscript",
    "hummingbird-onnx",
)
#: rows per call in bulk scoring: hummingbird's dense tensors grow with the batch (memory-bound
#: beyond ~10k rows); the tree walkers take the whole matrix at once
HUMMINGBIRD_CHUNK = 8192


def check_backend(name: str) -> str:
    if name not in BACKENDS:
        raise UnknownBackendError(f"Unknown backend {name!r}; choose one of {', '.join(BACKENDS)}.")
    return name


class Scorer:
    """A loaded model on one backend: ``predict(X) -> [n, n_classes]`` float32 probabilities."""

    name: str = ""
    chunk: int | None = None

    def __init__(self, n_features: int, n_classes: int) -> None:
        self.n_features = n_features
        self.n_classes = n_classes

    def _predict(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities of every row of ``X`` (bulk: chunked where the backend needs it)."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise BadArgumentError(
                f"{self.name}: expected candidates x {self.n_features} features, got shape {X.shape}."
            )
        if self.chunk is None or len(X) <= self.chunk:
            return self._predict(X)
        out = np.empty((len(X), self.n_classes), dtype=np.float32)
        for lo in range(0, len(X), self.chunk):
            out[lo : lo + self.chunk] = self._predict(X[lo : lo + self.chunk])
        return out

    def single(self) -> Callable[[np.ndarray], np.ndarray]:
        """A function scoring one candidate ``[n_features]`` -> ``[n_classes]``."""
        return lambda x: self._predict(x.reshape(1, -1))[0]


def _two_columns(p: np.ndarray) -> np.ndarray:
    """Binary models give P(class 1) only; the ONNX export gives both columns."""
    p = np.asarray(p, dtype=np.float32)
    return np.column_stack([1 - p, p]) if p.ndim == 1 else p


class XGBoostScorer(Scorer):
    name = "xgboost"

    def __init__(self, model, threads: int = 1) -> None:
        booster = model.get_booster().copy()
        booster.feature_names = None  # o2ml checks the feature order itself; arrays carry no names
        booster.set_param({"nthread": threads})
        self.booster = booster
        super().__init__(booster.num_features(), max(2, int(getattr(model, "n_classes_", 2))))

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return _two_columns(self.booster.inplace_predict(X))


class OnnxScorer(Scorer):
    name = "onnxruntime"

    def __init__(self, model: str | os.PathLike | bytes, threads: int = 1) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        source = model if isinstance(model, bytes) else os.fspath(model)
        self.session = ort.InferenceSession(source, opts, providers=["CPUExecutionProvider"])
        inp = self.session.get_inputs()[0]
        if isinstance(inp.shape[0], int):  # a fixed batch (hipe4ml's converter writes [1, n])
            self.session, self.chunk = _any_batch(source, self.session, opts, inp.shape)
            inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.outputs = [o.name for o in self.session.get_outputs()]
        # the last output holds the probabilities (O2Physics reads the last one too)
        shape = self.session.get_outputs()[-1].shape
        n_classes = shape[1] if len(shape) == 2 and isinstance(shape[1], int) else None
        if n_classes is None:
            n_classes = self._run(np.zeros((1, inp.shape[1]), np.float32)).shape[1]
        super().__init__(inp.shape[1], n_classes)

    def _run(self, X: np.ndarray) -> np.ndarray:
        return self.session.run(self.outputs[-1:], {self.input_name: X})[0]

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return _two_columns(self._run(X))

    def single(self) -> Callable[[np.ndarray], np.ndarray]:
        """Score through an I/O binding on preallocated buffers: no allocation per call
        (:func:`o2ml.onnx.bind_single`).

        The returned array is that buffer: the next call overwrites it (copy it to keep it).
        """
        return bind_single(self.session)


def _any_batch(source, session, opts, shape) -> tuple:
    """A session of the same model that takes any batch, and the chunk size it still needs.

    Models exported with a fixed batch (``[1, n]``: O2Physics scores one candidate per call, and
    hipe4ml's converter writes that shape) are tree ensembles whose operators take any batch:
    the batch dimension is made symbolic in memory (the file is untouched) and the result checked
    against row-by-row scoring. A model that does not allow it is scored in chunks of its batch.
    """
    import onnx
    import onnxruntime as ort

    fixed = int(shape[0])
    proto = onnx.load_from_string(source) if isinstance(source, bytes) else onnx.load(source)
    for value in [*proto.graph.input, *proto.graph.output]:
        dims = value.type.tensor_type.shape.dim
        if len(dims) and dims[0].HasField("dim_value") and dims[0].dim_value == fixed:
            dims[0].ClearField("dim_value")
            dims[0].dim_param = "batch"
    try:
        relaxed = ort.InferenceSession(
            proto.SerializeToString(), opts, providers=["CPUExecutionProvider"]
        )
        name, out = relaxed.get_inputs()[0].name, relaxed.get_outputs()[-1].name
        x = np.random.default_rng(0).normal(size=(3 * fixed, int(shape[1]))).astype(np.float32)
        together = relaxed.run([out], {name: x})[0]
        one_by_one = np.concatenate(
            [session.run([out], {name: x[i : i + fixed]})[0] for i in range(0, len(x), fixed)]
        )
        if together.shape == one_by_one.shape and np.allclose(together, one_by_one, atol=1e-6):
            return relaxed, None
    except Exception:  # any failure: keep the model as it is, one candidate per call
        pass
    if fixed != 1:
        raise ModelFileError(
            f"{source if not isinstance(source, bytes) else 'ONNX model'}: takes exactly {fixed} "
            "candidates per call and cannot be made to take any batch; export it with a free "
            "batch dimension (or batch 1, as O2Physics calls it)."
        )
    return session, 1


class HummingbirdScorer(Scorer):
    """hummingbird's tensor compilation of an XGBoost model (torch, TorchScript or ONNX)."""

    chunk = HUMMINGBIRD_CHUNK

    def __init__(self, model, kind: str, threads: int = 1) -> None:
        torch = load("torch", "torch")
        torch.set_num_threads(threads)  # per process, as intra_op threads in onnxruntime
        self.name = f"hummingbird-{kind}"
        clf = anonymous(model)
        n_features = clf.get_booster().num_features()
        example = np.zeros((2, n_features), np.float32)
        self.container = _hb_convert(clf, {"torchscript": "torch.jit"}.get(kind, kind), example)
        super().__init__(n_features, max(2, int(getattr(model, "n_classes_", 2))))

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return _two_columns(self.container.predict_proba(X))


def _hb_convert(model, backend: str, example: np.ndarray):
    hb = load("hummingbird.ml", "torch")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # hummingbird's deprecation chatter about torch APIs
        return hb.convert(model, backend, example)


def hummingbird_onnx(model) -> bytes:
    """The hummingbird tensor program of an XGBoost model as ONNX bytes.

    PyTorch 2.13's default (dynamo) exporter needs ``onnxscript``, which hummingbird 0.4.12 does
    not know about; its TorchScript-based exporter works, so it is selected here. hummingbird's
    GEMM strategy (its choice for trees of depth <= 3) exports with the example's batch size baked
    in and fails at batch 1, so the tree-traversal strategy (its choice for deeper trees) is used
    for every depth. hummingbird also writes the file into the working directory: it is pointed
    at a temporary one.
    """
    torch = load("torch", "torch")
    constants = load("hummingbird.ml", "torch").constants

    clf = anonymous(model)
    example = np.zeros((2, clf.get_booster().num_features()), np.float32)
    legacy = functools.partial(torch.onnx.export, dynamo=False)
    with tempfile.TemporaryDirectory() as tmp, mock.patch.object(torch.onnx, "export", legacy):
        hb = load("hummingbird.ml", "torch")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            container = hb.convert(
                clf,
                "onnx",
                example,
                extra_config={
                    constants.ONNX_OUTPUT_MODEL_NAME: os.path.join(tmp, "hummingbird"),
                    constants.TREE_IMPLEMENTATION: "perf_tree_trav",
                },
            )
    onx = container.model
    onx.graph.name = "hummingbird"
    return onx.SerializeToString()


def make_scorer(
    backend: str,
    *,
    xgb_model=None,
    onnx_path: str | os.PathLike | None = None,
    threads: int = 1,
) -> Scorer:
    """A :class:`Scorer` of ``backend`` from an XGBoost classifier and/or an ONNX file.

    ``onnxruntime`` needs the ONNX file; every other backend needs the XGBoost model.
    """
    check_backend(backend)
    if backend == "onnxruntime":
        if onnx_path is None:
            raise ModelFileError("The onnxruntime backend needs the model's ONNX file.")
        return OnnxScorer(onnx_path, threads)
    if xgb_model is None:
        raise ModelFileError(f"The {backend} backend needs the XGBoost model (JSON).")
    if backend == "xgboost":
        return XGBoostScorer(xgb_model, threads)
    if backend == "hummingbird-onnx":
        scorer = OnnxScorer(hummingbird_onnx(xgb_model), threads)
        scorer.name, scorer.chunk = backend, HUMMINGBIRD_CHUNK  # same dense tensors as in torch
        return scorer
    return HummingbirdScorer(xgb_model, backend.removeprefix("hummingbird-"), threads)
