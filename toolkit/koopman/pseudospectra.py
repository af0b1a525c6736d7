"""Pseudospectra of the Koopman operator from data (Colbrook & Townsend 2023).

    τ_N(z) = min_g ‖(Ψ_Y − zΨ_X) g‖_W / ‖Ψ_X g‖_W

is the smallest residual any function of the dictionary's span achieves at z. In the
large-data limit {z : τ_N(z) < ε} lies inside the ε-pseudospectrum of the Koopman operator
(no spectral pollution), τ_N decreases as the dictionary grows by nested functions, and
the approximate point pseudospectrum is recovered as N → ∞.

The data are reduced once (see ``pencil``: a QR factorisation or Gram matrices, O(M N²)) to
the 2N × N problem τ_N(z) = σ_min([K − z; E]): the cost per grid point is free of M. Per
point, ``method="fast"`` then costs two N × N Cholesky factorisations (N³/3 flops each:
one for inverse Lanczos on H(z) = [K − z; E]*[K − z; E], one that certifies the result)
and a few O(N²) Lanczos steps, against a dense SVD of the 2N × N matrix (≈ 25× the flops)
for ``method="svd"``. An exact O(N²)-per-point method would need a simultaneous triangular
form of the rectangular pencil ([K; E], [I; 0]), which does not exist in general (such a
form would give the pencil eigenvalues, and τ_N > 0 for generic data); Lanczos in H(z)'s
eigenvalue clusters is what the certificate guards. τ is returned with certified relative
accuracy ``rtol`` (default 1e-4, far below what contour plots resolve): the reported t
satisfies (1 − rtol)·t ≤ τ_N ≤ t up to round-off; points that fail the certificate are
computed densely. For real dictionaries τ_N(z̄) = τ_N(z), and a grid symmetric about the
real axis is computed once per conjugate pair.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np

from .._checks import as_array, in_range, one_of, positive
from .._result import Result
from .dictionaries import Dictionary

__all__ = ["pseudospectrum", "Pseudospectrum", "complex_grid"]


def complex_grid(real=(-1.5, 1.5), imag=(-1.5, 1.5), n: int | tuple[int, int] = 100):
    """A regular grid of complex numbers, shape (n_imag, n_real) (rows: constant Im z)."""
    nr, ni = (n, n) if np.isscalar(n) else n
    positive(nr, "n", integer=True)
    positive(ni, "n", integer=True)
    re = np.linspace(float(real[0]), float(real[1]), int(nr))
    im = np.linspace(float(imag[0]), float(imag[1]), int(ni))
    return re[None, :] + 1j * im[:, None]


def _as_grid(grid):
    if grid is None:
        raise ValueError("grid: expected complex points z (e.g. tk.koopman.complex_grid())")
    arr = np.asarray(grid)
    if arr.dtype.kind != "c":
        raise TypeError(f"grid: expected complex numbers z = x + 1j*y, got dtype {arr.dtype} "
                        "(build one with tk.koopman.complex_grid())")
    if arr.size == 0:
        raise ValueError("grid: is empty")
    return as_array(arr, "grid", dtype=complex)


def _compare(op):
    def method(self, other):
        return op(self.tau, other)
    return method


@dataclass(frozen=True, repr=False)
class Pseudospectrum(Result):
    """τ_N on a grid of complex points, with the EDMD eigenvalues for reference.

    Behaves like the array τ_N under numpy (``np.asarray(ps)``, ``ps < 0.1``, ``ps.shape``).
    ``vectors`` (when asked for) holds the dictionary coefficients of the minimising
    pseudo-eigenfunction at each point, shape grid.shape + (N,).
    """

    grid: np.ndarray
    tau: np.ndarray
    eigenvalues: np.ndarray
    residuals: np.ndarray
    vectors: np.ndarray | None = None
    dictionary: Dictionary | None = None

    # numpy interoperability: the result is "τ_N on the grid's shape"
    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.tau, dtype=dtype)

    @property
    def shape(self):
        return self.tau.shape

    def __getitem__(self, item):
        return self.tau[item]

    __lt__ = _compare(operator.lt)
    __le__ = _compare(operator.le)
    __gt__ = _compare(operator.gt)
    __ge__ = _compare(operator.ge)

    def pseudoeigenfunction(self, index, X) -> np.ndarray:
        """Values at snapshots X of the pseudo-eigenfunction at grid point ``index``."""
        if self.vectors is None or self.dictionary is None:
            raise ValueError("vectors: call pseudospectrum(..., vectors=True) to keep them")
        return self.dictionary(X) @ self.vectors[index]

    def to_frame(self):
        import pandas as pd

        z = self.grid.ravel()
        return pd.DataFrame({"real": z.real, "imag": z.imag, "tau": self.tau.ravel()})

    def plot(self, levels=None, *, title: str = "", eps: float | None = None):
        """log10 τ_N as an image with contour lines at ``levels`` (values of ε), the unit
        circle and the EDMD eigenvalues (verified ones, res ≤ eps, filled)."""
        from .views import pseudospectrum_plot

        return pseudospectrum_plot(self, levels=levels, title=title, eps=eps)


def pseudospectrum_from_pencil(pencil, grid, *, vectors=False, method="auto", rtol=1e-4,
                               spectrum=None):
    grid = _as_grid(grid)
    one_of(method, "method", ("auto", "fast", "svd"))
    in_range(rtol, "rtol", 0.0, 0.5, inclusive=(False, True))
    tau, u = pencil.tau(grid.ravel(), method=method, vectors=vectors, rtol=rtol)
    vec = None
    if vectors:
        g = u @ pencil.basis.T
        vec = (g / np.linalg.norm(u, axis=1, keepdims=True)).reshape(grid.shape + (-1,))
    if spectrum is None:
        lam, U = np.linalg.eig(pencil.K)
        res = pencil.residuals(lam, U)
        dictionary = None
    else:
        lam, res, dictionary = spectrum.eigenvalues, spectrum.residuals, spectrum.dictionary
    return Pseudospectrum(grid=grid, tau=tau.reshape(grid.shape), eigenvalues=lam,
                          residuals=res, vectors=vec, dictionary=dictionary)


def pseudospectrum(X, Y, dictionary, grid, *, weights=None, vectors: bool = False,
                   method: str = "auto", rtol: float = 1e-4, residuals: str = "auto",
                   measure_preserving: bool = False, rcond=None) -> Pseudospectrum:
    """τ_N(z) for every complex z in ``grid`` (any shape), from snapshot pairs.

    Same data conventions as ``edmd`` (rows are snapshots; ``Y=None`` for a trajectory).
    ``vectors=True`` keeps the pseudo-eigenfunction at each point. ``method``: "fast"
    (Cholesky + inverse Lanczos per point, τ certified to relative accuracy ``rtol``,
    default 1e-4), "svd" (a dense SVD per point: the reference, all digits), or "auto"
    ("svd" for N ≤ 64, where it is as fast). The result behaves like the array τ_N
    (shape ``grid.shape``).
    """
    from .edmd import edmd

    grid = _as_grid(grid)
    spectrum = edmd(X, Y, dictionary, weights=weights, residuals=residuals,
                    measure_preserving=measure_preserving, rcond=rcond)
    return spectrum.pseudospectrum(grid, vectors=vectors, method=method, rtol=rtol)
