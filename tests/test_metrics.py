import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import multivariate_normal

import toolkit as tk
from toolkit import metrics, systems

LORENZ_SUM = -(10 + 1 + 8 / 3)


@pytest.fixture(scope="module")
def lorenz_runs():
    # the reference protocol: two clean 1e5-step runs at Δt = 0.01, each z-scored
    a = tk.systems.trajectory("lorenz63", 100_000, dt=0.01, seed=0)
    b = tk.systems.trajectory("lorenz63", 100_000, dt=0.01, seed=1)
    return a, tk.systems.standardize(a).data, tk.systems.standardize(b).data


@pytest.fixture(scope="module")
def rossler_z():
    return tk.systems.standardize(tk.systems.trajectory("rossler", 100_000, dt=0.01)).data


def test_lorenz_lyapunov_spectrum(lorenz_runs):
    x = lorenz_runs[0]
    spec = metrics.lyapunov_spectrum(systems.Lorenz63().jacobian, x, dt=0.01, kind="flow",
                                     transient=1000, renorm_every=10)
    assert abs(spec.max - 0.906) / 0.906 < 0.05
    assert abs(spec.sum - LORENZ_SUM) / abs(LORENZ_SUM) < 0.01
    assert abs(spec.exponents[1]) < 0.05
    assert 2.0 < spec.kaplan_yorke_dimension < 2.1


def test_lyapunov_of_maps_against_closed_forms():
    henon = systems.Henon()
    x = tk.systems.trajectory(henon, 20_000)
    spec = metrics.lyapunov_spectrum(henon.jacobian, x)
    np.testing.assert_allclose(spec.sum, np.log(0.3), rtol=1e-9)   # |det J| = b
    assert abs(spec.max - 0.419) < 0.01
    blocked = metrics.lyapunov_spectrum(henon.jacobian, x, renorm_every=5)
    np.testing.assert_allclose(blocked.exponents, spec.exponents, rtol=1e-3)
    tent = systems.Tent(mu=1.99)
    x = tk.systems.trajectory(tent, 2000)
    np.testing.assert_allclose(metrics.lyapunov_spectrum(tent.jacobian, x).max, np.log(1.99),
                               rtol=1e-12)


def test_dstsp_reference_baselines(lorenz_runs, rossler_z):
    _, za, zb = lorenz_runs
    same = metrics.state_space_divergence(za, zb)
    assert 0.0 < same < 0.1                       # reference ≈ 0.04
    assert metrics.state_space_divergence(za, rossler_z) > 10      # ≈ 15.7
    noise = np.random.default_rng(0).standard_normal(za.shape)
    assert metrics.state_space_divergence(za, noise) > 2.5         # ≈ 3.6


def test_dh_reference_baselines(lorenz_runs, rossler_z):
    _, za, zb = lorenz_runs
    assert metrics.power_spectrum_hellinger(za, za) == 0.0
    assert metrics.power_spectrum_hellinger(za, zb) < 0.1          # ≈ 0.06
    assert metrics.power_spectrum_hellinger(za, rossler_z) > 0.6   # ≈ 0.75


def test_dstsp_binning_matches_dense_histogram(rng):
    # independent computation with np.histogramdd over all cells
    x = rng.standard_normal((3000, 2))
    y = rng.standard_normal((2000, 2)) * 1.3 + 0.2
    n_bins, alpha = 12, 1e-5
    std = x.std(0)
    edges = [np.linspace(x[:, i].min() - 0.1 * std[i], x[:, i].max() + 0.1 * std[i], n_bins + 1)
             for i in range(2)]
    ct = np.histogramdd(x, bins=edges)[0].ravel()
    cg = np.histogramdd(y, bins=edges)[0].ravel()
    p = (ct + alpha) / (ct.sum() + alpha * ct.size)
    q = (cg + alpha) / (cg.sum() + alpha * cg.size)
    expected = np.sum(p * np.log(p / q))
    got = metrics.state_space_divergence(x, y, n_bins=n_bins, alpha=alpha)
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_dstsp_gmm_matches_direct_density(rng):
    x = rng.standard_normal((40, 2))
    y = rng.standard_normal((30, 2)) + 0.5
    got = metrics.state_space_divergence(x, y, "gmm", sigma2=0.5, n_samples=50, seed=3)
    r = np.random.default_rng(3)
    s = x[r.integers(0, 40, 50)] + np.sqrt(0.5) * r.standard_normal((50, 2))
    dens = lambda c: np.mean([multivariate_normal(m, 0.5 * np.eye(2)).pdf(s) for m in c], 0)
    expected = np.mean(np.log(dens(x)) - np.log(dens(y)))
    np.testing.assert_allclose(got, expected, rtol=1e-8)


arrays = st.integers(min_value=0, max_value=2**31 - 1).map(
    lambda s: np.random.default_rng(s).standard_normal((300, 2)))


@settings(max_examples=25, deadline=None)
@given(arrays, arrays, st.integers(0, 2**31 - 1))
def test_dstsp_invariant_to_time_permutation(x, y, seed):
    r = np.random.default_rng(seed)
    d = metrics.state_space_divergence(x, y, n_bins=8)
    d_perm = metrics.state_space_divergence(x[r.permutation(len(x))], y[r.permutation(len(y))],
                                            n_bins=8)
    np.testing.assert_allclose(d, d_perm, rtol=1e-12, atol=1e-12)
    assert metrics.state_space_divergence(x, x, n_bins=8) == pytest.approx(0.0, abs=1e-12)
    assert d >= -1e-12


@settings(max_examples=25, deadline=None)
@given(arrays, arrays, st.floats(0.1, 10), st.floats(-5, 5))
def test_dh_symmetric_and_affine_invariant(x, y, scale, shift):
    d = metrics.power_spectrum_hellinger(x, y)
    np.testing.assert_allclose(d, metrics.power_spectrum_hellinger(y, x), atol=1e-12)
    np.testing.assert_allclose(d, metrics.power_spectrum_hellinger(scale * x + shift, y),
                               atol=1e-9)
    assert 0.0 <= d <= 1.0


def test_prediction_error_perfect_and_persistence():
    x = tk.systems.trajectory("henon", 500)
    henon = systems.Henon()
    perfect = metrics.prediction_error(lambda x0, n: henon.advance(x0, n), x, n=5)
    assert perfect < 1e-20
    persist = metrics.prediction_error(lambda x0, n: x0, x, n=5)
    np.testing.assert_allclose(persist, np.mean((x[:-5] - x[5:]) ** 2))


# ------------------------------------------------------------------ bad input
BAD = [
    (metrics.state_space_divergence, dict(x_true=np.ones((10, 3)), x_gen=np.ones((10, 2))),
     "x_gen"),
    (metrics.state_space_divergence, dict(x_true=np.ones(10), x_gen=np.ones((10, 1))), "x_true"),
    (metrics.state_space_divergence, dict(x_true=np.full((10, 2), np.nan), x_gen=np.ones((10, 2))),
     "x_true"),
    (metrics.state_space_divergence, dict(x_true=np.ones((1, 2)), x_gen=np.ones((10, 2))),
     "too short"),
    (metrics.state_space_divergence, dict(x_true=np.ones((10, 2)), x_gen=np.ones((10, 2)),
                                          n_bins=0), "n_bins"),
    (metrics.state_space_divergence, dict(x_true=np.ones((10, 2)), x_gen=np.ones((10, 2)),
                                          method="kde"), "method"),
    (metrics.power_spectrum_hellinger, dict(x_true=np.ones((10, 2)), x_gen=np.ones((12, 2))),
     "x_gen"),
    (metrics.power_spectrum_hellinger, dict(x_true=np.ones((10, 2)),
                                            x_gen=np.full((10, 2), np.inf)), "x_gen"),
    (metrics.power_spectrum_hellinger, dict(x_true=np.ones((2, 2)), x_gen=np.ones((2, 2))),
     "too short"),
    (metrics.power_spectrum_hellinger, dict(x_true=np.ones((10, 2)), x_gen=np.ones((10, 2)),
                                            sigma=-1), "sigma"),
    (metrics.prediction_error, dict(forecast=lambda a, n: a, x=np.ones((5, 2)), n=10),
     "too short"),
    (metrics.prediction_error, dict(forecast=lambda a, n: a, x=np.ones((50, 2)), n=0), "n:"),
    (metrics.prediction_error, dict(forecast=lambda a, n: a[:, :1], x=np.ones((50, 2)), n=2),
     "forecast"),
    (metrics.lyapunov_spectrum, dict(jacobian=lambda x: np.eye(2), orbit=np.ones(10)), "orbit"),
    (metrics.lyapunov_spectrum, dict(jacobian=lambda x: np.eye(2), orbit=np.ones((10, 2)),
                                     dt=0), "dt"),
    (metrics.lyapunov_spectrum, dict(jacobian=lambda x: np.eye(2), orbit=np.ones((10, 2)),
                                     n_exponents=3), "n_exponents"),
    (metrics.lyapunov_spectrum, dict(jacobian=lambda x: np.eye(2), orbit=np.ones((10, 2)),
                                     kind="ode"), "kind"),
]


@pytest.mark.parametrize("fn,kwargs,name", BAD, ids=[f"{f.__name__}-{n}" for f, _, n in BAD])
def test_bad_input_names_parameter(fn, kwargs, name):
    with pytest.raises((ValueError, TypeError), match=name):
        fn(**kwargs)
