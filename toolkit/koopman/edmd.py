"""EDMD with a residual for every eigenpair (ResDMD).

Convention (one for the whole toolkit): **snapshots are rows**. X and Y are (M, d) arrays
with y_m = F(x_m); Ψ_X (M × N) has entries ψ_j(x_m). With weights W = diag(w)

    G = Ψ_X* W Ψ_X,   A = Ψ_X* W Ψ_Y,   L = Ψ_Y* W Ψ_Y,

EDMD's eigenpairs solve A g = λ G g and φ(x) = ψ(x)·g is the eigenfunction: φ(F(x)) ≈ λ φ(x).
Its residual (Colbrook & Townsend 2023)

    res(λ, g) = ‖(Ψ_Y − λΨ_X) g‖_W / ‖Ψ_X g‖_W

measures how far φ is from being an eigenfunction on the data; ``verified(eps)`` keeps the
eigenpairs with res ≤ eps, which in the large-data limit lie in the ε-pseudospectrum of
the Koopman operator.

How this maps to DMD. DMD puts snapshots in columns (X_dmd = Xᵀ) and fits A_dmd ≈ Y_dmd
X_dmd⁺ acting on states. With the linear dictionary ψ(x) = x our matrix K = G⁺A (acting on
coefficient vectors) equals A_dmdᵀ. Same eigenvalues; but DMD *modes* (right
eigenvectors of A_dmd) are left eigenvectors of K, while Koopman *eigenfunctions* (our g)
are left eigenvectors of A_dmd. Modes say how the state is assembled from eigenfunctions,
x ≈ Σ_k φ_k(x) ξ_k; eigenfunctions say which observables evolve by multiplication. Reading
one for the other is the usual source of "my modes and eigenvalues do not match".
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np

from .._checks import as_array, in_range, one_of, positive
from .._result import Result
from . import continuous
from .dictionaries import Dictionary
from .pencil import ReducedPencil, reduce_pencil

__all__ = ["edmd", "KoopmanSpectrum", "snapshot_pairs"]

#: above this M·N² the automatic choice reduces the data in Gram form (QR costs ≈ 8 M N²)
DIRECT_MAX_WORK = 2e8
#: in Gram form, residuals below this are recomputed from the data (direct, all digits)
REFINE_BELOW = 1e-6
REFINE_MAX = 20


@dataclass(frozen=True, repr=False)
class KoopmanSpectrum(Result):
    """EDMD eigenvalues with their residuals, eigenfunctions and modes.

    Eigenpairs are sorted by residual (most trustworthy first).
    """

    eigenvalues: np.ndarray    # (n,) complex
    residuals: np.ndarray      # (n,)
    eigenvectors: np.ndarray   # (N, n) dictionary coefficients g_k, ‖Ψ_X g_k‖_W = 1
    modes: np.ndarray          # (n, k): observables ≈ Σ_k φ_k(x) modes[k]
    dictionary: Dictionary     # fitted; evaluates eigenfunctions at new points
    pencil: ReducedPencil      # the reduced data, for pseudospectra
    dt: float = 1.0
    residual_method: str = "direct"
    n_snapshots: int = 0

    def __len__(self):
        return len(self.eigenvalues)

    # --------------------------------------------------------------- selections
    def verified(self, eps: float) -> KoopmanSpectrum:
        """The eigenpairs with residual ≤ ``eps``."""
        positive(eps, "eps")
        return self.select(self.residuals <= eps)

    def select(self, which) -> KoopmanSpectrum:
        """A spectrum with only the eigenpairs picked by ``which`` (mask or indices)."""
        idx = np.arange(len(self))[which]
        return dataclasses.replace(self, eigenvalues=self.eigenvalues[idx],
                                   residuals=self.residuals[idx],
                                   eigenvectors=self.eigenvectors[:, idx],
                                   modes=self.modes[idx])

    # ---------------------------------------------------------- continuous time
    @property
    def continuous_eigenvalues(self) -> np.ndarray:
        """ν = log(λ)/Δt: growth rate + i·angular frequency per time unit."""
        return continuous.continuous_time(self.eigenvalues, self.dt)

    @property
    def growth_rates(self) -> np.ndarray:
        return continuous.growth_rates(self.eigenvalues, self.dt)

    @property
    def frequencies(self) -> np.ndarray:
        """Angular frequencies arg(λ)/Δt (radians per time unit)."""
        return continuous.frequencies(self.eigenvalues, self.dt)

    # ------------------------------------------------------------ eigenfunctions
    def eigenfunctions(self, X) -> np.ndarray:
        """φ_k at new snapshots X (M', d): shape (M', n). For a delay dictionary X is a
        trajectory and rows start delay windows."""
        return self.dictionary(X) @ self.eigenvectors

    def predict(self, x0, n_steps: int) -> np.ndarray:
        """Koopman-mode forecast Σ_k λ_k^t φ_k(x0) modes[k] for t = 0..n_steps.

        ``x0``: one state (d,) (for a delay dictionary: a window of n states (n, d)).
        """
        n_steps = positive(n_steps, "n_steps", strict=False, integer=True)
        x0 = np.asarray(x0, dtype=float)
        phi0 = self.eigenfunctions(x0[None] if x0.ndim == 1 else x0)[0]
        t = np.arange(n_steps + 1)[:, None]
        out = (self.eigenvalues[None, :] ** t * phi0) @ self.modes
        return out.real if np.allclose(out.imag, 0, atol=1e-8 * (1 + np.abs(out).max())) \
            else out

    def pseudospectrum(self, grid, *, vectors: bool = False, method: str = "auto",
                       rtol: float = 1e-4):
        """τ_N on ``grid`` from the stored reduced data (see ``pseudospectrum``)."""
        from .pseudospectra import pseudospectrum_from_pencil

        return pseudospectrum_from_pencil(self.pencil, grid, vectors=vectors, method=method,
                                          rtol=rtol, spectrum=self)

    # ------------------------------------------------------------------- views
    def to_frame(self):
        import pandas as pd

        lam = self.eigenvalues
        nu = self.continuous_eigenvalues
        return pd.DataFrame({"eigenvalue": lam, "abs": np.abs(lam), "angle": np.angle(lam),
                             "residual": self.residuals, "growth_rate": nu.real,
                             "frequency": nu.imag})

    def plot(self, eps: float | None = None, *, title: str = ""):
        """Eigenvalues on the unit circle, coloured by log10 residual; ``eps`` rings the
        verified ones."""
        from .views import eigenvalue_plot

        return eigenvalue_plot(self, eps=eps, title=title)

    def plot_eigenfunction(self, k: int, X, *, part: str = "real", dims=(0, 1)):
        """The eigenfunction φ_k on snapshots X, as points coloured by its real part,
        modulus or phase (``part``)."""
        from .views import eigenfunction_plot

        return eigenfunction_plot(self, k, X, part=part, dims=dims)


# ----------------------------------------------------------------- snapshot data
def snapshot_pairs(trajectory, lag: int = 1):
    """(X, Y) = (x_t, x_{t+lag}) from one trajectory (T, d) or a list of trajectories."""
    lag = positive(lag, "lag", integer=True)
    trajs = trajectory if isinstance(trajectory, list | tuple) else [trajectory]
    xs, ys = [], []
    for i, t in enumerate(trajs):
        name = "trajectory" if len(trajs) == 1 else f"trajectory[{i}]"
        t = as_array(t, name, ndim=(1, 2), min_length=lag + 1)
        t = t[:, None] if t.ndim == 1 else t
        xs.append(t[:-lag])
        ys.append(t[lag:])
    return np.vstack(xs), np.vstack(ys)


def _as_data(X, Y):
    """A list of trajectories (Y None, or Y = X shifted by one), else (X, Y) pairs."""
    if Y is None:
        trajs = list(X) if isinstance(X, list | tuple) else [X]
        if not trajs:
            raise ValueError("X: give at least one trajectory")
        out = []
        for i, t in enumerate(trajs):
            name = "X" if len(trajs) == 1 else f"X[{i}]"
            t = as_array(t, name, ndim=(1, 2), min_length=2)
            out.append(t[:, None] if t.ndim == 1 else t)
        if len({t.shape[1] for t in out}) > 1:
            raise ValueError("X: trajectories have different numbers of coordinates")
        return out, None, None
    X = as_array(X, "X", ndim=(1, 2), min_length=1)
    Y = as_array(Y, "Y", ndim=(1, 2), min_length=1)
    if X.shape != Y.shape:
        raise ValueError(f"Y: shape {Y.shape} differs from X's {X.shape}; snapshot pairs "
                         "(x_m, y_m) are the rows of X and Y")
    X = X[:, None] if X.ndim == 1 else X
    Y = Y[:, None] if Y.ndim == 1 else Y
    if len(X) > 1 and np.array_equal(X[1:], Y[:-1]):  # one trajectory: evaluate ψ once
        return [np.vstack([X, Y[-1:]])], None, None
    return None, X, Y


def _lifted(X, Y, dictionary):
    """Fit the dictionary if needed; return it with Ψ_X, Ψ_Y and the states behind Ψ_X."""
    if not isinstance(dictionary, Dictionary):
        raise TypeError(f"dictionary: expected a dictionary such as monomials(3) or rbf(100), "
                        f"got {type(dictionary).__name__}")
    trajs, Xp, Yp = _as_data(X, Y)
    if trajs is not None:
        if not dictionary.fitted:
            dictionary = dictionary.fit(np.vstack([t[:-1] for t in trajs]),
                                        np.vstack([t[1:] for t in trajs]))
        PX, PY, states = [], [], []
        for i, t in enumerate(trajs):
            P = dictionary(t)
            if len(P) < 2:
                name = "X" if len(trajs) == 1 else f"X[{i}]"
                raise ValueError(f"{name}: too short for this dictionary (no snapshot pair "
                                 "left after the delays)")
            PX.append(P[:-1])
            PY.append(P[1:])
            states.append(t[: len(P) - 1])
        return dictionary, np.vstack(PX), np.vstack(PY), np.vstack(states)
    if not dictionary.pointwise:
        raise ValueError("dictionary: delays() needs consecutive samples of a trajectory; "
                         "call edmd(trajectory, None, delays(n))")
    if not dictionary.fitted:
        dictionary = dictionary.fit(Xp, Yp)
    return dictionary, dictionary(Xp), dictionary(Yp), Xp


def _weights(weights, M):
    if weights is None:
        return np.full(M, 1.0 / M)
    w = as_array(weights, "weights", ndim=1)
    if len(w) != M:
        raise ValueError(f"weights: expected one weight per snapshot pair ({M}), got {len(w)}")
    if np.any(w < 0) or not w.sum() > 0:
        raise ValueError("weights: must be non-negative with a positive sum")
    return w


def _prepare(X, Y, dictionary, *, weights=None, residuals="auto", measure_preserving=False,
            rcond=None, rank_warning=True):
    """Shared front end of edmd and pseudospectrum: (dictionary, Ψ_X, Ψ_Y, states, w,
    pencil)."""
    one_of(residuals, "residuals", ("auto", "direct", "gram"))
    if rcond is not None:
        in_range(rcond, "rcond", 0.0, 1.0, inclusive=(False, False))
    dictionary, PX, PY, states = _lifted(X, Y, dictionary)
    M, N = PX.shape
    if M < N:
        raise ValueError(f"X: {M} snapshot pairs are too few for a dictionary of {N} "
                         f"functions; give at least {N} (better: many more)")
    if not (np.all(np.isfinite(PX)) and np.all(np.isfinite(PY))):
        raise ValueError("dictionary: produced NaN or infinite values on the data")
    w = _weights(weights, M)
    method = residuals
    if method == "auto":
        method = "direct" if M * N * N <= DIRECT_MAX_WORK else "gram"
    pencil = reduce_pencil(PX, PY, w, method=method, measure_preserving=measure_preserving,
                           rcond=rcond)
    if pencil.rank < N and rank_warning:
        warnings.warn(f"dictionary: its {N} functions span only {pencil.rank} dimensions on "
                      "these data; EDMD works in that subspace", stacklevel=3)
    return dictionary, PX, PY, states, w, pencil


def edmd(X, Y, dictionary: Dictionary, *, weights=None, dt: float = 1.0,
         observables=None, residuals: str = "auto", measure_preserving: bool = False,
         rcond: float | None = None, rank_warning: bool = True) -> KoopmanSpectrum:
    """EDMD eigenvalues, eigenfunctions and modes, with the residual of every eigenpair.

    Parameters
    ----------
    X, Y : snapshot pairs as rows, (M, d) each, y_m = F(x_m). Pass ``Y=None`` to use
        consecutive samples of a trajectory X (T, d) (or of each trajectory in a list);
        delay dictionaries need this form. Any model's generated trajectory works as is.
    dictionary : e.g. ``monomials(3)``, ``coordinates() + rbf(197)``, ``delays(20)``;
        fitted on X if it is not fitted yet.
    weights : quadrature weights w_m (default 1/M).
    dt : sampling interval, for growth rates and frequencies (log λ / Δt).
    observables : function of the states (M, d) → (M,) or (M, k) to expand in Koopman
        modes; default the state itself.
    residuals : ``"direct"`` (QR of the data; all digits), ``"gram"`` (Gram matrices;
        cheaper; residuals below 1e-6 are then recomputed from the data so they keep
        their digits), or ``"auto"``: direct when M·N² ≤ 2·10⁸, else Gram.
    measure_preserving : symmetrise G and L, (G + L)/2, for data from a measure-preserving
        system (recommended with delay dictionaries); implies the Gram form.
    rcond : relative threshold on the singular values of √W Ψ_X below which directions
        of the dictionary are dropped (default: 50·N·eps direct, 1e-7 Gram).
    rank_warning : warn when the dictionary spans fewer dimensions on the data than it
        has functions (``spectrum.pencil.rank`` holds the rank either way).
    """
    dt = positive(dt, "dt")
    dictionary, PX, PY, states, w, pencil = _prepare(
        X, Y, dictionary, weights=weights, residuals=residuals,
        measure_preserving=measure_preserving, rcond=rcond, rank_warning=rank_warning)
    lam, U = np.linalg.eig(pencil.K)
    U = U / np.linalg.norm(U, axis=0)
    res = pencil.residuals(lam, U)
    order = np.lexsort((-np.abs(lam), res))
    lam, U, res = lam[order], U[:, order], res[order]
    g = pencil.basis @ U
    if pencil.method == "gram" and not measure_preserving:
        # squaring loses half the digits: recompute the smallest residuals from the data
        small = np.flatnonzero(res < REFINE_BELOW)[:REFINE_MAX]
        if len(small):
            sw = np.sqrt(w)[:, None]
            fx = sw * (PX @ g[:, small])
            fy = sw * (PY @ g[:, small])
            res = res.copy()
            res[small] = np.linalg.norm(fy - lam[small] * fx, axis=0) / \
                np.linalg.norm(fx, axis=0)
    if observables is None:
        obs = states
    else:
        if not callable(observables):
            raise TypeError("observables: expected a function of the states (M, d)")
        obs = as_array(observables(states), "observables(X)", ndim=(1, 2), dtype=None)
        obs = obs[:, None] if obs.ndim == 1 else obs
        if len(obs) != len(states):
            raise ValueError(f"observables: returned {len(obs)} rows for {len(states)} states")
    coef = pencil.basis.conj().T @ (PX.conj().T @ (w[:, None] * obs))
    modes = np.linalg.lstsq(U, coef, rcond=None)[0]
    return KoopmanSpectrum(eigenvalues=lam.astype(complex), residuals=res, eigenvectors=g,
                           modes=modes, dictionary=dictionary, pencil=pencil, dt=float(dt),
                           residual_method=pencil.method, n_snapshots=len(PX))
