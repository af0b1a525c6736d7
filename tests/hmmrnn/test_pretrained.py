"""The shipped emulators against the issue's bars (2,000 sequences; fresh seeds)."""

import numpy as np
import pytest
import torch

import toolkit.hmmrnn as hr

BARS = {  # name: (switch-rate tolerance, bigram tolerance)
    "linear_chain_2": (0.10, 0.02),
    "linear_chain_3": (0.15, 0.03),
    "fully_connected_3": (0.15, 0.03),
    "cyclic_4": (0.15, 0.03),
}


@pytest.fixture(scope="module")
def chain2():
    return hr.load_pretrained("linear_chain_2"), hr.pretrained_hmm("linear_chain_2")


def test_two_state_chain_meets_the_bars(chain2):
    rnn, hmm = chain2
    em = hr.compare(rnn, hmm, n_sequences=2000, length=100, seed=777, n_sinkhorn=500)
    e = em.errors()
    assert abs(em.switch_rate_rnn / 0.0688 - 1) <= 0.10
    # the rare symbol's bigram row rests on ~2,000 transitions, so its sampling error
    # alone is ~0.01 and the HMM's own samples exceed 0.02 on ~10% of seeds: judge the
    # median over fresh seeds, not one lucky (or unlucky) draw
    bigram_errors = [e["bigram_max_abs"]] + [
        hr.compare(rnn, hmm, n_sequences=2000, length=100, seed=s, n_sinkhorn=0)
        .errors()["bigram_max_abs"] for s in (780, 781, 782, 783)]
    assert np.median(bigram_errors) <= 0.02
    np.testing.assert_allclose(em.marginals_rnn, [0.495, 0.01, 0.495], atol=0.02)
    assert abs(em.log_likelihood_rnn - em.log_likelihood_hmm) <= 0.05
    assert em.log_likelihood_hmm == pytest.approx(-0.258, abs=0.01)
    assert em.log_likelihood_rnn - em.log_likelihood_shuffled > 1.0   # far from memoryless


def test_two_state_chain_matches_whole_sequences(chain2):
    # statistics the trainer never saw: held-out Sinkhorn divergence against the
    # HMM-vs-HMM baseline, dwell times, per-sequence log-likelihoods and switch counts
    rnn, hmm = chain2
    em = hr.compare(rnn, hmm, n_sequences=1000, length=100, seed=778, n_sinkhorn=1000)
    assert em.sinkhorn_rnn <= 1.05 * em.sinkhorn_hmm
    assert em.errors()["dwell_tv"] < 0.1
    assert em.sequence_ll_p > 1e-3 and em.switch_count_p > 1e-3


@pytest.mark.parametrize("name", ["linear_chain_3", "fully_connected_3", "cyclic_4"])
def test_other_emulators_meet_their_bars(name):
    rnn, hmm = hr.load_pretrained(name), hr.pretrained_hmm(name)
    em = hr.compare(rnn, hmm, n_sequences=2000, seed=779, n_sinkhorn=0)
    switch_tol, bigram_tol = BARS[name]
    assert abs(em.switch_rate_rnn / hmm.switch_rate() - 1) <= switch_tol
    assert np.abs(em.bigram_rnn - hmm.bigram()).max() <= bigram_tol
    assert abs(em.log_likelihood_rnn - em.log_likelihood_hmm) <= 0.05


def test_shipped_models_are_bias_free_and_homogeneous(chain2):
    rnn, _ = chain2
    assert not rnn.bias
    x = hr.noise(rnn, 3, 50, seed=0).double()
    net = rnn.copy().double()
    with torch.no_grad():
        h = net.hidden(x)
        np.testing.assert_allclose(net.hidden(0.3 * x).numpy(), 0.3 * h.numpy(), rtol=1e-12,
                                   atol=1e-13)


def test_collapse_to_origin_without_input(chain2):
    fp = hr.fixed_point(chain2[0], n_starts=50, n_steps=300)
    assert fp.is_origin


def test_slow_regions_dominate(chain2):
    rnn, _ = chain2
    o = hr.orbit(rnn, 1500, seed=3)
    res = hr.residency(rnn, o.hidden[::3], n_rollouts=10, seed=3)
    f = res.fractions()
    assert f["cluster"] > 0.6 and f["transition"] < 0.15


def test_checkpoints_and_info():
    ck = hr.pretrained_checkpoints("linear_chain_2")
    steps = [s for s, _ in ck]
    assert steps[0] == 0 and steps == sorted(steps) and len(steps) >= 8
    info = hr.pretrained_info("linear_chain_2")
    assert info["n_hidden"] == ck[-1][1].n_hidden and info["seed"] == 0
    with pytest.raises(ValueError, match="^name"):
        hr.load_pretrained("ring_9")


def test_kick_neurons_meet_the_bar(chain2):
    # the bar, on noise the detector never saw: silencing the detected set's
    # recurrent input at least halves the switch rate, while as many random other units
    # change it by at most 15% (median over 20 sets)
    rnn, _ = chain2
    kicks = hr.kick_neurons(rnn)
    assert 1 <= len(kicks) <= rnn.n_hidden // 10
    a = hr.ablation_test(rnn, kicks, gains=(0.0,), n_controls=20, n_sequences=500, seed=11)
    change = a.relative_change(0.0)
    assert change["kick"] <= -0.5
    assert change["median_control_abs"] <= 0.15
    assert a.kick[0] < a.controls[:, 0].min()
