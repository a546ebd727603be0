"""SIGReg: sketched isotropic-Gaussian regulariser (Epps-Pulley test along random directions).

For each random unit direction u the batch of latents is projected to scalars x_n = <z_n, u>;
the empirical characteristic function phi_N(t) = mean_n exp(i t x_n) is compared with that of
N(0, 1), exp(-t^2 / 2), on a grid of knots t in [0, t_max]:

    EP(u) = N * integral |phi_N(t) - exp(-t^2/2)|^2 w(t) dt,   w(t) = exp(-t^2 / 2),

integrated with the trapezoid rule (the integrand is even in t, so [0, t_max] suffices).
The loss is the mean of EP over directions (and over any leading batch dimensions). It is ~0
for standard-normal latents and grows for collapsed, shifted or non-isotropic ones.
"""

from __future__ import annotations

import torch


def _knots_and_weights(knots: int, t_max: float, device: torch.device,
                       dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    t = torch.linspace(0.0, t_max, knots, device=device, dtype=dtype)
    dt = t_max / (knots - 1)
    trapezoid = torch.full((knots,), dt, device=device, dtype=dtype)
    trapezoid[[0, -1]] = dt / 2
    # Only t >= 0 is evaluated; the doubled trapezoid weight accounts for t < 0 (even integrand).
    return t, 2 * trapezoid * torch.exp(-t.square() / 2)


def random_directions(dim: int, num: int, device: torch.device | str = "cpu",
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """``num`` random unit vectors in R^dim as the columns of a ``(dim, num)`` matrix."""
    gen_device = generator.device if generator is not None else torch.device(device)
    a = torch.randn(dim, num, generator=generator, device=gen_device).to(device)
    return a / a.norm(dim=0, keepdim=True)


def sigreg(z: torch.Tensor, num_directions: int = 1024, generator: torch.Generator | None = None,
           knots: int = 17, t_max: float = 3.0) -> torch.Tensor:
    """SIGReg loss of a batch of latents.

    Args:
        z: latents ``(..., N, D)``; the test runs over the N samples independently for every
            leading index (the world model passes ``(T, B, D)``: one test per time step).
        num_directions: random unit directions, redrawn on every call.
        generator: optional torch generator that makes the directions reproducible.
        knots: quadrature knots on [0, t_max].
        t_max: upper end of the integration grid.

    Returns:
        Scalar tensor (differentiable w.r.t. ``z``).
    """
    if z.dim() < 2:
        raise ValueError(f"sigreg expects latents shaped (..., N, D), got shape {tuple(z.shape)}")
    if knots < 2:
        raise ValueError(f"sigreg needs at least 2 knots, got {knots}")
    n, d = z.shape[-2], z.shape[-1]
    z = z.float()
    directions = random_directions(d, num_directions, z.device, generator)
    t, weights = _knots_and_weights(knots, t_max, z.device, z.dtype)
    x_t = (z @ directions).unsqueeze(-1) * t  # (..., N, M, K)
    ecf_real = x_t.cos().mean(dim=-3)  # (..., M, K)
    ecf_imag = x_t.sin().mean(dim=-3)
    err = (ecf_real - torch.exp(-t.square() / 2)).square() + ecf_imag.square()
    return (n * (err @ weights)).mean()
