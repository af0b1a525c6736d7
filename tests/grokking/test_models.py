import math

import numpy as np
import pytest
import torch

import toolkit as tk
from toolkit.grokking import DeepLinear, EmbedMLP, KumarNet, Transformer, all_pairs


def test_summed_embedding_mlp_matches_its_formula():
    m = EmbedMLP(11, 16, activation="square", seed=0)
    x = all_pairs(11)
    h = (m.E_a[x[:, 0]] + m.E_b[x[:, 1]]) ** 2
    torch.testing.assert_close(m(x), h @ m.W_U)
    r = EmbedMLP(11, 16, activation="relu", output_scale=3.0, seed=0)
    torch.testing.assert_close(r(x), 3.0 * torch.relu(r.E_a[x[:, 0]] + r.E_b[x[:, 1]]) @ r.W_U)


def test_concat_mlp_shapes_and_seed():
    m = EmbedMLP(13, 32, embed="concat", d_embed=8, seed=2)
    assert m(all_pairs(13)).shape == (169, 13)
    assert m.neurons(all_pairs(13)).shape == (169, 32)
    torch.testing.assert_close(m.E, EmbedMLP(13, 32, embed="concat", d_embed=8, seed=2).E)


def _reference_transformer(m, x):
    """All three positions with a causal mask, logits read at the last: Nanda's model."""
    n = len(x)
    tokens = torch.cat([x, torch.full((n, 1), m.p)], 1)
    resid = m.W_E[tokens] + m.W_pos                                     # (n, 3, d)
    q = torch.einsum("npd,hde->nhpe", resid, m.W_Q)
    k = torch.einsum("npd,hde->nhpe", resid, m.W_K)
    v = torch.einsum("npd,hde->nhpe", resid, m.W_V)
    scores = torch.einsum("nhqe,nhke->nhqk", q, k) / math.sqrt(q.shape[-1])
    mask = torch.triu(torch.ones(3, 3, dtype=torch.bool), 1)
    attn = torch.softmax(scores.masked_fill(mask, -torch.inf), -1)
    z = torch.einsum("nhqk,nhke->nhqe", attn, v)
    resid = resid + torch.einsum("nhqe,hed->nqd", z, m.W_O)
    resid = resid + torch.relu(resid @ m.W_in + m.b_in) @ m.W_out + m.b_out
    return (resid @ m.W_U)[:, -1]


def test_transformer_equals_the_full_causal_computation():
    m = Transformer(7, d_model=16, n_heads=2, d_mlp=32, seed=1)
    with torch.no_grad():
        m.b_in.normal_()
        m.b_out.normal_()
    x = all_pairs(7)
    torch.testing.assert_close(m(x), _reference_transformer(m, x), rtol=1e-5, atol=1e-5)
    assert m.neurons(x).shape == (49, 32)
    assert m.embeddings()["W_E"].shape == (7, 16)


def test_models_round_trip_through_io(tmp_path):
    for model in (EmbedMLP(7, 8, seed=3), Transformer(7, 16, 2, 32, seed=3)):
        path = tmp_path / f"{type(model).__name__}.safetensors"
        tk.io.save(model, path)
        again = tk.io.load(path)
        torch.testing.assert_close(again(all_pairs(7)), model(all_pairs(7)))


def test_kumar_net_and_deep_linear_formulas():
    k = KumarNet(5, 7, alpha=2.0, eps=0.3, seed=0)
    x = torch.randn(4, 5, dtype=torch.float64)
    z = x @ k.W.T
    torch.testing.assert_close(k(x), 2.0 * (z + 0.15 * z**2).mean(1))
    d = DeepLinear(3, 4, 2, init_scale=0.1)
    torch.testing.assert_close(d(x[:, :3]), x[:, :3] @ (d.W2 @ d.W1).T)


@pytest.mark.parametrize("call, match", [
    (lambda: EmbedMLP(7, activation="tanh"), "activation: unknown value 'tanh'"),
    (lambda: EmbedMLP(7, embed="product"), "embed"),
    (lambda: Transformer(7, d_model=10, n_heads=4), "n_heads"),
    (lambda: EmbedMLP(7)(torch.zeros(3, 3, dtype=torch.long)), r"x: expected shape \(n, 2\)"),
    (lambda: EmbedMLP(7)(torch.zeros(3, 2)), "x: expected an integer tensor"),
])
def test_bad_model_arguments_are_named(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_init_scale_sets_the_spread():
    small = EmbedMLP(31, 64, init_scale=0.1, seed=0).E_a.detach().numpy()
    big = EmbedMLP(31, 64, init_scale=1.0, seed=0).E_a.detach().numpy()
    assert np.std(big) / np.std(small) == pytest.approx(10, rel=1e-5)
