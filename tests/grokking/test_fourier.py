import numpy as np
import pytest
import torch

import toolkit as tk
from toolkit.grokking import (
    EmbedMLP,
    embedding_spectrum,
    excluded_loss,
    fourier_basis,
    fourier_probe,
    gini,
    key_frequencies_of_logits,
    modular_task,
    neuron_frequencies,
    restricted_loss,
    single_frequency_fraction,
)
from toolkit.grokking.fourier import _block_fractions, _block_fractions_basis, _cross_entropy

P, K = 23, [3, 7, 10]


def _pairs(p):
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    return a.ravel(), b.ravel()


def _fourier_logits(p=P, keys=K, alpha=5.0):
    a, b = _pairs(p)
    c = np.arange(p)
    return alpha * sum(np.cos(2 * np.pi * k * (a[:, None] + b[:, None] - c[None]) / p)
                       for k in keys), (a + b) % p


def test_basis_is_orthonormal():
    F = fourier_basis(P)
    np.testing.assert_allclose(F @ F.T, np.eye(P), atol=1e-12)


def test_hand_built_fourier_logits():
    L, y = _fourier_logits()
    assert np.mean(L.argmax(1) == y) == 1.0
    assert list(key_frequencies_of_logits(L, P)) == K
    assert excluded_loss(L, y, P, K) == pytest.approx(np.log(P), abs=1e-12)
    assert abs(restricted_loss(L, y, P, K) - _cross_entropy(L, y)) < 1e-10
    # the logits' variance is shared equally by the three frequencies
    np.testing.assert_allclose(key_frequencies_of_logits(L, P).fractions[np.array(K) - 1],
                               1 / 3, atol=1e-12)


def test_restricted_loss_without_the_key_frequencies_is_uninformative():
    L, y = _fourier_logits()
    assert restricted_loss(L, y, P, [1, 2]) == pytest.approx(np.log(P), abs=1e-12)
    # excluding one key frequency leaves the other two: still right, less confident
    part = excluded_loss(L, y, P, [3])
    assert _cross_entropy(L, y) < part < np.log(P)


def test_gini_ground_truths():
    assert gini(np.ones(8)) == pytest.approx(0.0)
    assert gini(np.r_[np.ones(3), np.zeros(9)]) == pytest.approx(1 - 3 / 12)
    x = np.random.default_rng(0).random(7)
    brute = np.abs(x[:, None] - x[None]).sum() / (2 * len(x) ** 2 * x.mean())
    assert gini(x) == pytest.approx(brute)
    with pytest.raises(ValueError, match="x"):
        gini(np.array([1.0, -1.0]))


def test_embedding_from_chosen_frequencies_puts_all_power_there(rng):
    a = np.arange(P)
    cols = [f(2 * np.pi * k * a / P) for k in K for f in (np.cos, np.sin)]
    W = np.stack(cols, 1) @ np.linalg.qr(rng.standard_normal((6, 6)))[0]
    spec = embedding_spectrum(W, P)
    nz = np.flatnonzero(spec.norms > 1e-9) + 1
    assert list(nz) == K
    assert spec.gini == pytest.approx(1 - len(K) / (P // 2), abs=1e-9)
    assert spec.constant == pytest.approx(0.0, abs=1e-9)


def test_single_frequency_neuron_ceilings():
    assert single_frequency_fraction("square", 113) == pytest.approx(0.800, abs=5e-4)
    assert single_frequency_fraction("relu", 113) == pytest.approx(0.962, abs=5e-4)
    assert single_frequency_fraction(None, 113) == pytest.approx(1.0)


def test_fft_free_block_fractions_match_the_explicit_basis(rng):
    g = rng.standard_normal((4, 11, 11))
    np.testing.assert_allclose(_block_fractions(g, 11), _block_fractions_basis(g, 11),
                               atol=1e-12)


def test_key_frequency_threshold_is_relative_to_the_activation():
    # x² neurons reading frequency 3 or 7, with random phases
    a, b = _pairs(P)
    rng = np.random.default_rng(1)
    cols = []
    for k in (3, 7, 3, 7):
        ph = rng.uniform(0, 2 * np.pi, 2)
        w = 2 * np.pi * k / P
        cols.append((np.cos(w * a + ph[0]) + np.cos(w * b + ph[1])) ** 2)
    N = np.stack(cols, 1)
    nf = neuron_frequencies(N, P, activation="square")
    assert list(nf.key) == [3, 7]
    np.testing.assert_allclose(nf.best, 0.8, atol=1e-9)
    # a ReLU-level threshold (≈ 0.85 absolute) flags none of these perfect x² neurons
    assert len(neuron_frequencies(N, P, activation="relu").key) == 0


@pytest.mark.parametrize("call, match", [
    (lambda: key_frequencies_of_logits(np.zeros((10, 23)), 23), "logits: expected p²"),
    (lambda: key_frequencies_of_logits(np.zeros((16, 4)), 4), "p: the Fourier analysis needs"),
    (lambda: restricted_loss(np.zeros((529, 23)), np.zeros(529), 23, [12]), "frequencies"),
    (lambda: restricted_loss(np.zeros((529, 23)), np.zeros(5), 23, [1]), "labels"),
    (lambda: neuron_frequencies(np.zeros((10, 4)), 23), "neurons"),
    (lambda: embedding_spectrum(np.zeros((5, 3)), 23), "embedding"),
    (lambda: neuron_frequencies(np.zeros((529, 4)), 23, relative_threshold=1.5),
     "relative_threshold"),
])
def test_bad_fourier_input_is_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_fourier_probe_on_a_model():
    task = modular_task("add", 13, 0.5, seed=0)
    m = EmbedMLP(13, 16, seed=0)
    out = fourier_probe(task)(m, None)
    expected = {"embedding_gini", "n_key_frequencies", "key_neuron_share",
                "median_neuron_fraction", "logit_key_share", "restricted_loss",
                "excluded_loss"}
    assert set(out) == {f"fourier/{k}" for k in expected}
    assert 0 <= out["fourier/embedding_gini"] <= 1
    with torch.no_grad():
        logits = m(torch.as_tensor(task.inputs))
    train_ce = torch.nn.functional.cross_entropy(
        logits[task.train].double(), torch.as_tensor(task.targets[task.train])).item()
    # no single-frequency neuron at init: nothing is excluded, the train loss stays
    assert out["fourier/n_key_frequencies"] == 0
    assert out["fourier/excluded_loss"] == pytest.approx(train_ce, rel=1e-5)
    # with a fixed key set the losses use it
    fixed = fourier_probe(task, frequencies=[1, 2, 3, 4, 5, 6])(m, None)
    L = tk.grokking.model_logits(m)
    labels = (task.inputs.sum(1) % 13)
    assert fixed["fourier/restricted_loss"] == pytest.approx(
        restricted_loss(L, labels, 13, range(1, 7)), rel=1e-9)
    mult = fourier_probe(modular_task("multiply", 13, 0.5))(m, None)
    assert "fourier/restricted_loss" not in mult
