"""Export: ONNX files with metadata and the O2Physics MlResponse configuration."""
