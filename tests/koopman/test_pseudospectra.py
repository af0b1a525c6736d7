import numpy as np
import pytest

import toolkit as tk
from toolkit import koopman as kp

SQRT2 = np.sqrt(2)


def _rotation(M=64, alpha=SQRT2):
    X = 2 * np.pi * np.arange(M) / M   # equispaced grid: exact quadrature
    return X, X + alpha


def _distance_to_eigenvalues(grid, n, alpha):
    lam = np.exp(1j * np.arange(-n, n + 1) * alpha)
    return np.min(np.abs(np.asarray(grid)[..., None] - lam), axis=-1)


def test_circle_rotation_bar_tau_is_distance_to_spectrum():
    X, Y = _rotation()
    grid = kp.complex_grid((-1.3, 1.3), (-1.3, 1.3), 41)
    ps = kp.pseudospectrum(X, Y, kp.fourier(10), grid)
    assert ps.shape == grid.shape
    np.testing.assert_allclose(ps.tau, _distance_to_eigenvalues(grid, 10, np.sqrt(2)), atol=1e-8)
    # exactly at the eigenvalues τ vanishes to round-off
    at = np.exp(1j * np.arange(-10, 11) * np.sqrt(2))
    assert kp.pseudospectrum(X, Y, kp.fourier(10), at).tau.max() < 1e-10


def test_circle_rotation_with_the_fast_method_at_larger_n():
    X, Y = _rotation(M=256)
    grid = kp.complex_grid((-1.2, 1.2), (-1.2, 1.2), 15)
    spec = kp.edmd(X, Y, kp.fourier(40))                  # N = 81 > 64: "auto" is "fast"
    dist = _distance_to_eigenvalues(grid, 40, np.sqrt(2))
    fast = spec.pseudospectrum(grid, method="fast", rtol=1e-10)
    np.testing.assert_allclose(fast.tau, dist, atol=1e-8)
    default = spec.pseudospectrum(grid)
    np.testing.assert_allclose(default.tau, dist, rtol=1e-4, atol=1e-12)


@pytest.fixture(scope="module")
def vdp_spectrum():
    x = tk.systems.trajectory("van_der_pol", 2001, dt=0.1)
    return x, kp.edmd(x, None, kp.monomials(1) + kp.rbf(77))   # N = 80


def test_fast_method_agrees_with_dense_svd(vdp_spectrum):
    _, spec = vdp_spectrum
    grid = kp.complex_grid((-1.3, 1.3), (-0.2, 1.3), (14, 9))
    ref = spec.pseudospectrum(grid, method="svd")
    tight = spec.pseudospectrum(grid, method="fast", rtol=1e-10)
    np.testing.assert_allclose(tight.tau, ref.tau, rtol=1e-9, atol=1e-13)
    default = spec.pseudospectrum(grid, method="fast")
    np.testing.assert_allclose(default.tau, ref.tau, rtol=1e-4)
    # certified from both sides: never below (1 − rtol)τ, never above τ (up to round-off)
    assert np.all(default.tau >= ref.tau * (1 - 1e-12))


def test_tau_is_a_minimal_residual(vdp_spectrum):
    x, spec = vdp_spectrum
    # τ at an eigenvalue is at most that eigenpair's residual
    lam = spec.eigenvalues[:10]
    ps = spec.pseudospectrum(lam, method="svd")
    assert np.all(ps.tau <= spec.residuals[:10] * (1 + 1e-8) + 1e-14)
    # the pseudo-eigenfunction at z attains τ(z) on the data (definition, from raw Ψ)
    z = np.array([0.5 + 0.5j, -0.3 + 0.1j, 0.95 + 0.0j])
    ps = spec.pseudospectrum(z, vectors=True)
    PX, PY = spec.dictionary(x[:-1]), spec.dictionary(x[1:])
    for i, zi in enumerate(z):
        g = ps.vectors[i]
        res = np.linalg.norm(PY @ g - zi * PX @ g) / np.linalg.norm(PX @ g)
        np.testing.assert_allclose(res, ps.tau[i], rtol=1e-6)
        np.testing.assert_allclose(ps.pseudoeigenfunction(i, x[:-1]), PX @ g)


def test_nested_dictionaries_never_increase_tau():
    x = tk.systems.trajectory("van_der_pol", 1500, dt=0.1)
    grid = kp.complex_grid((-1.2, 1.2), (-1.2, 1.2), 11)
    small = kp.monomials(1) + kp.rbf(20)
    large = kp.union(small, kp.rbf(30, seed=1))
    taus = [kp.pseudospectrum(x, None, d, grid).tau
            for d in (kp.monomials(2), kp.monomials(4), kp.monomials(6))]
    assert np.all(taus[1] <= taus[0] * (1 + 1e-9)) and np.all(taus[2] <= taus[1] * (1 + 1e-9))
    t_small = kp.pseudospectrum(x, None, small, grid).tau
    t_large = kp.pseudospectrum(x, None, large, grid).tau
    assert np.all(t_large <= t_small * (1 + 1e-9))
    assert np.mean(t_large < 0.999 * t_small) > 0.5   # and strictly better somewhere


def test_conjugate_symmetry_for_real_data(vdp_spectrum):
    _, spec = vdp_spectrum
    z = np.array([0.3 + 0.4j, 0.3 - 0.4j, -0.8 + 0.1j, -0.8 - 0.1j])
    tau = spec.pseudospectrum(z, method="svd").tau
    np.testing.assert_allclose(tau[0], tau[1], rtol=1e-12)
    np.testing.assert_allclose(tau[2], tau[3], rtol=1e-12)


def test_result_behaves_like_the_tau_array_and_plots(vdp_spectrum):
    import holoviews as hv

    _, spec = vdp_spectrum
    grid = kp.complex_grid((-1, 1), (-1, 1), 8)
    ps = spec.pseudospectrum(grid)
    arr = np.asarray(ps)
    assert arr.shape == grid.shape and np.array_equal(arr, ps.tau)
    assert np.array_equal(ps < 0.5, ps.tau < 0.5) and ps[0, 0] == ps.tau[0, 0]
    assert len(ps.to_frame()) == grid.size
    hv.render(ps.plot(levels=[0.05, 0.2], eps=1e-2))
    hv.render(kp.pseudospectrum(*_rotation(), kp.fourier(3), grid.ravel()).plot())


def test_bad_grid_names_the_parameter(vdp_spectrum):
    x, spec = vdp_spectrum
    with pytest.raises(TypeError, match="^grid"):
        spec.pseudospectrum(np.linspace(-1, 1, 5))
    with pytest.raises(TypeError, match="^grid"):
        kp.pseudospectrum(x, None, kp.monomials(2), [[0.1, 0.2]])
    with pytest.raises(ValueError, match="^grid"):
        spec.pseudospectrum(np.array([0.1 + 0j, np.nan]))
    with pytest.raises(ValueError, match="^rtol"):
        spec.pseudospectrum(np.array([0.1j]), rtol=0.0)
    with pytest.raises(ValueError, match="^method"):
        spec.pseudospectrum(np.array([0.1j]), method="qr")
