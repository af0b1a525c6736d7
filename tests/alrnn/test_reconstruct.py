"""toolkit.alrnn.reconstruct: data handling, the free-run box check, selection, the report.

Most tests replace the training workers (``_train_one``) by hand-made models, so that the
selection and the box check are tested on known dynamics in well under a second of
training: an exact rotation (bounded, not collapsed), an exploding map (A = 1.5), a
contracting one (collapses onto its fixed point). A few train for real, briefly.
"""

import importlib
import math

import holoviews as hv
import numpy as np
import pytest
import torch

import toolkit as tk
from toolkit.alrnn import (
    ALRNN,
    Reconstruction,
    ReconstructionFailed,
    bounded_run,
    delay_embed,
    reconstruct,
)
from toolkit.alrnn.reconstruct import autocorrelation_lag

rec = importlib.import_module("toolkit.alrnn.reconstruct")  # the module, not the function

PERIOD = 100                      # samples per turn of the circle data
OMEGA = 2 * math.pi / PERIOD


def circle(n, phase=0.0):
    t = phase + OMEGA * np.arange(n)
    return np.stack([np.cos(t), np.sin(t)], axis=1)


def rotation_params(M, N, growth=1.0, a=0.0):
    """A, W, h, L of a map that turns the first two latent units by OMEGA per step (times
    ``growth``), every other unit multiplied by ``a``."""
    A = np.full(M, a)
    A[:2] = 0.0
    W = np.zeros((M, M))
    c, s = math.cos(OMEGA), math.sin(OMEGA)
    W[:2, :2] = growth * np.array([[c, -s], [s, c]])
    return A, W, np.zeros(M), np.zeros((M - N, N))


def diagonal_params(M, N, a):
    return np.full(M, float(a)), np.zeros((M, M)), np.zeros(M), np.zeros((M - N, N))


def as_model(params, P, N):
    A, W, h, L = params
    return ALRNN.from_params(A, W, h, P, N, L=L)


def fake_result(job, *params_by_stage, mean=None, std=None, error=None):
    """What a training worker hands back, with the given states."""
    N = job["data"][0].shape[1]
    return {"seed": job["seed"],
            "states": {name: [np.asarray(a, float).copy() for a in p]
                       for name, p in params_by_stage},
            "mean": np.zeros(N) if mean is None else mean,
            "std": np.ones(N) if std is None else std,
            "wall": 0.01, "meta": {"steps_run": 7}, "error": error}


@pytest.fixture
def fake_training(monkeypatch):
    """Replace training: ``fake_training(fn)`` makes every worker return ``fn(job)``;
    the jobs it was given are collected in the returned list."""
    jobs = []

    def install(fn):
        def worker(job):
            jobs.append(job)
            return fn(job)

        monkeypatch.setattr(rec, "_train_one", worker)
        return jobs

    return install


FAST = dict(seeds=[0], progress=False, calibration=False)


# ----------------------------------------------------------------------------- data
def test_delay_embed_against_hand_computation():
    x = np.arange(12.0) ** 2
    out = delay_embed(x, dim=3, lag=2)
    expected = np.array([[0, 4, 16], [1, 9, 25], [4, 16, 36], [9, 25, 49], [16, 36, 64],
                         [25, 49, 81], [36, 64, 100], [49, 81, 121]], dtype=float)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(delay_embed(x[:, None], dim=2, lag=3),
                                  np.stack([x[:9], x[3:]], axis=1))   # (T, 1) accepted
    # the default lag is the first zero crossing of the autocorrelation
    s = np.sin(OMEGA * np.arange(2000))
    lag = autocorrelation_lag(s)
    np.testing.assert_array_equal(delay_embed(s), np.stack([s[:-2 * lag], s[lag:-lag],
                                                            s[2 * lag:]], axis=1))


@pytest.mark.parametrize("kwargs, name", [(dict(dim=3, lag=5), "lag"), (dict(dim=0), "embed"),
                                          (dict(lag=0), "lag")])
def test_delay_embed_bad_arguments_named(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name}"):
        delay_embed(np.arange(16.0), **kwargs)


def test_delay_embed_rejects_a_multivariate_series():
    with pytest.raises(ValueError, match="^x"):
        delay_embed(np.zeros((50, 2)))


def test_autocorrelation_lag_of_a_sine_is_a_quarter_period():
    s = np.sin(OMEGA * np.arange(4000) + 0.3)
    assert abs(autocorrelation_lag(s) - PERIOD / 4) <= 1
    # no zero crossing within max_lag: the 1/e crossing, cos(2πk/100) = 1/e at k ≈ 19
    assert 18 <= autocorrelation_lag(s, max_lag=22) <= 20
    # neither within max_lag: max_lag itself
    assert autocorrelation_lag(s, max_lag=10) == 10
    with pytest.raises(ValueError, match="^x: the series is constant"):
        autocorrelation_lag(np.ones(100))


# ----------------------------------------------------------------------------- box check
def test_bounded_run_accepts_a_rotation():
    starts = circle(8, phase=0.37)[:, :]
    check = bounded_run(as_model(rotation_params(3, 2), 1, 2), starts, 100_000,
                        reference=circle(PERIOD))
    assert check["ok"] and check["finite"] and not check["collapsed"]
    assert check["first_exit"] == -1
    assert -1e-3 < check["max_excursion"] <= 1e-9   # stays on the unit circle: the data range


def test_bounded_run_flags_a_diverging_model():
    model = as_model(diagonal_params(3, 2, 1.5), 1, 2)     # spectral radius 1.5
    check = bounded_run(model, circle(8), 100_000, reference=circle(PERIOD))
    assert not check["ok"] and not check["finite"]
    assert check["max_excursion"] == math.inf
    # |z| doubles in under 2 steps: it leaves a box of 3 extents within ~10 steps
    assert 0 <= check["first_exit"] <= 10


def test_bounded_run_contracting_model_is_bounded_but_collapsed():
    model = as_model(diagonal_params(3, 2, 0.5), 1, 2)
    check = bounded_run(model, circle(8), 20_000, reference=circle(PERIOD))
    assert check["ok"] and check["finite"] and check["collapsed"]
    assert check["first_exit"] == -1


def test_bounded_run_box_width_and_first_exit():
    """A spiral growing by 2e-5 per step reaches radius e^2 ≈ 7.4 after 1e5 steps, i.e.
    (7.4 − 1)/2 ≈ 3.2 extents of the unit circle outside its range; it crosses 3 extents
    (radius 7) at step ln 7 / 2e-5 ≈ 97,300."""
    model = as_model(rotation_params(3, 2, growth=1.00002), 1, 2)
    starts, ref = circle(4), circle(PERIOD)
    tight = bounded_run(model, starts, 100_000, box=3.0, reference=ref)
    assert tight["finite"] and not tight["ok"]
    assert 3.0 < tight["max_excursion"] < 3.3
    assert 95_000 < tight["first_exit"] < 100_000
    wide = bounded_run(model, starts, 100_000, box=4.0, reference=ref)
    assert wide["ok"] and wide["first_exit"] == -1
    assert wide["max_excursion"] == pytest.approx(tight["max_excursion"])


def test_bounded_run_torch_path_on_cpu_tensors_matches_numpy():
    """The batched torch iteration (the device="cuda" code path) on a CPU device."""
    model = as_model(rotation_params(3, 2, growth=1.0001), 1, 2)
    starts, ref = circle(4, phase=0.1), circle(PERIOD)
    numpy_run = bounded_run(model, starts, 20_000, reference=ref)
    torch_run = bounded_run(model, starts, 20_000, reference=ref, device=torch.device("cpu"))
    assert torch_run["ok"] == numpy_run["ok"] is False
    assert torch_run["first_exit"] == numpy_run["first_exit"] > 0
    assert torch_run["max_excursion"] == pytest.approx(numpy_run["max_excursion"], rel=1e-9)
    # "cpu" means numpy, as in reconstruct
    assert bounded_run(model, starts, 20_000, reference=ref, device="cpu") == numpy_run


def test_orbits_torch_and_numpy_agree_with_thinning():
    model = as_model(rotation_params(4, 2, a=0.3), 2, 2)
    z0 = model.initial_state(circle(3))
    params = model.numpy_params()
    a = rec._orbits(params, model.P, z0, 1000, None, keep_every=7)
    b = rec._orbits(params, model.P, z0, 1000, torch.device("cpu"), keep_every=7)
    assert a.shape == b.shape == (3, math.ceil(1000 / 7), 4)
    np.testing.assert_allclose(a, b, atol=1e-12)
    np.testing.assert_allclose(a, model.iterate(z0, 1000)[:, ::7], atol=1e-12)


# ----------------------------------------------------------------------------- selection
def test_reconstruct_picks_the_bounded_model_and_rejects_the_exploding_one(fake_training):
    data = circle(3000)
    jobs = fake_training(lambda job: fake_result(
        job, ("exploding", diagonal_params(3, 2, 1.5)), ("rotation", rotation_params(3, 2)),
        ("nan", [np.full(3, np.nan), np.zeros((3, 3)), np.zeros(3), np.zeros((1, 2))])))
    r = reconstruct(data, 0.01, P=1, M=3, budget_s=10, **FAST)
    assert isinstance(r, Reconstruction) and len(jobs) == 1
    frame = r.to_frame()
    assert list(frame["stage"]) == ["exploding", "rotation"]      # the NaN state is skipped
    chosen = frame.loc[frame["chosen"]]
    assert list(chosen["stage"]) == ["rotation"] and r.winner == 1
    assert bool(chosen["bounded"].iloc[0]) and not bool(chosen["collapsed"].iloc[0])
    exploding = frame.loc[frame["stage"] == "exploding"].iloc[0]
    assert exploding["score"] >= 1e3            # a non-finite free run scores worst
    np.testing.assert_array_equal(r.model.numpy_params()[1], rotation_params(3, 2)[1])
    assert r.measures["D_stsp"] < 0.1 and r.measures["D_H"] < 0.05
    # a rotation: λ_max = 0 (up to the estimate's start-up bias, per time unit)
    assert abs(r.measures["lyapunov_max"]) < 0.05 and r.measures["n_regions"] == 1
    assert not r.interrupted and r.n_workers == 1


def test_box_check_overrides_a_better_held_out_score(fake_training, monkeypatch):
    """A model that scores best on the short held-out runs but leaves the box within 1e5
    steps is rejected in favour of a bounded one."""
    fake_training(lambda job: fake_result(
        job, ("spiral", rotation_params(3, 2, growth=1.0001)), ("rotation",
                                                                rotation_params(3, 2))))

    def scores(model, tests, **kwargs):     # the spiral "looks" better
        s = 0.1 if model.numpy_params()[1][0, 0] > math.cos(OMEGA) + 1e-9 else 0.5
        return {"D_stsp": s, "D_H": 0.0, "score": s}

    monkeypatch.setattr(rec, "_held_out_scores", scores)
    r = reconstruct(circle(3000), 0.01, P=1, M=3, budget_s=10, **FAST)
    frame = r.to_frame().set_index("stage")
    assert frame.loc["spiral", "score"] < frame.loc["rotation", "score"]
    assert not frame.loc["spiral", "bounded"] and frame.loc["spiral", "max_excursion"] > 3
    assert frame.loc["rotation", "chosen"] and not frame.loc["spiral", "chosen"]


def test_calibration_without_time_left(fake_training):
    """With under 5 s of budget, "auto" skips calibration and says so; True still runs
    it (one CMA-ES generation at least), so a requested stage is never silently missing."""
    data = circle(3000)
    fake_training(lambda job: fake_result(job, ("rotation", rotation_params(3, 2))))
    kw = dict(seeds=[0], progress=False, budget_s=4, check_steps=2000, score_steps=2000)
    auto = reconstruct(data, 0.01, P=1, M=3, calibration="auto", **kw)
    assert "calibrated" not in list(auto.stage_frame()["stage"])
    assert any(n.startswith("calibration skipped") for n in auto.notes)
    forced = reconstruct(data, 0.01, P=1, M=3, calibration=True, **kw)
    assert list(forced.stage_frame()["stage"])[-1] == "calibrated"
    assert not any(n.startswith("calibration skipped") for n in forced.notes)


def test_reconstruct_never_returns_a_diverging_model(fake_training):
    fake_training(lambda job: fake_result(job, ("a", diagonal_params(3, 2, 1.5)),
                                          ("b", rotation_params(3, 2, growth=1.001))))
    with pytest.raises(ReconstructionFailed, match="no model passed the free-run check") as err:
        reconstruct(circle(3000), 0.01, P=1, M=3, budget_s=10, **FAST)
    report = err.value.report
    assert isinstance(report, Reconstruction) and report.winner == -1
    assert len(report.candidates) == 2
    assert not any(c["bounded"] for c in report.candidates)
    # the report's model is the least bad: the slow spiral, not the exploding map
    assert report.model.numpy_params()[0][0] == 0.0
    assert "box" in str(err.value) and "budget_s" in str(err.value)
    report.to_frame()


def test_training_errors_are_reported(fake_training):
    fake_training(lambda job: fake_result(job, error="RuntimeError: boom"))
    with pytest.raises(ReconstructionFailed, match="seed 0: RuntimeError: boom") as err:
        reconstruct(circle(3000), 0.01, P=1, M=3, budget_s=10, **FAST)
    assert err.value.report.model is None and err.value.report.candidates == ()


def test_collapsed_model_is_kept_only_when_nothing_else_is_bounded(fake_training):
    fake_training(lambda job: fake_result(job, ("contracting", diagonal_params(3, 2, 0.5)),
                                          ("exploding", diagonal_params(3, 2, 1.5))))
    r = reconstruct(circle(3000), 0.01, P=1, M=3, budget_s=10, **FAST)
    assert r.to_frame().loc[r.winner, "stage"] == "contracting"
    assert r.measures["collapsed"]
    assert any("collapses onto a fixed point" in n for n in r.notes)


def test_ctrl_c_returns_the_best_so_far(fake_training):
    def worker(job):
        if job["seed"] == 1:
            raise KeyboardInterrupt
        return fake_result(job, ("rotation", rotation_params(3, 2)))

    jobs = fake_training(worker)
    r = reconstruct(circle(3000), 0.01, P=1, M=3, budget_s=10, seeds=[0, 1], n_jobs=1,
                    progress=False, calibration=False)
    assert [j["seed"] for j in jobs] == [0, 1]
    assert r.interrupted and r.to_frame()["seed"].tolist() == [0]
    assert r.to_frame().loc[r.winner, "stage"] == "rotation"


def _parallel_worker(job):   # module level: the process pool pickles it by name
    growth = 1.0 if job["seed"] == 1 else 1.001
    return fake_result(job, ("rotation", rotation_params(3, 2, growth=growth)))


def test_seeds_train_in_parallel_processes(monkeypatch):
    """Two seeds on two workers (processes): both seeds' candidates are judged."""
    monkeypatch.setattr(rec, "_train_one", _parallel_worker)
    r = reconstruct(circle(3000), 0.01, P=1, M=3, budget_s=10, seeds=[0, 1], n_jobs=2,
                    progress=False, calibration=False)
    frame = r.to_frame()
    assert r.n_workers == 2 and sorted(frame["seed"]) == [0, 1]
    assert frame.loc[r.winner, "seed"] == 1          # the exact rotation, not the spiral


def test_reconstruct_torch_cpu_device_runs_the_tensor_path(fake_training, monkeypatch):
    """device=torch.device("cpu") sends the selection's and the check's free runs through
    the torch iteration (what "cuda" runs on a GPU)."""
    seen = []
    orbits = rec._orbits

    def spy(params, P, z0, T, device=None, keep_every=1):
        seen.append(device)
        return orbits(params, P, z0, T, device, keep_every)

    monkeypatch.setattr(rec, "_orbits", spy)
    fake_training(lambda job: fake_result(job, ("rotation", rotation_params(3, 2))))
    r = reconstruct(circle(3000), 0.01, P=1, M=3, budget_s=10, device=torch.device("cpu"),
                    score_steps=2000, check_steps=5000, **FAST)
    assert seen and all(d == torch.device("cpu") for d in seen)
    assert r.measures["bounded"] and r.measures["D_stsp"] < 0.1


def test_cuda_device_is_a_clear_error_without_cuda():
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ValueError, match="^device: 'cuda' asked for, but CUDA is not"):
        reconstruct(circle(3000), 0.01, P=1, M=3, budget_s=10, device="cuda", **FAST)
    with pytest.raises(ValueError, match="^device: CUDA is not available"):
        bounded_run(as_model(rotation_params(3, 2), 1, 2), circle(2),
                    device=torch.device("cuda"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_free_runs_match_numpy():
    model = as_model(rotation_params(3, 2, growth=1.0001), 1, 2)
    a = bounded_run(model, circle(4), 20_000, reference=circle(PERIOD))
    b = bounded_run(model, circle(4), 20_000, reference=circle(PERIOD), device="cuda")
    assert a["first_exit"] == b["first_exit"]
    assert a["max_excursion"] == pytest.approx(b["max_excursion"], rel=1e-9)


# ----------------------------------------------------------------------------- inputs
def test_several_trajectories_of_unequal_length_and_a_transient(fake_training):
    """Each long enough trajectory gives a training head and a held-out tail (20%); one
    too short to split is trained on only; ``transient`` drops leading samples of each."""
    data = [circle(1500), circle(2200, phase=1.0), circle(600, phase=2.0)]
    jobs = fake_training(lambda job: fake_result(job, ("rotation", rotation_params(3, 2))))
    r = reconstruct(data, 0.01, P=1, M=3, budget_s=10, transient=100, **FAST)
    train = jobs[0]["data"]
    assert [len(x) for x in train] == [1120, 1680, 500]
    assert [len(x) for x in r.held_out] == [280, 420]
    np.testing.assert_allclose(train[1][0], circle(2200, phase=1.0)[100])
    np.testing.assert_allclose(r.held_out[0][-1], circle(1500)[-1])
    assert not r.embedding["embedded"]


def test_a_1d_series_is_delay_embedded(fake_training):
    s = np.sin(OMEGA * np.arange(3000))
    jobs = fake_training(lambda job: fake_result(
        job, ("rotation", rotation_params(job["M"], job["data"][0].shape[1]))))
    r = reconstruct(s, 0.01, P=1, M=5, budget_s=10, **FAST)
    lag = autocorrelation_lag(s)
    assert r.embedding == {"embedded": True, "embed_dim": 3, "lag": lag}
    assert jobs[0]["data"][0].shape[1] == 3 and r.model.N == 3
    np.testing.assert_allclose(jobs[0]["data"][0][:5], delay_embed(s, 3, lag)[:5])
    # (T, 1) and an explicit choice of dimension and lag
    r2 = reconstruct(s[:, None], 0.01, P=1, M=5, budget_s=10, embed=2, lag=10, **FAST)
    assert r2.embedding == {"embedded": True, "embed_dim": 2, "lag": 10}
    assert jobs[1]["data"][0].shape[1] == 2
    # embed=1: the scalar series itself
    jobs.clear()
    fake_training(lambda job: fake_result(job, ("decay", diagonal_params(3, 1, 0.9))))
    r3 = reconstruct(s, 0.01, P=1, M=3, budget_s=10, embed=1, **FAST)
    assert r3.model.N == 1 and not r3.embedding["embedded"]


def test_a_1d_series_trains_for_real():
    x = tk.systems.trajectory("halvorsen", 3000, seed=1)[:, 0]
    r = reconstruct(x, 0.02, P=1, M=8, budget_s=20, max_batches=30, score_steps=2000,
                    check_steps=20_000, train_kwargs=dict(eval_every=15, eval_steps=1000),
                    **FAST)
    assert r.model.N == 3 and r.embedding["embedded"]
    assert r.measures["bounded"] and r.measures["max_excursion"] <= 3.0
    assert set(r.to_frame()["batches"]) == {30}


BAD = [
    (dict(data=np.full((3000, 2), np.nan)), "data: 6000 non-finite"),
    (dict(data=np.zeros((30, 10, 2))), "data: expected a"),
    (dict(data=circle(300)), "data: too short"),
    (dict(data=np.arange(5.0)), "data: series too short"),
    (dict(data=np.ones(500)), "data: the series is constant"),
    (dict(data=np.column_stack([circle(3000), np.ones(3000)]), M=5), "data: columns [2]"),
    (dict(data=[]), "data: an empty list"),
    (dict(data=[circle(3000), np.zeros((3000, 3))]), "data: trajectories have different"),
    (dict(data=[circle(3000), np.full((3000, 2), np.inf)]), "data[1]: 6000 non-finite"),
    (dict(budget_s=0), "budget_s"),
    (dict(budget_s=-5), "budget_s"),
    (dict(budget_s=float("nan")), "budget_s"),
    (dict(dt=0), "dt"),
    (dict(P=3, M=4), "P: 3 ReLU units"),
    (dict(P=-1), "P"),
    (dict(M=1), "M: 1 latent units cannot observe 2"),
    (dict(holdout=0), "holdout"),
    (dict(holdout=0.95), "holdout"),
    (dict(seeds=[]), "seeds"),
    (dict(n_jobs=0), "n_jobs"),
    (dict(calibration="maybe"), "calibration"),
    (dict(embed=2), "embed: delay embedding is for 1-D"),
    (dict(transient=2995), "transient"),
    (dict(box=0), "box"),
    (dict(check_steps=0), "check_steps"),
    (dict(train_kwargs={"max_seconds": 3}), "train_kwargs: ['max_seconds']"),
    (dict(train_kwargs={"bogus": 1}), "train_kwargs: ['bogus'] are not options"),
    (dict(max_batches=0), "max_batches"),
    (dict(max_batches=10, train_kwargs={"n_epochs": 3}), "max_batches: give either"),
    (dict(device="gpu"), "device"),
]


@pytest.mark.parametrize("kwargs, message", BAD, ids=[m.split(":")[0] + f"-{i}"
                                                      for i, (_, m) in enumerate(BAD)])
def test_bad_input_names_the_parameter(kwargs, message, fake_training):
    jobs = fake_training(lambda job: pytest.fail("trained despite bad input"))
    args = dict(data=circle(3000), dt=0.01, P=1, M=3, budget_s=10, progress=False)
    args.update(kwargs)
    with pytest.raises(ValueError) as err:
        reconstruct(**args)
    assert str(err.value).startswith(message), str(err.value)
    assert not jobs


def test_device_of_the_wrong_type_is_named():
    with pytest.raises(TypeError, match="^device"):
        reconstruct(circle(3000), 0.01, P=1, M=3, device=3, progress=False)


# ----------------------------------------------------------------------------- real runs
@pytest.fixture(scope="module")
def halvorsen_run():
    """A batch budget (300 batches, a few seconds) makes the training part reproducible
    on a loaded machine; the rest of the budget goes to the checks and calibration."""
    x = tk.systems.trajectory("halvorsen", 4000, seed=0)
    return x, reconstruct(x, 0.02, P=2, M=12, budget_s=14, seeds=[0], max_batches=300,
                          calibration=True, progress=False)


def test_reconstruct_returns_a_model_that_stays_in_the_box(halvorsen_run):
    """The returned model's own 1e5-step free runs from held-out points stay within the
    data's range widened by 3 extents (the default box) on every side."""
    x, r = halvorsen_run
    assert r.model.N == 3 and r.model.M == 12 and r.model.P == 2
    assert r.measures["bounded"] and r.measures["max_excursion"] <= 3.0
    lo, hi = x.min(0), x.max(0)
    ext = hi - lo
    starts = np.array([r.held_out[0][i] for i in (0, 100, 200, 300)])
    runs = r.model.generate(starts, 100_000)
    assert np.all(np.isfinite(runs))
    assert np.all(runs >= lo - 3 * ext) and np.all(runs <= hi + 3 * ext)
    assert r.wall_s < 14 + 6         # the budget, give or take the final measures


def test_report_frames_and_plot_render(halvorsen_run):
    tk.viz.setup(inline=True)
    _, r = halvorsen_run
    frame = r.to_frame()
    assert {"seed", "stage", "D_stsp", "D_H", "score", "bounded", "max_excursion",
            "collapsed", "chosen"} <= set(frame.columns)
    assert frame["chosen"].sum() == 1 and frame.loc[r.winner, "chosen"]
    assert (frame["seed"] == 0).all()
    stages = r.stage_frame()
    assert list(stages["stage"]) == ["median candidate", "selected", "calibrated"]
    assert (frame["stage"] == "calibrated").sum() == 1
    assert set(frame.loc[frame["stage"] != "calibrated", "batches"]) == {300}
    chosen = frame.loc[frame["chosen"]].iloc[0]
    # calibration=True keeps the calibrated model whenever it passes the box check
    calibrated = frame.loc[frame["stage"] == "calibrated"].iloc[0]
    kept = "calibrated" if calibrated["bounded"] and not calibrated["collapsed"] else "selected"
    assert (chosen["stage"] == "calibrated") == (kept == "calibrated")
    np.testing.assert_allclose(stages.set_index("stage").loc[kept, "score"], chosen["score"])
    assert math.isfinite(r.measures["lyapunov_max"]) and r.measures["n_regions"] >= 1
    plot = r.plot()
    assert len(plot) == 3
    fig = hv.render(plot, backend="bokeh")
    assert fig is not None
    hv.render(r.plot(dims=(0, 2), n_steps=2000), backend="bokeh")


def test_same_seed_same_result_with_a_batch_budget():
    """Wall-time training is not reproducible (the learning rate follows elapsed time);
    with ``max_batches`` (reached within the budget) and no calibration it is."""
    x = tk.systems.trajectory("halvorsen", 3000, seed=2)
    kwargs = dict(P=2, M=10, budget_s=30, max_batches=40, score_steps=2000,
                  check_steps=20_000, train_kwargs=dict(eval_every=20, eval_steps=1000),
                  **FAST)
    a = reconstruct(x, 0.02, **kwargs)
    b = reconstruct(x, 0.02, **kwargs)
    for p, q in zip(a.model.numpy_params(), b.model.numpy_params()):
        np.testing.assert_array_equal(p, q)
    assert a.winner == b.winner
    cols = ["stage", "D_stsp", "D_H", "score", "max_excursion"]
    assert a.to_frame()[cols].equals(b.to_frame()[cols])
    assert set(a.to_frame()["batches"]) == {40}
    # another seed trains another model
    c = reconstruct(x, 0.02, **{**kwargs, "seeds": [1]})
    assert not np.array_equal(c.model.numpy_params()[1], a.model.numpy_params()[1])
