import holoviews as hv
import numpy as np
import pytest
import torch

from toolkit.hmmrnn import (
    NoiseRNN,
    cayley,
    fixed_point,
    jacobian_spectra,
    noise_sensitivity,
    orbit,
    residency,
)


def _net(W_hh, W_in=None, W_out=None, n_noise=2, n_symbols=3):
    N = len(W_hh)
    rnn = NoiseRNN(N, n_noise, n_symbols, seed=0)
    with torch.no_grad():
        rnn.W_hh.copy_(torch.as_tensor(W_hh, dtype=torch.float32))
        if W_in is not None:
            rnn.W_in.copy_(torch.as_tensor(W_in, dtype=torch.float32))
        if W_out is not None:
            rnn.W_out.copy_(torch.as_tensor(W_out, dtype=torch.float32))
    return rnn


def test_fixed_point_collapse_and_persistence():
    contracting = _net(0.5 * np.eye(6))
    fp = fixed_point(contracting, n_starts=20, n_steps=100)
    assert fp.is_origin and fp.spread < 1e-6 and fp.n_steps_to_collapse > 0
    # h ↦ relu(h) keeps every non-negative start: no collapse
    identity = _net(np.eye(6))
    fp = fixed_point(identity, n_starts=20, n_steps=50)
    assert not fp.is_origin
    np.testing.assert_allclose(fp.norms[-1], fp.norms[0], rtol=1e-6)
    hv.render(fp.plot())
    assert len(fp.to_frame()) == 51


def test_orbit_pca_basis_and_seed():
    rnn = NoiseRNN(12, 4, 3, seed=1)
    o = orbit(rnn, 500, seed=3, n_components=3)
    assert o.pcs.shape == (500, 3) and o.hidden.shape == (500, 12)
    assert 0 < o.explained.sum() <= 1 + 1e-9 and np.all(np.diff(o.explained) <= 1e-12)
    np.testing.assert_allclose(o.project(o.hidden), o.pcs, atol=1e-5)
    again = orbit(rnn, 500, seed=3)
    assert np.array_equal(again.hidden, o.hidden)
    other = orbit(rnn, 500, seed=4, basis=o)
    np.testing.assert_allclose(other.pcs, o.project(other.hidden), atol=1e-5)
    assert np.array_equal(o.output, o.probs.argmax(1))
    hv.render(o.plot())
    assert o.to_frame().shape[0] == 500


def test_residency_extremes():
    N = 4
    # outputs that can never change: W_out reads a unit that is always equal to 0 → ties
    # resolved to symbol 0, but here make symbol 0 dominate strongly everywhere
    rnn = _net(0.5 * np.eye(N), W_out=np.array([[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0.]]))
    states = np.abs(np.random.default_rng(0).normal(size=(10, N)))
    r = residency(rnn, states, n_rollouts=5, cap=30)
    assert np.all(r.steps == 30)                 # never changes
    assert np.all(r.classes == 3)                # slow but not confident (uniform output)
    # confident and persistent: unit 0 self-sustaining, readout favours symbol 0
    rnn = _net(np.diag([1.0, 0, 0, 0]), W_in=np.zeros((N, 2)),
               W_out=np.array([[5.0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]))
    states = np.tile([[2.0, 0, 0, 0]], (4, 1))
    r = residency(rnn, states, n_rollouts=5, cap=30)
    assert np.all(r.names == "cluster")
    # memoryless output: unit i follows noise i, output i when unit i is largest, so the
    # output is redrawn every step and changes after ~1.6 steps on average
    rnn = _net(np.zeros((3, 3)), W_in=np.eye(3), W_out=5 * np.eye(3), n_noise=3)
    r = residency(rnn, np.abs(np.random.default_rng(3).normal(size=(50, 3))), n_rollouts=40)
    assert 1.2 < r.steps.mean() < 2.2 and (r.classes == 2).mean() > 0.3
    assert sum(r.fractions().values()) == pytest.approx(1.0)
    hv.render(r.plot())


def test_jacobian_matches_autograd_along_a_trajectory():
    rnn = NoiseRNN(10, 3, 3, seed=4)
    o = orbit(rnn, 40, seed=0, transient=0)
    spectra = jacobian_spectra(rnn, o.hidden)
    x = torch.as_tensor(o.x)
    for t in (3, 17, 30):
        h = torch.as_tensor(o.hidden[t])
        J = torch.autograd.functional.jacobian(lambda z, xt=x[t + 1]: rnn.step(z, xt), h)
        ev = np.linalg.eigvals(J.numpy().astype(float))
        np.testing.assert_allclose(np.sort_complex(ev), np.sort_complex(spectra.eigenvalues[t]),
                                   atol=1e-5)


def test_critical_pairs_of_a_rotation():
    # a rotation by θ has eigenvalues e^{±iθ}: |λ| = 1 → Cayley image ±i tan(θ/2), Re = 0;
    # shrunk by 0.99 (|λ| < 1, Re of the image ≈ −0.005): still critical, not expanding
    th = 0.6
    R = 0.99 * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    W = np.zeros((4, 4))
    W[:2, :2] = R
    W[2:, 2:] = 0.5 * np.eye(2)
    rnn = _net(W)
    hidden = np.ones((5, 4))                      # every unit active
    s = jacobian_spectra(rnn, hidden)
    assert np.all(s.critical == 1) and not s.expanding.any()
    np.testing.assert_allclose(cayley(np.exp(1j * th)), 1j * np.tan(th / 2))
    s2 = jacobian_spectra(_net(1.5 * W), hidden)  # |λ| = 1.485: Re of the image 0.19
    assert np.all(s2.critical == 0) and s2.expanding.all()
    hv.render(s.plot())


def test_spectra_plot_thins_to_max_points_and_keeps_the_values():
    rnn = NoiseRNN(10, 3, 3, seed=4)
    spectra = jacobian_spectra(rnn, orbit(rnn, 300, seed=0, transient=0).hidden)
    full = spectra.plot(max_points=10**6).get(1)
    thin = spectra.plot(max_points=500).get(1)
    n = len(full)
    assert n > 2000 and 250 < len(thin) <= 500
    # every k-th of the same eigenvalues, not new ones
    xs = np.round(full.dimension_values(0), 9)
    assert set(np.round(thin.dimension_values(0), 9)) <= set(xs)
    with pytest.raises(ValueError, match="max_points"):
        spectra.plot(max_points=0)


def test_noise_sensitivity_shared_noise_has_no_spread():
    rnn = NoiseRNN(10, 3, 3, seed=2)
    h0 = orbit(rnn, 50, seed=0).hidden[-1]
    ns = noise_sensitivity(rnn, h0, gammas=(0.0, 0.5, 1.0), n_rollouts=10, n_steps=15)
    np.testing.assert_allclose(ns.spread[0], 0.0, atol=1e-6)
    assert ns.spread[2, -1] > ns.spread[1, -1] * 0.5 > 0
    assert ns.trajectories.shape == (3, 10, 16, 10)
    hv.render(ns.plot())


def test_bad_input():
    rnn = NoiseRNN(6, 2, 3)
    with pytest.raises(ValueError, match="^states: expected 6 hidden units"):
        residency(rnn, np.zeros((3, 5)))
    with pytest.raises(ValueError, match="^hidden: need a trajectory"):
        jacobian_spectra(rnn, np.zeros((1, 6)))
    with pytest.raises(ValueError, match="^gammas"):
        noise_sensitivity(rnn, np.zeros(6), gammas=(0.5, 2.0))
    with pytest.raises(ValueError, match="^state: expected one state"):
        noise_sensitivity(rnn, np.zeros((2, 6)))
    with pytest.raises(ValueError, match="^length"):
        orbit(rnn, 0)
    with pytest.raises(ValueError, match="^rnn: activity stops being finite"):
        orbit(_net(3.0 * np.eye(6), W_in=np.ones((6, 2))), 2000)
    with pytest.raises(ValueError, match="^next_hidden: shape"):
        jacobian_spectra(rnn, np.zeros((3, 6)), np.zeros((2, 6)))
