import numpy as np
import pytest
import torch

from toolkit import probes


def _net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Tanh(),
                               torch.nn.Linear(6, 2)).double()


def _autograd_jacobian(net, x):
    rows = []
    for i in range(len(x)):
        for c in range(2):
            g = torch.autograd.grad(net(x[i:i + 1])[0, c], list(net.parameters()))
            rows.append(torch.cat([gg.reshape(-1) for gg in g]))
    return torch.stack(rows).numpy()          # (n·k, P)


def test_empirical_ntk_equals_J_Jt_from_autograd():
    net = _net()
    x = torch.randn(5, 3, dtype=torch.float64)
    J = _autograd_jacobian(net, x)
    full = J @ J.T
    np.testing.assert_allclose(probes.empirical_ntk(net, x, output="full"), full,
                               rtol=1e-12, atol=1e-12)
    trace = full.reshape(5, 2, 5, 2).trace(axis1=1, axis2=3)
    np.testing.assert_allclose(probes.empirical_ntk(net, x, chunk=1), trace, rtol=1e-12,
                               atol=1e-12)
    one = J[1::2] @ J[1::2].T
    np.testing.assert_allclose(probes.empirical_ntk(net, x, output=1), one, rtol=1e-12,
                               atol=1e-12)


def test_alignment_of_label_kernel_is_one_and_distance_of_multiple_is_zero(rng):
    y = rng.standard_normal(12)
    yc = y - y.mean()
    assert probes.ntk_alignment(np.outer(yc, yc), y) == pytest.approx(1.0, abs=1e-12)
    Y = rng.standard_normal((12, 3))
    Yc = Y - Y.mean(0)
    assert probes.ntk_alignment(Yc @ Yc.T, Y) == pytest.approx(1.0, abs=1e-12)
    K = rng.standard_normal((12, 12))
    K = K @ K.T
    assert probes.kernel_distance(K, 3.7 * K) == pytest.approx(0.0, abs=1e-12)
    assert probes.kernel_distance(K, np.eye(12)) > 0
    # alignment is invariant to scale and lies in [-1, 1]
    a = probes.ntk_alignment(K, y)
    assert probes.ntk_alignment(5 * K, y) == pytest.approx(a)
    assert -1 <= a <= 1


@pytest.mark.parametrize("call, match", [
    (lambda: probes.ntk_alignment(np.ones((3, 4)), np.ones(3)), "K: expected a square"),
    (lambda: probes.ntk_alignment(np.eye(3), np.ones(4)), "y: has 4 rows"),
    (lambda: probes.kernel_distance(np.eye(3), np.eye(4)), "K: shape"),
    (lambda: probes.ntk_probe(torch.zeros(4, 3), torch.zeros(5)), "y: has 5 rows"),
    (lambda: probes.ntk_probe(y=torch.zeros(5)), "y: give the probe inputs"),
    (lambda: probes.empirical_ntk(_net(), torch.zeros(2, 3, dtype=torch.float64), output=7),
     "output: 7"),
])
def test_bad_probe_sets_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_ntk_probe_logs_alignment_and_distance_over_training():
    net = _net()
    ref = _net()
    x = torch.randn(20, 3, dtype=torch.float64)
    y = torch.randint(0, 2, (20,))
    probe = probes.ntk_probe(x, y, reference=ref)
    first = probe(net, None)
    assert first["ntk/kernel_distance"] == pytest.approx(0.0, abs=1e-12)
    assert -1 <= first["ntk/alignment"] <= 1
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    for _ in range(50):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    later = probe(net, None)
    assert later["ntk/kernel_distance"] > 1e-4
    # on data splits the probe set is the first n examples of the split
    split_probe = probes.ntk_probe(n=8, output=0)
    out = split_probe(net, {"train": (x, y.double())})
    assert out["ntk/kernel_distance"] == pytest.approx(0.0, abs=1e-12)
    assert np.isfinite(out["ntk/trace"])
