import numpy as np
import pytest

import toolkit as tk
from toolkit import koopman as kp

A_LIN = np.array([[0.9, -0.2], [0.1, 0.8]])
W0 = 0.9429558474  # Van der Pol μ = 1: 2π / 6.6632868593


def _products(A, degree):
    mu = np.linalg.eigvals(A)
    return np.array([mu[0] ** a * mu[1] ** b for a in range(degree + 1)
                     for b in range(degree + 1) if a + b <= degree])


@pytest.fixture(scope="module")
def linear_data():
    X = np.random.default_rng(1).uniform(-1, 1, (300, 2))
    return X, X @ A_LIN.T  # rows: x⁺ = A x


@pytest.mark.parametrize("residuals", ["direct", "gram"])
def test_linear_map_bar_eigenvalues_are_products_and_residuals_vanish(linear_data, residuals):
    X, Y = linear_data
    spec = kp.edmd(X, Y, kp.monomials(3), residuals=residuals)
    prods = _products(A_LIN, 3)
    assert len(spec) == 10
    for lam in spec.eigenvalues:
        assert np.min(np.abs(prods - lam)) <= 1e-10
    # every product is found (a bijection, not just inclusion)
    for p in prods:
        assert np.min(np.abs(spec.eigenvalues - p)) <= 1e-10
    assert spec.residuals.max() <= 1e-10   # Gram form: recomputed from the data


def test_gram_form_alone_loses_half_the_digits(linear_data):
    from toolkit.koopman.pencil import reduce_pencil

    X, Y = linear_data
    d = kp.monomials(3).fit(X)
    w = np.full(len(X), 1 / len(X))
    for method, floor in [("direct", 1e-13), ("gram", 1e-6)]:
        pen = reduce_pencil(d(X), d(Y), w, method=method)
        lam, U = np.linalg.eig(pen.K)
        res = pen.residuals(lam, U)
        assert res.max() <= floor
    assert res.max() > 1e-13  # the Gram floor is real, hence the direct recomputation


def test_slow_manifold_bar_exact_and_spurious_eigenvalues():
    sm = tk.systems.SlowManifold(mu=-0.05, lam=-1.0)
    X = np.random.default_rng(0).uniform(-1, 1, (2000, 2))
    Y = sm.exact_flow(X, 0.1)
    spec = kp.edmd(X, Y, kp.monomials(2), dt=0.1)
    exact = np.exp(np.array([0.0, -0.05, -0.1, -1.0]) * 0.1)
    good = spec.verified(1e-6)
    np.testing.assert_allclose(np.sort(good.eigenvalues.real), np.sort(exact), atol=1e-12)
    assert np.all(np.abs(good.eigenvalues.imag) < 1e-12)
    bad = spec.select(spec.residuals > 1e-6)
    assert len(bad) == 2 and bad.residuals.min() >= 0.01
    # the spurious ones approximate e^{(μ+λ)Δt}, e^{2λΔt} but are not them
    np.testing.assert_allclose(np.sort(bad.eigenvalues.real),
                               np.exp(np.array([-2.0, -1.05]) * 0.1), atol=0.01)
    # continuous-time view: growth rates μ, 2μ, λ (and 0)
    np.testing.assert_allclose(np.sort(good.growth_rates), [-1.0, -0.1, -0.05, 0.0], atol=1e-10)


def test_van_der_pol_bar_frequencies_from_verified_eigenvalues():
    x = tk.systems.trajectory("van_der_pol", 3000, dt=0.1)
    spec = kp.edmd(x, None, kp.monomials(8), dt=0.1)
    ok = spec.verified(1e-3)
    w = np.unique(np.round(np.abs(ok.frequencies[np.abs(ok.frequencies) > 1e-6]), 8))
    assert abs(w[0] / W0 - 1) < 5e-3
    assert abs(w[1] / (2 * W0) - 1) < 5e-3
    # on the attractor the verified eigenvalues sit on the unit circle
    np.testing.assert_allclose(np.abs(ok.eigenvalues), 1.0, atol=1e-3)


def test_residual_matches_its_definition_on_raw_data(rng):
    x = tk.systems.trajectory("henon", 400)
    d = kp.monomials(3).fit(x)
    spec = kp.edmd(x, None, d)
    PX, PY = d(x[:-1]), d(x[1:])
    for k in range(len(spec)):
        g = spec.eigenvectors[:, k]
        lam = spec.eigenvalues[k]
        direct = np.linalg.norm(PY @ g - lam * PX @ g) / np.linalg.norm(PX @ g)
        assert abs(direct - spec.residuals[k]) <= 1e-10 * max(1.0, direct)
        # normalisation ‖Ψ_X g‖_W = 1 with W = 1/M
        np.testing.assert_allclose(np.linalg.norm(PX @ g) / np.sqrt(len(PX)), 1.0, rtol=1e-10)
    # eigenvalues agree with the generalised problem A g = λ G g
    G, A = PX.T @ PX, PX.T @ PY
    lam_ref = np.linalg.eigvals(np.linalg.solve(G, A))
    for lam in spec.eigenvalues:
        assert np.min(np.abs(lam_ref - lam)) < 1e-8


def test_dmd_convention_linear_dictionary_gives_left_eigenvectors_of_A(linear_data):
    X, Y = linear_data
    spec = kp.edmd(X, Y, kp.coordinates())
    mu, V = np.linalg.eig(A_LIN)
    Wl = np.linalg.inv(V)  # rows: left eigenvectors of A
    for k, lam in enumerate(spec.eigenvalues):
        j = np.argmin(np.abs(mu - lam))
        assert abs(mu[j] - lam) < 1e-12
        g = spec.eigenvectors[:, k]          # φ(x) = g·x must be a left eigenvector
        ratio = g / Wl[j]
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-10)
    # modes rebuild the state: x = Σ φ_k(x) ξ_k, and forecast x_t = A^t x_0 exactly
    x0 = np.array([0.3, -0.7])
    pred = spec.predict(x0, 5)
    truth = np.stack([np.linalg.matrix_power(A_LIN, t) @ x0 for t in range(6)])
    np.testing.assert_allclose(pred, truth, atol=1e-12)


def test_eigenfunctions_evolve_by_multiplication_at_new_points(linear_data, rng):
    X, Y = linear_data
    spec = kp.edmd(X, Y, kp.monomials(3))
    Z = rng.uniform(-2, 2, (20, 2))
    np.testing.assert_allclose(spec.eigenfunctions(Z @ A_LIN.T),
                               spec.eigenfunctions(Z) * spec.eigenvalues, atol=1e-9)


def test_trajectory_forms_agree(rng):
    x = tk.systems.trajectory("henon", 300)
    d = kp.monomials(2).fit(x)
    a = kp.edmd(x, None, d)
    b = kp.edmd(x[:-1], x[1:], d)
    c = kp.edmd(*kp.snapshot_pairs(x), d)
    for other in (b, c):
        np.testing.assert_allclose(other.eigenvalues, a.eigenvalues, atol=1e-12)
        np.testing.assert_allclose(other.residuals, a.residuals, atol=1e-12)
    # a list of trajectories = their pairs stacked (no pair across the boundary)
    two = kp.edmd([x[:150], x[150:]], None, d)
    X = np.vstack([x[:149], x[150:-1]])
    Y = np.vstack([x[1:150], x[151:]])
    ref = kp.edmd(X, Y, d)
    np.testing.assert_allclose(two.eigenvalues, ref.eigenvalues, atol=1e-12)


def test_weights_are_quadrature_weights(rng):
    X = rng.uniform(-1, 1, (200, 2))
    Y = X @ A_LIN.T + 0.05 * np.sin(3 * X)
    d = kp.monomials(2).fit(X)
    # duplicating a point equals doubling its weight
    w = np.ones(200)
    w[:50] = 2.0
    a = kp.edmd(X, Y, d, weights=w / w.sum())
    b = kp.edmd(np.vstack([X, X[:50]]), np.vstack([Y, Y[:50]]), d)
    np.testing.assert_allclose(a.eigenvalues, b.eigenvalues, atol=1e-10)
    np.testing.assert_allclose(a.residuals, b.residuals, atol=1e-10)


def test_delay_dictionary_on_a_quasi_periodic_signal():
    t = np.arange(3000)
    w1, w2 = 0.3, 0.3 * np.sqrt(2)
    x = np.cos(w1 * t) + 0.5 * np.sin(w2 * t)
    spec = kp.edmd(x, None, kp.delays(4))
    ok = spec.verified(1e-8)
    assert len(ok) == 4
    np.testing.assert_allclose(np.sort(np.abs(np.angle(ok.eigenvalues))),
                               [w1, w1, w2, w2], atol=1e-8)
    sym = kp.edmd(x, None, kp.delays(4), measure_preserving=True)
    assert sym.residual_method == "gram"
    np.testing.assert_allclose(np.abs(sym.eigenvalues), 1.0, atol=1e-3)


def test_verified_and_select_keep_pairs_together(linear_data):
    X, Y = linear_data
    spec = kp.edmd(X, Y + 1e-3 * np.sin(7 * X), kp.monomials(3))
    ok = spec.verified(1e-4)
    assert np.all(ok.residuals <= 1e-4) and len(ok) < len(spec)
    for k in range(len(ok)):
        j = np.flatnonzero(spec.eigenvalues == ok.eigenvalues[k])[0]
        np.testing.assert_array_equal(ok.eigenvectors[:, k], spec.eigenvectors[:, j])
        np.testing.assert_array_equal(ok.modes[k], spec.modes[j])
    assert np.all(np.diff(spec.residuals) >= 0)  # sorted by residual


def test_rank_deficient_dictionary_warns_and_works(rng):
    X = rng.uniform(-1, 1, (100, 2))
    with pytest.warns(UserWarning, match="^dictionary"):
        spec = kp.edmd(X, X @ A_LIN.T, kp.union(kp.coordinates(), kp.coordinates()))
    assert len(spec) == 2


def test_spectrum_views_and_saving(tmp_path, linear_data):
    import holoviews as hv

    X, Y = linear_data
    spec = kp.edmd(X, Y, kp.monomials(2), dt=0.5)
    df = spec.to_frame()
    assert list(df["residual"]) == list(spec.residuals)
    np.testing.assert_allclose(df["frequency"], np.angle(spec.eigenvalues) / 0.5)
    hv.render(spec.plot(eps=1e-8))
    hv.render(spec.plot_eigenfunction(1, X, part="phase"))
    path = spec.save(tmp_path / "spec.safetensors")
    again = tk.io.load(path)
    np.testing.assert_array_equal(again.eigenvalues, spec.eigenvalues)
    np.testing.assert_allclose(again.eigenfunctions(X[:5]), spec.eigenfunctions(X[:5]))


def test_bad_input_names_the_parameter(rng):
    X = rng.standard_normal((50, 2))
    with pytest.raises(ValueError, match="^Y"):
        kp.edmd(X, X[:40], kp.monomials(1))
    with pytest.raises(ValueError, match="^X"):
        kp.edmd(X[:5], X[:5] * 2, kp.monomials(3))      # 5 pairs, 10 functions
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="^X"):
        kp.edmd(bad, X, kp.monomials(1))
    with pytest.raises(ValueError, match="^Y"):
        kp.edmd(X, bad, kp.monomials(1))
    with pytest.raises(ValueError, match="^weights"):
        kp.edmd(X, X, kp.monomials(1), weights=np.ones(3))
    with pytest.raises(TypeError, match="^dictionary"):
        kp.edmd(X, X, "monomials")
    with pytest.raises(ValueError, match="^dictionary"):
        kp.edmd(X, X[::-1], kp.delays(3))
    with pytest.raises(ValueError, match="^residuals"):
        kp.edmd(X, X, kp.monomials(1), residuals="qr")
    with pytest.raises(ValueError, match="^eps"):
        kp.edmd(X, X, kp.monomials(1)).verified(-1)
