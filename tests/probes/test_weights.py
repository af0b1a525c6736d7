import numpy as np
import pytest
import torch

from toolkit import probes


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))


def test_weight_norm_total_and_per_parameter():
    m = _model()
    out = probes.weight_norm(per_parameter=True)(m, None)
    flat = torch.cat([p.detach().reshape(-1) for p in m.parameters()]).double()
    assert out["weight_norm"] == pytest.approx(flat.norm().item(), rel=1e-12)
    per = [v for k, v in out.items() if k.startswith("weight_norm/")]
    assert len(per) == 4
    assert np.sqrt(np.sum(np.square(per))) == pytest.approx(out["weight_norm"], rel=1e-12)


def test_movement_from_reference_and_squared_version():
    m = _model()
    probe = probes.parameter_movement(m)
    sq_probe = probes.parameter_movement(m, squared=True)
    assert probe(m, None)["movement"] == 0.0
    theta0 = torch.cat([p.detach().reshape(-1).clone() for p in m.parameters()]).double()
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.1)
    theta = torch.cat([p.detach().reshape(-1) for p in m.parameters()]).double()
    expect = ((theta - theta0).norm() / theta0.norm()).item()
    assert probe(m, None)["movement"] == pytest.approx(expect, rel=1e-6)
    assert sq_probe(m, None)["movement"] == pytest.approx(expect**2, rel=1e-6)


def test_movement_without_reference_starts_at_first_call():
    m = _model()
    probe = probes.parameter_movement()
    assert probe(m, None)["movement"] == 0.0
    with torch.no_grad():
        m[0].weight.mul_(2.0)
    assert probe(m, None)["movement"] > 0


def test_effective_rank_extremes_and_known_value():
    assert probes.effective_rank(np.outer([1.0, 2, 3], [1.0, -1])) == pytest.approx(1.0)
    assert probes.effective_rank(np.eye(5)) == pytest.approx(5.0)
    # singular values 3 and 1: q = (3/4, 1/4)
    q = np.array([0.75, 0.25])
    expect = np.exp(-(q * np.log(q)).sum())
    assert probes.effective_rank(np.diag([3.0, 1.0])) == pytest.approx(expect)


def test_effective_rank_rejects_bad_input():
    with pytest.raises(ValueError, match="matrix"):
        probes.effective_rank(np.ones(3))
    with pytest.raises(ValueError, match="matrix"):
        probes.effective_rank(np.array([[np.nan, 1.0]]))


def test_weight_and_activation_effective_rank_probes():
    m = _model()
    out = probes.weight_effective_rank()(m, None)
    assert set(out) == {"effective_rank/0.weight", "effective_rank/2.weight"}
    assert all(1 <= v <= 3 for v in out.values())
    x = torch.randn(100, 3)
    act = probes.activation_effective_rank(lambda mod, inp: mod[0](inp))
    value = act(m, {"train": (x, torch.zeros(100))})["activation_rank"]
    # a linear map of 3-D data to 4-D: centred activations have rank ≤ 3
    assert 1 < value <= 3 + 1e-9
    with pytest.raises(KeyError, match="names"):
        probes.weight_effective_rank(["nope"])(m, None)
