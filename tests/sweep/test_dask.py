"""Sweeps on a local Dask cluster: same results as in-process, worker death, resuming."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit import sweep
from toolkit.sweep import point_seed

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 180  # seconds; generous for a loaded 2-core machine


def _start(**config):
    import dask

    with dask.config.set(config):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=":0", silence_logs=40)
    client = distributed.Client(cluster)
    client.wait_for_workers(2, timeout=TIMEOUT)
    return cluster, client


def _stop(cluster, client):
    # a nanny still restarting a killed worker makes close() fail ("can only join a
    # started process"): let the cluster come back whole first
    try:
        client.wait_for_workers(2, timeout=TIMEOUT)
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def cluster():
    cluster, client = _start()
    yield cluster, client
    _stop(cluster, client)


@pytest.fixture
def own_client():
    # a cluster of its own for a test that kills workers many times over; a task is
    # declared KilledWorker after its second worker death (default: fourth)
    cluster, client = _start(**{"distributed.scheduler.allowed-failures": 1})
    yield client
    _stop(cluster, client)


@pytest.fixture
def client(cluster):
    cluster, client = cluster
    client.wait_for_workers(2, timeout=TIMEOUT)  # a previous test may have killed one
    return client


# Sweep functions are closures so that Dask ships them by value (cloudpickle): the test
# module itself is not importable by name on the workers.
def make_noisy():
    def noisy(x, k, seed):
        if x == 2 and k == 1:
            raise ValueError("the (2, 1) point fails")
        rng = np.random.default_rng(seed)
        return {"sum": x + k, "draw": float(rng.random()), "walk": rng.normal(size=20).cumsum()}
    return noisy


def make_logged(log: str, kill_at=None, marker=None, sleep=0.0):
    def logged(x, seed):
        import os
        import signal
        import time

        with open(log, "a") as fh:
            fh.write(f"{x}\n")
        if x == kill_at and not os.path.exists(marker):
            open(marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)  # this worker dies mid-point, once
        time.sleep(sleep)
        return {"square": x * x, "pid": os.getpid()}
    return logged


def _calls(log):
    return [int(x) for x in Path(log).read_text().split()] if Path(log).exists() else []


COMPARED = ["x", "k", "sum", "draw", "status", "error", "seed", "key"]


def test_same_grid_gives_identical_results_in_process_and_on_dask(client, tmp_path):
    grid = {"x": [0, 1, 2, 3], "k": [1, 2, 3]}
    fn = make_noisy()
    with pytest.warns(RuntimeWarning, match="1 of 12 points failed"):
        here = sweep.run(fn, grid, tmp_path / "here", progress=False)
    with pytest.warns(RuntimeWarning, match="1 of 12 points failed"):
        there = sweep.run(fn, grid, tmp_path / "there", client=client, progress=False)
    pd.testing.assert_frame_equal(here[COMPARED], there[COMPARED])
    assert (here.status == "ok").sum() == 11
    assert "the (2, 1) point fails" in there.traceback[there.error.notna()].iloc[0]
    for a, b in zip(here.arrays, there.arrays):
        if a is None:
            assert b is None
        else:
            np.testing.assert_array_equal(sweep.load_arrays(a, "walk"),
                                          sweep.load_arrays(b, "walk"))
    # the records carry the worker process, which is not this one
    pids = {json.loads(p.read_text())["pid"] for p in (tmp_path / "there/points").glob("*.json")}
    assert os.getpid() not in pids


def test_quick_points_are_batched_into_fewer_tasks_with_the_same_results(client, tmp_path):
    fn = make_noisy()
    grid = {"x": list(range(10)), "k": [5, 6, 7, 8]}  # no failing point
    here = sweep.run(fn, grid, tmp_path / "here", progress=False)
    with distributed.get_task_stream(client) as stream:
        there = sweep.run(fn, grid, tmp_path / "there", client=client, progress=False)
    n_tasks = len([t for t in stream.data if t["key"].startswith("noisy-")])
    assert 4 <= n_tasks < 40  # 2 x 2 threads single-point tasks first, then batches
    pd.testing.assert_frame_equal(here[COMPARED], there[COMPARED])


def test_rerun_on_dask_submits_only_missing_points(client, tmp_path):
    log = str(tmp_path / "calls.log")
    fn = make_logged(log)
    sweep.run(fn, {"x": [0, 1, 2]}, tmp_path / "s", client=client, progress=False)
    assert sorted(_calls(log)) == [0, 1, 2]
    df = sweep.run(fn, {"x": [0, 1, 2, 3, 4]}, tmp_path / "s", client=client, progress=False)
    assert sorted(_calls(log)) == [0, 1, 2, 3, 4]
    assert list(df.square) == [0, 1, 4, 9, 16]


def test_unstorable_result_on_dask_is_a_type_error(client, tmp_path):
    def fn(x):
        return {"bad": {"nested": x}}

    with pytest.raises(TypeError, match="fn: result 'bad' is a dict"):
        sweep.run(fn, {"x": [1, 2]}, tmp_path / "s", client=client, progress=False)


def test_function_the_workers_cannot_import_is_a_clear_error(client, tmp_path, monkeypatch):
    # the module exists only on this process's path, not on the already running workers
    (tmp_path / "only_here_sweeps.py").write_text("def f(x):\n    return {'y': x}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(RuntimeError, match="fn: only_here_sweeps.f could not run on the "
                                           "Dask workers"):
        sweep.run("only_here_sweeps.f", {"x": [1, 2]}, tmp_path / "s", client=client,
                  progress=False)


SCRIPT = """
import os, sys, time
from dask.distributed import Client
import toolkit as tk

LOG = os.path.join(sys.argv[3], "calls.log")  # shipped to the workers with slow()

def slow(x, seed):
    with open(LOG, "a") as fh:
        fh.write(f"{x}\\n")
    time.sleep(0.4)
    return {"y": x * x}

with Client(sys.argv[1]) as client:
    tk.sweep.run(slow, {"x": list(range(16))}, sys.argv[2], client=client, progress=False)
"""


def test_killed_client_resumes_with_exactly_the_missing_points(cluster, tmp_path):
    cluster, client = cluster
    client.wait_for_workers(2, timeout=TIMEOUT)
    script = tmp_path / "client_script.py"
    script.write_text(textwrap.dedent(SCRIPT))
    store, log = tmp_path / "store", str(tmp_path / "calls.log")
    args = [sys.executable, str(script), cluster.scheduler_address, str(store), str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen(args, env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and first.poll() is None:
        if len(list((store / "points").glob("*.json"))) >= 4:
            break
        time.sleep(0.05)
    assert first.poll() is None, first.stderr.read().decode()[-2000:]
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    finished = {p.stem: p.read_bytes() for p in (store / "points").glob("*.json")}
    assert 4 <= len(finished) < 16
    done_x = {json.loads(t)["point"]["x"] for t in finished.values()}
    assert all(json.loads(t)["status"] == "ok" for t in finished.values())
    assert done_x <= set(_calls(log))

    # let the tasks the dead client left running drain before counting the second run
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        n = client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))
        if n == 0:
            break
        time.sleep(0.2)
    n_before = len(_calls(log))

    second = subprocess.run(args, env=env, capture_output=True, timeout=TIMEOUT)
    assert second.returncode == 0, second.stderr.decode()[-2000:]
    second_calls = _calls(log)[n_before:]
    assert sorted(second_calls) == sorted(set(range(16)) - done_x)
    for key, text in finished.items():
        assert (store / "points" / f"{key}.json").read_bytes() == text
    df = sweep.load(store).sort_values("x")
    assert list(df.x) == list(range(16)) and list(df.y) == [x * x for x in range(16)]


def test_killing_a_worker_mid_sweep_still_gives_every_point_exactly_once(client, tmp_path):
    log, marker = str(tmp_path / "calls.log"), str(tmp_path / "killed")
    fn = make_logged(log, kill_at=3, marker=marker, sleep=0.1)
    df = sweep.run(fn, {"x": list(range(16))}, tmp_path / "s", client=client, progress=False)
    assert os.path.exists(marker)  # a worker really died ...
    calls = _calls(log)
    assert calls.count(3) == 2  # ... while running point 3, which the scheduler reran
    assert len(df) == 16 and df.key.is_unique and (df.status == "ok").all()
    assert list(df.x) == list(range(16)) and list(df.square) == [x * x for x in range(16)]
    assert sorted(p.stem for p in (tmp_path / "s/points").glob("*.json")) == sorted(df.key)
    assert list(df.seed) == [point_seed({"x": x}) for x in range(16)]


def test_point_that_keeps_killing_workers_is_recorded_as_failed(own_client, tmp_path):
    def fn(x):
        if x == 30:
            os.kill(os.getpid(), signal.SIGKILL)
        return {"y": x}

    # x = 30 falls in a batch of quick points: the batch is split, then only x = 30 fails
    with pytest.warns(RuntimeWarning, match="1 of 40 points failed"):
        df = sweep.run(fn, {"x": list(range(40))}, tmp_path / "s", client=own_client,
                       progress=False)
    assert (df.status == "ok").sum() == 39 and df.status[30] == "error"
    assert df.error[30].startswith("KilledWorker")
    assert list(df.y.drop(index=30)) == [x for x in range(40) if x != 30]
    assert len(list((tmp_path / "s/points").glob("*.json"))) == 40
