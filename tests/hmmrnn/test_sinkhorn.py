import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment

from toolkit.hmmrnn import flatten_onehot, linear_chain, sinkhorn_divergence


def test_close_to_exact_optimal_transport_for_small_blur():
    # Equal-size uniform clouds: OT is an assignment problem; debiasing terms vanish as
    # blur → 0 for distinct points, so S_ε → OT with cost ½|x − y|².
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 3)), rng.normal(size=(40, 3)) + 1.0
    C = 0.5 * ((x[:, None] - y[None]) ** 2).sum(-1)
    r, c = linear_sum_assignment(C)
    exact = C[r, c].mean()
    s = float(sinkhorn_divergence(torch.tensor(x), torch.tensor(y), blur=0.01, scaling=0.9))
    assert s == pytest.approx(exact, rel=0.01)


def test_zero_for_identical_clouds_and_symmetric():
    torch.manual_seed(0)
    x, y = torch.randn(60, 4), torch.randn(70, 4) * 2
    assert abs(float(sinkhorn_divergence(x, x))) < 1e-4
    assert float(sinkhorn_divergence(x, y)) == pytest.approx(float(sinkhorn_divergence(y, x)),
                                                             rel=1e-4)


def test_gradient_matches_finite_differences():
    torch.manual_seed(1)
    x = torch.randn(12, 2, dtype=torch.float64, requires_grad=True)
    y = torch.randn(15, 2, dtype=torch.float64) + 0.5

    def f(z):
        return sinkhorn_divergence(z, y, blur=0.3, scaling=0.99)

    (g,) = torch.autograd.grad(f(x), x)
    eps = 1e-5
    fd = torch.zeros_like(x)
    with torch.no_grad():
        for i in range(x.shape[0]):
            for j in range(x.shape[1]):
                d = torch.zeros_like(x)
                d[i, j] = eps
                fd[i, j] = (f(x + d) - f(x - d)) / (2 * eps)
    # envelope-theorem gradient, exact at convergence: same direction, size within 10%
    cos = float((g * fd).sum() / (g.norm() * fd.norm()))
    assert cos > 0.99
    assert float(g.norm() / fd.norm()) == pytest.approx(1.0, abs=0.1)


def test_hmm_sequences_closer_to_hmm_than_shuffled():
    hmm = linear_chain(2)
    a, _ = hmm.sample(300, 100, seed=0)
    b, _ = hmm.sample(300, 100, seed=1)
    shuffled = np.random.default_rng(0).permutation(b.ravel()).reshape(b.shape)
    same = float(sinkhorn_divergence(flatten_onehot(a, 3), flatten_onehot(b, 3)))
    other = float(sinkhorn_divergence(flatten_onehot(a, 3), flatten_onehot(shuffled, 3)))
    assert other > same + 5


def test_bad_input():
    with pytest.raises(ValueError, match="^y: has dimension"):
        sinkhorn_divergence(torch.zeros(3, 2), torch.zeros(3, 4))
    with pytest.raises(ValueError, match="^x: expected a non-empty"):
        sinkhorn_divergence(torch.zeros(0, 2), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="^scaling"):
        sinkhorn_divergence(torch.zeros(3, 2), torch.zeros(3, 2), scaling=1.5)
