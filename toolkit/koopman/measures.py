"""Spectral measures of measure-preserving systems (Colbrook & Townsend 2023).

For a measure-preserving system the Koopman operator is an isometry of L²(μ), and each
observable g has a spectral measure ν_g on the circle [−π, π] with moments

    ∫ e^{inθ} dν_g(θ) = ⟨Kⁿg, g⟩ = μ_n,     μ_{−n} = conj(μ_n),   μ_0 = ‖g‖².

Eigenvalues e^{iθ₀} with eigenfunctions in g's expansion are atoms of ν_g (point spectrum,
e.g. a quasi-periodic orbit); a density is continuous spectrum (mixing, e.g. Lorenz-63,
whose only eigenvalue is 1, an atom at θ = 0 of mass |∫g dμ|²).

- ``method="moments"``: μ_n from one ergodic trajectory (autocorrelations by FFT) and
  ν^N(θ) = (1/2π) Σ_{|n|≤N} φ(n/N) μ_n e^{−inθ} with a filter φ: "fejer" 1 − |x|
  (a positive kernel, O(1/N) blur), "cosine" (1 + cos πx)/2, "smooth"
  1 − x⁴(35 − 84|x| + 70x² − 20|x|³) (fourth order: smooth densities converge as N⁻⁴),
  "bump" exp(−2 e^{−c/x⁴}/(1 − |x|)), c = 0.1096 (infinitely smooth, infinite order).
- ``method="resolvent"``: with λ = (1 + ε)e^{iθ} and g = ψ·c in a dictionary,
  ν^ε(θ) = −(1/2π) Re(c*Gc + 2λ c*G(A − λG)⁻¹Gc), the measure smoothed by the Poisson
  kernel of width ≈ ε. The default dictionary is the Krylov space of g (delays of the
  observable) with G and L symmetrised, (G + L)/2.

Atoms are estimated separately from the same trajectory by Wiener's theorem,
ν_g({θ}) = lim_T |(1/T) Σ_{m<T} e^{−imθ} g(x_m)|² (with a Hann taper), at the angles
given, or found as peaks of the periodogram of the first quarter of the record that the
other quarters confirm (an eigenfunction component rotates rigidly, so every piece gives
the same complex amplitude; continuous spectrum does not).
Continuous spectrum contributes only O(1/T) to these estimates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import as_array, in_range, one_of, positive
from .._result import Result

__all__ = ["spectral_measure", "SpectralMeasure", "moments", "FILTERS", "filter_weights",
           "atom_masses"]

FILTERS = ("fejer", "cosine", "smooth", "bump")
_BUMP_C = 0.109550455106347


def filter_weights(name: str, x) -> np.ndarray:
    """φ(x) for |x| ≤ 1 (φ(0) = 1, φ(±1) = 0)."""
    one_of(name, "filter", FILTERS)
    x = np.abs(np.asarray(x, dtype=float))
    if name == "fejer":
        out = 1 - x
    elif name == "cosine":
        out = (1 + np.cos(np.pi * x)) / 2
    elif name == "smooth":
        out = 1 - x**4 * (35 - 84 * x + 70 * x**2 - 20 * x**3)
    else:
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            out = np.exp(-2.0 / (1 - x) * np.exp(-_BUMP_C / x**4))
        out = np.where(x == 0, 1.0, np.where(x >= 1, 0.0, out))
    return np.where(x <= 1, out, 0.0)


def moments(series, n_moments: int) -> np.ndarray:
    """μ_n = (1/(T − n)) Σ_{m<T−n} g(x_{m+n}) conj(g(x_m)) for n = 0..n_moments (by FFT)."""
    g = as_array(series, "series", ndim=1, dtype=None, min_length=2)
    g = g.astype(complex if np.iscomplexobj(g) else float)
    T = len(g)
    n_moments = positive(n_moments, "n_moments", integer=True)
    if n_moments >= T:
        raise ValueError(f"n_moments: {n_moments} needs a series longer than {T} samples")
    size = 1 << int(np.ceil(np.log2(2 * T)))
    f = np.fft.fft(g, size)
    ac = np.fft.ifft(f * np.conj(f))[: n_moments + 1]   # Σ_m g(m + n) conj(g(m))
    mu = ac / (T - np.arange(n_moments + 1))
    return mu if np.iscomplexobj(g) else mu.real.astype(complex)


def _hann(T):
    w = 0.5 - 0.5 * np.cos(2 * np.pi * (np.arange(T) + 0.5) / T)
    return w / w.sum()


def atom_masses(series, angles) -> np.ndarray:
    """Wiener's estimate of the atom of ν_g at each angle θ:
    |Σ_m w_m e^{−imθ} g(x_m)|² with Hann weights w (Σw = 1). An atom of mass m gives m
    (as T → ∞); continuous spectrum contributes O(1/T); the taper keeps neighbouring
    atoms from leaking into each other."""
    g = as_array(series, "series", ndim=1, dtype=None, min_length=2)
    th = as_array(angles, "angles", ndim=(0, 1)).ravel()
    wg = _hann(len(g)) * g
    m = np.arange(len(g))
    return np.array([abs(np.sum(wg * np.exp(-1j * t * m))) ** 2 for t in th])


def _find_atoms(g, threshold, max_atoms=20, n_pieces=4):
    """Angles of atoms. Candidates are peaks of the tapered periodogram of the first of
    ``n_pieces`` pieces of the record, above ``threshold``; a candidate θ is kept only if
    every later piece, which took no part in choosing it, agrees: an eigenfunction
    component c e^{imθ} gives every piece the same amplitude S_k = Σ_{m ∈ piece k}
    w e^{−imθ} g(x_m) = c (global m), while continuous spectrum decorrelates. The angle is
    then refined on the whole record."""
    T = len(g)
    h = T // n_pieces
    if h < 16:
        return np.zeros(0)
    size = 1 << int(np.ceil(np.log2(16 * h)))
    w = _hann(h)
    P = np.abs(np.fft.fft(w * g[:h], size)) ** 2
    th = 2 * np.pi * np.fft.fftfreq(size)
    left, right = np.roll(P, 1), np.roll(P, -1)
    peaks = np.flatnonzero((P >= left) & (P > right) & (P >= threshold))
    peaks = peaks[np.argsort(-P[peaks])]
    width = 4 * 2 * np.pi / h  # Hann main lobe: ± 2 bins of 2π/h
    m = np.arange(n_pieces * h)
    angles = []
    for p in peaks[: 3 * max_atoms]:
        a, b, c = left[p], P[p], right[p]
        den = a - 2 * b + c
        t = th[p] + (np.clip(0.5 * (a - c) / den, -0.5, 0.5) if den != 0 else 0.0) \
            * (2 * np.pi / size)
        if any(abs(np.angle(np.exp(1j * (t - u)))) < width for u in angles):
            continue  # a side lobe or the same peak
        S = (g[: n_pieces * h] * np.exp(-1j * t * m)).reshape(n_pieces, h) @ w
        if np.max(np.abs(S[1:] - S[0])) > 0.3 * abs(S[0]):
            continue  # later pieces disagree: continuous spectrum
        angles.append(_refine(g, t, 2 * np.pi / T))
        if len(angles) == max_atoms:
            break
    return np.array(angles)


def _refine(g, t, step):
    """Maximise the tapered Wiener sum over the whole record near ``t`` (golden section)."""
    from scipy.optimize import minimize_scalar

    res = minimize_scalar(lambda u: -atom_masses(g, [u])[0], bracket=None,
                          bounds=(t - 2 * step, t + 2 * step), method="bounded",
                          options={"xatol": 1e-4 * step})
    return float(res.x)


@dataclass(frozen=True, repr=False)
class SpectralMeasure(Result):
    """A smoothed spectral measure on [−π, π] with the atoms found or asked for."""

    theta: np.ndarray          # (n_theta,) angles
    density: np.ndarray        # (n_theta,) smoothed density; integrates to ≈ ‖g‖²
    atoms: np.ndarray          # (k,) angles of the atoms (point spectrum)
    atom_masses: np.ndarray    # (k,) their masses ν_g({θ})
    total_mass: float          # μ_0 = ‖g‖²
    method: str
    filter: str = ""
    n_moments: int = 0
    epsilon: float = 0.0
    dt: float = 1.0
    moments: np.ndarray | None = None

    @property
    def frequencies(self) -> np.ndarray:
        """The angle grid as angular frequencies per time unit, θ/Δt."""
        return self.theta / self.dt

    @property
    def continuous_mass(self) -> float:
        """‖g‖² minus the atoms' mass: what the continuous spectrum carries."""
        return float(self.total_mass - self.atom_masses.sum())

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame({"theta": self.theta, "frequency": self.frequencies,
                             "density": self.density})

    def atoms_frame(self):
        import pandas as pd

        return pd.DataFrame({"theta": self.atoms, "frequency": self.atoms / self.dt,
                             "eigenvalue": np.exp(1j * self.atoms), "mass": self.atom_masses})

    def plot(self, *, frequency: bool = False, logy: bool = False, title: str = ""):
        """The smoothed density with the atoms as spikes (point and continuous spectrum
        together); ``frequency=True`` labels the axis in radians per time unit."""
        from .views import spectral_measure_plot

        return spectral_measure_plot(self, frequency=frequency, logy=logy, title=title)


def _series(x, observable):
    x = as_array(x, "x", ndim=(1, 2), dtype=None, min_length=2)
    if x.dtype.kind not in "fc":
        x = x.astype(float)
    if observable is None:
        g = x if x.ndim == 1 else x[:, 0]
    elif callable(observable):
        X = x[:, None] if x.ndim == 1 else x
        g = as_array(observable(X), "observable(x)", ndim=1, dtype=None)
        if len(g) != len(X):
            raise ValueError(f"observable: returned {len(g)} values for {len(X)} samples")
    else:
        if x.ndim == 1:
            raise ValueError("observable: x is already a series; leave observable as None")
        col = int(observable)
        if not 0 <= col < x.shape[1]:
            raise ValueError(f"observable: column {col} does not exist (x has {x.shape[1]})")
        g = x[:, col]
    g = np.asarray(g)
    return g.astype(complex) if np.iscomplexobj(g) else g.astype(float)


def spectral_measure(x, observable=None, *, method: str = "moments",
                     n_moments: int | None = None, filter: str = "cosine",
                     epsilon: float = 0.05, dictionary=None, n_delays: int = 40,
                     theta=None, n_theta: int = 2000, atoms="auto",
                     atom_threshold: float = 1e-3, dt: float = 1.0,
                     remove_mean: bool = False) -> SpectralMeasure:
    """The spectral measure ν_g of an observable along one ergodic trajectory.

    Parameters
    ----------
    x : a trajectory (T, d) (of a system, or generated by any model) or a series g(x_m) (T,).
    observable : None (x itself if 1-D, else its first column), a column index, or a
        function of the trajectory (T, d) → (T,).
    method : "moments" (filtered Fourier series of the autocorrelations) or "resolvent".
    n_moments : N for the moments method (default min(T // 10, 2000)).
    filter : "fejer", "cosine", "smooth" or "bump" (see the module notes).
    epsilon : Poisson smoothing width of the resolvent method.
    dictionary : for the resolvent method, a pointwise dictionary (g is projected on it);
        default: the Krylov space of g, ``n_delays`` delays of the series.
    theta : angles to evaluate at (default ``n_theta`` points on [−π, π]).
    atoms : "auto" (periodogram peaks with mass ≥ atom_threshold·‖g‖² in the first
        quarter of the record that the other quarters confirm, plus θ = 0 when |mean g|²
        is that large), angles or eigenvalues to estimate atoms at, or None.
    dt : sampling interval, to read angles as frequencies θ/Δt.
    remove_mean : subtract the mean of g first (removes the atom at θ = 0).
    """
    one_of(method, "method", ("moments", "resolvent"))
    one_of(filter, "filter", FILTERS)
    dt = positive(dt, "dt")
    g = _series(x, observable)
    if not np.all(np.isfinite(g)):
        raise ValueError("x: the observable has NaN or infinite values")
    if remove_mean:
        g = g - g.mean()
    T = len(g)
    if theta is None:
        theta = np.linspace(-np.pi, np.pi, positive(n_theta, "n_theta", integer=True))
    theta = as_array(theta, "theta", ndim=1)
    mu0 = float(np.mean(np.abs(g) ** 2))
    if mu0 == 0:
        raise ValueError("observable: is identically zero on the data")
    mu = None
    n_mom, eps_used = 0, 0.0
    if method == "moments":
        n_mom = min(T // 10, 2000) if n_moments is None else \
            positive(n_moments, "n_moments", integer=True)
        if n_mom < 1 or n_mom >= T:
            raise ValueError(f"n_moments: need 1 ≤ n_moments < T = {T}, got {n_mom}")
        mu = moments(g, n_mom)
        n = np.arange(1, n_mom + 1)
        w = filter_weights(filter, n / n_mom) * mu[1:]
        density = (mu[0].real + 2 * np.real(np.exp(-1j * np.outer(theta, n)) @ w)) / (2 * np.pi)
    else:
        eps_used = in_range(epsilon, "epsilon", 0.0, None, inclusive=(False, True))
        density = _resolvent_density(x, g, theta, eps_used, dictionary, n_delays)
        filter = ""
    if atoms is None:
        ang = np.zeros(0)
    elif isinstance(atoms, str):
        one_of(atoms, "atoms", ("auto",))
        thr = in_range(atom_threshold, "atom_threshold", 0.0, 1.0) * mu0
        ang = _find_atoms(g, thr)
        # θ = 0 (eigenvalue 1, the constant function) carries |mean g|²: always an atom
        ang = ang[np.abs(ang) >= 8 * np.pi / T]
        if abs(np.mean(g)) ** 2 >= thr:
            ang = np.append(ang, 0.0)
    else:
        a = np.asarray(atoms)
        ang = np.angle(a) if np.iscomplexobj(a) else as_array(a, "atoms", ndim=(0, 1))
        ang = np.atleast_1d(ang).astype(float)
    ang = np.angle(np.exp(1j * ang))  # wrap into (−π, π]
    order = np.argsort(ang)
    ang = ang[order]
    masses = atom_masses(g, ang) if len(ang) else np.zeros(0)
    masses[ang == 0] = abs(np.mean(g)) ** 2  # exact for the constant eigenfunction
    return SpectralMeasure(theta=theta, density=np.asarray(density, float), atoms=ang,
                           atom_masses=masses, total_mass=mu0, method=method, filter=filter,
                           n_moments=int(n_mom), epsilon=float(eps_used), dt=float(dt),
                           moments=mu)


def _resolvent_density(x, g, theta, eps, dictionary, n_delays):
    """ν^ε(θ) = −(1/2π) Re(c*Gc + 2λ c*G(A − λG)⁻¹Gc), λ = (1 + ε)e^{iθ}."""
    T = len(g)
    if dictionary is None:
        n = positive(n_delays, "n_delays", integer=True)
        if T < 2 * n + 2:
            raise ValueError(f"x: {T} samples are too few for {n} delays")
        rows = T - n
        PX = np.stack([g[j:j + rows] for j in range(n)], 1)
        PY = np.stack([g[j + 1:j + 1 + rows] for j in range(n)], 1)
        c = np.zeros(n)
        c[0] = 1.0
        w = 1.0 / rows
        G = PX.conj().T @ PX * w
        A = PX.conj().T @ PY * w
        L = PY.conj().T @ PY * w
        G = (G + L) / 2   # measure preserving: ‖Kψ‖ = ‖ψ‖
    else:
        from .edmd import _lifted

        X = np.asarray(x, dtype=float)
        X = X[:, None] if X.ndim == 1 else X
        d, PX, PY, states = _lifted(X, None, dictionary)
        gx = g[: len(PX)]
        w = 1.0 / len(PX)
        G = PX.conj().T @ PX * w
        A = PX.conj().T @ PY * w
        L = PY.conj().T @ PY * w
        G = (G + L) / 2
        c = np.linalg.lstsq(PX, gx, rcond=None)[0]
    # in a G-orthonormal frame P (P*GP = I): g ≈ ψ·P y with y = P*Gc, K ≈ Kr = P*AP and
    # c*G(A − λG)⁻¹Gc = y*(Kr − λ)⁻¹y; diagonalise Kr once, then O(N) per angle
    s, U = np.linalg.eigh((G + G.conj().T) / 2)
    keep = s > s.max() * 1e-12
    P = U[:, keep] / np.sqrt(s[keep])
    Kr = P.conj().T @ A @ P
    y = P.conj().T @ (G @ c)
    lam, W = np.linalg.eig(Kr)
    a = y.conj() @ W
    b = np.linalg.solve(W, y)
    z = (1 + eps) * np.exp(1j * theta)
    R = (a * b) @ (1.0 / (lam[:, None] - z[None, :]))
    norm2 = np.real(np.vdot(y, y))
    return -(norm2 + 2 * np.real(z * R)) / (2 * np.pi)
