"""toolkit.alrnn.calibrate: batched orbits, the searched parameters, CMA-ES, the whole loop."""

import numpy as np
import pytest
import torch

import toolkit as tk
from toolkit.alrnn import ALRNN, calibrate
from toolkit.alrnn.calibrate import _CMA, _fixed_points, _run_population, _Search
from toolkit.alrnn.symbolic import symbolic_code
from toolkit.metrics import lyapunov_spectrum


@pytest.fixture(scope="module")
def model():
    return tk.alrnn.load_pretrained("lorenz63")


@pytest.fixture(scope="module")
def lorenz():
    system = tk.systems.make("lorenz63")
    return system, [tk.systems.trajectory(system, 10_000, dt=0.01, seed=s) for s in (7, 8)]


def _time_scaled(model, s):
    A, W, h, L = model.numpy_params()
    return ALRNN.from_params(torch.tensor(1 - s + s * A), torch.tensor(s * W),
                             torch.tensor(s * h), model.P, model.N, L=torch.tensor(L),
                             mean=model.mean, std=model.std, dt=model.dt)


def test_population_orbits_and_lyapunov_match_the_model(model):
    # two variants at once, the second with W changed in a ReLU column: each orbit must be
    # the model's own (numpy iterate), and λ_max the QR estimate from the exact Jacobians
    A, W, h, L = model.numpy_params()
    dW = np.zeros((2, 20, 20))
    dW[1, :, 19] = 0.002
    variant = ALRNN.from_params(torch.tensor(A), torch.tensor(W + dW[1]), torch.tensor(h),
                                2, 3, L=torch.tensor(L), mean=model.mean, std=model.std,
                                dt=model.dt)
    z0 = model.initial_state(np.array([1.0, 2.0, 20.0])).reshape(-1)
    args = (np.stack([A, A]), W, np.stack([h, h]), dW, 2, np.stack([z0, z0]))
    # rounding differs from iterate's, and chaos amplifies it: compare 400 steps exactly
    orbits, signs, _ = _run_population(*args, 400, 0, 20)
    long, _, lam = _run_population(*args, 20_000, 0, 20)
    for b, m in enumerate((model, variant)):
        exact = m.iterate(z0, 400)
        np.testing.assert_allclose(orbits[b], exact, rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(signs[b], exact[:, 18:] > 0)
        # the tangent vector: the same start vector pushed through the model's exact
        # Jacobians along the same orbit; and, both aligned for 2,000 steps first, QR
        v, logs = np.full(20, 1 / np.sqrt(20)), []
        for J in m.jacobian(long[b]):
            v = J @ v
            logs.append(np.log(np.linalg.norm(v)))
            v /= np.linalg.norm(v)
        assert lam[b] == pytest.approx(np.mean(logs), rel=1e-8)
        qr = lyapunov_spectrum(m.jacobian, long[b], dt=m.dt, kind="map", n_exponents=1,
                               transient=2000).max
        assert np.mean(logs[2000:]) / m.dt == pytest.approx(qr, rel=0.01)
    assert not np.allclose(orbits[0], orbits[1])


def test_search_vector_zero_is_the_model_and_time_scale_keeps_fixed_points(model):
    search = _Search(model)
    assert search.size == 20 + 20 + 1 + 20 * 2 + 2 * 18
    assert _Search(model, ("time_scale", "h")).size == 21
    A, W, h = search.params(np.zeros(search.size))
    A0, W0, h0, _ = model.numpy_params()
    np.testing.assert_array_equal(A, A0)
    np.testing.assert_array_equal(W, W0)
    np.testing.assert_array_equal(h, h0)
    # the real fixed points agree with the symbolic code's (an independent computation)
    _, latent = model.generate(np.array([1.0, 2.0, 20.0]), 5000, return_latent=True)
    code = symbolic_code(model, latent)
    real = code.fixed_points_observed[code.fixed_point_real]
    fp = model.denormalize(_fixed_points(A, W, h, 2)[:, :3])
    np.testing.assert_allclose(np.sort(fp, axis=0), np.sort(real, axis=0), atol=1e-8)
    # z ↦ z + s (F(z) − z) has the same fixed points for any s
    x = np.zeros(search.size)
    x[40] = 5.0  # log s = 0.05
    A_s, W_s, h_s = search.params(x)
    np.testing.assert_allclose(_fixed_points(A_s, W_s, h_s, 2), _fixed_points(A, W, h, 2),
                               atol=1e-8)


def test_cma_minimises_a_rotated_ellipsoid():
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    scales = np.logspace(0, 2, 8)
    target = rng.normal(size=8)

    def f(X):
        return np.sum(((X - target) @ Q * scales) ** 2, axis=1)

    cma = _CMA(8, 12, np.random.default_rng(1))
    start = f(cma.mean[None])[0]
    for _ in range(300):
        X = cma.ask()
        cma.tell(X, f(X))
    assert f(cma.mean[None])[0] < 1e-8 * start
    np.testing.assert_allclose(cma.mean, target, atol=1e-4)


def test_calibration_recovers_the_time_scale_of_a_slowed_rotation():
    # a rotation by 2π/50 (the ReLU unit stays off) against its own orbit: run with time
    # scale 0.92 it spirals in at 92% of the frequency. Only s = 1 restores both the circle
    # (D_stsp) and the frequency (D_H), so the search over the time scale alone must come
    # back to 1/0.92; the same seed gives the same model
    c, s = np.cos(2 * np.pi / 50), np.sin(2 * np.pi / 50)
    W = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 0.0]])
    rotation = ALRNN.from_params(np.zeros(3), W, np.array([0.0, 0.0, -1.0]), P=1, N=2)
    data = rotation.generate(np.array([1.0, 0.0]), 20_000)
    slow = _time_scaled(rotation, 0.92)
    kwargs = dict(parameters="time_scale", n_generations=20, popsize=8, n_steps=20_000,
                  step=4.0, seed=3, progress=False)
    fixed, history = calibrate(slow, data, **kwargs)
    assert history.check_objective[history.chosen] < history.initial_objective / 3
    assert 0.92 * history.time_scale == pytest.approx(1.0, abs=0.02)
    frame = history.to_frame()
    assert frame["chosen"].sum() == 1 and len(frame) == 21
    assert set(frame["n_regions"]) == {1}  # the ReLU unit never switches on
    # a stop rule ends the search and returns the mean it was shown
    seen = []

    def stop(generation, measures):
        seen.append(measures)
        return generation == 4

    stopped, short = calibrate(slow, data, **dict(kwargs, should_stop=stop))
    assert len(short.generation) == 5 and short.chosen == 4
    assert seen[-1]["objective"] == short.check_objective[4]
    np.testing.assert_array_equal(short.check_objective, history.check_objective[:5])
    again, history2 = calibrate(slow, data, **kwargs)
    np.testing.assert_array_equal(history.check_objective, history2.check_objective)
    for p, q in zip(fixed.numpy_params(), again.numpy_params()):
        np.testing.assert_array_equal(p, q)
    # the model passed in is untouched
    np.testing.assert_array_equal(slow.numpy_params()[0], _time_scaled(rotation, 0.92)
                                  .numpy_params()[0])
    assert history.plot() is not None


def test_bad_input_names_the_parameter(model, lorenz):
    system, data = lorenz
    with pytest.raises(ValueError, match="tolerances"):
        calibrate(model, data, tolerances={"D_X": 1.0}, progress=False)
    with pytest.raises(ValueError, match="n_orbits"):
        calibrate(model, data[0], n_orbits=2, progress=False)
    with pytest.raises(ValueError, match="n_segments"):
        calibrate(model, data, n_steps=1000, n_segments=20, progress=False)
    with pytest.raises(ValueError, match="parameters"):
        calibrate(model, data, parameters=("A", "L"), progress=False)
    with pytest.raises(ValueError, match="popsize"):
        calibrate(model, data, popsize=2, progress=False)
    with pytest.raises(ValueError, match=r"data\[1\]"):
        calibrate(model, [data[0], data[1][:, :2]], progress=False)
    with pytest.raises(ValueError, match="true_fixed_points"):
        calibrate(model, data, true_fixed_points=np.zeros((2, 2)), progress=False)
    with pytest.raises(ValueError, match=r"data\[0\]"):
        calibrate(model, [np.full((500, 3), np.nan)], progress=False)
    with pytest.raises(TypeError, match="model"):
        calibrate("lorenz", data, progress=False)


def test_prepared_targets_give_the_metrics_figures(model, lorenz):
    # the fast path (dense bins, spectra shared across targets) against toolkit.metrics
    from toolkit.alrnn.calibrate import _Target
    from toolkit.metrics import _smoothed_spectra, power_spectrum_hellinger
    from toolkit.metrics import state_space_divergence as dstsp
    from toolkit.systems import standardize

    _, data = lorenz
    gen = model.generate(data[0][0], 10_000, transient=1000)
    for x in data:
        target = _Target(x)
        z, mean, std = standardize(x)
        z_gen = (gen - mean) / std
        assert target.dstsp(gen) == pytest.approx(dstsp(z, z_gen), rel=1e-10)
        # points outside the true range are dropped, as there
        wide = 1.5 * (gen - mean) + mean
        assert np.any(np.abs((wide - mean) / std) > np.abs(z).max(0))
        assert target.dstsp(wide) == pytest.approx(dstsp(z, (wide - mean) / std), rel=1e-10)
        assert target.dh(np.sqrt(_smoothed_spectra(gen, 20.0)), 10_000) == pytest.approx(
            power_spectrum_hellinger(z, z_gen), rel=1e-8)
