import numpy as np
import pytest

import toolkit as tk
from toolkit.grokking import DEFAULT_RECIPE, make_run, run_recipe, steps_to_grok


def test_small_quick_run_is_quiet_and_records_its_overrides(capsys):
    h = run_recipe("add", 23, 1, weight_decay=0.5, train_fraction=0.6, lr=1e-2, n_steps=200,
                   log_every=50, progress=False)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    assert h.meta["weight_decay"] == 0.5 and h.meta["train_fraction"] == 0.6
    assert h.meta["task"] == "add" and h.meta["p"] == 23 and h.meta["seed"] == 1
    g = steps_to_grok(h)
    assert g.train is not None and g.train <= 200
    assert {"train/accuracy", "test/accuracy", "weight_norm", "grad_norm", "movement",
            "softmax_collapse", "fourier/excluded_loss"} <= set(h.names)


def test_same_seed_same_history():
    a = run_recipe("subtract", 23, 0, n_steps=100, log_every=50, progress=False,
                   fourier_every=None)
    b = run_recipe("subtract", 23, 0, n_steps=100, log_every=50, progress=False,
                   fourier_every=None)
    np.testing.assert_array_equal(a.values["test/loss"], b.values["test/loss"])


@pytest.mark.parametrize("kwargs, err, match", [
    (dict(task="power"), ValueError, "task: unknown value 'power'"),
    (dict(task="multiply", p=21), ValueError, "p: 'multiply' needs a prime"),
    (dict(train_fraction=1.0), ValueError, "train_fraction"),
    (dict(activation="gelu"), ValueError, "activation: unknown value 'gelu'"),
    (dict(weight_decy=1.0), TypeError, "overrides: unknown"),
    (dict(probes=["loss"]), TypeError, "probes: expected Probe"),
])
def test_bad_recipe_input_is_named(kwargs, err, match):
    kwargs = {"task": "add", "p": 23, **kwargs}
    with pytest.raises(err, match=match):
        make_run(**kwargs)


def test_every_documented_override_exists():
    for name in ("weight_decay", "train_fraction", "lr", "hidden", "activation",
                 "output_scale", "batch_size", "grokfast", "loss", "n_steps", "log_every"):
        assert name in DEFAULT_RECIPE
        assert name in run_recipe.__doc__


@pytest.mark.slow
def test_default_recipe_groks_with_a_visible_delay():
    h = run_recipe("add", 97, 0, progress=False)
    g = steps_to_grok(h)
    assert g.test is not None and g.test >= 3 * g.train
    assert h.last("test/accuracy") >= 0.99


@pytest.mark.slow
@pytest.mark.parametrize("task", ["subtract", "multiply"])
def test_same_recipe_groks_on_other_operations(task):
    h = run_recipe(task, 97, 0, progress=False, fourier_every=None)
    g = steps_to_grok(h)
    assert g.test is not None and g.train is not None
    assert h.last("test/accuracy") >= 0.99


def test_runs_keep_snapshots_for_step_views():
    run = make_run("add", 17, 0, n_steps=40, log_every=20, fourier_every=None)
    run.train(progress=False, keep_snapshots=True)
    assert sorted(run.snapshots) == [0, 20, 40]
    m0 = run.model_at(0)
    assert not np.allclose(m0.W_U.detach().numpy(), run.model.W_U.detach().numpy())
    with pytest.raises(RuntimeError, match="train"):
        run.train(progress=False)
    with pytest.raises(KeyError, match="step"):
        run.model_at(5)
    assert isinstance(tk.grokking.GrokkingRun, type)
