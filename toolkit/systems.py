"""Dynamical systems and maps with their Jacobians, fixed points and trajectories.

Every system is a small frozen dataclass whose fields are its parameters::

    lor = Lorenz63(rho=28.0)
    lor.f(x)            # vector field, vectorised over leading axes of x (..., d)
    lor.jacobian(x)     # (..., d, d)
    lor.fixed_points()  # (k, d)

One way to get data, for flows and maps alike::

    x = trajectory("lorenz63", n_steps=10_000, dt=0.01)   # (T, d) float array

Flows are integrated with scipy's DOP853 at rtol 1e-10, atol 1e-12.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np
from scipy.integrate import solve_ivp

from ._checks import as_array, in_range, positive

__all__ = [
    "System",
    "Flow",
    "Map",
    "Lorenz63",
    "Rossler",
    "Lorenz96",
    "VanDerPol",
    "Duffing",
    "Pendulum",
    "SlowManifold",
    "Logistic",
    "Tent",
    "Henon",
    "PanelFlow",
    "PANEL",
    "Chen",
    "Chua",
    "Dadras",
    "Halvorsen",
    "Aizawa",
    "Arneodo",
    "GenesioTesi",
    "Finance",
    "Hadley",
    "ChenLee",
    "SYSTEMS",
    "make",
    "trajectory",
    "standardize",
    "Standardized",
]

RTOL = 1e-10
ATOL = 1e-12


@dataclass(frozen=True)
class System:
    """Base class: parameters are dataclass fields; subclasses define f and jacobian."""

    name: ClassVar[str] = ""
    is_map: ClassVar[bool] = False
    #: a point on or near the attractor, used (jittered by the seed) when x0 is None
    default_x0: ClassVar[tuple[float, ...]] = ()
    #: default step and transient (transient in time units for flows, steps for maps)
    default_dt: ClassVar[float] = 1.0
    default_transient: ClassVar[float] = 0.0

    @property
    def dim(self) -> int:
        return len(self.default_x0)

    @property
    def params(self) -> dict:
        return dataclasses.asdict(self)

    def f(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """Vector field (flows) or map (maps), vectorised over the leading axes of x."""
        raise NotImplementedError

    def jacobian(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def fixed_points(self) -> np.ndarray:
        """Known fixed points, shape (k, d)."""
        return np.zeros((0, self.dim))

    def initial_state(self, seed: int = 0) -> np.ndarray:
        rng = np.random.default_rng(seed)
        x0 = np.asarray(self.default_x0, dtype=float)
        return x0 + 1e-3 * rng.standard_normal(x0.shape) * np.maximum(1.0, np.abs(x0))

    def _check_x(self, x, name="x"):
        x = as_array(x, name, ndim=None)
        if x.ndim == 0 or x.shape[-1] != self.dim:
            raise ValueError(f"{name}: last axis must have length {self.dim} for {self.name}, "
                             f"got shape {x.shape}")
        return x


@dataclass(frozen=True)
class Flow(System):
    """Continuous-time system ẋ = f(x)."""

    default_dt: ClassVar[float] = 0.01
    default_transient: ClassVar[float] = 50.0

    def advance(self, x: np.ndarray, t: float) -> np.ndarray:
        """Flow every point of ``x`` (..., d) forward by time ``t`` (batched DOP853)."""
        x = self._check_x(x)
        positive(t, "t")
        shape = x.shape
        flat = x.reshape(-1)

        def rhs(_, y):
            return self.f(y.reshape(shape)).reshape(-1)

        sol = solve_ivp(rhs, (0.0, t), flat, method="DOP853", rtol=RTOL, atol=ATOL)
        if not sol.success:
            raise RuntimeError(f"integration failed: {sol.message}")
        return sol.y[:, -1].reshape(shape)


@dataclass(frozen=True)
class Map(System):
    """Discrete-time system x⁺ = f(x)."""

    is_map: ClassVar[bool] = True
    default_transient: ClassVar[float] = 1000

    def advance(self, x: np.ndarray, n: int = 1) -> np.ndarray:
        """Apply the map ``n`` times to every point of ``x`` (..., d)."""
        x = self._check_x(x)
        positive(n, "n", integer=True)
        for _ in range(int(n)):
            x = self.f(x)
        return x


# --------------------------------------------------------------------------- flows
@dataclass(frozen=True)
class Lorenz63(Flow):
    """Lorenz (1963): ẋ = σ(y − x), ẏ = x(ρ − z) − y, ż = xy − βz."""

    sigma: float = 10.0
    rho: float = 28.0
    beta: float = 8.0 / 3.0
    name: ClassVar[str] = "lorenz63"
    default_x0: ClassVar[tuple] = (-8.0, 7.0, 27.0)

    def __post_init__(self):
        positive(self.sigma, "sigma")
        positive(self.beta, "beta")

    def f(self, x):
        X, Y, Z = np.asarray(x, float).T
        return np.array([self.sigma * (Y - X), X * (self.rho - Z) - Y, X * Y - self.beta * Z]).T

    def jacobian(self, x):
        x = np.asarray(x, float)
        X, Y, Z = x[..., 0], x[..., 1], x[..., 2]
        J = np.zeros(x.shape[:-1] + (3, 3))
        J[..., 0, 0], J[..., 0, 1] = -self.sigma, self.sigma
        J[..., 1, 0], J[..., 1, 1], J[..., 1, 2] = self.rho - Z, -1.0, -X
        J[..., 2, 0], J[..., 2, 1], J[..., 2, 2] = Y, X, -self.beta
        return J

    def fixed_points(self):
        pts = [np.zeros(3)]
        if self.rho > 1:
            r = np.sqrt(self.beta * (self.rho - 1))
            pts += [np.array([r, r, self.rho - 1]), np.array([-r, -r, self.rho - 1])]
        return np.array(pts)


@dataclass(frozen=True)
class Rossler(Flow):
    """Rössler (1976): ẋ = −y − z, ẏ = x + ay, ż = b + z(x − c)."""

    a: float = 0.2
    b: float = 0.2
    c: float = 5.7
    name: ClassVar[str] = "rossler"
    default_x0: ClassVar[tuple] = (1.0, -5.0, 0.02)
    default_dt: ClassVar[float] = 0.05
    default_transient: ClassVar[float] = 200.0

    def f(self, x):
        X, Y, Z = np.asarray(x, float).T
        return np.array([-Y - Z, X + self.a * Y, self.b + Z * (X - self.c)]).T

    def jacobian(self, x):
        x = np.asarray(x, float)
        X, Z = x[..., 0], x[..., 2]
        J = np.zeros(x.shape[:-1] + (3, 3))
        J[..., 0, 1], J[..., 0, 2] = -1.0, -1.0
        J[..., 1, 0], J[..., 1, 1] = 1.0, self.a
        J[..., 2, 0], J[..., 2, 2] = Z, X - self.c
        return J

    def fixed_points(self):
        disc = self.c**2 - 4 * self.a * self.b
        if disc < 0:
            return np.zeros((0, 3))
        xs = [(self.c - np.sqrt(disc)) / 2, (self.c + np.sqrt(disc)) / 2]
        return np.array([[x, -x / self.a, x / self.a] for x in xs])


@dataclass(frozen=True)
class Lorenz96(Flow):
    """Lorenz (1996), any dimension n ≥ 4: ẋᵢ = (xᵢ₊₁ − xᵢ₋₂) xᵢ₋₁ − xᵢ + F (cyclic)."""

    n: int = 20
    F: float = 8.0
    name: ClassVar[str] = "lorenz96"
    default_transient: ClassVar[float] = 20.0

    def __post_init__(self):
        positive(self.n, "n", integer=True)
        if self.n < 4:
            raise ValueError(f"n: Lorenz-96 needs at least 4 variables, got {self.n}")

    @property
    def dim(self) -> int:
        return int(self.n)

    def initial_state(self, seed: int = 0):
        rng = np.random.default_rng(seed)
        x0 = np.full(self.n, float(self.F))
        x0[0] += 0.01
        return x0 + 0.01 * rng.standard_normal(self.n)

    def f(self, x):
        x = np.asarray(x, float)
        return (np.roll(x, -1, -1) - np.roll(x, 2, -1)) * np.roll(x, 1, -1) - x + self.F

    def jacobian(self, x):
        x = np.asarray(x, float)
        n = self.n
        J = np.zeros(x.shape[:-1] + (n, n))
        i = np.arange(n)
        J[..., i, i] = -1.0
        J[..., i, (i + 1) % n] = np.roll(x, 1, -1)
        J[..., i, (i - 2) % n] = -np.roll(x, 1, -1)
        J[..., i, (i - 1) % n] = np.roll(x, -1, -1) - np.roll(x, 2, -1)
        return J

    def fixed_points(self):
        return np.full((1, self.n), float(self.F))


@dataclass(frozen=True)
class VanDerPol(Flow):
    """Van der Pol oscillator: ẋ = y, ẏ = μ(1 − x²) y − x."""

    mu: float = 1.0
    name: ClassVar[str] = "van_der_pol"
    default_x0: ClassVar[tuple] = (2.0, 0.0)
    default_transient: ClassVar[float] = 50.0

    def f(self, x):
        X, Y = np.asarray(x, float).T
        return np.array([Y, self.mu * (1 - X**2) * Y - X]).T

    def jacobian(self, x):
        x = np.asarray(x, float)
        X, Y = x[..., 0], x[..., 1]
        J = np.zeros(x.shape[:-1] + (2, 2))
        J[..., 0, 1] = 1.0
        J[..., 1, 0] = -2 * self.mu * X * Y - 1
        J[..., 1, 1] = self.mu * (1 - X**2)
        return J

    def fixed_points(self):
        return np.zeros((1, 2))


@dataclass(frozen=True)
class Duffing(Flow):
    """Unforced Duffing oscillator: ẋ = y, ẏ = −δy − αx − βx³.

    δ > 0 is damped (orbits settle on ±√(−α/β)); δ = 0 is conservative (unitary Koopman
    operator). Use ``make("duffing_undamped")`` for δ = 0.
    """

    delta: float = 0.5
    alpha: float = -1.0
    beta: float = 1.0
    name: ClassVar[str] = "duffing"
    default_x0: ClassVar[tuple] = (0.5, 0.5)
    default_transient: ClassVar[float] = 0.0

    def __post_init__(self):
        positive(self.delta, "delta", strict=False)

    def f(self, x):
        X, Y = np.asarray(x, float).T
        return np.array([Y, -self.delta * Y - self.alpha * X - self.beta * X**3]).T

    def jacobian(self, x):
        x = np.asarray(x, float)
        X = x[..., 0]
        J = np.zeros(x.shape[:-1] + (2, 2))
        J[..., 0, 1] = 1.0
        J[..., 1, 0] = -self.alpha - 3 * self.beta * X**2
        J[..., 1, 1] = -self.delta
        return J

    def fixed_points(self):
        pts = [np.zeros(2)]
        if self.beta != 0 and -self.alpha / self.beta > 0:
            r = np.sqrt(-self.alpha / self.beta)
            pts += [np.array([r, 0.0]), np.array([-r, 0.0])]
        return np.array(pts)


@dataclass(frozen=True)
class Pendulum(Flow):
    """Pendulum θ̈ = −(g/l) sin θ − γ θ̇ (γ = 0: undamped, conservative)."""

    g_over_l: float = 1.0
    gamma: float = 0.0
    name: ClassVar[str] = "pendulum"
    default_x0: ClassVar[tuple] = (1.0, 0.0)
    default_transient: ClassVar[float] = 0.0

    def __post_init__(self):
        positive(self.g_over_l, "g_over_l")
        positive(self.gamma, "gamma", strict=False)

    def f(self, x):
        th, om = np.asarray(x, float).T
        return np.array([om, -self.g_over_l * np.sin(th) - self.gamma * om]).T

    def jacobian(self, x):
        x = np.asarray(x, float)
        J = np.zeros(x.shape[:-1] + (2, 2))
        J[..., 0, 1] = 1.0
        J[..., 1, 0] = -self.g_over_l * np.cos(x[..., 0])
        J[..., 1, 1] = -self.gamma
        return J

    def fixed_points(self):
        return np.array([[0.0, 0.0], [np.pi, 0.0]])


@dataclass(frozen=True)
class SlowManifold(Flow):
    """ẋ = μx, ẏ = λ(y − x²): the standard Koopman example with an exact solution.

    Eigenfunctions x, x², y − b x² (b = λ/(λ − 2μ)) with eigenvalues μ, 2μ, λ.
    """

    mu: float = -0.05
    lam: float = -1.0
    name: ClassVar[str] = "slow_manifold"
    default_x0: ClassVar[tuple] = (1.0, 0.5)
    default_dt: ClassVar[float] = 0.1
    default_transient: ClassVar[float] = 0.0

    def __post_init__(self):
        if self.lam == 2 * self.mu:
            raise ValueError("lam: must differ from 2*mu (the closed form divides by λ − 2μ)")

    def f(self, x):
        X, Y = np.asarray(x, float).T
        return np.array([self.mu * X, self.lam * (Y - X**2)]).T

    def jacobian(self, x):
        x = np.asarray(x, float)
        J = np.zeros(x.shape[:-1] + (2, 2))
        J[..., 0, 0] = self.mu
        J[..., 1, 0] = -2 * self.lam * x[..., 0]
        J[..., 1, 1] = self.lam
        return J

    def fixed_points(self):
        return np.zeros((1, 2))

    def exact_flow(self, x, t):
        """Closed-form flow map: x(t) = x₀e^{μt}, y(t) = (y₀ − b x₀²)e^{λt} + b x₀² e^{2μt}."""
        x = self._check_x(x)
        b = self.lam / (self.lam - 2 * self.mu)
        X0, Y0 = x[..., 0], x[..., 1]
        return np.stack([
            X0 * np.exp(self.mu * t),
            (Y0 - b * X0**2) * np.exp(self.lam * t) + b * X0**2 * np.exp(2 * self.mu * t),
        ], -1)


# ---------------------------------------------------------------------------- maps
@dataclass(frozen=True)
class Logistic(Map):
    """Logistic map x ↦ r x (1 − x)."""

    r: float = 3.9
    name: ClassVar[str] = "logistic"
    default_x0: ClassVar[tuple] = (0.3,)

    def __post_init__(self):
        in_range(self.r, "r", 0.0, 4.0)

    def f(self, x):
        x = np.asarray(x, float)
        return self.r * x * (1 - x)

    def jacobian(self, x):
        x = np.asarray(x, float)
        return (self.r * (1 - 2 * x))[..., None]

    def fixed_points(self):
        pts = [[0.0]]
        if self.r > 1:
            pts.append([1 - 1 / self.r])
        return np.array(pts)


@dataclass(frozen=True)
class Tent(Map):
    """Tent map x ↦ μ min(x, 1 − x) on [0, 1].

    The default μ = 1.99 keeps floating-point orbits alive: at μ = 2 exactly every
    float orbit reaches 0 within ~55 steps (multiplying by 2 shifts bits out).
    """

    mu: float = 1.99
    name: ClassVar[str] = "tent"
    default_x0: ClassVar[tuple] = (0.2,)

    def __post_init__(self):
        in_range(self.mu, "mu", 0.0, 2.0)

    def f(self, x):
        x = np.asarray(x, float)
        return self.mu * np.minimum(x, 1 - x)

    def jacobian(self, x):
        x = np.asarray(x, float)
        return np.where(x < 0.5, self.mu, -self.mu)[..., None]

    def fixed_points(self):
        pts = [[0.0]]
        if self.mu > 1:
            pts.append([self.mu / (1 + self.mu)])
        return np.array(pts)


@dataclass(frozen=True)
class Henon(Map):
    """Hénon map (x, y) ↦ (1 − a x² + y, b x)."""

    a: float = 1.4
    b: float = 0.3
    name: ClassVar[str] = "henon"
    default_x0: ClassVar[tuple] = (0.1, 0.1)

    def f(self, x):
        X, Y = np.asarray(x, float).T
        return np.array([1 - self.a * X**2 + Y, self.b * X]).T

    def jacobian(self, x):
        x = np.asarray(x, float)
        J = np.zeros(x.shape[:-1] + (2, 2))
        J[..., 0, 0] = -2 * self.a * x[..., 0]
        J[..., 0, 1] = 1.0
        J[..., 1, 0] = self.b
        return J

    def fixed_points(self):
        a, b = self.a, self.b
        disc = (1 - b) ** 2 + 4 * a
        if a == 0 or disc < 0:
            return np.zeros((0, 2))
        xs = [(-(1 - b) + s * np.sqrt(disc)) / (2 * a) for s in (1, -1)]
        return np.array([[x, b * x] for x in xs])


# --------------------------------------------------------------------------- panel flows
# Three-dimensional chaotic flows of the dysts catalogue (Gilpin, "Chaos as an
# interpretable benchmark: forecasting and data-driven modelling", NeurIPS 2021;
# equations, parameters, initial conditions and the estimated Lyapunov spectra transcribed
# from dysts' flows and data/chaotic_attractors.json). ``reference_lyapunov`` is the
# largest exponent of dysts' estimated spectrum, per time unit; ``default_dt`` is chosen
# here (about 75 samples per dominant period, dysts' "period"), not dysts' integration step.
_FD = 1e-6


@dataclass(frozen=True)
class PanelFlow(Flow):
    """A dysts flow: ``f`` from the catalogue; ``jacobian`` by central differences
    (relative error ~1e-9, enough for Lyapunov exponents)."""

    reference_lyapunov: ClassVar[float] = float("nan")
    #: λ_max computed here from these equations (tk.metrics.lyapunov_spectrum, kind
    #: "flow", 2000 time units at default_dt / 4); dysts' estimates differ by up to a third
    lyapunov_max: ClassVar[float] = float("nan")
    citation: ClassVar[str] = ""
    #: number of linear pieces of a piecewise-linear vector field (0: not piecewise linear)
    linear_pieces: ClassVar[int] = 0

    def jacobian(self, x):
        x = np.asarray(x, float)
        d = x.shape[-1]
        J = np.empty(x.shape[:-1] + (d, d))
        for j in range(d):
            e = np.zeros(d)
            e[j] = _FD * 1.0
            J[..., :, j] = (self.f(x + e) - self.f(x - e)) / (2 * _FD)
        return J


def _xyz(x):
    x = np.asarray(x, float)
    return x[..., 0], x[..., 1], x[..., 2]


def _stack(*parts):
    return np.stack(parts, axis=-1)


@dataclass(frozen=True)
class Chen(PanelFlow):
    """Chen (1999): ẋ = a(y − x), ẏ = (c − a)x − xz + cy, ż = xy − bz."""

    a: float = 35.0
    b: float = 3.0
    c: float = 28.0
    name: ClassVar[str] = "chen"
    lyapunov_max: ClassVar[float] = 2.018
    default_x0: ClassVar[tuple] = (3.2689697, 5.2990458, 19.435349)
    default_dt: ClassVar[float] = 0.008
    reference_lyapunov: ClassVar[float] = 2.0471
    citation: ClassVar[str] = ("Chen (1997), Proc. First Int. Conf. Control of Oscillations "
                               "and Chaos")

    def f(self, x):
        X, Y, Z = _xyz(x)
        return _stack(self.a * (Y - X), (self.c - self.a) * X - X * Z + self.c * Y,
                      X * Y - self.b * Z)


@dataclass(frozen=True)
class Chua(PanelFlow):
    """Chua's circuit, piecewise linear: ẋ = α(y − x − g(x)), ẏ = x − y + z, ż = −βy,
    g(x) = m1 x + (m0 − m1)(|x + 1| − |x − 1|)/2 (three linear pieces: x < −1, |x| ≤ 1,
    x > 1)."""

    alpha: float = 15.6
    beta: float = 28.0
    m0: float = -1.142857
    m1: float = -0.71429
    name: ClassVar[str] = "chua"
    lyapunov_max: ClassVar[float] = 0.411
    default_x0: ClassVar[tuple] = (1.1262351, -0.11386474, -0.78324421)
    default_dt: ClassVar[float] = 0.02
    reference_lyapunov: ClassVar[float] = 0.4605
    linear_pieces: ClassVar[int] = 3
    citation: ClassVar[str] = "Chua (1969), Introduction to Nonlinear Network Theory"

    def f(self, x):
        X, Y, Z = _xyz(x)
        g = self.m1 * X + 0.5 * (self.m0 - self.m1) * (np.abs(X + 1) - np.abs(X - 1))
        return _stack(self.alpha * (Y - X - g), X - Y + Z, -self.beta * Y)

    def piece(self, x):
        """Linear piece of each state: 0 (x < −1), 1 (|x| ≤ 1), 2 (x > 1)."""
        X = np.asarray(x, float)[..., 0]
        return (X >= -1).astype(int) + (X > 1).astype(int)


@dataclass(frozen=True)
class Dadras(PanelFlow):
    """Dadras & Momeni (2009): ẋ = y − px + oyz, ẏ = ry − xz + z, ż = cxy − ez."""

    p: float = 3.0
    o: float = 2.7
    r: float = 1.7
    c: float = 2.0
    e: float = 9.0
    name: ClassVar[str] = "dadras"
    lyapunov_max: ClassVar[float] = 0.373
    default_x0: ClassVar[tuple] = (1.0284085, -3.5348655, -0.72081646)
    default_dt: ClassVar[float] = 0.04
    reference_lyapunov: ClassVar[float] = 0.4734
    citation: ClassVar[str] = "Dadras & Momeni (2009), Physics Letters A"

    def f(self, x):
        X, Y, Z = _xyz(x)
        return _stack(Y - self.p * X + self.o * Y * Z, self.r * Y - X * Z + Z,
                      self.c * X * Y - self.e * Z)


@dataclass(frozen=True)
class Halvorsen(PanelFlow):
    """Halvorsen (Sprott 2010): ẋ = −ax − b(y + z) − y², cyclically in (x, y, z)."""

    a: float = 1.4
    b: float = 4.0
    name: ClassVar[str] = "halvorsen"
    lyapunov_max: ClassVar[float] = 0.687
    default_x0: ClassVar[tuple] = (-8.6807408, -2.4741399, 0.070775762)
    default_dt: ClassVar[float] = 0.02
    reference_lyapunov: ClassVar[float] = 0.5862
    citation: ClassVar[str] = "Sprott (2010), Elegant Chaos, World Scientific"

    def f(self, x):
        X, Y, Z = _xyz(x)
        a, b = self.a, self.b
        return _stack(-a * X - b * (Y + Z) - Y**2, -a * Y - b * (Z + X) - Z**2,
                      -a * Z - b * (X + Y) - X**2)


@dataclass(frozen=True)
class Aizawa(PanelFlow):
    """Aizawa (Langford): ẋ = (z − b)x − dy, ẏ = dx + (z − b)y,
    ż = c + az − z³/3 − (x² + y²)(1 + ez) + f z x³."""

    a: float = 0.95
    b: float = 0.7
    c: float = 0.6
    d: float = 3.5
    e: float = 0.25
    f_: float = 0.1
    name: ClassVar[str] = "aizawa"
    lyapunov_max: ClassVar[float] = 0.099
    default_x0: ClassVar[tuple] = (-0.78450179, -0.62887672, -0.17620268)
    default_dt: ClassVar[float] = 0.035
    reference_lyapunov: ClassVar[float] = 0.0895
    citation: ClassVar[str] = "Aizawa & Uezu (1982), Prog. Theor. Phys.; Langford (1984)"

    def f(self, x):
        X, Y, Z = _xyz(x)
        return _stack((Z - self.b) * X - self.d * Y, self.d * X + (Z - self.b) * Y,
                      self.c + self.a * Z - Z**3 / 3 - (X**2 + Y**2) * (1 + self.e * Z)
                      + self.f_ * Z * X**3)


@dataclass(frozen=True)
class Arneodo(PanelFlow):
    """Arneodo, Coullet & Tresser (1980): ẋ = y, ẏ = z, ż = −ax − by − cz + dx³."""

    a: float = -5.5
    b: float = 4.5
    c: float = 1.0
    d: float = -1.0
    name: ClassVar[str] = "arneodo"
    lyapunov_max: ClassVar[float] = 0.203
    default_x0: ClassVar[tuple] = (-2.7515698, 0.19079818, 3.4703629)
    default_dt: ClassVar[float] = 0.04
    reference_lyapunov: ClassVar[float] = 0.2429
    citation: ClassVar[str] = "Arneodo, Coullet & Tresser (1980), Physics Letters A 79"

    def f(self, x):
        X, Y, Z = _xyz(x)
        return _stack(Y, Z, -self.a * X - self.b * Y - self.c * Z + self.d * X**3)


@dataclass(frozen=True)
class GenesioTesi(PanelFlow):
    """Genesio & Tesi (1992): ẋ = y, ẏ = z, ż = −cx − by − az + x²."""

    a: float = 0.44
    b: float = 1.1
    c: float = 1.0
    name: ClassVar[str] = "genesio_tesi"
    lyapunov_max: ClassVar[float] = 0.111
    default_x0: ClassVar[tuple] = (-0.053772565, -0.26162564, 0.33501557)
    default_dt: ClassVar[float] = 0.08
    reference_lyapunov: ClassVar[float] = 0.0997
    citation: ClassVar[str] = "Genesio & Tesi (1992), Automatica 28"

    def f(self, x):
        X, Y, Z = _xyz(x)
        return _stack(Y, Z, -self.c * X - self.b * Y - self.a * Z + X**2)


@dataclass(frozen=True)
class Finance(PanelFlow):
    """Finance system (Cai & Huang 2007): ẋ = (1/b − a)x + z + xy, ẏ = −by − x²,
    ż = −x − cz."""

    a: float = 0.001
    b: float = 0.2
    c: float = 1.1
    name: ClassVar[str] = "finance"
    lyapunov_max: ClassVar[float] = 0.098
    default_x0: ClassVar[tuple] = (-0.51664739, -3.9568707, 0.0012893581)
    default_dt: ClassVar[float] = 0.13
    reference_lyapunov: ClassVar[float] = 0.1071
    citation: ClassVar[str] = "Cai & Huang (2007), Int. J. Nonlinear Science 3"

    def f(self, x):
        X, Y, Z = _xyz(x)
        return _stack((1 / self.b - self.a) * X + Z + X * Y, -self.b * Y - X**2,
                      -X - self.c * Z)


@dataclass(frozen=True)
class Hadley(PanelFlow):
    """Hadley circulation: ẋ = −y² − z² − ax + af, ẏ = xy − bxz − y + g,
    ż = bxy + xz − z."""

    a: float = 0.2
    b: float = 4.0
    f_: float = 9.0
    g: float = 1.0
    name: ClassVar[str] = "hadley"
    lyapunov_max: ClassVar[float] = 0.208
    default_x0: ClassVar[tuple] = (1.3664423, 0.9309146, 0.64283417)
    default_dt: ClassVar[float] = 0.02
    reference_lyapunov: ClassVar[float] = 0.3117
    citation: ClassVar[str] = "Hadley (1735); dysts' three-variable convective-cell model"

    def f(self, x):
        X, Y, Z = _xyz(x)
        return _stack(-Y**2 - Z**2 - self.a * X + self.a * self.f_,
                      X * Y - self.b * X * Z - Y + self.g, self.b * X * Y + X * Z - Z)


@dataclass(frozen=True)
class ChenLee(PanelFlow):
    """Chen & Lee (2004), rigid body with feedback: ẋ = ax − yz, ẏ = by + xz,
    ż = cz + xy/3."""

    a: float = 5.0
    b: float = -10.0
    c: float = -0.38
    name: ClassVar[str] = "chen_lee"
    lyapunov_max: ClassVar[float] = 0.141
    default_x0: ClassVar[tuple] = (0.17177112, 0.10360479, 6.2553878)
    default_dt: ClassVar[float] = 0.04
    reference_lyapunov: ClassVar[float] = 0.1646
    citation: ClassVar[str] = "Chen & Lee (2004), Chaos, Solitons & Fractals"

    def f(self, x):
        X, Y, Z = _xyz(x)
        return _stack(self.a * X - Y * Z, self.b * Y + X * Z, self.c * Z + X * Y / 3)


PANEL = (Chen, Chua, Dadras, Halvorsen, Aizawa, Arneodo, GenesioTesi, Finance, Hadley,
         ChenLee)


SYSTEMS: dict[str, type[System]] = {
    cls.name: cls
    for cls in (Lorenz63, Rossler, Lorenz96, VanDerPol, Duffing, Pendulum, SlowManifold,
                Logistic, Tent, Henon, *PANEL)
}
_ALIASES = {"duffing_undamped": ("duffing", {"delta": 0.0}), "lorenz": ("lorenz63", {}),
            "vdp": ("van_der_pol", {})}


def make(name: str | System, params: dict | None = None) -> System:
    """The system called ``name`` with ``params`` overriding its defaults."""
    if isinstance(name, System):
        return dataclasses.replace(name, **(params or {})) if params else name
    if not isinstance(name, str):
        raise TypeError(f"name: expected a system name or System, got {type(name).__name__}")
    base, extra = _ALIASES.get(name, (name, {}))
    if base not in SYSTEMS:
        options = sorted(list(SYSTEMS) + list(_ALIASES))
        raise ValueError(f"name: unknown system {name!r}; choose one of {options}")
    cls = SYSTEMS[base]
    kwargs = {**extra, **(params or {})}
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(kwargs) - known
    if unknown:
        raise ValueError(f"params: {sorted(unknown)} are not parameters of {base}; "
                         f"it has {sorted(known)}")
    return cls(**kwargs)


def trajectory(
    name: str | System,
    n_steps: int,
    dt: float | None = None,
    x0=None,
    transient: int | None = None,
    params: dict | None = None,
    seed: int = 0,
) -> np.ndarray:
    """A trajectory of ``n_steps`` samples, shape (n_steps, d).

    Parameters
    ----------
    name : a name from ``SYSTEMS`` (e.g. "lorenz63", "rossler", "henon") or a System.
    n_steps : number of returned samples, spaced ``dt`` apart (flows) or one map step.
    dt : sampling interval of a flow (default: the system's own); must be None for maps.
    x0 : initial state (d,); default: the system's reference point jittered by ``seed``.
    transient : number of leading samples to discard (default: the system's transient
        time divided by dt for flows, 1000 steps for maps).
    params : parameter overrides, e.g. ``{"rho": 28.0}``.
    seed : seeds the jitter of the default initial state.
    """
    system = make(name, params)
    n_steps = positive(n_steps, "n_steps", integer=True)
    if system.is_map:
        if dt not in (None, 1, 1.0):
            raise ValueError(f"dt: {system.name} is a map; leave dt as None")
        dt = 1.0
    else:
        dt = system.default_dt if dt is None else positive(dt, "dt")
    if transient is None:
        transient = int(round(system.default_transient / dt)) if not system.is_map \
            else int(system.default_transient)
    transient = positive(transient, "transient", strict=False, integer=True)
    if x0 is None:
        x0 = system.initial_state(seed)
    x0 = as_array(x0, "x0", shape=(system.dim,))

    total = transient + n_steps
    if system.is_map:
        out = np.empty((total, system.dim))
        x = x0
        for t in range(total):
            out[t] = x
            x = system.f(x)
        if not np.all(np.isfinite(out)):
            raise RuntimeError(f"{system.name}: orbit diverged; try another x0 or params")
        return out[transient:]

    t_eval = np.arange(total) * dt
    sol = solve_ivp(lambda _, y: system.f(y), (0.0, t_eval[-1]), x0, method="DOP853",
                    rtol=RTOL, atol=ATOL, t_eval=t_eval)
    if not sol.success or sol.y.shape[1] != total:
        raise RuntimeError(f"{system.name}: integration failed ({sol.message})")
    return np.ascontiguousarray(sol.y.T[transient:])


class Standardized(NamedTuple):
    """z-scored data with the statistics used: ``x = data * std + mean``."""

    data: np.ndarray
    mean: np.ndarray
    std: np.ndarray

    def invert(self, z) -> np.ndarray:
        return np.asarray(z) * self.std + self.mean


def standardize(x, mean=None, std=None) -> Standardized:
    """Z-score ``x`` (T, d) per column; pass ``mean``/``std`` to reuse another's statistics.

    Returns ``(z, mean, std)`` (a named tuple), so models can report in data units.
    """
    x = as_array(x, "x", ndim=2, min_length=2)
    mean = x.mean(0) if mean is None else as_array(mean, "mean", shape=(x.shape[1],))
    std = x.std(0) if std is None else as_array(std, "std", shape=(x.shape[1],))
    if np.any(std <= 0):
        cols = np.flatnonzero(std <= 0).tolist()
        raise ValueError(f"x: columns {cols} are constant; cannot standardize")
    return Standardized((x - mean) / std, mean, std)

