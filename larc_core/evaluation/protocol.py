"""Constants of the goal-conditioned PushT evaluation protocol (REFERENCE §2); never tuned."""

BUDGET_FACTOR = 2
"""Env-step budget = BUDGET_FACTOR x goal offset (LeWM: offset 25, budget 50)."""

SUCCESS_DEFINITION = (
    "goal-pose success (LeWM/DINO-WM): within 2 x offset env steps, at any step, "
    "||goal[:4] - state[:4]|| < 20 px (agent x,y and block x,y) and wrapped block-angle "
    "error < pi/9"
)
