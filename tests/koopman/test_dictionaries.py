import math

import numpy as np
import pytest
from numpy.polynomial import chebyshev as npcheb
from numpy.polynomial import hermite_e as npherm
from numpy.polynomial import legendre as npleg

import toolkit as tk
from toolkit import koopman as kp


@pytest.mark.parametrize("dim,degree", [(1, 4), (2, 3), (3, 2), (3, 4)])
def test_total_degree_counts(dim, degree, rng):
    d = kp.monomials(degree).fit(rng.standard_normal((50, dim)))
    assert d.size == math.comb(dim + degree, degree)
    assert d(rng.standard_normal((7, dim))).shape == (7, d.size)


def test_monomials_2d_degree_2_order_and_values(rng):
    X = rng.uniform(-3, 5, (40, 2))
    d = kp.monomials(2, rescale=False).fit(X)
    assert d.labels == ["1", "x0", "x1", "x0^2", "x0 x1", "x1^2"]
    x, y = X.T
    np.testing.assert_allclose(d(X), np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], 1))


def test_rescaling_maps_data_into_unit_box(rng):
    X = rng.uniform([-10, 100], [30, 101], (500, 2))
    d = kp.monomials(1).fit(X)
    u = d(X)[:, 1:]
    np.testing.assert_allclose(u.min(0), -1, atol=1e-12)
    np.testing.assert_allclose(u.max(0), 1, atol=1e-12)


@pytest.mark.parametrize("family,ref", [("legendre", npleg.legval), ("chebyshev", npcheb.chebval),
                                        ("hermite", npherm.hermeval)])
def test_one_dimensional_families_match_numpy(family, ref, rng):
    X = rng.uniform(-1, 1, (30, 1))
    d = kp.polynomials(5, family, rescale=False).fit(X)
    vals = d(X)
    for k in range(6):
        c = np.zeros(k + 1)
        c[k] = 1.0
        expected = ref(X[:, 0], c)
        if family == "legendre":
            expected = expected * np.sqrt(2 * k + 1)
        elif family == "hermite":
            expected = expected / np.sqrt(math.factorial(k))
        np.testing.assert_allclose(vals[:, k], expected, atol=1e-12)


def test_legendre_orthonormal_under_gauss_quadrature():
    nodes, weights = npleg.leggauss(20)
    X = np.stack(np.meshgrid(nodes, nodes), -1).reshape(-1, 2)
    W = np.outer(weights, weights).ravel() / 4  # uniform probability on [−1, 1]²
    d = kp.legendre(4, columns=None).fit(np.array([[-1.0, -1.0], [1.0, 1.0]]))
    P = d(X)
    np.testing.assert_allclose(P.T @ (W[:, None] * P), np.eye(d.size), atol=1e-12)


def test_hermite_orthonormal_under_gaussian_quadrature():
    nodes, weights = npherm.hermegauss(30)
    weights = weights / weights.sum()
    d = kp.hermite(6).fit(np.array([[-1.0], [1.0]]))  # z-scoring: mean 0, std 1
    P = d(nodes[:, None])
    np.testing.assert_allclose(P.T @ (weights[:, None] * P), np.eye(7), atol=1e-10)


def test_fourier_is_the_real_form_of_complex_exponentials(rng):
    th = rng.uniform(0, 2 * np.pi, (25, 1))
    d = kp.fourier(3).fit(th)
    P = d(th)
    assert d.size == 7
    np.testing.assert_allclose(P[:, 0], 1.0)
    for k in range(1, 4):
        np.testing.assert_allclose(P[:, 2 * k - 1] + 1j * P[:, 2 * k], np.exp(1j * k * th[:, 0]),
                                   atol=1e-12)
    d2 = kp.fourier(2).fit(rng.uniform(0, 1, (10, 2)))
    assert d2.size == 25  # (2n + 1)^d


def test_rbf_centres_find_separated_clusters(rng):
    blobs = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], float)
    X = np.vstack([b + 0.1 * rng.standard_normal((200, 2)) for b in blobs])
    d = kp.rbf(4, rescale=False).fit(X)
    found = np.sort(np.round(d.centers).astype(int), axis=0)
    np.testing.assert_array_equal(found, np.sort(blobs.astype(int), axis=0))
    P = d(blobs)
    assert np.allclose(np.sort(P.max(1)), 1.0, atol=1e-2)  # each blob centre sits on one RBF


@pytest.mark.parametrize("kind", ["gaussian", "exponential", "thin_plate"])
def test_rbf_kinds_are_radial(kind, rng):
    d = kp.rbf(3, kind, width=2.0, rescale=False).fit(rng.standard_normal((50, 2)))
    c = d.centers[0]
    r = 1.3
    pts = c + r * np.stack([np.cos([0.1, 2.0, 4.0]), np.sin([0.1, 2.0, 4.0])], 1)
    col = d(pts)[:, 0]
    np.testing.assert_allclose(col, col[0])
    expected = {"gaussian": np.exp(-(r / 2) ** 2), "exponential": np.exp(-r / 2),
                "thin_plate": (r / 2) ** 2 * np.log(r / 2)}[kind]
    np.testing.assert_allclose(col[0], expected)


def test_delays_build_hankel_rows():
    x = np.arange(10.0)[:, None] * np.array([[1.0, -1.0]])
    d = kp.delays(3).fit(x)
    H = d(x)
    assert H.shape == (8, 6)
    np.testing.assert_array_equal(H[2], [2, -2, 3, -3, 4, -4])
    assert d.labels[:3] == ["x0[t+0]", "x1[t+0]", "x0[t+1]"]


def test_union_concatenates_and_plus_is_union(rng):
    X = rng.standard_normal((60, 3))
    u = (kp.coordinates() + kp.rbf(5)).fit(X)
    assert isinstance(u, kp.Union) and u.size == 8
    np.testing.assert_array_equal(u(X)[:, :3], X)
    assert kp.union(u, kp.monomials(1)).fit(X).size == 12  # nested unions flatten


def test_columns_select_coordinates(rng):
    X = rng.standard_normal((30, 3))
    d = kp.monomials(2, rescale=False, columns=[2]).fit(X)
    np.testing.assert_allclose(d(X), np.stack([np.ones(30), X[:, 2], X[:, 2] ** 2], 1))
    with pytest.raises(ValueError, match="^columns"):
        kp.monomials(2, columns=[5]).fit(X)


def test_kernel_dictionary_is_learned_and_evaluable():
    x = tk.systems.trajectory("van_der_pol", 1501, dt=0.1)
    X, Y = kp.snapshot_pairs(x)
    d = kp.kernel(12, n_samples=300).fit(X, Y)
    assert d.size == 12
    P = d(X[:5])
    assert P.shape == (5, 12) and np.all(np.isfinite(P))
    # learned from kernel EDMD: the dictionary nearly spans Koopman-invariant functions
    spec = kp.edmd(X[300:], Y[300:], d)
    assert spec.residuals.min() < 1e-3
    with pytest.raises(ValueError, match="^Y"):
        kp.kernel(5).fit(X)


def test_dictionary_of_size_respects_the_budget():
    assert kp.dictionary_of_size("monomials", 10, 2).degree == 3      # C(5, 3) = 10
    assert kp.dictionary_of_size("legendre", 9, 2).degree == 2         # C(4, 2) = 6 ≤ 9
    assert kp.dictionary_of_size("fourier", 30, 2).n_modes == 2        # 25 ≤ 30 < 49
    assert kp.dictionary_of_size("delays", 10, 3).n == 3
    d = kp.dictionary_of_size("rbf", 40, 2)
    assert d.fit(np.random.default_rng(0).standard_normal((200, 2))).size == 40


def test_dictionary_errors_name_the_parameter(rng):
    with pytest.raises(ValueError, match="^dictionary"):
        kp.monomials(2)(rng.standard_normal((3, 2)))
    d = kp.monomials(2).fit(rng.standard_normal((10, 2)))
    with pytest.raises(ValueError, match="^X"):
        d(rng.standard_normal((4, 3)))
    with pytest.raises(ValueError, match="^family"):
        kp.polynomials(2, "laguerre")
    with pytest.raises(ValueError, match="^n_centers"):
        kp.rbf(5).fit(np.zeros((10, 2)))
    with pytest.raises(ValueError, match="^degree"):
        kp.monomials(-1)
    with pytest.raises(ValueError, match="^parts"):
        kp.union(kp.delays(2), kp.monomials(1))
    with pytest.raises(ValueError, match="^X"):
        kp.monomials(1).fit(np.array([[np.nan, 1.0]]))


def test_same_seed_same_dictionary(rng):
    X = rng.standard_normal((3000, 3))
    a, b = kp.rbf(30, seed=4).fit(X), kp.rbf(30, seed=4).fit(X)
    np.testing.assert_array_equal(a.centers, b.centers)
    assert not np.array_equal(a.centers, kp.rbf(30, seed=5).fit(X).centers)
