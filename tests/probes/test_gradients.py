import pytest
import torch

from toolkit import probes


def test_gradient_norm_reads_last_step_and_recomputes_on_a_split():
    torch.manual_seed(0)
    m = torch.nn.Linear(3, 2).double()
    x = torch.randn(16, 3, dtype=torch.float64)
    y = torch.randint(0, 2, (16,))
    loss = torch.nn.functional.cross_entropy(m(x), y)
    loss.backward()
    expect = torch.cat([p.grad.reshape(-1) for p in m.parameters()]).norm().item()
    assert probes.gradient_norm()(m, None)["grad_norm"] == pytest.approx(expect, rel=1e-12)
    # recomputed on the split: same value, and .grad is left as it was
    before = [p.grad.clone() for p in m.parameters()]
    out = probes.gradient_norm("train", per_parameter=True)(m, {"train": (x, y)})
    assert out["grad_norm"] == pytest.approx(expect, rel=1e-10)
    assert {"grad_norm/weight", "grad_norm/bias"} <= set(out)
    assert all(torch.equal(a, p.grad) for a, p in zip(before, m.parameters()))


def test_gradient_norm_of_a_model_that_never_stepped_is_nan():
    import math

    assert math.isnan(probes.gradient_norm()(torch.nn.Linear(2, 2), None)["grad_norm"])
