import numpy as np
import pytest

from toolkit.grokking import (
    kumar_alpha_sweep,
    kumar_statistics,
    linear_task,
    monte_carlo_test_loss,
    polynomial_task,
    saxe_learning_time,
    saxe_mode_strength,
    simulate_deep_linear,
    train_kumar,
)


def test_closed_form_solves_the_mode_ode():
    s, u0, lr = np.array([3.0, 0.5]), 1e-3, 0.01
    t = np.linspace(0, 2000, 4001)
    u = saxe_mode_strength(s, u0, t, lr)
    np.testing.assert_allclose(u[0], u0)
    dudt = np.gradient(u, t, axis=0)
    np.testing.assert_allclose(dudt[1:-1], (2 * lr * u * (s - u))[1:-1], rtol=2e-3, atol=1e-9)
    # learning times invert the trajectory
    uf = 0.9 * s
    tf = saxe_learning_time(s, u0, uf, lr)
    np.testing.assert_allclose(np.diag(saxe_mode_strength(s, u0, tf, lr)), uf, rtol=1e-10)
    half = saxe_learning_time(s, u0, s / 2, lr)
    np.testing.assert_allclose(half, np.log(s / u0 - 1) / (2 * s * lr), rtol=1e-12)


def test_balanced_simulation_matches_saxe_within_three_percent():
    task = linear_task((3.0, 2.0, 1.0, 0.5), n_in=8, n_out=8, seed=0)
    lr = 0.03 / 3.0                                    # η·s_max = 0.03
    dyn = simulate_deep_linear(task, lr=lr, n_steps=1600, u0=1e-3, log_every=4)
    assert dyn.max_relative_error.max() < 0.03
    # every mode has been learnt by the end
    np.testing.assert_allclose(dyn.simulated[-1], task.s, rtol=1e-2)
    # a smaller step tracks the continuous-time solution more closely
    fine = simulate_deep_linear(task, lr=lr / 2, n_steps=1600 * 2, u0=1e-3, log_every=8)
    assert fine.max_relative_error.max() < 0.6 * dyn.max_relative_error.max()


def test_random_init_deviates_from_the_closed_form_more_than_balanced():
    task = linear_task((3.0, 2.0, 1.0, 0.5), n_in=8, n_out=8, seed=0)
    rand = simulate_deep_linear(task, lr=0.01, n_steps=1600, init="random", init_scale=0.03,
                                log_every=8)
    assert rand.max_relative_error.max() > 0.05


def test_saxe_bad_input():
    with pytest.raises(ValueError, match="u0"):
        saxe_mode_strength([1.0], 2.0, [0.0], 0.1)
    with pytest.raises(ValueError, match="s"):
        saxe_mode_strength([-1.0], 0.1, [0.0], 0.1)
    with pytest.raises(ValueError, match="init"):
        simulate_deep_linear(linear_task(), init="orthogonal")


def test_sufficient_statistics_match_monte_carlo_within_one_percent():
    task = polynomial_task(D=12, n_train=60, n_test=200, seed=0)
    model, _ = train_kumar(task, alpha=1.0, eps=0.1, N=50, n_steps=150, log_every=50)
    st = kumar_statistics(model, task.beta)
    mc = monte_carlo_test_loss(model, task.beta, n=400_000, seed=1)
    assert st.total == pytest.approx(mc, rel=0.01)
    # and the same weights through the plain (W, α, ε) interface
    W = model.W.detach().numpy()
    assert kumar_statistics(W, task.beta, alpha=1.0, eps=0.1).total == pytest.approx(st.total)


def test_decomposition_is_exact_for_the_empirical_test_set_in_expectation(rng):
    # t₁ + t₂ + t₃ is an expectation over x; at init it also matches the logged probe
    task = polynomial_task(D=12, n_train=60, n_test=200, seed=0)
    _, h = train_kumar(task, alpha=2.0, eps=0.1, N=50, n_steps=20, log_every=10)
    assert {"kumar/t1", "kumar/t2", "kumar/t3", "kumar/total", "movement"} <= set(h.names)
    row = h.wide().iloc[-1]
    assert row["kumar/total"] == pytest.approx(row["kumar/t1"] + row["kumar/t2"]
                                               + row["kumar/t3"])


def test_grokking_delay_grows_with_alpha():
    task = polynomial_task(D=12, n_train=60, n_test=1000, seed=0)
    sweep = kumar_alpha_sweep(task, [1.0, 2.0, 4.0], eps=0.1, N=50, n_steps=800, log_every=4)
    assert np.all(np.isfinite(sweep.delay))
    assert np.all(np.diff(sweep.delay) > 0)
    assert np.all(sweep.test_drop > sweep.train_drop)


def test_kumar_bad_input():
    task = polynomial_task(D=5, n_train=10, n_test=10)
    with pytest.raises(ValueError, match="beta"):
        kumar_statistics(np.ones((3, 4)), task.beta, alpha=1.0, eps=0.1)
    with pytest.raises(ValueError, match="alpha"):
        kumar_statistics(np.ones((3, 5)), task.beta)
    with pytest.raises(ValueError, match="alpha"):
        train_kumar(task, alpha=0.0)
