"""Dictionaries of observables ψ(x) = (ψ_1(x), …, ψ_N(x)) for EDMD.

Every dictionary is a small frozen dataclass in two states. As built by its constructor
(``monomials(3)``, ``rbf(100)``, ...) it is a recipe; ``d.fit(X)`` returns a fitted copy
that has learned what it needs from data (rescaling, centres, a kernel basis), and a
fitted dictionary evaluates on any snapshots: ``d(X)`` maps X (M, dim) to Ψ (M, N).
``edmd`` fits an unfitted dictionary on its own data, so ``edmd(X, Y, rbf(100))`` is one
call; fit yourself to use one dictionary on several data sets (e.g. a learned dictionary
fitted on one trajectory and verified on another).

Compose with ``union(a, b, ...)`` or ``a + b``. ``columns=(0, 2)`` restricts any pointwise
dictionary to some coordinates of the state. Delay (Hankel) dictionaries act on whole
trajectories rather than points: ``delays(n)`` turns a trajectory (T, dim) into rows
ψ(x_m) = (g(x_m), g(x_{m+1}), …, g(x_{m+n-1})).

Polynomial, RBF and kernel dictionaries rescale the data first (``rescale=True``):
monomials, Legendre and Chebyshev polynomials see each coordinate mapped to [−1, 1],
Hermite polynomials, RBFs and kernels see z-scores. The span of polynomials of total
degree ≤ d does not change under such affine maps, so exact results (invariant
subspaces) stay exact; conditioning improves by orders of magnitude.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .._checks import as_array, one_of, positive

__all__ = [
    "Dictionary",
    "Polynomials",
    "Coordinates",
    "RBF",
    "Fourier",
    "Delays",
    "Union",
    "Kernel",
    "polynomials",
    "monomials",
    "hermite",
    "legendre",
    "chebyshev",
    "coordinates",
    "rbf",
    "fourier",
    "delays",
    "union",
    "kernel",
    "kmeans",
    "dictionary_of_size",
    "DICTIONARY_KINDS",
]

POLYNOMIAL_FAMILIES = ("monomial", "hermite", "legendre", "chebyshev")


# --------------------------------------------------------------------------- base
@dataclass(frozen=True, repr=False)
class Dictionary:
    """Base class. Subclasses implement ``_fit(x, y)`` and ``_evaluate(x)``.

    ``dim`` is the number of state coordinates seen at fit time; it is None until the
    dictionary is fitted.
    """

    #: pointwise dictionaries map each snapshot to one row; delays need whole trajectories
    pointwise: ClassVar[bool] = True

    @property
    def fitted(self) -> bool:
        return getattr(self, "dim", None) is not None

    @property
    def size(self) -> int:
        """N, the number of functions (known once fitted)."""
        self._require_fitted()
        return len(self.labels)

    @property
    def labels(self) -> list[str]:  # pragma: no cover - overridden
        raise NotImplementedError

    def fit(self, X, Y=None) -> Dictionary:
        """A fitted copy of this dictionary, adapted to snapshots ``X`` (M, dim).

        ``Y`` (the images of ``X``) is used only by learned dictionaries (``kernel``).
        """
        X = _as_snapshots(X, "X")
        if Y is not None:
            Y = _as_snapshots(Y, "Y")
            if Y.shape[1] != X.shape[1]:
                raise ValueError(f"Y: has {Y.shape[1]} coordinates, X has {X.shape[1]}")
        cols = self._columns(X.shape[1])
        x = X[:, cols]
        y = None if Y is None else Y[:, cols]
        return self._fit(x, y, X.shape[1])

    def __call__(self, X) -> np.ndarray:
        """Ψ = ψ(X): shape (M, N) for a pointwise dictionary."""
        self._require_fitted()
        X = _as_snapshots(X, "X")
        if X.shape[1] != self.dim:
            raise ValueError(f"X: has {X.shape[1]} coordinates; this dictionary was fitted "
                             f"on data with {self.dim}")
        return self._evaluate(X[:, self._columns(X.shape[1])])

    def __add__(self, other):
        if not isinstance(other, Dictionary):
            return NotImplemented
        return union(self, other)

    def __repr__(self):
        parts = []
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray) or f.name == "dim" or v is None:
                continue
            parts.append(f"{f.name}={v!r}")
        parts.append(f"fitted: N={self.size}" if self.fitted else "not fitted")
        return f"{type(self).__name__}({', '.join(parts)})"

    # -- helpers
    def _columns(self, dim):
        cols = getattr(self, "columns", None)
        if cols is None:
            return slice(None)
        cols = list(cols)
        bad = [c for c in cols if not 0 <= c < dim]
        if bad:
            raise ValueError(f"columns: {bad} are not coordinates of the data (dim = {dim})")
        return cols

    def _require_fitted(self):
        if not self.fitted:
            raise ValueError(f"dictionary: this {type(self).__name__} is not fitted yet; call "
                             ".fit(X) first (edmd() does this for you)")

    def _fit(self, x, y, dim):  # pragma: no cover - overridden
        raise NotImplementedError

    def _evaluate(self, x):  # pragma: no cover - overridden
        raise NotImplementedError


def _as_snapshots(X, name):
    X = as_array(X, name, ndim=(1, 2), min_length=1)
    return X[:, None] if X.ndim == 1 else X


def _check_columns(columns):
    if columns is None:
        return None
    cols = tuple(int(c) for c in np.atleast_1d(columns))
    if not cols:
        raise ValueError("columns: give at least one coordinate index")
    if len(set(cols)) != len(cols):
        raise ValueError(f"columns: repeated indices in {cols}")
    return cols


def _rescaling(x, kind):
    """Affine map u = (x − center) / scale fitted on x: 'box' → [−1, 1], 'z' → z-scores."""
    if kind == "box":
        lo, hi = x.min(0), x.max(0)
        center, scale = (hi + lo) / 2, (hi - lo) / 2
    else:
        center, scale = x.mean(0), x.std(0)
    # constant coordinates keep scale 1 (the dictionary then just has constant columns)
    return center, np.where(scale > 0, scale, 1.0)


# -------------------------------------------------------------------- polynomials
def _total_degree_exponents(dim, degree):
    """Multi-indices α with |α| ≤ degree, graded (degree 0, 1, 2, ...) and within a degree
    in the order x0² , x0 x1, x1², ... (so 2-D degree 2 gives 1, x, y, x², xy, y²)."""
    out = []
    for total in range(degree + 1):
        for combo in itertools.combinations_with_replacement(range(dim), total):
            alpha = [0] * dim
            for i in combo:
                alpha[i] += 1
            out.append(alpha)
    return np.array(out, dtype=np.int64).reshape(-1, dim)


def _poly_values(u, degree, family):
    """P_k(u) for k = 0..degree: shape u.shape + (degree + 1,), orthonormal where it helps."""
    v = np.empty(u.shape + (degree + 1,))
    v[..., 0] = 1.0
    if degree == 0:
        return v
    v[..., 1] = u
    for k in range(1, degree):
        if family == "monomial":
            v[..., k + 1] = v[..., k] * u
        elif family == "hermite":  # probabilists' He_{k+1} = x He_k − k He_{k−1}
            v[..., k + 1] = u * v[..., k] - k * v[..., k - 1]
        elif family == "legendre":  # (k+1) P_{k+1} = (2k+1) x P_k − k P_{k−1}
            v[..., k + 1] = ((2 * k + 1) * u * v[..., k] - k * v[..., k - 1]) / (k + 1)
        else:  # chebyshev: T_{k+1} = 2x T_k − T_{k−1}
            v[..., k + 1] = 2 * u * v[..., k] - v[..., k - 1]
    if family == "hermite":  # orthonormal under N(0, 1)
        v /= np.sqrt([math.factorial(k) for k in range(degree + 1)])
    elif family == "legendre":  # orthonormal under the uniform measure on [−1, 1]
        v *= np.sqrt(2 * np.arange(degree + 1) + 1)
    return v


@dataclass(frozen=True, repr=False)
class Polynomials(Dictionary):
    """Polynomials of total degree ≤ ``degree``: C(dim + degree, degree) functions."""

    degree: int = 2
    family: str = "monomial"
    rescale: bool = True
    columns: tuple | None = None
    dim: int | None = None
    center: np.ndarray | None = None
    scale: np.ndarray | None = None
    exponents: np.ndarray | None = None

    def _fit(self, x, y, dim):
        kind = "z" if self.family == "hermite" else "box"
        center, scale = _rescaling(x, kind) if self.rescale else \
            (np.zeros(x.shape[1]), np.ones(x.shape[1]))
        return dataclasses.replace(self, dim=dim, center=center, scale=scale,
                                   exponents=_total_degree_exponents(x.shape[1], self.degree))

    def _evaluate(self, x):
        u = (x - self.center) / self.scale
        vals = _poly_values(u, self.degree, self.family)          # (M, d, degree + 1)
        out = np.ones((len(x), len(self.exponents)))
        for i in range(u.shape[1]):
            out *= vals[:, i, self.exponents[:, i]]
        return out

    @property
    def labels(self):
        self._require_fitted()
        names = _coord_names(self.dim, self.columns)
        sym = {"monomial": "", "hermite": "He", "legendre": "P", "chebyshev": "T"}[self.family]
        out = []
        for alpha in self.exponents:
            parts = []
            for name, k in zip(names, alpha):
                if k == 0:
                    continue
                if sym:
                    parts.append(f"{sym}{k}({name})")
                else:
                    parts.append(name if k == 1 else f"{name}^{k}")
            out.append(" ".join(parts) or "1")
        return out


def _coord_names(dim, columns):
    idx = range(dim) if columns is None else columns
    return [f"x{i}" for i in idx]


# --------------------------------------------------------------------- coordinates
@dataclass(frozen=True, repr=False)
class Coordinates(Dictionary):
    """The state coordinates themselves, ψ(x) = x (no rescaling)."""

    columns: tuple | None = None
    dim: int | None = None

    def _fit(self, x, y, dim):
        return dataclasses.replace(self, dim=dim)

    def _evaluate(self, x):
        return np.array(x, dtype=float)

    @property
    def labels(self):
        self._require_fitted()
        return _coord_names(self.dim, self.columns)


# ----------------------------------------------------------------------------- RBF
def _sq_dist(a, b):
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d2, 0.0, out=d2)


def kmeans(x, k: int, *, seed: int = 0, n_iter: int = 25, max_points: int | None = None):
    """k-means centres (k, d) by k-means++ seeding and Lloyd iterations.

    ``max_points`` subsamples the data first (default 40·k, at least 5000): centres for a
    dictionary need not be optimal, and this keeps fitting at tens of milliseconds for
    M = 10⁵ snapshots. Deterministic for a given ``seed``.
    """
    x = as_array(x, "x", ndim=2, min_length=1)
    k = positive(k, "k", integer=True)
    rng = np.random.default_rng(seed)
    max_points = max(40 * k, 5000) if max_points is None else max_points
    if len(x) > max_points:
        x = x[np.sort(rng.choice(len(x), max_points, replace=False))]
    distinct = len(np.unique(x, axis=0))
    if distinct < k:
        raise ValueError(f"n_centers: the data have only {distinct} distinct points, "
                         f"fewer than the {k} centres asked for")
    centres = np.empty((k, x.shape[1]))
    centres[0] = x[rng.integers(len(x))]
    d2 = ((x - centres[0]) ** 2).sum(1)
    for j in range(1, k):
        centres[j] = x[rng.choice(len(x), p=d2 / d2.sum())]
        d2 = np.minimum(d2, ((x - centres[j]) ** 2).sum(1))
    labels = None
    for _ in range(n_iter):
        # argmin_j ‖x − c_j‖² = argmin_j (‖c_j‖² − 2 x·c_j)
        new = np.argmin((centres * centres).sum(1) - 2.0 * (x @ centres.T), axis=1)
        if labels is not None and np.array_equal(new, labels):
            break
        labels = new
        counts = np.bincount(labels, minlength=k)
        full = counts > 0  # an emptied cluster keeps its old centre
        for i in range(x.shape[1]):
            sums = np.bincount(labels, weights=x[:, i], minlength=k)
            centres[full, i] = sums[full] / counts[full]
    return centres


RBF_KINDS = ("gaussian", "exponential", "thin_plate")


@dataclass(frozen=True, repr=False)
class RBF(Dictionary):
    """Radial basis functions φ(‖x − c_j‖ / w) around k-means centres c_j.

    Kinds: ``"gaussian"`` exp(−r²/w²); ``"exponential"`` exp(−r/w) (Colbrook & Townsend's
    choice); ``"thin_plate"`` (r/w)² log(r/w). Default width w: ``"gaussian"`` and
    ``"thin_plate"`` use twice the mean distance from a centre to its nearest neighbour,
    ``"exponential"`` the mean distance of the data to their centroid (all in z-scores
    when ``rescale``).
    """

    n_centers: int = 100
    kind: str = "gaussian"
    width: float | None = None
    rescale: bool = True
    seed: int = 0
    columns: tuple | None = None
    dim: int | None = None
    center: np.ndarray | None = None
    scale: np.ndarray | None = None
    centers: np.ndarray | None = None
    width_fitted: float | None = None

    def _fit(self, x, y, dim):
        center, scale = _rescaling(x, "z") if self.rescale else \
            (np.zeros(x.shape[1]), np.ones(x.shape[1]))
        u = (x - center) / scale
        centres = kmeans(u, self.n_centers, seed=self.seed)
        if self.width is not None:
            w = float(self.width)
        elif self.kind == "exponential":
            w = float(np.mean(np.linalg.norm(u - u.mean(0), axis=1)))
        else:
            if len(centres) > 1:
                d2 = _sq_dist(centres, centres)
                np.fill_diagonal(d2, np.inf)
                w = 2.0 * float(np.mean(np.sqrt(d2.min(1))))
            else:
                w = float(np.mean(np.linalg.norm(u - centres[0], axis=1)))
        if not w > 0:
            raise ValueError("width: the data are a single point; no RBF width fits them")
        return dataclasses.replace(self, dim=dim, center=center, scale=scale, centers=centres,
                                   width_fitted=w)

    def _evaluate(self, x):
        u = (x - self.center) / self.scale
        d2 = _sq_dist(u, self.centers)
        w = self.width_fitted
        if self.kind == "gaussian":
            d2 *= -1.0 / w**2
            return np.exp(d2, out=d2)
        r = np.sqrt(d2, out=d2)
        r /= w
        if self.kind == "exponential":
            r *= -1.0
            return np.exp(r, out=r)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(r > 0, r * r * np.log(r), 0.0)
        return out

    @property
    def labels(self):
        self._require_fitted()
        return [f"rbf{j}" for j in range(len(self.centers))]


# ------------------------------------------------------------------------- Fourier
@dataclass(frozen=True, repr=False)
class Fourier(Dictionary):
    """Fourier modes of angle coordinates: 1, cos(k·θ), sin(k·θ) for wave vectors k with
    max|k_i| ≤ n_modes (one of each ±k pair): (2 n_modes + 1)^dim real functions, the
    real form of the span of e^{ik·θ}. Coordinates are angles with the given ``period``.
    """

    n_modes: int = 5
    period: float = 2 * np.pi
    columns: tuple | None = None
    dim: int | None = None
    wavevectors: np.ndarray | None = None

    def _fit(self, x, y, dim):
        d = x.shape[1]
        ks = np.array(list(itertools.product(range(-self.n_modes, self.n_modes + 1), repeat=d)),
                      dtype=np.int64).reshape(-1, d)
        # keep one of each ±k pair: the first non-zero entry is positive
        first = np.array([next((v for v in k if v != 0), 0) for k in ks])
        ks = ks[first > 0]
        order = np.lexsort((*ks.T[::-1], np.abs(ks).max(1))) if len(ks) else []
        return dataclasses.replace(self, dim=dim, wavevectors=ks[order])

    def _evaluate(self, x):
        phase = (2 * np.pi / self.period) * (x @ self.wavevectors.T.astype(float))
        out = np.empty((len(x), 1 + 2 * len(self.wavevectors)))
        out[:, 0] = 1.0
        out[:, 1::2] = np.cos(phase)
        out[:, 2::2] = np.sin(phase)
        return out

    @property
    def labels(self):
        self._require_fitted()
        names = _coord_names(self.dim, self.columns)
        out = ["1"]
        for k in self.wavevectors:
            arg = " + ".join(f"{v}·{n}" for v, n in zip(k, names) if v != 0)
            out += [f"cos({arg})", f"sin({arg})"]
        return out


# -------------------------------------------------------------------------- kernel
KERNEL_KINDS = ("gaussian", "laplacian")


@dataclass(frozen=True, repr=False)
class Kernel(Dictionary):
    """A dictionary learned by kernel EDMD (Williams, Rowley & Kevrekidis 2015).

    On ``n_samples`` snapshot pairs (x_i, y_i) drawn with ``seed``: Ĝ_ij = k(x_i, x_j),
    Â_ij = k(y_i, x_j), Ĝ = QΣ²Qᵀ, K̂ = Σ⁺QᵀÂQΣ⁺ (truncated to the leading singular
    values). The dictionary is made of the ``n_features`` dominant eigenfunctions of K̂,
    φ(x) = k(x, X_S) Q Σ⁺ v (real and imaginary parts of complex pairs), evaluable
    anywhere. Kinds: gaussian exp(−r²/(2w²)), laplacian exp(−r/w); default w: the median
    distance between samples (z-scores). Residuals of a learned dictionary are only
    trustworthy on data it was not fitted on: fit on one data set, run ``edmd`` on another.
    """

    n_features: int = 50
    kind: str = "gaussian"
    width: float | None = None
    n_samples: int = 1000
    seed: int = 0
    columns: tuple | None = None
    dim: int | None = None
    center: np.ndarray | None = None
    scale: np.ndarray | None = None
    samples: np.ndarray | None = None
    projection: np.ndarray | None = None
    width_fitted: float | None = None

    def _kernel(self, a, b, w):
        d2 = _sq_dist(a, b)
        if self.kind == "gaussian":
            return np.exp(-d2 / (2 * w * w))
        return np.exp(-np.sqrt(d2) / w)

    def _fit(self, x, y, dim):
        if y is None:
            raise ValueError("Y: a kernel dictionary learns from snapshot pairs; pass Y to "
                             "fit(X, Y) (edmd does)")
        rng = np.random.default_rng(self.seed)
        n = min(self.n_samples, len(x))
        if n < self.n_features:
            raise ValueError(f"n_samples: {n} samples cannot give {self.n_features} features")
        idx = np.sort(rng.choice(len(x), n, replace=False))
        center, scale = _rescaling(x, "z")
        xs, ys = (x[idx] - center) / scale, (y[idx] - center) / scale
        if self.width is not None:
            w = float(self.width)
        else:
            d2 = _sq_dist(xs, xs)
            w = float(np.sqrt(np.median(d2[np.triu_indices(n, 1)]))) if n > 1 else 1.0
        G = self._kernel(xs, xs, w)
        A = self._kernel(ys, xs, w)
        s2, Q = np.linalg.eigh(G)
        s2, Q = s2[::-1], Q[:, ::-1]
        keep = s2 > max(s2[0], 0) * 1e-12
        r = int(min(keep.sum(), max(2 * self.n_features, self.n_features + 10)))
        if r < self.n_features:
            raise ValueError(f"n_features: the kernel matrix has numerical rank {r} on these "
                             f"samples, fewer than {self.n_features}")
        Q, sig = Q[:, :r], np.sqrt(s2[:r])
        Khat = (Q.T @ A @ Q) / np.outer(sig, sig)
        lam, V = np.linalg.eig(Khat)
        order = np.argsort(-np.abs(lam), kind="stable")
        cols, done = [], np.zeros(len(lam), bool)
        for i in order:
            if len(cols) >= self.n_features:
                break
            if done[i]:
                continue
            done[i] = True
            v = V[:, i]
            if abs(lam[i].imag) > 1e-12 * max(1.0, abs(lam[i])):
                # a complex pair: its real and imaginary parts span both eigenfunctions
                partner = np.where(done, np.inf, np.abs(lam - np.conj(lam[i])))
                done[int(np.argmin(partner))] = True
                cols += [v.real, v.imag]
            else:
                cols.append(v.real)
        P = (Q / sig) @ np.stack(cols[: self.n_features], 1)
        P /= np.linalg.norm(G @ P, axis=0) / np.sqrt(n)  # unit RMS on the samples
        return dataclasses.replace(self, dim=dim, center=center, scale=scale, samples=xs,
                                   projection=P, width_fitted=w)

    def _evaluate(self, x):
        u = (x - self.center) / self.scale
        return self._kernel(u, self.samples, self.width_fitted) @ self.projection

    @property
    def labels(self):
        self._require_fitted()
        return [f"kernel{j}" for j in range(self.projection.shape[1])]


# -------------------------------------------------------------------------- union
@dataclass(frozen=True, repr=False)
class Union(Dictionary):
    """All functions of several pointwise dictionaries, side by side."""

    parts: tuple = ()

    @property
    def dim(self):
        dims = {p.dim for p in self.parts}
        return dims.pop() if len(dims) == 1 else None

    def fit(self, X, Y=None):
        return dataclasses.replace(self, parts=tuple(p if p.fitted else p.fit(X, Y)
                                                     for p in self.parts))

    def __call__(self, X):
        self._require_fitted()
        return np.hstack([p(X) for p in self.parts])

    @property
    def labels(self):
        return [lab for p in self.parts for lab in p.labels]


def union(*parts: Dictionary) -> Union:
    """The union of pointwise dictionaries (nested unions are flattened)."""
    flat = []
    for p in parts:
        if not isinstance(p, Dictionary):
            raise TypeError(f"parts: expected dictionaries, got {type(p).__name__}")
        if not p.pointwise:
            raise ValueError("parts: delays() acts on trajectories and cannot join a union; "
                             "use delays(n, base=union(...)) instead")
        flat.extend(p.parts if isinstance(p, Union) else [p])
    if not flat:
        raise ValueError("parts: give at least one dictionary")
    return Union(parts=tuple(flat))


# -------------------------------------------------------------------------- delays
@dataclass(frozen=True, repr=False)
class Delays(Dictionary):
    """Delay (Hankel / Krylov) coordinates of one trajectory.

    Row m is (g(x_m), g(x_{m+1}), …, g(x_{m+n-1})) with g the ``base`` dictionary
    (default: the state coordinates), i.e. ψ_j = K^{j-1} g spans a Krylov subspace. A
    trajectory of T samples gives T − n + 1 rows. Use ``edmd(trajectory, None,
    delays(n))``; with ``measure_preserving=True`` for an ergodic measure-preserving
    system (G and L are then symmetrised).
    """

    n: int = 10
    base: Dictionary | None = None
    pointwise: ClassVar[bool] = False

    @property
    def dim(self):
        return None if self.base is None else self.base.dim

    def fit(self, X, Y=None):
        base = self.base if self.base is not None else Coordinates()
        return dataclasses.replace(self, base=base if base.fitted else base.fit(X, Y))

    def __call__(self, X):
        """Delay rows of a trajectory ``X`` (T, dim): shape (T − n + 1, n · N_base)."""
        self._require_fitted()
        X = _as_snapshots(X, "X")
        if len(X) < self.n:
            raise ValueError(f"X: a trajectory of {len(X)} samples is shorter than the "
                             f"{self.n} delays")
        g = self.base(X)
        rows = len(X) - self.n + 1
        return np.hstack([g[j:j + rows] for j in range(self.n)])

    @property
    def labels(self):
        return [f"{lab}[t+{j}]" for j in range(self.n) for lab in self.base.labels]


# ---------------------------------------------------------------------- constructors
def polynomials(degree: int, family: str = "monomial", *, rescale: bool = True,
                columns=None) -> Polynomials:
    """Polynomials of total degree ≤ ``degree`` in the (rescaled) coordinates.

    ``family``: "monomial", "hermite" (z-scored data, orthonormal under N(0, 1)),
    "legendre" or "chebyshev" (data mapped to [−1, 1]).
    """
    positive(degree, "degree", strict=False, integer=True)
    one_of(family, "family", POLYNOMIAL_FAMILIES)
    return Polynomials(degree=int(degree), family=family, rescale=bool(rescale),
                       columns=_check_columns(columns))


def monomials(degree: int, *, rescale: bool = True, columns=None) -> Polynomials:
    """All monomials of total degree ≤ ``degree`` (2-D, degree 2: 1, x, y, x², xy, y²)."""
    return polynomials(degree, "monomial", rescale=rescale, columns=columns)


def hermite(degree: int, *, columns=None) -> Polynomials:
    """Probabilists' Hermite polynomials of total degree ≤ ``degree`` in z-scored data."""
    return polynomials(degree, "hermite", columns=columns)


def legendre(degree: int, *, columns=None) -> Polynomials:
    """Legendre polynomials of total degree ≤ ``degree``, data mapped to [−1, 1]."""
    return polynomials(degree, "legendre", columns=columns)


def chebyshev(degree: int, *, columns=None) -> Polynomials:
    """Chebyshev polynomials of total degree ≤ ``degree``, data mapped to [−1, 1]."""
    return polynomials(degree, "chebyshev", columns=columns)


def coordinates(columns=None) -> Coordinates:
    """The state coordinates ψ(x) = x (combine: ``coordinates() + rbf(197)``)."""
    return Coordinates(columns=_check_columns(columns))


def rbf(n_centers: int, kind: str = "gaussian", *, width: float | None = None,
        rescale: bool = True, seed: int = 0, columns=None) -> RBF:
    """``n_centers`` radial basis functions centred by k-means on the data (see ``RBF``)."""
    positive(n_centers, "n_centers", integer=True)
    one_of(kind, "kind", RBF_KINDS)
    if width is not None:
        positive(width, "width")
    return RBF(n_centers=int(n_centers), kind=kind, width=width, rescale=bool(rescale),
               seed=int(seed), columns=_check_columns(columns))


def fourier(n_modes: int, *, period: float = 2 * np.pi, columns=None) -> Fourier:
    """Fourier modes up to ``n_modes`` of angle coordinates (see ``Fourier``)."""
    positive(n_modes, "n_modes", strict=False, integer=True)
    positive(period, "period")
    return Fourier(n_modes=int(n_modes), period=float(period), columns=_check_columns(columns))


def delays(n: int, base: Dictionary | None = None) -> Delays:
    """``n`` delay copies of ``base`` (default: the state coordinates) along a trajectory."""
    positive(n, "n", integer=True)
    if base is not None:
        if not isinstance(base, Dictionary):
            raise TypeError(f"base: expected a dictionary, got {type(base).__name__}")
        if not base.pointwise:
            raise ValueError("base: delays of delays are not supported")
    return Delays(n=int(n), base=base)


def kernel(n_features: int, kind: str = "gaussian", *, width: float | None = None,
           n_samples: int = 1000, seed: int = 0, columns=None) -> Kernel:
    """A dictionary of ``n_features`` functions learned by kernel EDMD (see ``Kernel``)."""
    positive(n_features, "n_features", integer=True)
    positive(n_samples, "n_samples", integer=True)
    one_of(kind, "kind", KERNEL_KINDS)
    if width is not None:
        positive(width, "width")
    return Kernel(n_features=int(n_features), kind=kind, width=width, n_samples=int(n_samples),
                  seed=int(seed), columns=_check_columns(columns))


DICTIONARY_KINDS = ("rbf", "monomials", "hermite", "legendre", "chebyshev", "fourier",
                    "delays")


def dictionary_of_size(kind: str, size: int, dim: int) -> Dictionary:
    """A dictionary of about ``size`` functions of ``dim`` coordinates (at most ``size``
    for polynomials, Fourier modes and delays, which come in fixed steps).

    ``"rbf"``: the linear monomials (1, x) plus ``size − dim − 1`` Gaussian RBFs;
    polynomial families: the largest total degree that fits; ``"fourier"``: the largest
    n_modes that fits; ``"delays"``: ``size // dim`` delay copies of the coordinates.
    """
    one_of(kind, "kind", DICTIONARY_KINDS)
    size = positive(size, "size", integer=True)
    dim = positive(dim, "dim", integer=True)
    if kind == "rbf":
        n = size - dim - 1
        return monomials(1) + rbf(n) if n > 0 else monomials(1)
    if kind == "fourier":
        n = 0
        while (2 * (n + 1) + 1) ** dim <= size:
            n += 1
        return fourier(n)
    if kind == "delays":
        return delays(max(1, size // dim))
    degree = 0
    while math.comb(dim + degree + 1, degree + 1) <= size:
        degree += 1
    family = "monomial" if kind == "monomials" else kind
    return polynomials(degree, family)
