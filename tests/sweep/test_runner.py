"""In-process sweeps: results, resuming, failures, seeds, store identity, bad input."""

import functools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit import sweep
from toolkit.sweep import StoreMismatch, point_key, point_seed

ROOT = Path(__file__).resolve().parents[2]


def noisy(x, k, seed):
    """Deterministic given the seed; returns scalars, an array and a string."""
    rng = np.random.default_rng(seed)
    return {"sum": x + k, "draw": float(rng.random()), "trace": rng.normal(size=(3, 2)),
            "label": f"x{x}"}


def plain(x, k):
    return {"prod": x * k}


def counting(calls):
    def fn(x, k):
        calls.append((x, k))
        return {"prod": x * k}
    return fn


def run_quiet(*args, **kwargs):
    kwargs.setdefault("progress", False)
    return sweep.run(*args, **kwargs)


# ------------------------------------------------------------------ results
def test_results_rows_columns_and_arrays(tmp_path):
    grid = {"x": [1, 2, 3], "k": [10, 20]}
    df = run_quiet(noisy, grid, tmp_path / "s")
    assert len(df) == 6 and (df.status == "ok").all()
    assert list(df.columns[:4]) == ["x", "k", "sum", "draw"]
    assert list(df.columns[-7:]) == list(sweep.META_COLUMNS)
    assert df[["x", "k"]].to_dict("records") == sweep.expand_grid(grid)
    np.testing.assert_array_equal(df["sum"], df.x + df.k)
    assert list(df["label"]) == [f"x{x}" for x in df.x]
    # the seed is the documented derivation and fn really received it
    for _, row in df.iterrows():
        point = {"x": row.x, "k": row.k}
        assert row.seed == point_seed(point) and row.key == point_key(point)
        rng = np.random.default_rng(point_seed(point))
        assert row.draw == rng.random()
        np.testing.assert_array_equal(sweep.load_arrays(row, "trace"), rng.normal(size=(3, 2)))
    assert set(sweep.load_arrays(df.arrays[0])) == {"trace"}
    assert df.attrs["store"] == str(tmp_path / "s")


def test_every_point_is_one_json_file_and_no_temporary_is_left(tmp_path):
    df = run_quiet(noisy, {"x": [1, 2], "k": [0]}, tmp_path / "s")
    files = sorted(p.name for p in (tmp_path / "s" / "points").iterdir())
    assert files == sorted([f"{k}.json" for k in df.key] + [f"{k}.safetensors" for k in df.key])
    rec = json.loads((tmp_path / "s" / "points" / f"{df.key[0]}.json").read_text())
    assert rec["point"] == {"x": 1, "k": 0} and rec["status"] == "ok"
    assert rec["result"]["sum"] == 1 and rec["seed"] == df.seed[0]


def test_load_reads_back_what_run_returned(tmp_path):
    df = run_quiet(noisy, {"x": [1, 2, 3], "k": [0, 5]}, tmp_path / "s")
    back = sweep.load(tmp_path / "s").sort_values(["x", "k"]).reset_index(drop=True)
    cols = ["x", "k", "sum", "draw", "label", "status", "seed", "key", "arrays"]
    pd.testing.assert_frame_equal(back[cols], df[cols])


def test_scalars_keep_their_type_through_the_store(tmp_path):
    fn = lambda x: {"a": float("nan"), "b": -np.inf, "c": None, "d": np.int64(3), "e": True,
                    "f": np.bool_(False), "g": 1 + 2j, "h": np.float32(0.5), "i": "text"}
    run_quiet(fn, {"x": [1]}, tmp_path / "s")
    rec = json.loads(next((tmp_path / "s/points").glob("*.json")).read_text())["result"]
    assert rec["e"] is True and rec["f"] is False and rec["d"] == 3 and rec["c"] is None
    df = sweep.load(tmp_path / "s")
    assert np.isnan(df.a[0]) and df.b[0] == -np.inf and df.c[0] is None
    assert df.d.dtype == np.int64 and df.d[0] == 3
    assert df.e.dtype == bool and df.f.dtype == bool and df.e[0] and not df.f[0]
    assert df.g[0] == 1 + 2j and df.h[0] == 0.5 and df.i[0] == "text"


# ------------------------------------------------------------------ resuming
def test_rerun_computes_only_missing_points(tmp_path):
    calls = []
    fn = counting(calls)
    run_quiet(fn, {"x": [1, 2], "k": [1, 2]}, tmp_path / "s")
    assert len(calls) == 4
    calls.clear()
    df = run_quiet(fn, {"x": [1, 2], "k": [1, 2]}, tmp_path / "s")
    assert calls == [] and len(df) == 4
    df = run_quiet(fn, {"x": [1, 2, 3], "k": [1, 2]}, tmp_path / "s")
    assert sorted(calls) == [(3, 1), (3, 2)]
    assert list(df["prod"]) == [1, 2, 2, 4, 3, 6]


def test_unreadable_record_is_computed_again(tmp_path):
    calls = []
    fn = counting(calls)
    df = run_quiet(fn, {"x": [1, 2], "k": [1]}, tmp_path / "s")
    (tmp_path / "s" / "points" / f"{df.key[1]}.json").write_text("{ truncated")
    calls.clear()
    with pytest.warns(RuntimeWarning, match="computed again"):
        df = run_quiet(fn, {"x": [1, 2], "k": [1]}, tmp_path / "s")
    assert calls == [(2, 1)] and list(df["prod"]) == [1, 2]


SCRIPT = """
import os, sys, time
import toolkit as tk

def slow(x, seed):
    with open(os.path.join(sys.argv[2], "calls.log"), "a") as fh:
        fh.write(f"{sys.argv[3]} {x}\\n")
    time.sleep(0.25)
    return {"y": x * x, "seed_seen": seed}

tk.sweep.run(slow, {"x": list(range(12))}, sys.argv[1], progress=False)
"""


def _lines(path):
    return path.read_text().split() if path.exists() else []


def test_killed_sweep_resumes_with_exactly_the_missing_points(tmp_path):
    script = tmp_path / "sweep_script.py"
    script.write_text(textwrap.dedent(SCRIPT))
    store, log = tmp_path / "store", tmp_path / "calls.log"
    points_dir = store / "points"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen([sys.executable, str(script), str(store), str(tmp_path), "1"],
                             env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and first.poll() is None:
        if points_dir.exists() and len(list(points_dir.glob("*.json"))) >= 4:
            break
        time.sleep(0.05)
    assert first.poll() is None, first.stderr.read().decode()[-2000:]
    first.send_signal(signal.SIGKILL)
    first.wait(30)

    finished = {p.stem: p.read_bytes() for p in points_dir.glob("*.json")}
    assert 4 <= len(finished) < 12
    for text in finished.values():
        json.loads(text)  # complete records only
    calls = _lines(log)
    first_calls = [int(x) for run, x in zip(calls[::2], calls[1::2]) if run == "1"]
    done_x = sorted(json.loads(t)["point"]["x"] for t in finished.values())
    assert sorted(set(first_calls)) == sorted(first_calls)  # nothing ran twice
    assert set(done_x) <= set(first_calls)

    second = subprocess.run([sys.executable, str(script), str(store), str(tmp_path), "2"],
                            env=env, capture_output=True, timeout=180)
    assert second.returncode == 0, second.stderr.decode()[-2000:]
    calls = _lines(log)
    second_calls = [int(x) for run, x in zip(calls[::2], calls[1::2]) if run == "2"]
    # exactly the missing points, each once; no finished point recomputed
    assert sorted(second_calls) == sorted(set(range(12)) - set(done_x))
    for key, text in finished.items():
        assert (points_dir / f"{key}.json").read_bytes() == text  # not lost, not rewritten
    df = sweep.load(store).sort_values("x")
    assert list(df.x) == list(range(12)) and list(df.y) == [x * x for x in range(12)]
    assert list(df.seed_seen) == [point_seed({"x": x}) for x in range(12)]


# ------------------------------------------------------------------ failures
def test_failing_point_is_recorded_and_others_go_on(tmp_path):
    def fn(x):
        if x == 2:
            raise ArithmeticError("two is bad")
        return {"y": 1 / x}

    with pytest.warns(RuntimeWarning, match="1 of 4 points failed"):
        df = run_quiet(fn, {"x": [1, 2, 3, 4]}, tmp_path / "s")
    assert list(df.status) == ["ok", "error", "ok", "ok"]
    assert df.error[1] == "ArithmeticError: two is bad"
    assert "Traceback" in df.traceback[1] and "two is bad" in df.traceback[1]
    assert np.isnan(df.y[1]) and df.y[3] == 0.25
    assert df.error[0] is None and df.arrays[1] is None


def test_failed_points_are_kept_until_retry_failed(tmp_path):
    state = {"broken": True, "calls": 0}

    def fn(x):
        state["calls"] += 1
        if x == 1 and state["broken"]:
            raise RuntimeError("flaky")
        return {"y": x}

    with pytest.warns(RuntimeWarning):
        run_quiet(fn, {"x": [0, 1]}, tmp_path / "s")
    state.update(broken=False, calls=0)
    with pytest.warns(RuntimeWarning, match="retry_failed"):
        df = run_quiet(fn, {"x": [0, 1]}, tmp_path / "s")
    assert state["calls"] == 0 and df.status[1] == "error"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = run_quiet(fn, {"x": [0, 1]}, tmp_path / "s", retry_failed=True)
    assert state["calls"] == 1 and list(df.status) == ["ok", "ok"] and df.y[1] == 1


# ------------------------------------------------------------------ seeds
def test_seed_from_grid_is_passed_as_is(tmp_path):
    fn = lambda x, seed: {"got": seed}
    df = run_quiet(fn, {"x": [1], "seed": [0, 7]}, tmp_path / "s")
    assert list(df.got) == [0, 7] and list(df.seed) == [0, 7]


def test_no_seed_argument_no_seed_passed(tmp_path):
    df = run_quiet(plain, {"x": [2], "k": [3]}, tmp_path / "s")
    assert df["prod"][0] == 6


def test_partial_with_fixed_seed_keeps_it(tmp_path):
    fn = functools.partial(noisy, k=0, seed=5)
    df = run_quiet(fn, {"x": [1, 2]}, tmp_path / "s")
    rng = np.random.default_rng(5)
    assert df.draw[0] == df.draw[1] == rng.random()


# ------------------------------------------------------------------ store identity
def test_store_with_another_function_is_refused(tmp_path):
    run_quiet(plain, {"x": [1], "k": [1]}, tmp_path / "s")
    with pytest.raises(StoreMismatch, match=r"store: .* already holds a different sweep: "
                                            r"function .*plain"):
        run_quiet(noisy, {"x": [1], "k": [1]}, tmp_path / "s")


def test_store_with_other_parameters_is_refused(tmp_path):
    run_quiet(noisy, {"x": [1], "k": [1]}, tmp_path / "s")
    with pytest.raises(StoreMismatch, match=r"parameters \['k', 'x'\]"):
        run_quiet(functools.partial(noisy, k=1), {"x": [1]}, tmp_path / "s")


def test_store_with_other_fixed_arguments_is_refused(tmp_path):
    run_quiet(functools.partial(noisy, k=1), {"x": [1]}, tmp_path / "s")
    run_quiet(functools.partial(noisy, k=1), {"x": [1, 2]}, tmp_path / "s")  # same sweep
    with pytest.raises(StoreMismatch, match=r"fixed arguments \{'k': 1\}"):
        run_quiet(functools.partial(noisy, k=2), {"x": [1]}, tmp_path / "s")


def test_folder_that_is_not_a_store_is_refused(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "notes.txt").write_text("mine")
    with pytest.raises(StoreMismatch, match="store: .* not a sweep store"):
        run_quiet(plain, {"x": [1], "k": [1]}, tmp_path / "s")
    (tmp_path / "f").write_text("")
    with pytest.raises(NotADirectoryError, match="store: "):
        run_quiet(plain, {"x": [1], "k": [1]}, tmp_path / "f")


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("value, match", [
    (object(), "fn: result 'bad' is a object"),
    ({"a": 1}, "fn: result 'bad' is a dict"),
    (["a", "b"], "fn: result 'bad' is a list that is not a rectangular array"),
    ([[1, 2], [3]], "fn: result 'bad' is a list that is not a rectangular array"),
    (np.array(["a"]), "fn: result 'bad' is an array of dtype <U1"),
])
def test_result_that_cannot_be_stored_is_a_type_error_naming_it(tmp_path, value, match):
    fn = lambda x: {"ok": 1.0, "bad": value}
    with pytest.raises(TypeError, match=match):
        run_quiet(fn, {"x": [1, 2]}, tmp_path / "s")
    assert list((tmp_path / "s" / "points").glob("*.json")) == []


def test_result_must_be_a_dict(tmp_path):
    with pytest.raises(TypeError, match="fn: must return a dict of results.*got float"):
        run_quiet(lambda x: 1.0, {"x": [1]}, tmp_path / "s")


def test_result_named_like_a_parameter_or_column_is_refused(tmp_path):
    with pytest.raises(ValueError, match="fn: result 'x' has the name of a parameter"):
        run_quiet(lambda x: {"x": 1}, {"x": [1]}, tmp_path / "a")
    with pytest.raises(ValueError, match="fn: result 'status' clashes with a column"):
        run_quiet(lambda x: {"status": 1}, {"x": [1]}, tmp_path / "b")


def test_grid_parameter_that_fn_does_not_take(tmp_path):
    with pytest.raises(ValueError, match="grid: parameter 'z' is not an argument of"):
        run_quiet(plain, {"x": [1], "k": [1], "z": [0]}, tmp_path / "s")
    with pytest.raises(ValueError, match="fn: .* cannot be called with the grid's parameters"):
        run_quiet(plain, {"x": [1]}, tmp_path / "s")
    assert not (tmp_path / "s").exists()


def test_empty_grid_is_refused(tmp_path):
    with pytest.raises(ValueError, match="grid: is empty"):
        run_quiet(plain, {}, tmp_path / "s")


def test_bad_fn_and_client(tmp_path):
    with pytest.raises(TypeError, match="fn: expected a function"):
        run_quiet(42, {"x": [1]}, tmp_path / "s")
    with pytest.raises(ValueError, match="fn: cannot import 'no_such_module.f'"):
        run_quiet("no_such_module.f", {"x": [1]}, tmp_path / "s")
    with pytest.raises(TypeError, match="client: expected a dask.distributed.Client"):
        run_quiet(plain, {"x": [1], "k": [1]}, tmp_path / "s", client="localhost:8786")


def test_fn_by_dotted_name(tmp_path, monkeypatch):
    (tmp_path / "mysweeps.py").write_text("def area(w, h):\n    return {'area': w * h}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    df = run_quiet("mysweeps.area", {"w": [2, 3], "h": [4]}, tmp_path / "s")
    assert list(df.area) == [8, 12]
    df = run_quiet("mysweeps:area", {"w": [2, 3], "h": [4]}, tmp_path / "s")
    assert list(df.area) == [8, 12]
    assert json.loads((tmp_path / "s" / "sweep.json").read_text())["fn"] == "mysweeps.area"


def test_load_arrays_errors(tmp_path):
    df = run_quiet(plain, {"x": [1], "k": [1]}, tmp_path / "s")
    with pytest.raises(ValueError, match="where: this point stored no arrays"):
        sweep.load_arrays(df.iloc[0])
    df = run_quiet(noisy, {"x": [1], "k": [1]}, tmp_path / "t")
    with pytest.raises(KeyError, match="name: 'nope'"):
        sweep.load_arrays(df.iloc[0], "nope")
    with pytest.raises(FileNotFoundError, match="store: "):
        sweep.load(tmp_path / "nothing")


def test_imports_and_runs_without_dask(tmp_path):
    code = textwrap.dedent("""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("dask", "distributed"):
                    raise ImportError("blocked " + name)
        sys.meta_path.insert(0, Block())
        import toolkit as tk
        df = tk.sweep.run(lambda x: {"y": 2 * x}, {"x": [1, 2]}, sys.argv[1], progress=False)
        assert list(df.y) == [2, 4]
        assert not any(m.split(".")[0] in ("dask", "distributed") for m in sys.modules)
        try:
            tk.sweep.run(lambda x: {"y": 2 * x}, {"x": [3]}, sys.argv[1], client=object())
        except TypeError as e:
            print("client error:", e)
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "s")],
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")


def test_grid_parameter_named_like_a_column_is_refused(tmp_path):
    with pytest.raises(ValueError, match="grid: parameter 'key' clashes with a column"):
        run_quiet(lambda key: {"y": 1}, {"key": [1]}, tmp_path / "s")
