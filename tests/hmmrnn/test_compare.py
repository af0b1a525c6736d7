import holoviews as hv
import numpy as np
import pytest

from toolkit.hmmrnn import (
    HMM,
    NoiseRNN,
    bigram_matrix,
    compare,
    cyclic,
    dwell_times,
    emission_marginals,
    linear_chain,
    ngram_counts,
    permutation_tv_test,
    shuffle_symbols,
    switch_rate,
    total_variation,
)

# every check compare() makes for an RNN sample of a 3-symbol HMM
CHECKS = ["switch rate", "bigram", "1-gram TV / floor", "2-gram TV / floor",
          "3-gram TV / floor", "4-gram TV / floor", "dwell times (p-value)",
          "log-likelihood gap", "log-likelihood above shuffled", "Sinkhorn excess"]


def _asymmetric(stay_slow=0.97, stay_fast=0.75):
    return HMM([0.5, 0.5], [[stay_slow, 1 - stay_slow], [1 - stay_fast, stay_fast]],
               [[0.85, 0.10, 0.05], [0.05, 0.25, 0.70]], name="asym")


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


def test_ngram_counts_by_hand():
    x = np.array([[0, 1, 1, 2], [2, 2, 2, 2]])
    c = ngram_counts(x, 3, 2)
    assert c.shape == (2, 9)
    # row 0: 01, 11, 12 ; row 1: 22 three times (index a*3 + b)
    assert c[0, 1] == c[0, 4] == c[0, 5] == 1 and c[0].sum() == 3
    assert c[1, 8] == 3 and c[1].sum() == 3
    np.testing.assert_array_equal(ngram_counts(x, 3, 1).sum(0), [1, 2, 5])
    assert total_variation([1, 0], [0, 1]) == 1.0 and total_variation([2, 2], [1, 1]) == 0.0
    with pytest.raises(ValueError, match="^n: words of 5"):
        ngram_counts(x, 3, 5)


def test_permutation_test_is_calibrated_and_has_power():
    rng = np.random.default_rng(0)
    same = [permutation_tv_test(rng.poisson(3, (100, 4)), rng.poisson(3, (100, 4)), 99,
                                seed=k)[1] for k in range(40)]
    # under the null the p-value is uniform: about 10% below 0.1, not all high
    assert 0 < np.mean(np.array(same) < 0.1) < 0.3 and np.mean(same) == pytest.approx(0.5,
                                                                                      abs=0.12)
    a, b = rng.poisson(3, (100, 4)), rng.poisson([3, 3, 3, 4], (100, 4))
    tv, p = permutation_tv_test(a, b, 99)
    assert p == pytest.approx(0.01) and tv > 0.02


def test_the_hmm_compared_with_itself_passes_every_verdict():
    hmm = _asymmetric()
    x, _ = hmm.sample(2000, 60, seed=21, engine="numpy")
    em = compare(x, hmm, n_sinkhorn=400, seed=5)
    v = em.verdicts
    assert [c.name for c in v.checks] == CHECKS
    assert v.passed, v.to_frame()
    assert em.passed
    assert np.all(em.ngram_tv_rnn / em.ngram_tv_floor < 2)     # at the floor, not just < 3
    frame = v.to_frame()
    assert list(frame.columns) == ["value", "rule", "tolerance", "verdict", "detail"]
    assert (frame["verdict"] == "pass").all()
    hv.render(v.plot())
    hv.render(em.plot())


def test_a_slightly_wrong_hmm_fails_the_whole_distribution_checks():
    # the fast state stays 0.6 instead of 0.75: same emissions, wrong dynamics
    hmm, wrong = _asymmetric(), _asymmetric(stay_fast=0.6)
    x, _ = wrong.sample(2000, 60, seed=22, engine="numpy")
    v = compare(x, hmm, n_sinkhorn=0, seed=5).verdicts
    assert not v.passed
    assert not v["4-gram TV / floor"].passed and not v["dwell times (p-value)"].passed
    # the memoryless sampler fails everything temporal
    s, _ = hmm.sample(2000, 60, seed=23, engine="numpy")
    v = compare(shuffle_symbols(s), hmm, n_sinkhorn=300, seed=5).verdicts
    for name in ("switch rate", "2-gram TV / floor", "4-gram TV / floor",
                 "dwell times (p-value)", "log-likelihood above shuffled", "Sinkhorn excess"):
        assert not v[name].passed, name
    assert v["1-gram TV / floor"].passed       # the marginals are right


def test_exact_expectations_for_a_non_stationary_start():
    # the chain starts in state 0 (stationary is not): compare judges against the exact
    # expectation for sequences of this length, which HMM samples reproduce
    hmm = HMM([1.0, 0.0], [[0.99, 0.01], [0.01, 0.99]],
              [[0.98, 0.01, 0.01], [1 / 3, 1 / 3, 1 / 3]])
    x, _ = hmm.sample(4000, 30, seed=3, engine="numpy")
    em = compare(x, hmm, n_sinkhorn=0)
    assert em.switch_rate_analytic == pytest.approx(switch_rate(x), rel=0.03)
    assert abs(em.switch_rate_analytic - hmm.switch_rate()) > 0.1   # differs from stationary
    np.testing.assert_allclose(em.marginals_analytic, emission_marginals(x, 3), atol=0.006)


def test_tolerances_can_be_overridden_and_are_checked():
    hmm = cyclic()
    x, _ = hmm.sample(300, 40, seed=1, engine="numpy")
    em = compare(x, hmm, n_sinkhorn=0, tolerances={"switch_rate": 1e-9})
    assert not em.verdicts["switch rate"].passed and em.verdicts["switch rate"].tolerance == 1e-9
    with pytest.raises(ValueError, match="^tolerances: unknown"):
        compare(x, hmm, n_sinkhorn=0, tolerances={"speed": 1})
    with pytest.raises(KeyError, match="no check"):
        em.verdicts["speed"]
