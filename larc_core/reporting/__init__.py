"""Results table and figures, computed from the per-episode evaluation files."""
