"""Synthetic ALICE-like data in the O2Physics table layout."""
