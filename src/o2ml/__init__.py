"""o2ml: a Jupyter-first machine-learning environment for ALICE O2 physics analyses."""

__version__ = "0.1.0"

__all__ = ["__version__"]
