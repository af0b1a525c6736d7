import holoviews as hv
import numpy as np
import pytest

import toolkit as tk
from toolkit.hmmrnn import NoiseRNN, change_point, linear_chain, training_evolution


def test_change_point_finds_a_step():
    y = np.r_[np.zeros(7), np.ones(5)] + 0.01 * np.random.default_rng(0).normal(size=12)
    assert change_point(y) == 7
    # two curves that jump at the same place, on different scales
    assert change_point(np.stack([y, 100 * y[::-1][::-1]])) == 7
    with pytest.raises(ValueError, match="^curves"):
        change_point([1.0])


def test_training_evolution_on_checkpoints(tmp_path):
    hmm = linear_chain(2)
    rnn = NoiseRNN(12, 4, 3, seed=0)
    tk.hmmrnn.train(rnn, hmm, 40, length=20, batch_size=32, log_every=20, progress=False,
                    checkpoint_every=10, checkpoint_dir=tmp_path)
    ev = training_evolution(tmp_path, hmm, n_sequences=50, length=30)
    assert ev.steps.tolist() == [0, 10, 20, 30, 40]
    assert ev.bifurcation_step in ev.steps[1:]
    assert np.all((ev.switch_rate >= 0) & (ev.switch_rate <= 1))
    assert np.all(np.isfinite(ev.log_likelihood)) and np.all(ev.log_likelihood < 0)
    assert ev.to_frame().shape == (5, 5)
    hv.render(ev.plot())


def test_shipped_run_shows_the_mechanism_appearing():
    # the shipped 2-state run: memoryless at step 0, then critical rotations appear
    # and the switch rate settles near the HMM's
    hmm = linear_chain(2)
    ev = training_evolution(tk.hmmrnn.pretrained_checkpoints("linear_chain_2"), hmm,
                            n_sequences=60)
    assert ev.switch_rate[0] > 0.4 and ev.critical_pairs[0] == 0
    assert abs(ev.switch_rate[-1] - 0.0688) < 0.02 and ev.critical_pairs[-1] > 0
    assert ev.steps[0] < ev.bifurcation_step < ev.steps[-1]


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="^folder: no step_"):
        tk.hmmrnn.load_checkpoints(tmp_path)
    with pytest.raises(ValueError, match="^checkpoints: need at least 2"):
        training_evolution([(0, NoiseRNN(4, 2, 3))])
    with pytest.raises(TypeError, match="^checkpoints"):
        training_evolution([NoiseRNN(4, 2, 3), NoiseRNN(4, 2, 3)])
