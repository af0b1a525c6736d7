import numpy as np
import pytest
import torch

import toolkit as tk
from toolkit.hmmrnn import HMM, NoiseRNN, StatisticsObjective, linear_chain, train
from toolkit.training import TrainingDiverged


def _iid_hmm():
    return HMM([1.0], [[1.0]], [[0.2, 0.5, 0.3]], name="iid")


@pytest.mark.parametrize("divergence", ["kl", "chi2"])
def test_zero_when_the_rnn_reproduces_the_process(divergence):
    # constant output probabilities equal to an i.i.d. process: every word matches exactly
    obj = StatisticsObjective(_iid_hmm(), 12, word_length=4, divergence=divergence)
    probs = torch.tensor([0.2, 0.5, 0.3]).expand(64, 12, 3).clone()
    parts = obj(probs)
    for key in ("words", "pairs", "marginals", "loss"):
        assert abs(float(parts[key])) < 1e-5, key


def test_memoryless_emulator_is_penalised_on_time_structure_only():
    hmm = linear_chain(2)
    obj = StatisticsObjective(hmm, 20, word_length=4, divergence="kl")
    probs = torch.tensor(hmm.emission_marginals(), dtype=torch.float32).expand(32, 20, 3)
    parts = obj(probs.clone())
    assert abs(float(parts["marginals"])) < 1e-5       # right marginals ...
    assert float(parts["pairs"]) > 0.05 and float(parts["words"]) > 0.3  # ... no memory


def test_expected_words_match_brute_force():
    obj = StatisticsObjective(linear_chain(2), 8, word_length=5)
    p = torch.softmax(torch.randn(7, 8, 3), -1)
    brute = torch.zeros(4, 3, 3, 3, 3, 3)
    for t in range(4):
        brute[t] = torch.einsum("ba,bc,bd,be,bf->acdef", *[p[:, t + i] for i in range(5)]) / 7
    torch.testing.assert_close(obj.expected_words(p), brute.reshape(4, -1))
    pairs = obj.expected_pairs(p)
    torch.testing.assert_close(pairs[0], (p[:, 0, :, None] * p[:, 1, None, :]).mean(0).reshape(-1))


def test_chi2_estimate_is_unbiased():
    # the mean of the U-statistic over many small batches equals the plug-in value of a
    # huge batch (where the bias of any plug-in estimate vanishes)
    torch.manual_seed(0)
    obj = StatisticsObjective(linear_chain(2), 10, word_length=3, divergence="chi2")
    probs = torch.softmax(2 * torch.randn(1, 10, 3) + torch.randn(16000, 10, 3), -1)
    big = float(obj(probs)["loss"])
    small = np.array([float(obj(probs[i * 4:(i + 1) * 4])["loss"]) for i in range(4000)])
    assert small.mean() == pytest.approx(big, abs=4 * small.std() / np.sqrt(len(small)))


def test_train_improves_logs_and_checkpoints(tmp_path):
    hmm = linear_chain(2)
    rnn = NoiseRNN(16, 4, 3, seed=0)
    before = tk.hmmrnn.statistics_loss(rnn, hmm, length=20, n_paths=256)["loss"]
    history = train(rnn, hmm, 60, length=20, batch_size=64, log_every=20, progress=False,
                    checkpoint_every=20, checkpoint_dir=tmp_path / "ck", seed=1)
    after = tk.hmmrnn.statistics_loss(rnn, hmm, length=20, n_paths=256)["loss"]
    assert after < before
    assert {"loss", "switch_rate", "log_likelihood", "score"} <= set(history.names)
    assert history.meta["objective"] == "statistics" and history.meta["steps_run"] == 60
    steps = [s for s, _ in tk.hmmrnn.load_checkpoints(tmp_path / "ck")]
    assert steps == [0, 20, 40, 60]
    with pytest.raises(FileExistsError, match="^checkpoint_dir"):
        train(rnn, hmm, 20, length=20, checkpoint_every=20, checkpoint_dir=tmp_path / "ck",
              progress=False)


def test_train_is_seeded():
    hmm = linear_chain(2)
    a, b = NoiseRNN(8, 3, 3, seed=0), NoiseRNN(8, 3, 3, seed=0)
    for net in (a, b):
        train(net, hmm, 10, length=12, batch_size=16, progress=False, seed=5)
    torch.testing.assert_close(a.W_hh, b.W_hh)


def test_penalties_shrink_their_weights():
    # same seed, same noise: only the penalty differs
    hmm = linear_chain(2)
    plain, l1, group = (NoiseRNN(12, 6, 3, seed=0) for _ in range(3))
    kw = dict(length=12, batch_size=16, lr=1e-2, progress=False, seed=3, restore_best=False,
              track=False)
    train(plain, hmm, 60, **kw)
    train(l1, hmm, 60, l1_recurrent=1e-2, **kw)
    train(group, hmm, 60, l1_input=1e-1, **kw)
    assert l1.W_hh.abs().sum() < 0.8 * plain.W_hh.abs().sum()
    rows, rows_plain = group.W_in.norm(dim=1), plain.W_in.norm(dim=1)
    assert rows.sum() < 0.8 * rows_plain.sum()
    with pytest.raises(ValueError, match="^l1_input"):
        train(plain, hmm, 2, l1_input=-1.0, **kw)


def test_sinkhorn_reference_recipe_runs():
    hmm = linear_chain(2)
    rnn = NoiseRNN(8, 3, 3, seed=0)
    history = train(rnn, hmm, 4, objective="sinkhorn", length=10, batch_size=32, n_train=64,
                    log_every=2, progress=False, track=False)
    assert np.isfinite(history.last("loss")) and history.meta["batch_size"] == 32


def test_sinkhorn_recipe_takes_the_robustness_term():
    # n_train 65 with batch 32: the epoch's last batch holds a single sequence
    hmm = linear_chain(2)
    rnn = NoiseRNN(8, 3, 3, seed=0)
    history = train(rnn, hmm, 3, objective="sinkhorn", length=10, batch_size=32, n_train=65,
                    dropout_units=2, log_every=1, progress=False, track=False)
    assert len(history["loss"]) == 3 and np.isfinite(history["loss"]).all()


def test_divergence_restores_last_good_state():
    hmm = linear_chain(2)
    rnn = NoiseRNN(8, 3, 3, seed=0)
    start = rnn.W_hh.detach().clone()
    with pytest.raises(TrainingDiverged):
        train(rnn, hmm, 20, length=10, batch_size=16, max_loss=1e-9, progress=False)
    torch.testing.assert_close(rnn.W_hh, start)


def test_bad_input():
    hmm = linear_chain(2)
    with pytest.raises(ValueError, match="^rnn: has 4 output symbols"):
        train(NoiseRNN(8, 3, 4), hmm, 5)
    with pytest.raises(ValueError, match="^objective"):
        train(NoiseRNN(8, 3, 3), hmm, 5, objective="mle")
    with pytest.raises(ValueError, match="^length"):
        train(NoiseRNN(8, 3, 3), hmm, 5, length=0)
    with pytest.raises(ValueError, match="^word_length"):
        StatisticsObjective(hmm, 4, word_length=6)
    with pytest.raises(TypeError, match="^hmm"):
        train(NoiseRNN(8, 3, 3), np.eye(2), 5)


def test_dropout_units_makes_the_network_tolerate_random_ablations():
    # same seed and steps; the robust net is judged on ablations it never saw (fixed sets)
    from toolkit.hmmrnn import ablate, statistics_loss

    hmm = linear_chain(2)
    plain, robust = NoiseRNN(16, 6, 3, seed=0), NoiseRNN(16, 6, 3, seed=0)
    kw = dict(length=12, batch_size=64, lr=1e-2, progress=False, seed=3, restore_best=False,
              track=False)
    train(plain, hmm, 300, **kw)
    history = train(robust, hmm, 300, dropout_units=3, **kw)
    assert history.meta["dropout_units"] == 3
    rng = np.random.default_rng(0)
    sets = [rng.choice(16, 3, replace=False) for _ in range(12)]

    def ablated_loss(net):
        return np.mean([statistics_loss(ablate(net, s, 0.0), hmm, length=12, n_paths=512,
                                        seed=9)["loss"] for s in sets])

    assert ablated_loss(robust) < 0.6 * ablated_loss(plain)  # measured 0.24 vs 0.52
    with pytest.raises(ValueError, match="^dropout_units"):
        train(plain, hmm, 2, dropout_units=16, **kw)
    with pytest.raises(ValueError, match="^dropout_units"):
        train(plain, hmm, 2, dropout_units=-1, **kw)
    with pytest.raises(ValueError, match="^dropout_units: splits"):
        train(plain, hmm, 2, dropout_units=2, **dict(kw, batch_size=1))


def test_readout_stage_moves_only_the_readout_and_lowers_the_loss():
    from toolkit.hmmrnn import statistics_loss

    hmm = linear_chain(2)
    net = NoiseRNN(12, 6, 3, seed=0)
    kw = dict(length=12, batch_size=64, lr=1e-2, progress=False, seed=3, track=False)
    train(net, hmm, 40, restore_best=False, **kw)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    loss0 = statistics_loss(net, hmm, length=12, n_paths=512, seed=9)["loss"]
    history = train(net, hmm, 150, parameters="readout", **kw)
    assert history.meta["parameters"] == "readout"
    torch.testing.assert_close(net.W_hh, before["rnn.weight_hh_l0"], rtol=0, atol=0)
    torch.testing.assert_close(net.W_in, before["rnn.weight_ih_l0"], rtol=0, atol=0)
    assert not torch.equal(net.W_out, before["readout.weight"])
    assert all(p.requires_grad for p in net.parameters())  # frozen only while training
    assert statistics_loss(net, hmm, length=12, n_paths=512, seed=9)["loss"] < loss0
    with pytest.raises(ValueError, match="^parameters"):
        train(net, hmm, 2, parameters="recurrent", **kw)


def test_soften_sets_the_weight_of_rare_words():
    # with a smaller softening a rare word's error weighs up to 1/P; P(1, 1) ≈ 1e-4 here
    hmm = linear_chain(2)
    probs = torch.full((4, 10, 3), 1 / 3)
    damped = StatisticsObjective(hmm, 10, 2)(probs)["words"]
    sharp = StatisticsObjective(hmm, 10, 2, soften=1e-4)(probs)["words"]
    assert sharp > 5 * damped  # the uniform emitter overstates the rare words
    with pytest.raises(ValueError, match="^soften"):
        StatisticsObjective(hmm, 10, 2, soften=0.0)
