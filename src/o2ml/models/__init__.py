"""o2ml.models (filled by later issues)."""
