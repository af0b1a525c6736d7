import numpy as np
import pytest
import torch

from toolkit import probes


def _gap_logits(gap, p=113, dtype=torch.float32):
    z = torch.zeros(1, p, dtype=dtype)
    z[0, 0] = gap
    return z


def test_collapse_thresholds_match_float32_and_float64():
    # Σ exp(z − max) = 1 + (p − 1)e^{−g} rounds to 1 once (p − 1)e^{−g} < ulp/2
    assert probes.softmax_collapse_fraction(_gap_logits(15.0)) == 0.0
    assert probes.softmax_collapse_fraction(_gap_logits(22.0)) == 1.0
    assert probes.softmax_collapse_fraction(_gap_logits(22.0, dtype=torch.float64)) == 0.0
    assert probes.softmax_collapse_fraction(_gap_logits(42.0, dtype=torch.float64)) == 1.0
    # dtype argument casts
    assert probes.softmax_collapse_fraction(_gap_logits(22.0), dtype=torch.float64) == 0.0


def test_collapse_fraction_counts_rows():
    z = torch.cat([_gap_logits(30.0), _gap_logits(1.0), _gap_logits(1.0), _gap_logits(40.0)])
    assert probes.softmax_collapse_fraction(z) == 0.5


def test_collapse_probe_uses_the_split():
    m = torch.nn.Linear(2, 5)
    with torch.no_grad():
        m.weight.zero_()
        m.bias.copy_(torch.tensor([50.0, 0, 0, 0, 0]))
    x = torch.randn(8, 2)
    out = probes.softmax_collapse()(m, {"train": (x, torch.zeros(8, dtype=torch.long))})
    assert out == {"softmax_collapse": 1.0}


def test_bad_logits_are_named():
    with pytest.raises(ValueError, match="logits"):
        probes.softmax_collapse_fraction(np.zeros(5))
