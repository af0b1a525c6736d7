import math

import numpy as np
import pytest
import torch

from toolkit import io, training
from toolkit.probes import Probe


def _problem(seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Linear(3, 1)
    X = torch.randn(64, 3)
    y = X @ torch.tensor([1.0, -2.0, 0.5]) + 0.3
    return model, X, y


def _sgd_step(model, X, y, lr):
    opt = torch.optim.SGD(model.parameters(), lr=lr)

    def step(i):
        opt.zero_grad()
        loss = ((model(X).squeeze(-1) - y) ** 2).mean()
        loss.backward()
        opt.step()
        return loss

    return step


def test_fit_logs_loss_and_probes_at_interval():
    model, X, y = _problem()
    norm = Probe("w", lambda m, d: m.weight.norm())
    pair = Probe("stats", lambda m, d: {"bias": m.bias.item(), "n": d})
    h = training.fit(_sgd_step(model, X, y, 0.1), model, 250, probes=[norm, pair], data=7,
                     log_every=100, progress=False)
    np.testing.assert_array_equal(h.steps, [100, 200, 250])   # the last step is always logged
    assert set(h.names) == {"loss", "w", "stats/bias", "stats/n"}
    assert h.last("stats/n") == 7
    np.testing.assert_allclose(h.last("stats/bias"), 0.3, atol=1e-3)
    assert h.meta["stop_reason"] == "completed" and h.meta["steps_run"] == 250
    assert h.last("loss") < 1e-6


def test_probe_every_thins_expensive_probes():
    model, X, y = _problem()
    calls = []
    p = Probe("n", lambda m, d: calls.append(1) or len(calls), every=3)
    training.fit(_sgd_step(model, X, y, 0.1), model, 100, probes=[p], log_every=10,
                 progress=False)
    assert len(calls) == 4  # logging steps 1, 4, 7 and 10 of 10 (the last is also forced)


def test_divergence_raises_and_restores_last_good_state():
    model, X, y = _problem()
    step = _sgd_step(model, X, y, 5.0)  # far too large: explodes
    with pytest.raises(training.TrainingDiverged, match="diverged at step") as err:
        training.fit(step, model, 500, log_every=2, progress=False)
    assert all(torch.isfinite(p).all() for p in model.parameters())
    h = err.value.history
    assert h.meta["stop_reason"] == "diverged"
    good = h["loss"].to_numpy()[:-1]
    assert np.all(np.isfinite(good))
    # the restored state reproduces the last logged finite loss's parameters' scale
    with torch.no_grad():
        now = ((model(X).squeeze(-1) - y) ** 2).mean().item()
    assert math.isfinite(now)


def test_divergence_stop_mode_warns_and_returns():
    model, X, y = _problem()
    with pytest.warns(RuntimeWarning, match="diverged"):
        h = training.fit(_sgd_step(model, X, y, 5.0), model, 500, log_every=2, progress=False,
                         on_divergence="stop")
    assert h.meta["stop_reason"] == "diverged"


def test_max_loss_counts_as_divergence():
    model, X, y = _problem()
    with pytest.raises(training.TrainingDiverged, match="max_loss"):
        training.fit(lambda i: 10.0 * (i + 1), model, 50, max_loss=100.0, progress=False)


def test_best_score_state_is_restored():
    model, X, y = _problem()
    target = torch.tensor([[1.0, -2.0, 0.5]])
    # score = distance of the weights to a point the loss passes near halfway
    snapshots = []

    def score(m):
        snapshots.append(m.weight.detach().clone())
        return float((m.weight.detach() - 0.5 * target).norm())

    h = training.fit(_sgd_step(model, X, y, 0.05), model, 200, score=score, log_every=10,
                     progress=False)
    best = int(np.nanargmin(h.values["score"]))
    assert h.meta["best_step"] == int(h.steps[best])
    assert torch.equal(model.weight.detach(), snapshots[best])


def test_checkpoints_written_and_never_overwritten(tmp_path):
    model, X, y = _problem()
    training.fit(_sgd_step(model, X, y, 0.1), model, 30, checkpoint_every=10,
                 checkpoint_dir=tmp_path, progress=False)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["step_0000010.safetensors", "step_0000020.safetensors",
                     "step_0000030.safetensors"]
    assert io.read_header(tmp_path / files[0])["metadata"] == {"step": 10}
    with pytest.raises(FileExistsError, match="checkpoint_dir"):
        training.fit(_sgd_step(model, X, y, 0.1), model, 30, checkpoint_every=10,
                     checkpoint_dir=tmp_path, progress=False)


def test_should_stop_ends_early_and_on_log_sees_values():
    model, X, y = _problem()
    seen = []
    h = training.fit(_sgd_step(model, X, y, 0.1), model, 1000, log_every=5, progress=False,
                     on_log=lambda s, v: seen.append((s, v["loss"])),
                     should_stop=lambda: len(seen) >= 3)
    assert h.meta["stop_reason"] == "stopped" and [s for s, _ in seen] == [5, 10, 15]



def test_a_run_stopped_between_logs_logs_and_scores_its_last_step():
    """A wall-clock stop before the first scoring step still leaves a scored best state
    (the tutorial's 3 s train on a loaded machine once returned best_score None)."""
    model, X, y = _problem()
    calls = {"n": 0}

    def stop():
        calls["n"] += 1
        return calls["n"] >= 7

    h = training.fit(_sgd_step(model, X, y, 0.1), model, 1000, log_every=50, progress=False,
                     score=lambda m: float(((m(X) - y) ** 2).mean()), score_every=50,
                     should_stop=stop)
    assert h.meta["stop_reason"] == "stopped" and h.meta["steps_run"] == 7
    assert h.meta["best_step"] == 7 and h.meta["best_score"] is not None
    assert list(h.steps) == [7] and np.isfinite(h["score"]).all() and "loss" in h

def test_same_seed_same_history():
    runs = []
    for _ in range(2):
        model, X, y = _problem(seed=3)
        runs.append(training.fit(_sgd_step(model, X, y, 0.1), model, 50, log_every=10,
                                 progress=False).values["loss"])
    np.testing.assert_array_equal(*runs)


@pytest.mark.parametrize("kwargs,name", [
    (dict(n_steps=0), "n_steps"), (dict(n_steps=10, log_every=0), "log_every"),
    (dict(n_steps=10, on_divergence="ignore"), "on_divergence"),
    (dict(n_steps=10, checkpoint_every=5), "checkpoint_dir"),
    (dict(n_steps=10, probes=[lambda m, d: 1.0]), "probes"),
])
def test_bad_arguments_named(kwargs, name):
    model, X, y = _problem()
    with pytest.raises((ValueError, TypeError), match=name):
        training.fit(lambda i: 0.0, model, **kwargs)
