"""Continuous-time views of a sampled Koopman spectrum.

A flow sampled every Δt has Koopman eigenvalues λ = e^{ν Δt} with ν = σ + iω: the growth
(decay) rate σ = log|λ| / Δt and the angular frequency ω = arg λ / Δt (radians per time
unit; period 2π/ω). The logarithm's principal branch folds frequencies above the Nyquist
limit π/Δt back into (−π/Δt, π/Δt]: sample finely enough for the frequencies you want.
"""

from __future__ import annotations

import numpy as np

from .._checks import as_array, positive

__all__ = ["continuous_time", "growth_rates", "frequencies"]


def continuous_time(eigenvalues, dt: float = 1.0) -> np.ndarray:
    """ν = log(λ) / Δt (principal branch); λ = 0 maps to −inf."""
    lam = as_array(eigenvalues, "eigenvalues", dtype=complex, ndim=(0, 1))
    dt = positive(dt, "dt")
    with np.errstate(divide="ignore"):
        return np.log(lam) / dt


def growth_rates(eigenvalues, dt: float = 1.0) -> np.ndarray:
    """σ = log|λ| / Δt: negative for decaying eigenfunctions, 0 on the unit circle."""
    return continuous_time(eigenvalues, dt).real


def frequencies(eigenvalues, dt: float = 1.0) -> np.ndarray:
    """ω = arg(λ) / Δt in radians per time unit, in (−π/Δt, π/Δt]."""
    return continuous_time(eigenvalues, dt).imag
