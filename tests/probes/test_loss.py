import numpy as np
import pytest
import torch

from toolkit import probes


def _classifier():
    torch.manual_seed(0)
    return torch.nn.Linear(4, 3).double()


def test_loss_and_accuracy_match_a_direct_computation():
    model = _classifier()
    x = torch.randn(50, 4, dtype=torch.float64)
    y = torch.randint(0, 3, (50,))
    data = {"train": (x[:30], y[:30]), "test": (x[30:], y[30:])}
    out = probes.loss_and_accuracy()(model, data)
    with torch.no_grad():
        for split, (xs, ys) in data.items():
            logits = model(xs)
            ce = torch.nn.functional.cross_entropy(logits, ys).item()
            acc = (logits.argmax(1) == ys).double().mean().item()
            assert out[f"{split}/loss"] == pytest.approx(ce, rel=1e-12)
            assert out[f"{split}/accuracy"] == pytest.approx(acc)


def test_regression_targets_give_mse_and_no_accuracy():
    model = torch.nn.Linear(2, 1).double()
    x = torch.randn(20, 2, dtype=torch.float64)
    y = torch.randn(20, dtype=torch.float64)
    out = probes.loss_and_accuracy(["train"])(model, {"train": (x, y), "test": (x, y)})
    assert set(out) == {"train/loss"}
    with torch.no_grad():
        assert out["train/loss"] == pytest.approx(((model(x)[:, 0] - y) ** 2).mean().item())


def test_batched_evaluation_equals_full_batch_and_keeps_train_mode():
    model = _classifier()
    model.train()
    x = torch.randn(37, 4, dtype=torch.float64)
    y = torch.randint(0, 3, (37,))
    full = probes.evaluate(model, x, y)
    chunked = probes.evaluate(model, x, y, batch_size=5)
    assert chunked["loss"] == pytest.approx(full["loss"], rel=1e-12)
    assert model.training


def test_custom_forward_reads_tuple_outputs():
    class TwoHeads(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(3, 2).double()

        def forward(self, x):
            return self.lin(x), None

    m = TwoHeads()
    x = torch.randn(10, 3, dtype=torch.float64)
    y = torch.randint(0, 2, (10,))
    out = probes.loss_and_accuracy(forward=lambda mod, inp: mod(inp)[0])(m, {"train": (x, y)})
    assert 0 <= out["train/accuracy"] <= 1


@pytest.mark.parametrize("data, match", [
    ([1, 2], "data: expected a dict"),
    ({"train": (torch.zeros(3, 2),)}, r"data\['train'\]: expected a pair"),
    ({"train": (torch.zeros(3, 2), torch.zeros(4))}, r"data\['train'\]: inputs have 3 rows"),
])
def test_bad_data_is_named(data, match):
    with pytest.raises((TypeError, ValueError), match=match):
        probes.loss_and_accuracy()(torch.nn.Linear(2, 2), data)


def test_missing_split_is_named():
    with pytest.raises(KeyError, match="data: no split 'test'"):
        probes.loss_and_accuracy(["test"])(torch.nn.Linear(2, 2),
                                           {"train": (torch.zeros(2, 2), torch.zeros(2))})


def test_default_probes_run_inside_fit_on_any_module():
    from toolkit.training import fit

    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(),
                                torch.nn.Linear(8, 1)).double()
    x = torch.randn(40, 3, dtype=torch.float64)
    y = x.sum(1, keepdim=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)

    def step(i):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        return loss.detach()

    h = fit(step, model, 60, probes=probes.default_probes(model), data={"train": (x, y)},
            log_every=20, progress=False)
    assert {"train/loss", "weight_norm", "grad_norm", "movement"} <= set(h.names)
    assert h["train/loss"].iloc[-1] < h["train/loss"].iloc[0]
    assert np.all(np.diff(h["movement"].to_numpy()) > 0)
