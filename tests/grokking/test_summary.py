import numpy as np
import pytest

from toolkit.grokking import grokking_phases, steps_to_grok
from toolkit.probes import ProbeHistory


def _history(train_acc, test_acc, test_loss=None, every=10):
    n = len(train_acc)
    steps = np.arange(1, n + 1) * every
    values = {"train/accuracy": np.asarray(train_acc, float),
              "test/accuracy": np.asarray(test_acc, float),
              "train/loss": np.linspace(1, 1e-3, n)}
    values["test/loss"] = np.asarray(test_loss if test_loss is not None else
                                     np.linspace(5, 0.01, n), float)
    return ProbeHistory(steps, values)


def test_steps_to_grok_reads_first_crossings():
    h = _history([0.5, 0.99, 1, 1, 1, 1], [0.0, 0.0, 0.2, 0.98, 0.995, 1.0])
    g = steps_to_grok(h)
    assert (g.train, g.test) == (20, 50)
    assert g.delay_ratio == pytest.approx(2.5)
    assert steps_to_grok(h, threshold=0.9).test == 40
    assert steps_to_grok(h, threshold=0.15).test == 30


def test_never_grokking_gives_none():
    g = steps_to_grok(_history([0.5, 1.0, 1.0], [0.0, 0.1, 0.2]))
    assert g.train == 20 and g.test is None and not g.grokked
    assert np.isnan(g.delay_ratio)


def test_missing_accuracy_is_named():
    h = ProbeHistory(np.array([1, 2]), {"loss": np.array([1.0, 0.5])})
    with pytest.raises(KeyError, match="history: no 'train' accuracy"):
        steps_to_grok(h)
    with pytest.raises(ValueError, match="threshold"):
        steps_to_grok(_history([1.0], [1.0]), threshold=2)


def test_phases_split_at_memorisation_cleanup_and_generalisation():
    # memorised at step 20; test loss rises to 8, drifts, then falls sharply from step 70
    test_loss = [5, 6, 8, 7.5, 7.2, 7.0, 3.0, 0.5, 0.05, 0.01]
    test_acc = [0, 0, 0, 0, 0, 0.02, 0.5, 0.9, 0.995, 1.0]
    h = _history([0.5, 1, 1, 1, 1, 1, 1, 1, 1, 1], test_acc, test_loss)
    ph = grokking_phases(h)
    # log test loss: peak ln 8 at step 30, ln 0.05 at step 90; a quarter of the way down
    # is 8·(0.05/8)^0.25 ≈ 2.2, first reached at step 80
    assert (ph.memorised, ph.cleanup_start, ph.generalised) == (20, 80, 90)
    assert list(ph.spans) == ["memorisation", "circuit formation", "clean-up"]
    assert ph.to_frame()["end"].tolist() == [20, 80, 90]
    assert grokking_phases(h, cleanup_fraction=0.1).cleanup_start == 70
    with pytest.raises(ValueError, match="cleanup_fraction"):
        grokking_phases(h, cleanup_fraction=1.0)
