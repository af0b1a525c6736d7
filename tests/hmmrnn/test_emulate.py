
import numpy as np
import pytest

import toolkit.hmmrnn as hr
from toolkit.hmmrnn import HMM, check_emulable, emulate, emulation_settings

EASY = HMM([0.5, 0.5], [[0.9, 0.1], [0.1, 0.9]], [[0.9, 0.1], [0.1, 0.9]], name="easy")


def test_rules_pick_the_settings_from_the_hmm():
    # reference HMMs keep the reference's length; sizes grow with the number of states
    assert emulation_settings(hr.linear_chain(5)) == {"length": 40, "hidden": 150,
                                                     "n_noise": 40, "word_length": 5}
    assert emulation_settings(hr.linear_chain(4))["hidden"] == 128
    # a custom HMM: 3 × the slowest time scale (a dwell of 1 / 0.03 ≈ 33 steps), ≤ 100
    slow = HMM([0.5, 0.5], [[0.97, 0.03], [0.25, 0.75]], [[0.9, 0.1], [0.2, 0.8]])
    assert emulation_settings(slow)["length"] == 100
    fast = HMM([0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]], [[0.9, 0.1], [0.2, 0.8]])
    assert emulation_settings(fast) == {"length": 30, "hidden": 64, "n_noise": 16,
                                        "word_length": 5}
    five = HMM(np.full(2, 0.5), [[0.9, 0.1], [0.1, 0.9]],
               [[0.6, 0.1, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.1, 0.6]])
    assert emulation_settings(five)["word_length"] == 4          # 5^4 = 625 ≤ 1024 < 5^5
    assert hr.length_rule(slow) == hr.default_length(slow)


@pytest.mark.parametrize("bad, match", [
    (([[1.0, 0.0], [0.0, 1.0]], [[0.9, 0.1], [0.1, 0.9]]),
     "^hmm.transition: the hidden chain is not ergodic: it splits"),
    (([[0.5, 0.5, 0.0], [0.5, 0.4, 0.1], [0.0, 0.0, 1.0]], np.eye(3)),
     r"never leaves the class \[2\]"),
    (([[0.0, 1.0], [1.0, 0.0]], [[0.9, 0.1], [0.1, 0.9]]), "^hmm.transition: .*periodic"),
    (([[0.9, 0.1], [0.1, 0.9]], [[0.3, 0.7], [0.3, 0.7]]),
     "^hmm.emission: every state emits with the same probabilities"),
    (([[0.9, 0.1], [0.1, 0.9]], [[0.50, 0.50], [0.52, 0.48]]),
     "^hmm.emission: the emissions make the states nearly indistinguishable"),
    (([[0.9, 0.1], [0.1, 0.9]], [[1.0], [1.0]]), "^hmm.emission: the HMM has one output"),
])
def test_bad_hmms_get_a_clear_message(bad, match):
    with pytest.raises(ValueError, match=match):
        check_emulable(bad)
    with pytest.raises(ValueError, match=match):
        emulate(bad, budget_s=600)


def test_too_small_a_budget_says_how_much_is_needed():
    with pytest.raises(ValueError, match=r"^budget_s: 2 s leaves time for about 0 training "
                                         r"steps .* give at least \d+ s"):
        emulate(EASY, budget_s=2, hidden=16, n_noise=4, length=20, progress=False)
    with pytest.raises(ValueError, match="^budget_s"):
        emulate(EASY, budget_s=-1)
    with pytest.raises(TypeError, match="^hmm: expected"):
        emulate("linear_chain_2")


def test_emulate_trains_reports_and_is_seeded():
    kw = dict(hidden=16, n_noise=4, length=20, n_steps=150, n_sequences=300,
              progress=False, batch_size=128)
    a = emulate(EASY, seed=3, **kw)
    assert isinstance(a, hr.Emulator) and a.n_steps == 150 and not a.stopped_early
    assert a.sources == {"hidden": "given", "n_noise": "given", "length": "given",
                         "word_length": "rule"}
    assert a.rnn.n_hidden == 16 and a.report.length == 20 and a.report.n_sequences == 300
    assert a.to_frame().shape[0] == len(a.report.verdicts.checks)
    # 150 steps on an easy 2-state HMM already get the switch rate near the HMM's 0.18,
    # far from the untrained network's
    untrained = hr.compare(hr.NoiseRNN(16, 4, 2, seed=3), EASY, n_sequences=300, length=20,
                           n_sinkhorn=0)
    assert abs(a.report.switch_rate_rnn - 0.18) < abs(untrained.switch_rate_rnn - 0.18)
    b = emulate(EASY, seed=3, **kw)
    assert a.report.switch_rate_rnn == b.report.switch_rate_rnn
    assert np.array_equal(a.rnn.W_hh.detach().numpy(), b.rnn.W_hh.detach().numpy())
    assert "Emulator(easy: hidden 16" in repr(a)


def test_emulate_fills_the_budget_and_takes_a_fitted_hmmlearn_model(tmp_path):
    from hmmlearn.hmm import CategoricalHMM

    x, _ = EASY.sample(200, 40, seed=0)
    model = CategoricalHMM(n_components=2, n_iter=100, random_state=1)
    model.fit(x.reshape(-1, 1), lengths=[40] * 200)
    assert abs(model.transmat_[0, 0] - 0.9) < 0.03      # (this seed finds the true HMM)
    em = emulate(model, budget_s=25, hidden=16, n_noise=4, length=20, n_sequences=200,
                 progress=False, batch_size=64, checkpoint_every=100, checkpoint_dir=tmp_path)
    np.testing.assert_allclose(em.hmm.transition, model.transmat_)
    assert em.n_steps >= hr.MIN_STEPS
    assert em.seconds <= 25 * 1.1           # the wall-clock guard keeps the budget
    # the training-evolution analysis reads the run's checkpoints, with the hmmlearn model
    evo = hr.training_evolution(tmp_path, model, n_sequences=20, n_jacobians=50)
    assert evo.steps[0] == 0 and evo.steps[-1] >= 300 and len(evo.steps) >= 4
