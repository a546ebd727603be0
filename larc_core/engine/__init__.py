"""Model-agnostic training machinery below every model package: the seeded, resumable loop
(``loop``) and the hindsight batch sampler (``sampler``). It imports only ``io`` and ``logs``,
so the world model and the policies both train through it without importing each other."""
