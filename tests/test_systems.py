import numpy as np
import pytest

import toolkit as tk
from toolkit import systems


def test_lorenz_fixed_points_and_eigenvalues_match_reference():
    lor = systems.Lorenz63()
    fp = lor.fixed_points()
    np.testing.assert_allclose(fp[1], [8.48528, 8.48528, 27.0], atol=1e-5)
    np.testing.assert_allclose(fp[2], [-8.48528, -8.48528, 27.0], atol=1e-5)
    np.testing.assert_allclose(lor.f(fp), 0.0, atol=1e-12)
    ev0 = np.sort(np.linalg.eigvals(lor.jacobian(fp[0])).real)
    np.testing.assert_allclose(ev0, [-22.8277, -2.6667, 11.8277], atol=1e-4)
    ev = np.linalg.eigvals(lor.jacobian(fp[1]))
    ev = ev[np.argsort(ev.imag)]
    np.testing.assert_allclose(ev, [0.09396 - 10.1945j, -13.8546, 0.09396 + 10.1945j], atol=1e-4)


def test_rossler_fixed_points_match_reference():
    fp = systems.Rossler().fixed_points()
    np.testing.assert_allclose(fp, [[0.007026, -0.03513, 0.03513],
                                    [5.69297, -28.4649, 28.4649]], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(systems.Rossler().f(fp), 0.0, atol=1e-12)


@pytest.mark.parametrize("name", sorted(systems.SYSTEMS))
def test_jacobian_matches_finite_differences(name, rng):
    sys_ = systems.make(name)
    x = sys_.initial_state(0) + 0.1 * rng.standard_normal(sys_.dim)
    if name in ("logistic", "tent"):
        x = np.array([0.3])
    eps = 1e-6
    fd = np.stack([(sys_.f(x + eps * e) - sys_.f(x - eps * e)) / (2 * eps)
                   for e in np.eye(sys_.dim)], axis=1)
    np.testing.assert_allclose(sys_.jacobian(x), fd, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(systems.SYSTEMS))
def test_fixed_points_are_fixed(name):
    sys_ = systems.make(name)
    fp = sys_.fixed_points()
    target = fp if sys_.is_map else np.zeros_like(fp)
    np.testing.assert_allclose(sys_.f(fp), target, atol=1e-10)


def test_lorenz96_any_dimension():
    for n in (4, 7, 40):
        x = tk.systems.trajectory("lorenz96", 50, dt=0.05, params={"n": n})
        assert x.shape == (50, n)


def test_trajectory_is_seeded_and_shaped():
    a = tk.systems.trajectory("lorenz63", 200, dt=0.01, seed=3)
    b = tk.systems.trajectory("lorenz63", 200, dt=0.01, seed=3)
    c = tk.systems.trajectory("lorenz63", 200, dt=0.01, seed=4)
    assert a.shape == (200, 3) and a.dtype == np.float64
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_trajectory_integrates_accurately():
    # slow manifold has a closed-form flow
    sm = systems.SlowManifold()
    x0 = np.array([1.3, -0.4])
    x = tk.systems.trajectory(sm, 101, dt=0.1, x0=x0, transient=0)
    exact = sm.exact_flow(x0[None, :], np.arange(101) * 0.1)
    np.testing.assert_allclose(x, exact, atol=1e-9)


def test_maps_iterate_exactly():
    x = tk.systems.trajectory("henon", 10, x0=[0.1, 0.2], transient=0)
    np.testing.assert_allclose(x[1], systems.Henon().f(x[0]))


def test_flow_advance_batches_points():
    sm = systems.SlowManifold()
    X = np.array([[1.0, 0.0], [0.5, 2.0], [-1.0, 1.0]])
    np.testing.assert_allclose(sm.advance(X, 0.7), sm.exact_flow(X, 0.7), atol=1e-9)


def test_standardize_round_trip(rng):
    x = rng.normal(3.0, 2.0, size=(500, 2))
    z, mean, std = tk.systems.standardize(x)
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(0), 1, atol=1e-12)
    np.testing.assert_allclose(tk.systems.standardize(x).invert(z), x)


# ------------------------------------------------------------------ bad input
def test_unknown_system_names_parameter():
    with pytest.raises(ValueError, match="name"):
        tk.systems.trajectory("lorenz64", 10)


def test_unknown_parameter_names_params():
    with pytest.raises(ValueError, match="params"):
        tk.systems.trajectory("lorenz63", 10, params={"rh0": 28})


def test_impossible_parameter_named():
    with pytest.raises(ValueError, match="n:"):
        tk.systems.Lorenz96(n=2)
    with pytest.raises(ValueError, match="sigma"):
        tk.systems.Lorenz63(sigma=-1.0)


def test_wrong_x0_shape_named():
    with pytest.raises(ValueError, match="x0"):
        tk.systems.trajectory("lorenz63", 10, x0=[1.0, 2.0])


def test_nan_x0_named():
    with pytest.raises(ValueError, match="x0"):
        tk.systems.trajectory("lorenz63", 10, x0=[1.0, np.nan, 2.0])


def test_nonpositive_steps_and_dt_named():
    with pytest.raises(ValueError, match="n_steps"):
        tk.systems.trajectory("lorenz63", 0)
    with pytest.raises(ValueError, match="dt"):
        tk.systems.trajectory("lorenz63", 10, dt=-0.1)
    with pytest.raises(ValueError, match="dt"):
        tk.systems.trajectory("henon", 10, dt=0.1)


def test_standardize_rejects_constant_column():
    with pytest.raises(ValueError, match="x"):
        tk.systems.standardize(np.ones((10, 2)))
    with pytest.raises(ValueError, match="too short"):
        tk.systems.standardize(np.ones((1, 2)))
