import holoviews as hv
import numpy as np
import pytest
import torch

from toolkit.hmmrnn import (
    NoiseRNN,
    ablate,
    ablation_test,
    detect_kick_neurons,
    expected_switch_rate,
    kick_neurons,
    noise,
    sample,
    strongest_inputs,
)


def test_ablate_scales_rows_and_copies():
    rnn = NoiseRNN(10, 4, 3, seed=0)
    W = rnn.W_hh.detach().clone()
    out = ablate(rnn, [2, 5], 0.5)
    torch.testing.assert_close(out.W_hh[[2, 5]], 0.5 * W[[2, 5]])
    torch.testing.assert_close(out.W_hh[[0, 1, 3]], W[[0, 1, 3]])
    torch.testing.assert_close(rnn.W_hh, W)          # the original is untouched
    noisy = ablate(rnn, [1], 0.0, target="noise")
    assert torch.all(noisy.W_in[1] == 0) and torch.equal(noisy.W_hh, rnn.W_hh)
    same = ablate(rnn, [1, 2], 1.0)
    assert np.array_equal(sample(same, 20, 30, seed=1), sample(rnn, 20, 30, seed=1))


def test_silenced_unit_follows_noise_only():
    rnn = NoiseRNN(10, 4, 3, seed=0)
    out = ablate(rnn, [3], 0.0)
    x = noise(rnn, 2, 15, seed=0)
    with torch.no_grad():
        h = out.hidden(x)
        torch.testing.assert_close(h[..., 3], torch.relu(x @ rnn.W_in[3]))


def test_expected_switch_rate_matches_sampling():
    rnn = NoiseRNN(12, 4, 3, seed=3)
    x = noise(rnn, 400, 40, seed=0)
    s = sample(rnn, 400, 40, seed=0)            # sample() draws its own noise: same law
    assert expected_switch_rate(rnn, x) == pytest.approx((s[:, 1:] != s[:, :-1]).mean(),
                                                         abs=0.02)


def test_strongest_inputs_by_hand():
    rnn = NoiseRNN(5, 2, 3)
    W = torch.zeros(5, 5)
    W[0, 3] = 2.0
    W[0, 4] = 1.0
    W[0, 1] = -5.0     # inhibition does not count
    W[0, 0] = 9.0      # the unit itself is excluded
    with torch.no_grad():
        rnn.W_hh.copy_(W)
    assert strongest_inputs(rnn, [0], k=2).tolist() == [3, 4]


def test_ablation_test_shapes_and_controls_exclude_the_set():
    rnn = NoiseRNN(12, 4, 3, seed=1)
    a = ablation_test(rnn, [0, 1], gains=(0.0, 1.0), n_controls=4, n_sequences=30, length=20)
    assert a.kick.shape == (2,) and a.controls.shape == (4, 2)
    assert not np.isin(a.control_sets, [0, 1]).any()
    assert a.kick[1] == pytest.approx(a.intact) and np.allclose(a.controls[:, 1], a.intact)
    assert set(a.relative_change(0.0)) == {"kick", "median_control", "median_control_abs"}
    hv.render(a.plot())


def test_detector_is_deterministic_and_records_evidence():
    rnn = NoiseRNN(12, 4, 3, seed=1)
    k1 = detect_kick_neurons(rnn, n_sequences=32, length=30, max_neurons=3)
    k2 = detect_kick_neurons(rnn, n_sequences=32, length=30, max_neurons=3)
    assert np.array_equal(k1.neurons, k2.neurons) and len(k1.tried) <= 3
    assert k1.single_drop.shape == (12,) and len(k1.path) == len(k1.tried)
    assert np.all(np.diff(np.concatenate([[1.0], k1.path])) < 0)   # each unit helped
    assert k1.to_frame().shape[0] == 12
    hv.render(k1.plot())


def test_bad_input():
    rnn = NoiseRNN(6, 2, 3)
    with pytest.raises(ValueError, match="^neurons: unit indices must lie in 0..5"):
        ablate(rnn, [6], 0.0)
    with pytest.raises(ValueError, match="^gain"):
        ablate(rnn, [1], -1.0)
    with pytest.raises(ValueError, match="^target"):
        ablate(rnn, [1], 0.0, target="readout")
    with pytest.raises(TypeError, match="^neurons: expected integer"):
        ablate(rnn, [1.5], 0.0)
    with pytest.raises(ValueError, match="^neurons: give at least one unit"):
        ablation_test(rnn, [])


def test_no_clear_kick_set_is_said_not_returned():
    # an untrained network has no small set whose silencing halves the switch rate
    rnn = NoiseRNN(30, 4, 3, seed=2)
    k = detect_kick_neurons(rnn, n_sequences=64, length=40, max_neurons=3)
    assert not k.found and len(k.neurons) == 0 and k.reason
    assert k.summary().startswith("no clear kick set:")
    assert k.reduction < 0.5                  # what the search reached, kept as evidence
    with pytest.warns(UserWarning, match="^kick_neurons: no clear kick set"):
        assert len(kick_neurons(rnn, n_sequences=64, length=40, max_neurons=3)) == 0
    hv.render(k.plot())


def test_a_set_no_better_than_random_is_not_a_kick_set():
    # six identical units with mutual inhibition: silencing some of them lowers the switch
    # rate, but any other set of as many does exactly as much: no set is special
    rnn = NoiseRNN(6, 1, 2, seed=0)
    with torch.no_grad():
        rnn.W_hh.copy_(torch.full((6, 6), -0.5))
        rnn.W_in.copy_(torch.ones(6, 1))
        rnn.W_out.copy_(torch.tensor([[1.0] * 6, [-1.0] * 6]))
    k = detect_kick_neurons(rnn, n_sequences=64, length=40, reduction=0.01, max_neurons=3,
                            min_step=1e-4)
    assert len(k.tried) and k.reduction >= 0.01          # the target was reached ...
    assert not k.found and len(k.neurons) == 0           # ... but not by a special set
    assert "a random set of as many units does as much" in k.reason


def test_detector_handles_networks_unstable_over_long_orbits():
    # expanding recurrence: finite over 30 steps, not over the 20,000-step orbit; the
    # pre-switch activity then comes from the detection batch itself
    rnn = NoiseRNN(8, 2, 3, seed=4)
    with torch.no_grad():
        rnn.W_hh.mul_(0).add_(torch.eye(8) * 1.3)
    k = detect_kick_neurons(rnn, n_sequences=32, length=30, max_neurons=2)
    assert k.pre_switch.shape == (8,) and np.all(np.isfinite(k.pre_switch))
