"""Sweep-ready adapters: they report what the analyses themselves compute."""

import functools

import numpy as np

import toolkit as tk
from toolkit.sweep import point_seed
from toolkit.sweep.tasks import alrnn_point, grokking_point

TINY_GROK = dict(p=11, hidden=16, n_steps=60, log_every=10, fourier_every=None,
                 train_fraction=0.5)


def test_grokking_point_matches_the_recipe_run_directly():
    out = grokking_point(seed=3, weight_decay=0.5, **TINY_GROK)
    p = TINY_GROK["p"]
    rest = {k: v for k, v in TINY_GROK.items() if k != "p"}
    history = tk.grokking.run_recipe("add", p, 3, progress=False, weight_decay=0.5, **rest)
    steps = tk.grokking.steps_to_grok(history)
    assert out["steps_to_memorise"] == steps.train and out["steps_to_grok"] == steps.test
    assert out["grokked"] == steps.grokked
    np.testing.assert_array_equal(out["test_accuracy"], history["test/accuracy"].to_numpy())
    np.testing.assert_array_equal(out["step"], history["test/accuracy"].index.to_numpy())
    assert out["final_train_accuracy"] == history.last("train/accuracy")
    assert out["steps_run"] == history.steps[-1]


def test_grokking_point_in_a_sweep_round_trips(tmp_path):
    fn = functools.partial(grokking_point, **TINY_GROK)
    df = tk.sweep.run(fn, {"weight_decay": [0.1, 1.0]}, tmp_path / "s", progress=False)
    assert (df.status == "ok").all()
    direct = grokking_point(seed=point_seed({"weight_decay": 1.0}), weight_decay=1.0,
                            **TINY_GROK)
    assert df.final_test_accuracy[1] == direct["final_test_accuracy"]
    np.testing.assert_array_equal(tk.sweep.load_arrays(df.iloc[1], "test_accuracy"),
                                  direct["test_accuracy"])


TINY_ALRNN = dict(M=5, n_train=800, n_test=600, n_epochs=2, batches_per_epoch=5,
                  seq_len=40, batch_size=4, eval_every=5, eval_steps=300)


def test_alrnn_point_reports_the_evaluation_of_the_trained_model():
    out = alrnn_point(2, seed=1, **TINY_ALRNN)
    # the same training, done by hand, gives the same model and the same measures
    x = tk.systems.trajectory("lorenz63", 800, seed=0)
    x_test = tk.systems.trajectory("lorenz63", 600, seed=1)
    model = tk.alrnn.ALRNN(5, 2, 3, seed=1)
    tk.alrnn.train(model, x, n_epochs=2, batches_per_epoch=5, seq_len=40, batch_size=4,
                   eval_every=5, eval_steps=300, dt=0.01, progress=False, seed=1)
    ev = tk.alrnn.evaluate(model, x_test)
    assert out["D_stsp"] == ev.dstsp and out["D_H"] == ev.dh
    assert out["n_regions"] == ev.n_regions == len(out["regions"])
    assert 1 <= out["n_regions"] <= 2**2 and not out["diverged"]
    assert len(out["step"]) == len(out["D_stsp_during_training"]) >= 1
