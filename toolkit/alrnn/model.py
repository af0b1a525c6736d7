"""The almost-linear RNN (AL-RNN) of Brenner et al. (NeurIPS 2024).

    z_t = A ⊙ z_{t-1} + W Φ*(z_{t-1}) + h,   Φ*(z) = [z_1..z_{M-P}, relu(z_{M-P+1})..relu(z_M)]

The first N latent units are the observations (identity observation model); a learned
matrix L maps the first observation to the hidden part of the initial state,
z_1 = [x_1; L x_1]. The model keeps the normalisation of the data it was trained on, so
:meth:`ALRNN.generate` takes and returns data units.

Parameters are float64: cycles are verified to ~1e-10 and chaotic orbits are compared
over 1e5 steps, where float32 round-off would matter. Iteration runs in numpy (one small
matrix product per step), which is several times faster than per-step torch calls.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .._checks import as_array, one_of, positive

__all__ = ["ALRNN", "region_bits", "region_ids", "INITS", "OrbitDiverged"]

INITS = ("near_identity", "reference")


class OrbitDiverged(RuntimeWarning):
    """:meth:`ALRNN.generate`: the free run left finite values (a RuntimeWarning, so
    ``warnings.simplefilter("ignore", RuntimeWarning)`` silences it too)."""


def region_ids(latent, P: int) -> np.ndarray:
    """Region (symbol) of each latent state: the bits 1(z_j > 0) of the last P units read
    as a binary number, the first ReLU unit being the most significant bit."""
    z = np.asarray(latent)
    if P == 0:
        return np.zeros(z.shape[:-1], dtype=np.int64)
    on = z[..., z.shape[-1] - P:] > 0
    weights = 1 << np.arange(P - 1, -1, -1, dtype=np.int64)
    return on.astype(np.int64) @ weights


def region_bits(region, P: int) -> np.ndarray:
    """Inverse of :func:`region_ids`: (…, P) array of 0/1, first ReLU unit first."""
    r = np.asarray(region, dtype=np.int64)
    shifts = np.arange(P - 1, -1, -1, dtype=np.int64)
    return (r[..., None] >> shifts) & 1


class ALRNN(nn.Module):
    """Almost-linear RNN with M latent units, the last P of them ReLU, N observed.

    Parameters
    ----------
    M, P, N : latent size, number of ReLU units (P = M gives a PLRNN), observed units.
    mean, std : normalisation of the data (length N); ``generate`` works in data units.
        Set by :func:`toolkit.alrnn.train`; identity (0, 1) by default.
    dt : sampling interval of the data, used to express Lyapunov exponents per time unit.
    init : ``"near_identity"`` (default): A = 0.99, W ~ N(0, 0.01²), h = 0, so the
        untrained map is close to z ↦ z, as the flow of finely sampled data is; training
        then only has to learn the small per-step change and converges many times faster.
        ``"reference"``: Brenner et al.'s A = diag(K)/λ_max(K), K = RᵀR/M + I,
        R ~ N(0, 1), with the same W and h (A ≈ 0.4: strongly contracting at first).
    seed : seeds the initialisation.

    Attributes ``A`` (M,), ``W`` (M, M), ``h`` (M,), ``L`` (M − N, N) are torch parameters.
    """

    def __init__(self, M: int, P: int, N: int, *, mean=None, std=None, dt: float = 1.0,
                 init: str = "near_identity", seed: int = 0):
        super().__init__()
        M = positive(M, "M", integer=True)
        P = positive(P, "P", strict=False, integer=True)
        N = positive(N, "N", integer=True)
        if P > M:
            raise ValueError(f"P: the number of ReLU units ({P}) cannot exceed M = {M}")
        if N > M:
            raise ValueError(f"N: the number of observed units ({N}) cannot exceed M = {M}")
        self.M, self.P, self.N = M, P, N
        self.dt = float(positive(dt, "dt"))
        mean = np.zeros(N) if mean is None else as_array(mean, "mean", shape=(N,))
        std = np.ones(N) if std is None else as_array(std, "std", shape=(N,))
        if np.any(std <= 0):
            raise ValueError("std: every entry must be positive")
        self.register_buffer("data_mean", torch.tensor(mean, dtype=torch.float64))
        self.register_buffer("data_std", torch.tensor(std, dtype=torch.float64))

        one_of(init, "init", INITS)
        g = torch.Generator().manual_seed(int(seed))
        R = torch.randn(M, M, generator=g, dtype=torch.float64)
        if init == "reference":
            K = R.T @ R / M + torch.eye(M, dtype=torch.float64)
            A = torch.diagonal(K) / torch.linalg.eigvalsh(K).max()
        else:
            A = torch.full((M,), 0.99, dtype=torch.float64)
        W = 0.01 * torch.randn(M, M, generator=g, dtype=torch.float64)
        L = torch.randn(M - N, N, generator=g, dtype=torch.float64) / np.sqrt(N) * 0.1
        self.A = nn.Parameter(A)
        self.W = nn.Parameter(W)
        self.h = nn.Parameter(torch.zeros(M, dtype=torch.float64))
        self.L = nn.Parameter(L)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_params(cls, A, W, h, P: int, N: int, *, L=None, mean=None, std=None,
                    dt: float = 1.0) -> ALRNN:
        """An AL-RNN with explicit parameters, e.g. a hand-made piecewise-linear map.

        ``A`` (M,), ``W`` (M, M), ``h`` (M,) as torch tensors or arrays; ``L`` (M − N, N)
        defaults to zeros (hidden units start at 0).
        """
        A = as_array(A, "A", ndim=1)
        M = len(A)
        W = as_array(W, "W", shape=(M, M))
        h = as_array(h, "h", shape=(M,))
        model = cls(M, P, N, mean=mean, std=std, dt=dt)
        L = np.zeros((M - N, N)) if L is None else as_array(L, "L", shape=(M - N, N))
        with torch.no_grad():
            model.A.copy_(torch.from_numpy(A))
            model.W.copy_(torch.from_numpy(W))
            model.h.copy_(torch.from_numpy(h))
            model.L.copy_(torch.from_numpy(L))
        return model

    def _io_config(self) -> dict:
        return {"M": self.M, "P": self.P, "N": self.N, "dt": self.dt,
                "mean": self.data_mean.numpy().copy(), "std": self.data_std.numpy().copy()}

    def extra_repr(self) -> str:
        return f"M={self.M}, P={self.P}, N={self.N}, dt={self.dt:g}"

    # ------------------------------------------------------------------ numpy views
    def numpy_params(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(A, W, h, L) as float64 numpy arrays (copies)."""
        return tuple(p.detach().cpu().numpy().astype(np.float64, copy=True)
                     for p in (self.A, self.W, self.h, self.L))

    @property
    def mean(self) -> np.ndarray:
        return self.data_mean.numpy().copy()

    @property
    def std(self) -> np.ndarray:
        return self.data_std.numpy().copy()

    def normalize(self, x) -> np.ndarray:
        """Data units → the model's z-scored units."""
        return (np.asarray(x, dtype=float) - self.mean) / self.std

    def denormalize(self, x) -> np.ndarray:
        """The model's z-scored units → data units."""
        return np.asarray(x, dtype=float) * self.std + self.mean

    def observe(self, latent) -> np.ndarray:
        """Observations (data units) of latent states (…, M)."""
        return self.denormalize(np.asarray(latent)[..., : self.N])

    def initial_state(self, x0) -> np.ndarray:
        """Latent state(s) z_1 = [x_1; L x_1] for observation(s) x0 in data units."""
        x0 = as_array(x0, "x0", ndim=(1, 2))
        if x0.shape[-1] != self.N:
            raise ValueError(f"x0: expected {self.N} observed dimensions, got {x0.shape[-1]}")
        xn = self.normalize(x0)
        L = self.L.detach().numpy()
        return np.concatenate([xn, xn @ L.T], axis=-1)

    # ------------------------------------------------------------------ dynamics
    def step(self, latent) -> np.ndarray:
        """One step of the map F for latent states (…, M) (numpy, float64)."""
        A, W, h, _ = self.numpy_params()
        z = np.asarray(latent, dtype=float)
        phi = z.copy()
        phi[..., self.M - self.P:] = np.maximum(phi[..., self.M - self.P:], 0.0)
        return z * A + phi @ W.T + h

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """One differentiable step of the map for a batch of latent states (…, M)."""
        k = self.M - self.P
        phi = torch.cat([z[..., :k], torch.relu(z[..., k:])], dim=-1)
        return self.A * z + phi @ self.W.T + self.h

    def iterate(self, z0, T: int) -> np.ndarray:
        """Latent orbit of T states starting at (and including) z0: (T, M) or (B, T, M)."""
        T = positive(T, "T", integer=True)
        z0 = as_array(z0, "z0", ndim=(1, 2))
        if z0.shape[-1] != self.M:
            raise ValueError(f"z0: expected {self.M} latent dimensions, got {z0.shape[-1]}")
        A, W, h, _ = self.numpy_params()
        return _iterate(A, W, h, self.P, z0, T)

    def generate(self, x0, T: int, *, return_latent: bool = False, transient: int = 0):
        """Run the model freely for T steps from observation(s) ``x0`` (data units).

        ``x0`` of shape (N,) or (1, N) gives (T, N); (B, N) with B > 1 gives (B, T, N).
        The first returned state is the initial state itself (after ``transient`` steps,
        if given, which are dropped). With ``return_latent=True`` returns
        ``(observations, latent)``, the latent of shape (T, M) (or (B, T, M)).

        If the free run leaves finite values (the model's orbit blows up), the states from
        then on are inf/NaN and an :class:`OrbitDiverged` warning (a RuntimeWarning) names
        the step at which it happened.
        """
        T = positive(T, "T", integer=True)
        transient = positive(transient, "transient", strict=False, integer=True)
        x0 = as_array(x0, "x0", ndim=(1, 2))
        single = x0.ndim == 1 or x0.shape[0] == 1
        z0 = self.initial_state(x0.reshape(-1, x0.shape[-1]))
        full = self.iterate(z0, T + transient)
        latent = full[:, transient:]
        if single:
            latent = latent[0]
        obs = self.observe(latent)
        bad = ~np.all(np.isfinite(full), axis=-1)        # (B, T + transient)
        if bad.any():
            import warnings

            rows = np.flatnonzero(bad.any(axis=1))
            first = bad[rows].argmax(axis=1)
            step = int(first.min())
            which = "" if len(bad) == 1 else (
                f" (in {len(rows)} of {len(bad)} orbits, first in orbit "
                f"{int(rows[first.argmin()])})")
            where = (f"step {step} of the transient" if step < transient else
                     f"step {step - transient} of the returned orbit")
            warnings.warn(
                f"generate: the free run left finite values at {where}{which}; the states "
                f"from there on are inf/NaN. The model's orbit is unbounded from this start: "
                f"check free runs with tk.alrnn.bounded_run(model, starts), or train with "
                f"tk.alrnn.reconstruct, which only returns models whose 1e5-step free runs "
                f"stay bounded", OrbitDiverged, stacklevel=2)
        return (obs, latent) if return_latent else obs

    # ------------------------------------------------------------------ linear pieces
    def regions(self, latent) -> np.ndarray:
        """Region id (symbol) of each latent state; see :func:`region_ids`."""
        return region_ids(latent, self.P)

    def region_matrix(self, region) -> np.ndarray:
        """W_D = diag(A) + W D, the Jacobian inside region(s) ``region``: (M, M) or (K, M, M)."""
        A, W, _, _ = self.numpy_params()
        return _region_matrices(A, W, self.P, region)

    def jacobian(self, latent) -> np.ndarray:
        """Exact Jacobian J = diag(A) + W D at latent state(s): (M, M) or (T, M, M)."""
        z = np.asarray(latent, dtype=float)
        A, W, _, _ = self.numpy_params()
        d = np.ones(z.shape, dtype=float)
        d[..., self.M - self.P:] = z[..., self.M - self.P:] > 0
        return np.einsum("ij,...j->...ij", W, d) + np.eye(self.M) * A

    def fixed_point(self, region) -> np.ndarray:
        """z* = (I − W_D)^{-1} h for region(s) D; real only if z* lies in D itself."""
        region = np.asarray(region)
        WD = self.region_matrix(region)
        h = self.h.detach().numpy()
        rhs = np.broadcast_to(h, WD.shape[:-1])[..., None]
        return np.linalg.solve(np.eye(self.M) - WD, rhs)[..., 0]

    def lyapunov_spectrum(self, T: int = 20_000, *, x0=None, z0=None, transient: int = 2000,
                          n_exponents: int | None = None):
        """Lyapunov spectrum along a free orbit from the exact per-step Jacobians.

        Exponents are per time unit (divided by ``dt``). Start from ``x0`` (data units),
        or ``z0`` (latent), default the latent origin's image. Memory: T·M² floats.
        """
        from ..metrics import lyapunov_spectrum

        T = positive(T, "T", integer=True)
        if z0 is None:
            z0 = self.initial_state(np.zeros(self.N) if x0 is None else x0).reshape(-1)
        orbit = self.iterate(np.asarray(z0, dtype=float).reshape(-1), T + transient + 1)
        if not np.all(np.isfinite(orbit)):
            raise RuntimeError("z0: the model's orbit diverged; no Lyapunov spectrum")
        return lyapunov_spectrum(self.jacobian, orbit[transient:], dt=self.dt, kind="map",
                                 n_exponents=n_exponents)


def _region_matrices(A, W, P, region):
    M = len(A)
    bits = region_bits(region, P).astype(float)
    d = np.concatenate([np.ones(bits.shape[:-1] + (M - P,)), bits], axis=-1)
    return np.einsum("ij,...j->...ij", W, d) + np.eye(M) * A


def _iterate(A, W, h, P, z0, T):
    """Orbit(s) of the map in numpy: z0 (M,) → (T, M); (B, M) → (B, T, M)."""
    single = z0.ndim == 1
    z = np.array(z0, dtype=float, ndmin=2)
    B, M = z.shape
    k = M - P
    out = np.empty((T, B, M))
    Wt = np.ascontiguousarray(W.T)
    phi = np.empty_like(z)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(T):
            out[t] = z
            np.copyto(phi, z)
            np.maximum(phi[:, k:], 0.0, out=phi[:, k:])
            z = z * A + phi @ Wt + h
    out = out.transpose(1, 0, 2)
    return out[0] if single else np.ascontiguousarray(out)
