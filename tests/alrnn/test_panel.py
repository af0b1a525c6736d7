"""Panel judging: bars against closed-form cases, failed rows, input checks."""

import importlib
import math

import numpy as np
import pytest

import toolkit as tk
from toolkit.alrnn.panel import judge, surrogate_dstsp, verdicts


def _gauss(n=20_000, seed=0):
    rng = np.random.default_rng(seed)
    return rng.multivariate_normal([1.0, -2.0], [[2.0, 0.8], [0.8, 1.0]], size=n)


def test_surrogate_of_gaussian_data_is_near_zero_and_of_a_ring_is_not():
    # A Gaussian surrogate of Gaussian data matches it; of a ring it does not.
    assert surrogate_dstsp(_gauss()) < 0.1   # finite-sample floor of 30² bins
    t = np.linspace(0, 200 * np.pi, 20_000)
    ring = np.c_[np.cos(t), np.sin(t)]
    assert surrogate_dstsp(ring) > 1.0


def test_surrogate_rejects_bad_input():
    with pytest.raises(ValueError, match="x"):
        surrogate_dstsp(np.zeros(500))
    bad = _gauss(500)
    bad[3, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        surrogate_dstsp(bad)


def test_verdicts_apply_each_bar():
    good = dict(D_stsp=0.2, D_H=0.1, collapsed=False, lyapunov_max=1.1)
    v = verdicts(good, surrogate=0.9, lyapunov_ref=1.0)
    assert v == {"D_stsp": True, "D_H": True, "collapse": True, "λ_max": True}
    bad = dict(D_stsp=0.31, D_H=0.21, collapsed=True, lyapunov_max=1.31)
    v = verdicts(bad, surrogate=0.9, lyapunov_ref=1.0)
    assert v == {"D_stsp": False, "D_H": False, "collapse": False, "λ_max": False}
    assert verdicts(good, surrogate=0.9)["λ_max"] is None   # no reference: not judged


def test_judge_flags_a_collapsed_free_run():
    # A trained-on-nothing model that decays to its fixed point must read as collapsed.
    model = tk.alrnn.ALRNN(4, 1, 2, seed=0)
    with np.errstate(all="ignore"):
        model.W.data *= 0.1
        model.A.data[:] = 0.5
    t = np.linspace(0, 100 * np.pi, 5_000)
    test = np.c_[np.cos(t), np.sin(t)]
    out = judge(model, test)
    assert out["collapsed"] and out["checks"]["collapse"] is False
    assert out["verdict"].startswith("miss") and "collapse" in out["verdict"]
    assert out["generated"].shape == test.shape


def test_judge_checks_test_shape():
    model = tk.alrnn.ALRNN(4, 1, 2, seed=0)
    with pytest.raises(ValueError, match="test"):
        judge(model, np.zeros((2000, 3)))


def test_run_panel_checks_arguments():
    with pytest.raises(ValueError, match="systems"):
        tk.alrnn.run_panel("chua")
    with pytest.raises(ValueError, match="n_test"):
        tk.alrnn.run_panel(("chua",), n_test=10)
    with pytest.raises(ValueError, match="name"):
        tk.alrnn.run_panel(("no_such_system",), n_test=2000)


def test_a_failed_reconstruction_becomes_a_row(monkeypatch):
    rec_mod = importlib.import_module("toolkit.alrnn.reconstruct")

    def fail(*a, **k):
        raise rec_mod.ReconstructionFailed("every candidate left the box", report=None)

    monkeypatch.setattr(rec_mod, "reconstruct", fail)
    panel = tk.alrnn.run_panel(("chua",), n_train=2000, n_test=2000, budget_s=1,
                               progress=False)
    (row,) = panel.rows
    assert not panel.passed and row.verdict.startswith("miss")
    assert "box" in row.error and math.isinf(row.D_stsp)
    frame = panel.to_frame()
    assert list(frame.index) == ["chua"] and frame.loc["chua", "true_pieces"] == 3
    panel.plot()   # draws a failed row too


def test_run_panel_end_to_end_on_chua():
    # Small but real: a short fixed-batch training on Chua's circuit (3 linear pieces).
    panel = tk.alrnn.run_panel(("chua",), n_train=10_000, n_test=5_000, budget_s=60,
                               max_batches=300, seeds=(0,), calibration=False,
                               progress=False, check_steps=5_000)
    (row,) = panel.rows
    assert row.system == "chua" and row.true_pieces == 3
    assert row.surrogate_D_stsp > 0
    if row.error == "":
        assert np.isfinite(row.D_stsp) and 1 <= row.regions <= 4
        assert set(row.checks) == {"D_stsp", "D_H", "collapse", "λ_max"}
    panel.plot()
