import numpy as np
import pytest
import torch

import toolkit as tk
from toolkit.alrnn import ALRNN, free_run_scores, train
from toolkit.alrnn._bptt import forward_backward
from toolkit.alrnn.train import _RAdam
from toolkit.probes import Probe
from toolkit.training import TrainingDiverged


@pytest.fixture(scope="module")
def lorenz():
    return tk.systems.trajectory("lorenz63", 6000, dt=0.01, seed=0)


def autograd_loss(A, W, h, L, X, P, tau, alpha, burn_in=0):
    """The teacher-forced loss written step by step with torch autograd (time-major X)."""
    T, B, N = X.shape
    M = A.shape[0]
    k = M - P
    z = torch.cat([X[0], X[0] @ L.T], 1)
    errors = []
    for t in range(1, T):
        phi = torch.cat([z[:, :k], torch.relu(z[:, k:])], 1)
        z = A * z + phi @ W.T + h
        errors.append(z[:, :N] - X[t])
        if t % tau == 0:
            z = torch.cat([(1 - alpha) * z[:, :N] + alpha * X[t], z[:, N:]], 1)
    return (torch.stack(errors[burn_in:]) ** 2).mean()


@pytest.mark.parametrize("tau, alpha, burn_in", [(16, 1.0, 0), (1, 0.3, 0), (5, 0.7, 0),
                                                 (8, 1.0, 10)])
def test_hand_written_bptt_matches_autograd(tau, alpha, burn_in):
    rng = np.random.default_rng(0)
    M, P, N, T, B = 8, 3, 2, 40, 5
    params = [rng.uniform(0.3, 0.9, M), rng.normal(0, 0.3, (M, M)), rng.normal(0, 0.1, M),
              rng.normal(0, 0.3, (M - N, N))]
    X = rng.normal(size=(T, B, N))
    ts = [torch.tensor(p, requires_grad=True) for p in params]
    loss = autograd_loss(*ts, torch.tensor(X), P, tau, alpha, burn_in)
    loss.backward()
    mine, grads, _ = forward_backward(*params, X.transpose(0, 2, 1).copy(), P, tau, alpha,
                                      burn_in=burn_in)
    assert mine == pytest.approx(loss.item(), rel=1e-12)
    for g, t in zip(grads, ts):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_radam_matches_torch():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(4, 3))
    t = torch.tensor(a.copy(), requires_grad=True)
    opt, mine = torch.optim.RAdam([t], lr=1e-2), _RAdam([a])
    for _ in range(30):
        g = rng.normal(size=(4, 3))
        t.grad = torch.tensor(g)
        opt.step()
        mine.step([g], 1e-2)
    np.testing.assert_allclose(a, t.detach().numpy(), atol=1e-14)


def test_training_lowers_loss_stores_normalisation_and_logs(lorenz):
    model = ALRNN(10, 2, 3, seed=0)
    hist = train(model, lorenz, n_epochs=6, batches_per_epoch=25, seq_len=50, batch_size=16,
                 lr=(3e-3, 1e-4), eval_every=50, eval_steps=500, eval_transient=100, dt=0.01,
                 progress=False)
    np.testing.assert_allclose(model.mean, lorenz.mean(0))
    np.testing.assert_allclose(model.std, lorenz.std(0))
    assert model.dt == 0.01
    assert {"loss", "loss_avg", "D_stsp", "D_H", "alpha", "lr"} <= set(hist.names)
    loss = hist["loss_avg"].to_numpy()
    assert loss[-1] < 0.9 * loss[0]
    assert hist.meta["best_score"] == pytest.approx(hist["D_stsp"].min())
    assert hist.meta["steps_run"] == 150
    lr = hist["lr"].to_numpy()
    assert np.all(np.diff(lr) < 0) and lr[-1] == pytest.approx(1e-4, rel=0.05)
    hist.plot(["D_stsp", "D_H"])


def test_same_seed_same_model(lorenz):
    def run():
        model = ALRNN(8, 1, 3, seed=1)
        train(model, lorenz, n_epochs=1, batches_per_epoch=20, seq_len=40, batch_size=8,
              eval_every=10, eval_steps=200, eval_transient=50, progress=False, seed=3)
        return model.W.detach().clone()

    assert torch.equal(run(), run())


def test_gtf_adaptive_and_fixed_alpha(lorenz):
    model = ALRNN(8, 2, 3)
    hist = train(model, lorenz, method="gtf", n_epochs=2, batches_per_epoch=20, seq_len=60,
                 batch_size=8, eval_every=10, eval_steps=200, eval_transient=50,
                 progress=False)
    alpha = hist["alpha"].to_numpy()
    assert np.all((alpha >= 0) & (alpha <= 1)) and alpha.max() > 0
    assert hist.meta["adaptive_alpha"] is True and hist.meta["tau"] == 1
    hist = train(ALRNN(8, 2, 3), lorenz, method="gtf", alpha=0.2, n_epochs=1,
                 batches_per_epoch=20, seq_len=60, batch_size=8, eval_every=10,
                 eval_steps=200, eval_transient=50, progress=False)
    np.testing.assert_allclose(hist["alpha"].to_numpy(), 0.2)


def test_several_trajectories_and_probes(lorenz):
    calls = []
    probe = Probe("w_norm", lambda m, d: (calls.append(1), float(m.W.detach().norm()))[1])
    model = ALRNN(8, 2, 3)
    pieces = [lorenz[:2000], lorenz[2000:4500], lorenz[4500:]]
    hist = train(model, pieces, n_epochs=1, batches_per_epoch=20, seq_len=50, batch_size=8,
                 eval_every=10, eval_steps=200, eval_transient=50, probes=[probe],
                 progress=False)
    assert "w_norm" in hist and len(calls) == 2
    np.testing.assert_allclose(model.mean, np.concatenate(pieces).mean(0))
    assert hist.meta["n_series"] == 3


def test_max_seconds_stops_early(lorenz):
    hist = train(ALRNN(8, 2, 3), lorenz, n_epochs=1000, max_seconds=0.5, seq_len=50,
                 batch_size=8, eval_every=1000, progress=False)
    assert hist.meta["stop_reason"] == "stopped"
    assert hist.meta["steps_run"] < 50_000


def test_divergence_raises_with_last_good_state(lorenz):
    model = ALRNN(8, 2, 3)
    with pytest.raises(TrainingDiverged, match="diverged") as info:
        train(model, lorenz, n_epochs=1, batches_per_epoch=20, seq_len=50, batch_size=8,
              max_loss=1e-9, progress=False)
    assert info.value.step == 1
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_free_run_scores_separate_good_from_bad(lorenz):
    model = ALRNN(8, 2, 3)
    train(model, lorenz, n_epochs=1, batches_per_epoch=2, seq_len=50, batch_size=4,
          eval_every=1, eval_steps=200, eval_transient=50, progress=False)
    scores = free_run_scores(model, lorenz, n_steps=500, transient=100)
    assert scores["D_stsp"] > 1.0  # an untrained model does not reproduce the attractor
    with torch.no_grad():
        model.W.mul_(1e6)  # explodes
    assert free_run_scores(model, lorenz, n_steps=500)["D_stsp"] == 1e3


@pytest.mark.parametrize("kwargs, name", [
    (dict(data=np.full((500, 3), np.nan)), "data"),
    (dict(data=np.zeros((30, 3)) + np.arange(30)[:, None]), "data"),   # shorter than seq_len
    (dict(data=np.random.default_rng(0).normal(size=(500, 2))), "data"),  # wrong N
    (dict(method="bptt"), "method"),
    (dict(tau=0), "tau"),
    (dict(tau=(16, 0)), "tau"),
    (dict(burn_in=60), "burn_in"),
    (dict(select_by="loss"), "select_by"),
    (dict(ema=1.0), "ema"),
    (dict(alpha=1.5, method="gtf"), "alpha"),
    (dict(batch_size=0), "batch_size"),
    (dict(seq_len=1), "seq_len"),
    (dict(lr=-1.0), "lr"),
    (dict(noise=-0.1), "noise"),
])
def test_bad_input_names_the_parameter(lorenz, kwargs, name):
    args = dict(data=lorenz[:500], seq_len=50, n_epochs=1, batches_per_epoch=1,
                progress=False)
    args.update(kwargs)
    data = args.pop("data")
    with pytest.raises(ValueError, match=f"^{name}"):
        train(ALRNN(8, 2, 3), data, **args)


def test_model_type_is_checked(lorenz):
    with pytest.raises(TypeError, match="^model"):
        train(torch.nn.Linear(3, 3), lorenz)


def test_ema_returns_the_average_of_the_raw_iterates(lorenz):
    raw = []
    record = Probe("record", lambda m, d: (raw.append(m.W.detach().clone()), 0.0)[1])
    common = dict(n_epochs=1, batches_per_epoch=6, seq_len=40, batch_size=4, eval_every=1,
                  eval_steps=100, eval_transient=10, restore_best=False, progress=False)
    start = ALRNN(6, 2, 3, seed=2)
    W0 = start.W.detach().clone()
    train(start, lorenz, probes=[record], **common)
    averaged = ALRNN(6, 2, 3, seed=2)
    train(averaged, lorenz, ema=0.5, **common)
    expected = W0
    for W in raw:
        expected = 0.5 * expected + 0.5 * W
    torch.testing.assert_close(averaged.W.detach(), expected)
    assert not torch.equal(averaged.W.detach(), raw[-1])
