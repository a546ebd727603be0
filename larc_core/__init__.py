"""LARC: Latent Action Chunking with World-Model Rollout Consistency.

Reference implementation of the LARC PushT workflow: scripted demonstrations, a LeWM-style
JEPA world model, a latent cache, goal-conditioned latent policies (IDM, Chunk, Chunk + WM-FT)
and the goal-pose PushT evaluation protocol.
"""

__version__ = "0.1.0"
