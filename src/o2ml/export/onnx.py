"""Moved: the ONNX converters and metadata are :mod:`o2ml.onnx` (below the models that convert
themselves through them). Importing this module is an error that names the new home, for one
release; there is no silent alias."""

raise ImportError(
    "o2ml.export.onnx moved to o2ml.onnx: write `from o2ml import onnx` "
    "(e.g. onnx.session, onnx.read_metadata, onnx.xgboost_to_onnx)."
)
