import numpy as np
import pytest
import torch

from toolkit.grokking import (
    EmbedMLP,
    GrokfastEMA,
    GrokfastMA,
    modular_task,
    stablemax,
    stablemax_cross_entropy,
    train,
)
from toolkit.probes import loss_and_accuracy


def test_stablemax_values_and_continuity():
    z = torch.tensor([[0.0, 0.0, 0.0]])
    torch.testing.assert_close(stablemax(z), torch.full((1, 3), 1 / 3))
    # s(x) = x + 1 above zero, 1/(1 − x) below: continuous at 0 with s(0) = 1
    z = torch.tensor([[2.0, -1.0, 1e-9, -1e-9]], dtype=torch.float64)
    s = torch.tensor([3.0, 0.5, 1 + 1e-9, 1 / (1 + 1e-9)], dtype=torch.float64)
    torch.testing.assert_close(stablemax(z), s[None] / s.sum())
    logits = torch.randn(6, 5, dtype=torch.float64)
    y = torch.randint(0, 5, (6,))
    expect = -torch.log(stablemax(logits)[torch.arange(6), y]).mean()
    torch.testing.assert_close(stablemax_cross_entropy(logits, y), expect)


def _param_with_grad(g):
    lin = torch.nn.Linear(1, 1, bias=False)
    lin.weight.grad = torch.tensor([[g]])
    return lin


def test_grokfast_ema_amplifies_a_constant_gradient_by_one_plus_lambda():
    f = GrokfastEMA(alpha=0.9, lamb=2.0)
    m = _param_with_grad(1.0)
    for _ in range(5):
        m.weight.grad = torch.tensor([[1.0]])
        f(m)
    assert m.weight.grad.item() == pytest.approx(3.0)
    # the EMA recursion on a changing gradient: μ₀ = g₀, μ₁ = 0.9 μ₀ + 0.1 g₁
    f = GrokfastEMA(alpha=0.9, lamb=2.0)
    m.weight.grad = torch.tensor([[1.0]])
    f(m)
    m.weight.grad = torch.tensor([[3.0]])
    f(m)
    assert m.weight.grad.item() == pytest.approx(3.0 + 2.0 * (0.9 * 1.0 + 0.1 * 3.0))
    f0 = GrokfastEMA(lamb=0.0)
    m.weight.grad = torch.tensor([[1.7]])
    f0(m)
    assert m.weight.grad.item() == pytest.approx(1.7)


def test_grokfast_ma_waits_for_a_full_window():
    f = GrokfastMA(window=3, lamb=5.0)
    m = _param_with_grad(1.0)
    out = []
    for g in (1.0, 2.0, 3.0):
        m.weight.grad = torch.tensor([[g]])
        f(m)
        out.append(m.weight.grad.item())
    assert out == pytest.approx([1.0, 2.0, 3.0 + 5.0 * 2.0])


def test_training_is_seeded_and_minibatch_and_sgd_run():
    task = modular_task("add", 11, 0.5, seed=0)

    def run(**kw):
        m = EmbedMLP(11, 32, seed=0)
        kw.setdefault("lr", 1e-2)
        return train(m, task, 30, probes=[loss_and_accuracy()], log_every=10,
                     progress=False, **kw)

    a, b = run(batch_size=16, seed=1), run(batch_size=16, seed=1)
    np.testing.assert_array_equal(a.values["train/loss"], b.values["train/loss"])
    c = run(batch_size=16, seed=2)
    assert not np.array_equal(a.values["train/loss"], c.values["train/loss"])
    full = run(weight_decay=0.0)
    assert full.values["train/loss"][-1] < full.values["train/loss"][0]
    sgd = run(optimizer="sgd", lr=0.5, momentum=0.9, weight_decay=0.0)
    assert sgd.values["train/loss"][-1] < sgd.values["train/loss"][0]
    assert sgd.meta["optimizer"] == "sgd" and full.meta["batch_size"] is None
    for kw in (dict(grokfast="ema"), dict(grokfast="ma", grokfast_window=5),
               dict(loss="stablemax"), dict(loss="mse", lr=0.1), dict(warmup_steps=10)):
        h = run(**kw)
        assert np.isfinite(h.values["train/loss"]).all()
        assert h.values["train/accuracy"][-1] > h.values["train/accuracy"][0]


@pytest.mark.parametrize("kw, match", [
    (dict(optimizer="adam"), "optimizer"),
    (dict(loss="hinge"), "loss"),
    (dict(grokfast="fft"), "grokfast"),
    (dict(lr=-1.0), "lr"),
    (dict(betas=(0.9, 1.0)), "betas"),
    (dict(batch_size=0), "batch_size"),
])
def test_bad_training_arguments_are_named(kw, match):
    task = modular_task("add", 5, 0.5)
    with pytest.raises(ValueError, match=match):
        train(EmbedMLP(5, 4), task, 2, progress=False, **kw)


def test_data_must_have_a_train_split():
    with pytest.raises(KeyError, match="data: no split 'train'"):
        train(EmbedMLP(5, 4), {"test": (torch.zeros(2, 2, dtype=torch.long),
                                        torch.zeros(2, dtype=torch.long))}, 2)
