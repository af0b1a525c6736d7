import numpy as np
import pytest
from scipy.special import ellipk

import toolkit as tk
from toolkit import koopman as kp

ALPHA = 2 * np.pi * 0.37 * (np.sqrt(5) - 1) / 2          # an irrational rotation angle
COEF = {1: 1.0, 2: 0.5, -3: 0.3j}                          # g(θ) = Σ a_k e^{ikθ}


def _rotation_series(T=50_000):
    th = 0.3 + ALPHA * np.arange(T)
    return sum(c * np.exp(1j * k * th) for k, c in COEF.items())


def test_moments_match_direct_sums(rng):
    g = rng.standard_normal(500) + 1j * rng.standard_normal(500)
    mu = kp.moments(g, 7)
    for n in range(8):
        assert abs(mu[n] - np.mean(g[n:] * np.conj(g[: len(g) - n]))) < 1e-12


@pytest.mark.parametrize("name", kp.measures.FILTERS)
def test_filters_are_one_at_zero_and_vanish_at_one(name):
    x = np.linspace(0, 1, 101)
    phi = kp.filter_weights(name, x)
    assert phi[0] == pytest.approx(1.0) and phi[-1] == pytest.approx(0.0, abs=1e-12)
    assert np.all(np.diff(phi) <= 1e-12)   # non-increasing on [0, 1]
    # order of the filter: 1 − φ(x) = O(x^p) near 0
    p = {"fejer": 1, "cosine": 2, "smooth": 4, "bump": 8}[name]
    assert 1 - kp.filter_weights(name, 1e-2) <= 40 * 1e-2**p


def test_rotation_moments_density_is_the_filtered_point_spectrum():
    g = _rotation_series()
    N = 200
    nu = kp.spectral_measure(g, n_moments=N, filter="fejer")
    n = np.arange(-N, N + 1)
    ks = np.array(list(COEF))
    masses = np.array([abs(c) ** 2 for c in COEF.values()])
    mu = (masses * np.exp(1j * np.outer(n, ks * ALPHA))).sum(1)   # exact moments
    exact = (np.exp(-1j * np.outer(nu.theta, n)) @ ((1 - np.abs(n) / N) * mu)).real / (2 * np.pi)
    # ergodic averages converge like 1/T: the error is small against the peak height
    assert np.max(np.abs(nu.density - exact)) < 1e-5 * exact.max() * 100
    # the atoms (point spectrum) are found at kα with masses |a_k|²
    want = np.angle(np.exp(1j * ks * ALPHA))
    order = np.argsort(want)
    np.testing.assert_allclose(nu.atoms, want[order], atol=1e-6)
    np.testing.assert_allclose(nu.atom_masses, masses[order], rtol=1e-3)
    assert abs(nu.continuous_mass) < 1e-3
    assert nu.total_mass == pytest.approx(masses.sum(), rel=1e-3)


def test_resolvent_on_rotation_is_the_poisson_smoothed_measure():
    M = 64
    X = 2 * np.pi * np.arange(M) / M
    th = np.mod(X, 2 * np.pi)
    g = lambda T: np.cos(T[:, 0]) + 0.5 * np.sin(2 * T[:, 0])  # noqa: E731
    # a rotation trajectory that is an exact quadrature: α = 2π·5/64 permutes the grid
    alpha = 2 * np.pi * 5 / M
    traj = np.mod(th[0] + alpha * np.arange(M + 1), 2 * np.pi)
    eps = 0.1
    nu = kp.spectral_measure(traj, g, method="resolvent", dictionary=kp.fourier(4),
                             epsilon=eps)
    r = 1 + eps
    atoms = {1: 0.25, -1: 0.25, 2: 0.0625, -2: 0.0625}
    exact = sum(m * (r * r - 1) / np.abs(r * np.exp(1j * nu.theta) - np.exp(1j * k * alpha)) ** 2
                for k, m in atoms.items()) / (2 * np.pi)
    np.testing.assert_allclose(nu.density, exact, atol=1e-10)


def test_lorenz_has_continuous_spectrum_and_only_the_eigenvalue_one():
    x = tk.systems.trajectory("lorenz63", 8000, dt=0.05)
    nu_x = kp.spectral_measure(x, 0, n_moments=400, dt=0.05)
    assert len(nu_x.atoms) == 0                         # mean ≈ 0: no atom worth reporting
    nu_z = kp.spectral_measure(x, 2, n_moments=400, dt=0.05)
    np.testing.assert_array_equal(nu_z.atoms, [0.0])  # only eigenvalue 1 …
    assert nu_z.atom_masses[0] == pytest.approx(np.mean(x[:, 2]) ** 2)   # … carrying |E z|²
    # with the mean removed, what is left is a density: finite, positive, integrating to
    # the variance; and unlike an atom (whose peak grows like N) its peak barely grows with
    # the number of moments N
    a = kp.spectral_measure(x, 0, n_moments=200, dt=0.05, atoms=None)
    b = kp.spectral_measure(x, 0, n_moments=1600, dt=0.05, atoms=None)
    np.testing.assert_allclose(np.trapezoid(b.density, b.theta), np.mean(x[:, 0] ** 2),
                               rtol=1e-6)
    assert b.density.max() < 2 * a.density.max()   # an atom would give 8×
    assert b.density.min() > -1e-3 * b.density.max()
    res = kp.spectral_measure(x, 2, method="resolvent", epsilon=0.1, remove_mean=True)
    assert res.density.min() > 0
    np.testing.assert_allclose(np.trapezoid(res.density, res.theta), np.var(x[:, 2]), rtol=2e-2)


def test_undamped_pendulum_has_pure_point_spectrum_at_its_frequency():
    th0, dt = 1.0, 0.1
    x = tk.systems.trajectory("pendulum", 20_000, dt=dt, x0=[th0, 0.0], transient=0)
    omega = 2 * np.pi / (4 * ellipk(np.sin(th0 / 2) ** 2))   # exact period of the swing
    nu = kp.spectral_measure(x, 0, dt=dt)
    np.testing.assert_allclose(np.abs(nu.atoms) / dt, omega, rtol=1e-5)
    assert nu.atom_masses.sum() == pytest.approx(nu.total_mass, rel=1e-3)


def test_cat_map_has_flat_lebesgue_spectrum():
    z = np.empty((40_000, 2))
    z[0] = [0.1234, 0.5678]
    for i in range(1, len(z)):
        a, b = z[i - 1]
        z[i] = ((2 * a + b) % 1.0, (a + b) % 1.0)
    nu = kp.spectral_measure(np.exp(2j * np.pi * z[:, 0]), n_moments=40, filter="fejer")
    np.testing.assert_allclose(nu.density * 2 * np.pi, 1.0, atol=0.1)
    assert len(nu.atoms) == 0


def test_explicit_atoms_and_views():
    import holoviews as hv

    g = _rotation_series(20_000)
    nu = kp.spectral_measure(g, n_moments=100, atoms=np.exp(1j * np.array([ALPHA, 0.7])), dt=0.5)
    np.testing.assert_allclose(nu.atoms, [0.7, ALPHA])     # sorted by angle
    np.testing.assert_allclose(nu.atom_masses, [0.0, 1.0], atol=1e-3)
    assert list(nu.atoms_frame()["mass"]) == list(nu.atom_masses)
    np.testing.assert_allclose(nu.to_frame()["frequency"], nu.theta / 0.5)
    hv.render(nu.plot(frequency=True))


def test_bad_input_names_the_parameter(rng):
    g = rng.standard_normal(100)
    with pytest.raises(ValueError, match="^n_moments"):
        kp.spectral_measure(g, n_moments=100)
    with pytest.raises(ValueError, match="^filter"):
        kp.spectral_measure(g, filter="box")
    with pytest.raises(ValueError, match="^observable"):
        kp.spectral_measure(np.zeros(50))
    with pytest.raises(ValueError, match="^observable"):
        kp.spectral_measure(rng.standard_normal((50, 2)), 3)
    with pytest.raises(ValueError, match="^x"):
        kp.spectral_measure(np.array([1.0, np.nan, 2.0]))
    with pytest.raises(ValueError, match="^method"):
        kp.spectral_measure(g, method="fft")
    with pytest.raises(ValueError, match="^epsilon"):
        kp.spectral_measure(g, method="resolvent", epsilon=0)
