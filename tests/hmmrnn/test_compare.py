import holoviews as hv
import numpy as np
import pytest

from toolkit.hmmrnn import (
    NoiseRNN,
    bigram_matrix,
    compare,
    dwell_times,
    emission_marginals,
    linear_chain,
    shuffle_symbols,
    switch_rate,
)


def test_empirical_statistics_by_hand():
    x = np.array([[0, 0, 1, 1, 1, 0], [2, 2, 2, 2, 0, 0]])
    np.testing.assert_allclose(emission_marginals(x, 3), [5 / 12, 3 / 12, 4 / 12])
    assert switch_rate(x) == pytest.approx(3 / 10)
    # complete runs only: [1,1,1] in row 0; none in row 1 (both runs touch an end)
    assert sorted(dwell_times(x).tolist()) == [3]
    B = bigram_matrix(x, 3)
    np.testing.assert_allclose(B[0], [2 / 3, 1 / 3, 0])
    np.testing.assert_allclose(B[1], [1 / 3, 2 / 3, 0])
    np.testing.assert_allclose(B[2], [1 / 4, 0, 3 / 4])


def test_shuffle_keeps_marginals_and_destroys_order():
    hmm = linear_chain(2)
    x, _ = hmm.sample(200, 100, seed=0)
    s = shuffle_symbols(x, seed=1)
    assert np.array_equal(np.bincount(s.ravel()), np.bincount(x.ravel()))
    assert switch_rate(s) > 0.4 > switch_rate(x)


def test_hmm_samples_pass_their_own_bars():
    # a perfect emulator: sequences from the HMM itself pass compare's bars
    hmm = linear_chain(2)
    x, _ = hmm.sample(2000, 100, seed=10)
    em = compare(x, hmm, n_sinkhorn=300)
    assert all(em.passes().values()), em.errors()
    assert em.log_likelihood_shuffled == pytest.approx(-1.556, abs=0.03)
    assert em.sinkhorn_rnn == pytest.approx(em.sinkhorn_hmm, rel=0.05)
    assert em.errors()["dwell_tv"] < 0.1
    assert em.sequence_ll_p > 0.001 and em.switch_count_p > 0.001
    assert em.to_frame().shape[1] == 3


def test_memoryless_sequences_fail():
    # right marginals, no temporal structure: the trap of the reference recipe
    hmm = linear_chain(2)
    x, _ = hmm.sample(1000, 100, seed=11)
    em = compare(shuffle_symbols(x), hmm, n_sinkhorn=300)
    p = em.passes()
    assert p["marginals"] and not p["switch_rate"] and not p["log_likelihood"]
    assert em.sinkhorn_rnn > em.sinkhorn_hmm + 5
    assert em.sequence_ll_p < 1e-6 and em.switch_count_p < 1e-6
    hv.render(em.plot())


def test_compare_runs_an_rnn_and_checks_sizes():
    hmm = linear_chain(2)
    em = compare(NoiseRNN(8, 3, 3), hmm, n_sequences=50, length=20, n_sinkhorn=0)
    assert em.n_sequences == 50 and em.length == 20 and np.isnan(em.sinkhorn_rnn)
    with pytest.raises(ValueError, match="^rnn: has 4 output symbols"):
        compare(NoiseRNN(8, 3, 4), hmm)
    with pytest.raises(ValueError, match="^rnn: zero-length"):
        compare(np.zeros((3, 0), dtype=int), hmm)
    with pytest.raises(TypeError, match="^hmm"):
        compare(NoiseRNN(8, 3, 3), "linear_chain_2")
