"""How good is a reconstruction? The measures of Brenner et al. (2024) in one call.

Protocol (the dynalens AL-RNN bars): a fresh ground-truth trajectory is z-scored with its
own mean and std; the model runs freely for 1.25·T steps from the trajectory's first
point and the first 0.25·T are dropped; both are compared in the same (z-scored) units
by D_stsp (30 bins per dimension, margin 0.1σ, Laplace α = 1e-5) and D_H (σ = 20). The
maximal Lyapunov exponent comes from the model's exact Jacobians along its own orbit,
per time unit. Real fixed points of the model are matched to given true fixed points,
with the error per coordinate in units of the attractor's standard deviation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import as_array, positive
from .._result import Result
from .model import ALRNN

__all__ = ["Evaluation", "evaluate"]


@dataclass(frozen=True)
class Evaluation(Result):
    """Reconstruction measures of a model against a true trajectory.

    ``dstsp``, ``dh``: state-space divergence and power-spectrum Hellinger distance;
    ``lyapunov_max`` per time unit; ``n_regions`` visited along the generated orbit
    (``regions`` their ids); ``fixed_points`` (K, N) the model's real fixed points in
    data units; ``fixed_point_errors`` (n_true,) for each true fixed point the smallest
    over real model fixed points of max_i |x*_i − c_i| / σ_i (NaN if none is given);
    ``generated`` (T, N) the generated orbit in data units; ``n_steps``.
    """

    dstsp: float
    dh: float
    lyapunov_max: float
    n_regions: int
    regions: np.ndarray
    fixed_points: np.ndarray
    true_fixed_points: np.ndarray
    fixed_point_errors: np.ndarray
    n_steps: int
    generated: np.ndarray
    truth: np.ndarray

    def to_frame(self):
        import pandas as pd

        row = {"D_stsp": self.dstsp, "D_H": self.dh, "lyapunov_max": self.lyapunov_max,
               "regions_visited": self.n_regions, "real_fixed_points": len(self.fixed_points)}
        for i, e in enumerate(self.fixed_point_errors):
            row[f"fixed_point_error_{i}"] = float(e)
        return pd.DataFrame([row])

    def plot(self, dims=(0, 2), *, labels=None):
        """True and generated attractors side by side, real fixed points marked."""
        import holoviews as hv

        from ..viz import PALETTE, phase_portrait

        step = max(1, len(self.truth) // 20_000)
        true = phase_portrait(self.truth[::step], dims=dims, labels=labels,
                              title="true").opts(color="#777777")
        gen = phase_portrait(self.generated[::step], dims=dims, labels=labels,
                             title=f"model: D_stsp {self.dstsp:.2f}, D_H {self.dh:.3f}"
                             ).opts(color=PALETTE[0])
        if len(self.fixed_points):
            stars = hv.Points(self.fixed_points[:, list(dims)], kdims=gen.kdims).opts(
                marker="star", size=14, color=PALETTE[1])
            gen = gen * stars
            if len(self.true_fixed_points):
                true = true * hv.Points(self.true_fixed_points[:, list(dims)],
                                        kdims=true.kdims).opts(marker="star", size=14,
                                                               color="black")
        return (true + gen).opts(shared_axes=True)


_LYAP_PIECE = 20_000


def evaluate(model: ALRNN, x_true, *, true_fixed_points=None, n_steps: int | None = None,
             lyapunov_steps: int | None = None, x0=None) -> Evaluation:
    """Measure ``model`` against a true trajectory ``x_true`` (T, N) in data units.

    ``n_steps`` generated steps are compared (default: as many as ``x_true`` has), after
    a transient of n_steps / 4, starting from ``x0`` (default ``x_true[0]``).
    ``true_fixed_points`` (K, N), e.g. ``tk.systems.Lorenz63().fixed_points()``, are
    matched to the model's real fixed points. λ_max is estimated along the generated orbit
    over ``lyapunov_steps`` steps (default: all of it): on the shipped Lorenz model,
    20,000-step estimates from five starts spread over 0.81–1.01, 100,000-step ones over
    0.90–0.97.
    """
    from ..metrics import power_spectrum_hellinger, state_space_divergence
    from ..systems import standardize
    from .symbolic import symbolic_code

    if not isinstance(model, ALRNN):
        raise TypeError(f"model: expected an ALRNN, got {type(model).__name__}")
    x_true = as_array(x_true, "x_true", ndim=2, min_length=100)
    if x_true.shape[1] != model.N:
        raise ValueError(f"x_true: has {x_true.shape[1]} dimensions, the model observes "
                         f"{model.N}")
    T = len(x_true) if n_steps is None else positive(n_steps, "n_steps", integer=True)
    z_true, mean, std = standardize(x_true)
    start = x_true[0] if x0 is None else as_array(x0, "x0", shape=(model.N,))
    gen, latent = model.generate(start, T, transient=T // 4, return_latent=True)
    if not np.all(np.isfinite(gen)):
        raise RuntimeError("model: the generated orbit diverged")
    z_gen = (gen - mean) / std
    z_ref = z_true if len(z_true) == T else z_true[:T]
    dstsp = state_space_divergence(z_true, z_gen)
    if len(z_ref) == len(z_gen):
        dh = power_spectrum_hellinger(z_ref, z_gen)
    else:  # the true series is shorter: compare equal lengths
        n = min(len(z_ref), len(z_gen))
        dh = power_spectrum_hellinger(z_ref[:n], z_gen[:n])
    n_lyap = len(latent) - 1
    if lyapunov_steps is not None:
        n_lyap = min(positive(lyapunov_steps, "lyapunov_steps", integer=True), n_lyap)
    # in about equal pieces along the orbit: the exact Jacobians of a piece take steps·M²
    # floats
    k = -(-n_lyap // _LYAP_PIECE)
    sizes = [n_lyap // k + (i < n_lyap % k) for i in range(k)]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    lyap = sum(n * model.lyapunov_spectrum(n, z0=latent[s], transient=0, n_exponents=1).max
               for s, n in zip(starts, sizes)) / n_lyap
    code = symbolic_code(model, latent)
    real_fp = code.fixed_points_observed[code.fixed_point_real]
    if true_fixed_points is None:
        truth_fp = np.zeros((0, model.N))
    else:
        truth_fp = as_array(true_fixed_points, "true_fixed_points", ndim=2)
        if truth_fp.shape[1] != model.N:
            raise ValueError(f"true_fixed_points: expected {model.N} columns, "
                             f"got {truth_fp.shape[1]}")
    errors = np.array([float(np.min(np.max(np.abs(real_fp - c) / std, axis=1)))
                       if len(real_fp) else np.inf for c in truth_fp])
    return Evaluation(float(dstsp), float(dh), float(lyap), code.n_regions, code.regions,
                      real_fp, truth_fp, errors, int(T), gen, x_true)
