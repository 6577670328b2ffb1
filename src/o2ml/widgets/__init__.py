"""o2ml.widgets (filled by later issues)."""
