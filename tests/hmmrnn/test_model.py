import numpy as np
import pytest
import torch

import toolkit as tk
from toolkit.hmmrnn import NoiseRNN, noise, run, sample


def test_homogeneity_exact():
    # No biases and h0 = 0: h_t(σx) = σ h_t(x) for every t, exactly (up to float rounding).
    rnn = NoiseRNN(40, 7, 3, seed=1)
    x = noise(rnn, 5, 60, seed=0).double()
    rnn = rnn.double()
    with torch.no_grad():
        h = rnn.hidden(x)
        for sigma in (0.1, 2.5, 17.0):
            np.testing.assert_allclose(rnn.hidden(sigma * x).numpy(), sigma * h.numpy(),
                                       rtol=1e-12, atol=1e-12)
    assert (h > 0).any()  # not the trivial all-zero trajectory


def test_biases_break_homogeneity():
    rnn = NoiseRNN(20, 5, 3, seed=1, bias=True)
    x = noise(rnn, 2, 30, seed=0)
    with torch.no_grad():
        assert not torch.allclose(rnn.hidden(3 * x), 3 * rnn.hidden(x), atol=1e-3)


def test_forward_matches_explicit_recursion():
    rnn = NoiseRNN(16, 4, 3, seed=2)
    x = noise(rnn, 3, 12, seed=1)
    with torch.no_grad():
        h_fused, logits = rnn(x)
        h = torch.zeros(3, 16)
        for t in range(12):
            h = torch.relu(h @ rnn.W_hh.T + x[:, t] @ rnn.W_in.T)
            torch.testing.assert_close(h_fused[:, t], h, rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(rnn.step(h_fused[:, t - 1] if t else torch.zeros(3, 16),
                                                x[:, t]), h, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(logits, h_fused @ rnn.W_out.T)


def test_sample_shape_seed_and_distribution():
    rnn = NoiseRNN(16, 4, 3, seed=0)
    s = sample(rnn, 200, 30, seed=4)
    assert s.shape == (200, 30) and s.dtype == np.int64 and s.min() >= 0 and s.max() < 3
    assert np.array_equal(s, sample(rnn, 200, 30, seed=4))
    assert not np.array_equal(s, sample(rnn, 200, 30, seed=5))
    # Gumbel-max samples follow softmax(logits): compare with the exact probabilities
    out = run(rnn, 400, 30, seed=4)
    freq = np.bincount(out["symbols"].ravel(), minlength=3) / out["symbols"].size
    np.testing.assert_allclose(freq, out["probs"].reshape(-1, 3).mean(0), atol=0.01)


def test_straight_through_gradient():
    rnn = NoiseRNN(8, 3, 3)
    logits = torch.randn(50, 3, requires_grad=True)
    y = rnn.emit(logits, torch.Generator().manual_seed(0))
    assert torch.all((y.detach() == 0) | (y.detach() == 1)) and torch.all(y.detach().sum(-1) == 1)
    (y * torch.arange(3.0)).sum().backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0


def test_save_load_roundtrip(tmp_path):
    rnn = NoiseRNN(12, 5, 4, seed=3)
    tk.io.save(rnn, tmp_path / "m.safetensors")
    back = tk.io.load(tmp_path / "m.safetensors")
    assert isinstance(back, NoiseRNN) and back.n_symbols == 4
    assert np.array_equal(sample(back, 10, 20, seed=0), sample(rnn, 10, 20, seed=0))


def test_from_torch():
    torch.manual_seed(0)
    r = torch.nn.RNN(5, 10, nonlinearity="relu", bias=False, batch_first=True)
    lin = torch.nn.Linear(10, 3, bias=False)
    net = NoiseRNN.from_torch(r, lin)
    x = torch.randn(2, 7, 5)
    with torch.no_grad():
        torch.testing.assert_close(net.hidden(x), r(x)[0])
    with pytest.raises(ValueError, match="^rnn: must use nonlinearity='relu'"):
        NoiseRNN.from_torch(torch.nn.RNN(5, 10), lin)
    with pytest.raises(ValueError, match="^readout: takes 10 inputs"):
        NoiseRNN.from_torch(torch.nn.RNN(5, 12, nonlinearity="relu", bias=False), lin)


def test_bad_input():
    rnn = NoiseRNN(8, 3, 3)
    with pytest.raises(ValueError, match="^length: zero-length"):
        sample(rnn, 5, 0)
    with pytest.raises(ValueError, match="^n_sequences"):
        sample(rnn, 0, 10)
    with pytest.raises(ValueError, match="^x: expected noise of shape"):
        rnn.hidden(torch.zeros(2, 5, 4))
    with pytest.raises(ValueError, match="^n_hidden"):
        NoiseRNN(0, 3)
    with pytest.raises(TypeError, match="^rnn: expected a toolkit.hmmrnn.NoiseRNN"):
        sample(torch.nn.Linear(2, 2), 3, 3)
