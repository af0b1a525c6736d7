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


def test_auto_settings_follow_the_documented_rules():
    import math

    from toolkit.grokking import RULES, critical_fractions, recipe_settings

    assert set(RULES) == {"train_fraction", "hidden", "lr", "n_steps"}
    for p, hidden in ((23, 128), (97, 128), (113, 128), (131, 256), (211, 256)):
        s = recipe_settings("add", p)
        assert s["hidden"] == hidden and s["lr"] == 1e-2 and s["n_steps"] == 3000
        assert s["train_fraction"] == pytest.approx(min(0.8, 6 * math.log(p) / p), abs=1e-4)
        assert s["expected_to_grok"] and s["auto"] == ["hidden", "lr", "train_fraction"]
    low, used = critical_fractions(59)
    assert low == pytest.approx(3 * math.log(59) / 59) and used == pytest.approx(2 * low)
    # overrides win over the rules, and are not listed as auto
    s = recipe_settings("add", 59, lr=3e-3, hidden=64)
    assert (s["lr"], s["hidden"], s["auto"]) == (3e-3, 64, ["train_fraction"])
    assert recipe_settings("add", 113, model="transformer")["lr"] == 1e-3
    with pytest.raises(ValueError, match="lr: expected a number or 'auto'"):
        recipe_settings("add", 23, lr="fast")


def test_not_expected_to_grok_warns_naming_the_parameter():
    from toolkit.grokking import NotExpectedToGrok, expected_to_grok

    with pytest.warns(NotExpectedToGrok, match=r"train_fraction: 0.2 is below 3·ln p / p"):
        run = make_run("add", 23, 0, train_fraction=0.2)
    assert run.settings["expected_to_grok"] is False
    with pytest.warns(NotExpectedToGrok, match="task: 'quadratic'"):
        make_run("quadratic", 23, 0)
    assert expected_to_grok("add", 97, 0.3) == (True, "")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_run("divide", 23, 0)   # the auto settings do not warn


def test_auto_recipe_groks_small_prime_with_phases():
    # p = 23 with the auto rules (train fraction 0.8, width 128, lr 1e-2): a grokking run
    # in about a second, whose phases come out in order
    h = run_recipe("multiply", 23, 1, progress=False, fourier_every=None)
    g = steps_to_grok(h)
    assert h.last("test/accuracy") >= 0.99 and g.test >= 2 * g.train
    assert list(g.phases) == ["memorisation", "circuit formation", "clean-up"]
    assert 0 < g.train <= g.cleanup_start <= g.test
    assert g.phases["clean-up"] == (g.cleanup_start, g.test)
    ph = tk.grokking.grokking_phases(h)
    assert (ph.memorised, ph.cleanup_start, ph.generalised) == (g.train, g.cleanup_start,
                                                                g.test)
    # the phases' losses are the logged ones, not swapped
    np.testing.assert_allclose(ph.test_loss, h["test/loss"].to_numpy())
    assert "phases: memorisation 0–" in repr(g)
