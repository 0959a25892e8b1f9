"""Near-duplicate search."""
