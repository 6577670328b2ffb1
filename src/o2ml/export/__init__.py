"""o2ml.export (filled by later issues)."""
