"""toolkit.alrnn.evaluate: λ_max along the whole generated orbit, in pieces."""

import numpy as np
import pytest

from toolkit.alrnn import ALRNN, evaluate


@pytest.fixture(scope="module")
def tent():
    # z ↦ 2z − 4 relu(z) + 1: slope ±2 everywhere, so λ = ln 2 per step on any orbit
    return ALRNN.from_params(np.array([2.0]), np.array([[-4.0]]), np.array([1.0]), P=1, N=1)


def test_lyapunov_over_several_pieces_is_ln2(tent):
    # 2¼ pieces of 20,000 steps, and one step over a single piece
    for T in (45_001, 20_002):
        x = np.random.default_rng(0).uniform(-1, 1, (T, 1))
        assert evaluate(tent, x).lyapunov_max == pytest.approx(np.log(2), abs=1e-9)


def test_lyapunov_steps_limits_the_estimate(tent):
    # shorter than one piece, and the bad value named
    x = np.random.default_rng(1).uniform(-1, 1, (500, 1))
    assert evaluate(tent, x, lyapunov_steps=150).lyapunov_max == pytest.approx(np.log(2))
    with pytest.raises(ValueError, match="lyapunov_steps"):
        evaluate(tent, x, lyapunov_steps=0)
