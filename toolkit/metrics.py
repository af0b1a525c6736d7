"""Measures for dynamical-systems reconstruction.

- ``state_space_divergence`` (D_stsp): KL divergence between the occupation measures of a
  true and a generated trajectory, by binning (low dimensions) or Gaussian mixtures.
- ``power_spectrum_hellinger`` (D_H): Hellinger distance between smoothed power spectra.
- ``prediction_error``: n-step-ahead free-running MSE.
- ``lyapunov_spectrum``: Lyapunov exponents from any Jacobian along an orbit (QR method).

Definitions follow Brenner et al. (NeurIPS 2024) and Hess et al. (ICML 2023); see
``shared/reference/alrnn.md``. All functions take numpy arrays of shape (T, d).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.linalg import expm
from scipy.ndimage import gaussian_filter1d
from scipy.special import logsumexp

from ._checks import as_array, one_of, positive
from ._result import Result

__all__ = [
    "state_space_divergence",
    "power_spectrum_hellinger",
    "prediction_error",
    "lyapunov_spectrum",
    "LyapunovSpectrum",
]


def _pair(x_true, x_gen, min_length=2):
    x_true = as_array(x_true, "x_true", ndim=2, min_length=min_length)
    x_gen = as_array(x_gen, "x_gen", ndim=2, min_length=min_length)
    if x_true.shape[1] != x_gen.shape[1]:
        raise ValueError(f"x_gen: has {x_gen.shape[1]} dimensions, x_true has {x_true.shape[1]}")
    return x_true, x_gen


# --------------------------------------------------------------------------- D_stsp
def state_space_divergence(
    x_true,
    x_gen,
    method: str = "bins",
    *,
    n_bins: int = 30,
    alpha: float = 1e-5,
    margin: float = 0.1,
    sigma2: float = 1.0,
    n_samples: int = 1000,
    max_components: int = 5000,
    seed: int = 0,
) -> float:
    """D_stsp = KL(p_true ‖ p_gen) between state-space occupation measures.

    ``method="bins"`` (for d ≲ 10): per dimension the range [min − margin·σ, max + margin·σ]
    of the *true* data is split into ``n_bins`` equal bins; counts per cell get Laplace
    smoothing p = (c + α)/(Σc + α·n_cells). Generated points outside the range are
    dropped. Exact over all n_bins^d cells, without materialising them.

    ``method="gmm"`` (high dimensions): isotropic Gaussian mixtures with variance
    ``sigma2`` centred on the points (at most ``max_components``, evenly subsampled);
    D = mean over ``n_samples`` noisy true points s of log p(s) − log q(s).
    """
    one_of(method, "method", ("bins", "gmm"))
    x_true, x_gen = _pair(x_true, x_gen)
    if method == "bins":
        return _dstsp_bins(x_true, x_gen, positive(n_bins, "n_bins", integer=True),
                           positive(alpha, "alpha"), positive(margin, "margin", strict=False))
    return _dstsp_gmm(x_true, x_gen, positive(sigma2, "sigma2"),
                      positive(n_samples, "n_samples", integer=True),
                      positive(max_components, "max_components", integer=True), seed)


def _cell_ids(x, lo, width, n_bins):
    idx = np.floor((x - lo) / width).astype(np.int64)
    # the top edge belongs to the last bin, as in np.histogramdd (checked only where needed)
    top = idx == n_bins
    if top.any():
        idx[top & np.isclose(x, lo + width * n_bins)] = n_bins - 1
    inside = np.all((idx >= 0) & (idx < n_bins), axis=1)
    idx = idx[inside]
    d = x.shape[1]
    if n_bins**d < 2**62:
        return np.ravel_multi_index(idx.T, (n_bins,) * d)
    return np.unique(idx, axis=0, return_inverse=True)[1]  # pragma: no cover - huge d


def _dstsp_bins(x_true, x_gen, n_bins, alpha, margin):
    d = x_true.shape[1]
    std = x_true.std(0)
    lo = x_true.min(0) - margin * std
    hi = x_true.max(0) + margin * std
    width = np.where(hi > lo, (hi - lo) / n_bins, 1.0)
    if d * np.log(n_bins) > 62 * np.log(2):
        raise ValueError(f"n_bins: {n_bins}^{d} cells is too many; use method='gmm'")
    ids_t = _cell_ids(x_true, lo, width, n_bins)
    ids_g = _cell_ids(x_gen, lo, width, n_bins)
    n_cells = float(n_bins) ** d
    cells, inv = np.unique(np.concatenate([ids_t, ids_g]), return_inverse=True)
    c_t = np.bincount(inv[: len(ids_t)], minlength=len(cells)).astype(np.float64)
    c_g = np.bincount(inv[len(ids_t):], minlength=len(cells)).astype(np.float64)
    z_t = c_t.sum() + alpha * n_cells
    z_g = c_g.sum() + alpha * n_cells
    p = (c_t + alpha) / z_t
    q = (c_g + alpha) / z_g
    occupied = float(np.sum(p * np.log(p / q)))
    # every never-visited cell has p = α/z_t and q = α/z_g
    empty = (n_cells - len(cells)) * (alpha / z_t) * np.log(z_g / z_t)
    return occupied + empty


def _gmm_logpdf(s, centres, sigma2, chunk=2048):
    d = s.shape[1]
    out = np.empty(len(s))
    c2 = np.sum(centres**2, 1)
    for i in range(0, len(s), chunk):
        si = s[i:i + chunk]
        d2 = np.sum(si**2, 1)[:, None] - 2 * si @ centres.T + c2[None, :]
        out[i:i + chunk] = logsumexp(-0.5 * np.maximum(d2, 0) / sigma2, axis=1)
    return out - np.log(len(centres)) - 0.5 * d * np.log(2 * np.pi * sigma2)


def _dstsp_gmm(x_true, x_gen, sigma2, n_samples, max_components, seed):
    rng = np.random.default_rng(seed)

    def thin(x):
        if len(x) <= max_components:
            return x
        return x[np.linspace(0, len(x) - 1, max_components).astype(int)]

    ct, cg = thin(x_true), thin(x_gen)
    pick = rng.integers(0, len(x_true), n_samples)
    s = x_true[pick] + np.sqrt(sigma2) * rng.standard_normal((n_samples, x_true.shape[1]))
    return float(np.mean(_gmm_logpdf(s, ct, sigma2) - _gmm_logpdf(s, cg, sigma2)))


# ------------------------------------------------------------------------------ D_H
def _smoothed_spectra(x, sigma):
    std = x.std(0)
    z = (x - x.mean(0)) / np.where(std > 0, std, 1.0)
    ps = np.abs(np.fft.rfft(z, axis=0)) ** 2
    ps = gaussian_filter1d(ps, sigma, axis=0)
    ps = np.clip(ps, 0, None)
    total = ps.sum(0)
    return ps / np.where(total > 0, total, 1.0)


def power_spectrum_hellinger(x_true, x_gen, sigma: float = 20.0, *, per_dimension=False):
    """D_H: Hellinger distance between smoothed, normalised power spectra, averaged over dims.

    Per dimension: z-score, |rfft|², Gaussian smoothing with ``sigma`` frequency bins,
    clip negatives, normalise to sum 1; H = sqrt(1 − Σ sqrt(p q)). Both series must have
    the same length.
    """
    x_true, x_gen = _pair(x_true, x_gen, min_length=4)
    if len(x_true) != len(x_gen):
        raise ValueError(f"x_gen: length {len(x_gen)} differs from x_true's {len(x_true)}; "
                         "D_H compares spectra of equally long series")
    positive(sigma, "sigma", strict=False)
    p, q = _smoothed_spectra(x_true, sigma), _smoothed_spectra(x_gen, sigma)
    # ½Σ(√p − √q)² equals 1 − Σ√(pq) for normalised p, q, without its cancellation
    h = np.sqrt(0.5 * np.sum((np.sqrt(p) - np.sqrt(q)) ** 2, axis=0))
    return h if per_dimension else float(h.mean())


# ---------------------------------------------------------------- prediction error
def prediction_error(forecast: Callable, x, n: int = 20, *, max_starts: int | None = None):
    """PE(n): mean squared error of n-step free-running forecasts against the data.

    ``forecast(x0, n)`` maps a batch of states (B, d) to the states n steps later (B, d).
    Every x_t with t + n inside the series is a start (or ``max_starts`` evenly spaced).
    """
    n = positive(n, "n", integer=True)
    x = as_array(x, "x", ndim=2, min_length=n + 1)
    starts = np.arange(len(x) - n)
    if max_starts is not None and len(starts) > max_starts:
        starts = starts[np.linspace(0, len(starts) - 1, max_starts).astype(int)]
    pred = as_array(forecast(x[starts], n), "forecast(x0, n)", shape=(len(starts), x.shape[1]),
                    finite=False)
    return float(np.mean((pred - x[starts + n]) ** 2))


# ---------------------------------------------------------------- Lyapunov spectrum
@dataclass(frozen=True)
class LyapunovSpectrum(Result):
    """Lyapunov exponents (per time unit) and their running estimates."""

    exponents: np.ndarray   # (k,), descending
    running: np.ndarray     # (n_checkpoints, k): estimate after each checkpoint
    times: np.ndarray       # (n_checkpoints,): time at each checkpoint
    dt: float

    @property
    def max(self) -> float:
        return float(self.exponents[0])

    @property
    def sum(self) -> float:
        return float(self.exponents.sum())

    @property
    def kaplan_yorke_dimension(self) -> float:
        lam = self.exponents
        csum = np.cumsum(lam)
        j = int(np.sum(csum >= 0))
        if j == 0:
            return 0.0
        if j >= len(lam):
            return float(len(lam))
        return j + csum[j - 1] / abs(lam[j])

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame({"index": np.arange(1, len(self.exponents) + 1),
                             "exponent": self.exponents})

    def plot(self):
        import holoviews as hv

        curves = [hv.Curve((self.times, self.running[:, i]), "time", "exponent",
                           label=f"λ{i + 1}") for i in range(self.running.shape[1])]
        return hv.Overlay(curves).opts(title="Lyapunov exponents: running estimates")


def lyapunov_spectrum(
    jacobian: Callable,
    orbit,
    dt: float = 1.0,
    *,
    kind: str = "map",
    n_exponents: int | None = None,
    transient: int = 0,
    n_checkpoints: int = 200,
    renorm_every: int = 1,
) -> LyapunovSpectrum:
    """Lyapunov spectrum from a Jacobian function along an orbit, by QR re-orthonormalisation.

    kind="map": ``jacobian(x_t)`` is the Jacobian of the one-step map at x_t (e.g. the
    exact per-region Jacobian of a piecewise-linear RNN); the tangent propagator is its
    product along the orbit. ``dt`` converts exponents to per time unit.

    kind="flow": ``jacobian(x)`` is the Jacobian of a vector field and ``orbit`` is sampled
    every ``dt``. Each step's tangent propagator is exp(dt·J(midpoint)), the second-order
    Magnus approximation; the exponents' sum, tr J, is kept exactly.

    ``jacobian`` may be vectorised ((T, d) → (T, d, d)); otherwise it is called per point.
    The first ``transient`` steps only align the tangent frame. ``renorm_every`` > 1
    multiplies that many step propagators before each QR (much faster; safe while the
    spread of exponents times the block length stays well below ~30, e.g. 10 for Lorenz
    at Δt = 0.01).
    """
    one_of(kind, "kind", ("map", "flow"))
    dt = positive(dt, "dt")
    orbit = as_array(orbit, "orbit", ndim=2, min_length=transient + 3)
    d = orbit.shape[1]
    k = d if n_exponents is None else positive(n_exponents, "n_exponents", integer=True)
    if k > d:
        raise ValueError(f"n_exponents: at most the state dimension {d}, got {k}")
    points = 0.5 * (orbit[:-1] + orbit[1:]) if kind == "flow" else orbit[:-1]
    J = _jacobians(jacobian, points, d)
    if kind == "flow":
        J = expm(dt * J)
    b = positive(renorm_every, "renorm_every", integer=True)
    q = np.linalg.qr(np.random.default_rng(0).standard_normal((d, k)))[0]
    for t in range(min(transient, len(J))):  # align the frame; not counted
        q = np.linalg.qr(J[t] @ q)[0]
    J = J[transient:]
    n_blocks = len(J) // b
    if n_blocks == 0:
        raise ValueError("orbit: too short after the transient to estimate exponents")
    blocks = J[: n_blocks * b].reshape(n_blocks, b, d, d)
    prop = blocks[:, 0]
    for i in range(1, b):  # block propagators J_{t+b-1} ··· J_t, batched over blocks
        prop = blocks[:, i] @ prop
    log_r = np.zeros(k)
    every = max(1, n_blocks // n_checkpoints)
    running, times = [], []
    for t in range(n_blocks):
        q, r = np.linalg.qr(prop[t] @ q)
        diag = np.diag(r)
        sign = np.where(diag < 0, -1.0, 1.0)
        q = q * sign
        log_r += np.log(np.abs(diag) + 1e-300)
        if (t + 1) % every == 0:
            running.append(log_r / ((t + 1) * b * dt))
            times.append((t + 1) * b * dt)
    exps = log_r / (n_blocks * b * dt)
    order = np.argsort(exps)[::-1]
    return LyapunovSpectrum(exps[order], np.array(running)[:, order], np.array(times), dt)


def _jacobians(jacobian, points, d):
    try:
        J = np.asarray(jacobian(points), dtype=float)
        if J.shape == (len(points), d, d):
            return J
    except Exception:  # not vectorised: fall back to one call per point
        pass
    J = np.stack([np.asarray(jacobian(p), dtype=float).reshape(d, d) for p in points])
    return J
