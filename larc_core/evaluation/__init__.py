"""Goal-conditioned PushT evaluation (REFERENCE §2 protocol)."""
