import holoviews as hv
import numpy as np
import pytest

from toolkit.hmmrnn import HMM, HMM_NAMES, cyclic, fully_connected, linear_chain, make_hmm

# Ground truths of the reference (Torre et al. 2025).
SWITCH = {"linear_chain_2": 0.0688, "linear_chain_3": 0.2562, "fully_connected_3": 0.0864,
          "cyclic_4": 0.2142}
MARGINALS = {"linear_chain_2": [0.495, 0.01, 0.495], "linear_chain_3": [0.495, 0.01, 0.495],
             "fully_connected_3": [1 / 3] * 3, "cyclic_4": [0.25, 0.5, 0.25]}


@pytest.mark.parametrize("name", sorted(SWITCH))
def test_reference_statistics(name):
    hmm = make_hmm(name)
    assert hmm.switch_rate() == pytest.approx(SWITCH[name], abs=5e-5)
    np.testing.assert_allclose(hmm.emission_marginals(), MARGINALS[name], atol=1e-12)
    # symmetric T: doubly stochastic, so the stationary distribution is uniform = start
    np.testing.assert_allclose(hmm.stationary(), hmm.start, atol=1e-12)


def test_dwell_means_and_bigrams():
    np.testing.assert_allclose(linear_chain(2).dwell_means(), [20, 20])
    np.testing.assert_allclose(linear_chain(3).dwell_means(), [4.472, 2.236, 4.472], atol=1e-3)
    assert linear_chain(2).bigram()[0, 0] == pytest.approx(0.9405, abs=5e-5)
    assert fully_connected().bigram()[0, 0] == pytest.approx(0.9136, abs=5e-5)
    for name in HMM_NAMES:
        np.testing.assert_allclose(make_hmm(name).bigram().sum(1), 1.0)


def test_bigram_is_row_normalised_formula():
    hmm = cyclic()
    pi, E, T = hmm.stationary(), hmm.emission, hmm.transition
    joint = (np.diag(pi) @ E).T @ T @ E
    np.testing.assert_allclose(hmm.bigram(), joint / joint.sum(1, keepdims=True))


def test_sampled_statistics_match_analytic():
    hmm = linear_chain(2)
    x, z = hmm.sample(1000, 100, seed=3)
    assert x.shape == z.shape == (1000, 100) and x.dtype.kind == "i"
    assert abs((x[:, 1:] != x[:, :-1]).mean() - 0.0688) < 0.005
    assert abs((z[:, 1:] != z[:, :-1]).mean() - 0.05) < 0.004  # hidden switches 1 - 0.95


def test_sampling_is_seeded():
    hmm = fully_connected()
    a, _ = hmm.sample(20, 30, seed=1)
    b, _ = hmm.sample(20, 30, seed=1)
    c, _ = hmm.sample(20, 30, seed=2)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_log_likelihood_matches_hmmlearn_and_reference():
    hmm = linear_chain(2)
    x, _ = hmm.sample(300, 100, seed=0)
    ours = hmm.log_likelihood(x)
    ref = hmm._hmmlearn(0)
    theirs = np.array([ref.score(row[:, None]) for row in x[:20]])
    np.testing.assert_allclose(ours[:20], theirs, rtol=1e-9)
    assert ours.mean() / 100 == pytest.approx(-0.258, abs=0.015)
    shuffled = np.random.default_rng(0).permutation(x.ravel()).reshape(x.shape)
    assert hmm.log_likelihood(shuffled).mean() / 100 == pytest.approx(-1.556, abs=0.05)


def test_word_probabilities_against_brute_force():
    hmm = cyclic()
    w = hmm.word_probabilities(3, t=2).reshape(3, 3, 3)
    # brute force over hidden paths
    S = hmm.n_states
    p0 = hmm.state_distribution(2)
    brute = np.zeros((3, 3, 3))
    for i in range(S):
        for j in range(S):
            for k in range(S):
                pz = p0[i] * hmm.transition[i, j] * hmm.transition[j, k]
                brute += pz * np.einsum("a,b,c->abc", hmm.emission[i], hmm.emission[j],
                                        hmm.emission[k])
    np.testing.assert_allclose(w, brute, atol=1e-14)


def test_pair_joint_and_dwell_distribution():
    hmm = linear_chain(2)
    P = hmm.position_pair_joint(8)
    np.testing.assert_allclose(P[2, 5], hmm.pair_joint(3), atol=1e-14)
    np.testing.assert_allclose(P[5, 2], hmm.pair_joint(3).T, atol=1e-14)
    np.testing.assert_allclose(P[3, 3], np.diag(hmm.emission_marginals()), atol=1e-14)
    d = hmm.dwell_distribution(2000)
    # mean run length of a stationary process = 1 / switch rate
    assert (d * np.arange(1, 2001)).sum() == pytest.approx(1 / hmm.switch_rate(), rel=1e-6)


def test_plot_and_frame():
    hmm = linear_chain(3)
    assert hmm.to_frame().shape == (3, 1 + 3 + 3)
    hv.render(hmm.plot())


def test_validation_names_the_parameter():
    T = np.array([[0.9, 0.1], [0.2, 0.8]])
    E = np.array([[0.5, 0.5], [0.1, 0.9]])
    with pytest.raises(ValueError, match="^transition: rows must sum to 1"):
        HMM([0.5, 0.5], [[0.9, 0.2], [0.2, 0.8]], E)
    with pytest.raises(ValueError, match="^transition: must be square"):
        HMM([0.5, 0.5], np.ones((2, 3)) / 3, E)
    with pytest.raises(ValueError, match="^emission: rows must sum to 1"):
        HMM([0.5, 0.5], T, [[0.5, 0.6], [0.1, 0.9]])
    with pytest.raises(ValueError, match="^emission: expected 2 rows"):
        HMM([0.5, 0.5], T, np.ones((3, 2)) / 2)
    with pytest.raises(ValueError, match="^start: expected 2 entries"):
        HMM([1 / 3] * 3, T, E)
    with pytest.raises(ValueError, match="^start: must sum to 1"):
        HMM([0.5, 0.6], T, E)
    with pytest.raises(ValueError, match="^transition: entries must be non-negative"):
        HMM([0.5, 0.5], [[1.1, -0.1], [0.2, 0.8]], E)
    with pytest.raises(ValueError, match="^transition: contains"):
        HMM([0.5, 0.5], [[np.nan, 0.1], [0.2, 0.8]], E)
    with pytest.raises(ValueError, match="^n_states"):
        linear_chain(6)
    with pytest.raises(ValueError, match="^name"):
        make_hmm("ring_7")


def test_symbol_validation():
    hmm = linear_chain(2)
    with pytest.raises(ValueError, match="^symbols: zero-length"):
        hmm.log_likelihood(np.zeros((3, 0), dtype=int))
    with pytest.raises(ValueError, match="^symbols: symbols must lie in"):
        hmm.log_likelihood(np.full((2, 5), 3))
    with pytest.raises(ValueError, match="^length"):
        hmm.sample(2, 0)


def test_numpy_sampler_follows_the_same_law():
    hmm = cyclic()
    x, z = hmm.sample(3000, 40, seed=4, engine="numpy")
    assert x.shape == z.shape == (3000, 40)
    y, _ = hmm.sample(3000, 40, seed=4, engine="numpy")
    assert np.array_equal(x, y)                                   # seeded
    # exact statistics (stationary start): switch rate, marginals, hidden switch rate
    assert (x[:, 1:] != x[:, :-1]).mean() == pytest.approx(hmm.switch_rate(), abs=0.004)
    np.testing.assert_allclose(np.bincount(x.ravel()) / x.size, hmm.emission_marginals(),
                               atol=0.015)   # ~3 SE: states persist ~20 steps
    assert (z[:, 1:] != z[:, :-1]).mean() == pytest.approx(0.05, abs=0.003)
    # and the same log-likelihood law as hmmlearn's sampler
    h, _ = hmm.sample(1000, 40, seed=5)
    assert hmm.log_likelihood(x).mean() == pytest.approx(hmm.log_likelihood(h).mean(),
                                                         abs=0.3)
    with pytest.raises(ValueError, match="^engine"):
        hmm.sample(2, 3, engine="torch")


def test_relaxation_time_and_ergodicity_closed_form():
    # 2 states, T = [[1 − a, a], [b, 1 − b]]: λ₂ = 1 − a − b, relaxation time 1 / (a + b)
    a, b = 0.03, 0.25
    hmm = HMM([0.5, 0.5], [[1 - a, a], [b, 1 - b]], [[0.9, 0.1], [0.2, 0.8]])
    assert hmm.relaxation_time() == pytest.approx(1 / (a + b))
    assert hmm.ergodicity()["ergodic"]
    cyc = HMM([1, 0, 0], [[0, 1, 0], [0, 0, 1], [1, 0, 0]], np.eye(3))
    e = cyc.ergodicity()
    assert e["irreducible"] and e["period"] == 3 and not e["ergodic"]
    red = HMM([0.5, 0.5, 0], [[0.5, 0.5, 0], [0.5, 0.4, 0.1], [0, 0, 1]], np.eye(3))
    e = red.ergodicity()
    assert not e["irreducible"] and e["closed"] == [[2]]
    assert sorted(map(sorted, e["classes"])) == [[0, 1], [2]]


def test_as_hmm_from_hmmlearn_dict_and_tuple():
    from hmmlearn.hmm import CategoricalHMM

    from toolkit.hmmrnn import as_hmm

    ref = linear_chain(3)
    model = CategoricalHMM(n_components=3, n_features=3)
    model.startprob_, model.transmat_, model.emissionprob_ = ref.start, ref.transition, \
        ref.emission
    got = as_hmm(model)
    np.testing.assert_allclose(got.transition, ref.transition)
    np.testing.assert_allclose(got.emission, ref.emission)
    T = [[0.9, 0.1], [0.3, 0.7]]
    E = [[0.8, 0.2], [0.1, 0.9]]
    h = as_hmm((T, E))                      # no start: the stationary distribution
    np.testing.assert_allclose(h.start, [0.75, 0.25])
    assert as_hmm({"transition": T, "emission": E, "name": "mine"}).name == "mine"
    np.testing.assert_allclose(as_hmm(([1, 0], T, E)).start, [1, 0])
    with pytest.raises(ValueError, match="^hmm: the CategoricalHMM has no"):
        as_hmm(CategoricalHMM(n_components=2))
    with pytest.raises(ValueError, match="^hmm: a dict needs"):
        as_hmm({"T": T})
    with pytest.raises(TypeError, match="^hmm: expected"):
        as_hmm(42)


def test_forward_log_likelihood_matches_hmmlearn_score_on_a_fitted_model():
    # an hmmlearn model with a non-uniform start, 5 symbols: our forward algorithm on
    # every sequence against hmmlearn's score of the concatenated sequences
    from hmmlearn.hmm import CategoricalHMM

    from toolkit.hmmrnn import as_hmm

    true = HMM([0.6, 0.3, 0.1], [[0.9, 0.08, 0.02], [0.1, 0.85, 0.05], [0.05, 0.05, 0.9]],
               [[0.6, 0.2, 0.1, 0.05, 0.05], [0.05, 0.1, 0.6, 0.2, 0.05],
                [0.05, 0.05, 0.1, 0.2, 0.6]])
    x, _ = true.sample(60, 50, seed=2)
    model = CategoricalHMM(n_components=3, n_iter=20, random_state=0)
    model.fit(x.reshape(-1, 1), lengths=[50] * 60)
    ours = as_hmm(model).log_likelihood(x).sum()
    assert ours == pytest.approx(model.score(x.reshape(-1, 1), lengths=[50] * 60), rel=1e-9)
