"""Debiased Sinkhorn divergence between point clouds (log domain, ε-scaling).

The loss of the reference recipe (Feydy et al., AISTATS 2019, as in GeomLoss's
``SamplesLoss("sinkhorn", p=2, blur=0.2, scaling=0.5)``): with cost C(x, y) = ½|x − y|²,
uniform weights, symmetric Sinkhorn updates while ε decreases geometrically from the
squared diameter of the data to blur², and a last extrapolation step taken with
gradients on (envelope theorem: the dual potentials are treated as constants)::

    S_ε(α, β) = OT_ε(α, β) − ½ OT_ε(α, α) − ½ OT_ε(β, β)
              = ⟨a, f_ba − f_aa⟩ + ⟨b, g_ab − g_bb⟩

Sequences are compared as flattened one-hot vectors in R^{K·L}, so ½|x − y|² is the
Hamming distance between two sequences.
"""

from __future__ import annotations

import math

import torch

from .._checks import in_range, positive

__all__ = ["sinkhorn_divergence", "flatten_onehot"]


def _sqdist_half(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    xx = (x * x).sum(-1, keepdim=True)
    yy = (y * y).sum(-1, keepdim=True)
    return (0.5 * (xx + yy.T) - x @ y.T).clamp_min(0.0)


def _softmin(eps: float, C: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """−ε log Σ_j exp(h_j − C_ij / ε)."""
    return -eps * torch.logsumexp(h[None, :] - C / eps, dim=1)


def _epsilon_schedule(diameter: float, blur: float, scaling: float, p: int = 2) -> list[float]:
    start, stop, step = p * math.log(diameter), p * math.log(blur), p * math.log(scaling)
    n = max(0, math.ceil((stop - start) / step))
    return [diameter**p] + [math.exp(start + i * step) for i in range(n)] + [blur**p]


def sinkhorn_divergence(x: torch.Tensor, y: torch.Tensor, *, blur: float = 0.2,
                        scaling: float = 0.5) -> torch.Tensor:
    """Debiased Sinkhorn divergence between the uniform clouds ``x`` (n, d) and ``y`` (m, d).

    Differentiable in ``x`` and ``y``. ``blur`` is the final ε^(1/2) (ε = blur²);
    ``scaling`` the ratio of successive blurs (0.5 as in the reference; closer to 1 is
    more accurate and slower).
    """
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError("x, y: expected torch tensors")
    for t, name in ((x, "x"), (y, "y")):
        if t.ndim != 2 or t.shape[0] == 0:
            raise ValueError(f"{name}: expected a non-empty (n, d) cloud, got {tuple(t.shape)}")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"y: has dimension {y.shape[1]} but x has {x.shape[1]}")
    positive(blur, "blur")
    in_range(scaling, "scaling", 0.0, 1.0, inclusive=(False, False))
    dtype = torch.float64 if torch.float64 in (x.dtype, y.dtype) else torch.float32
    x, y = x.to(dtype), y.to(dtype)
    n, m = x.shape[0], y.shape[0]
    a_log = torch.full((n,), -math.log(n), dtype=x.dtype)
    b_log = torch.full((m,), -math.log(m), dtype=y.dtype)
    with torch.no_grad():
        both = torch.cat([x, y])
        diameter = float((both.max(0).values - both.min(0).values).norm()) or 1.0
        eps_list = _epsilon_schedule(max(diameter, blur), blur, scaling)
        xd, yd = x.detach(), y.detach()
        C_xy, C_xx, C_yy = _sqdist_half(xd, yd), _sqdist_half(xd, xd), _sqdist_half(yd, yd)
        C_yx = C_xy.T
        eps = eps_list[0]
        f_ba, g_ab = _softmin(eps, C_xy, b_log), _softmin(eps, C_yx, a_log)
        f_aa, g_bb = _softmin(eps, C_xx, a_log), _softmin(eps, C_yy, b_log)
        for eps in eps_list:
            ft_ba = _softmin(eps, C_xy, b_log + g_ab / eps)
            gt_ab = _softmin(eps, C_yx, a_log + f_ba / eps)
            ft_aa = _softmin(eps, C_xx, a_log + f_aa / eps)
            gt_bb = _softmin(eps, C_yy, b_log + g_bb / eps)
            f_ba, g_ab = 0.5 * (f_ba + ft_ba), 0.5 * (g_ab + gt_ab)
            f_aa, g_bb = 0.5 * (f_aa + ft_aa), 0.5 * (g_bb + gt_bb)
        del C_xy, C_yx, C_xx, C_yy
    # Last extrapolation with gradients on, potentials held constant (envelope theorem).
    # Each cost sees its right-hand side detached, so that ∇_x S = a_i (∇f_ba − ∇f_aa)(x_i)
    # is not counted twice through f and g.
    eps = eps_list[-1]
    f_ba_new = _softmin(eps, _sqdist_half(x, y.detach()), b_log + g_ab / eps)
    g_ab_new = _softmin(eps, _sqdist_half(y, x.detach()), a_log + f_ba / eps)
    f_aa_new = _softmin(eps, _sqdist_half(x, x.detach()), a_log + f_aa / eps)
    g_bb_new = _softmin(eps, _sqdist_half(y, y.detach()), b_log + g_bb / eps)
    a, b = a_log.exp(), b_log.exp()
    return (a * (f_ba_new - f_aa_new)).sum() + (b * (g_ab_new - g_bb_new)).sum()


def flatten_onehot(symbols, n_symbols: int) -> torch.Tensor:
    """Integer sequences (n, L) → flattened one-hot float cloud (n, K·L)."""
    s = torch.as_tensor(symbols, dtype=torch.long)
    return torch.nn.functional.one_hot(s, n_symbols).reshape(s.shape[0], -1).float()
