"""Run a function over a grid of parameters, resumably, in-process or on a Dask cluster."""

from __future__ import annotations

import collections
import functools
import importlib
import inspect
import itertools
import numbers
import os
import socket
import time
import traceback
import uuid
import warnings
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .grid import _plain, expand_grid, point_key, point_seed
from .store import META_COLUMNS, SweepStore, records_frame

__all__ = ["run", "compute_point", "compute_remote"]


# ------------------------------------------------------------------ the function
def _resolve(fn) -> Callable:
    """``fn`` itself, or the function a dotted name such as
    ``"toolkit.sweep.tasks.grokking_point"`` (or ``"module:attr"``) points to.
    """
    if isinstance(fn, str):
        module, sep, attr = fn.partition(":")
        if not sep:
            module, _, attr = fn.rpartition(".")
        if not module or not attr:
            raise ValueError(f"fn: {fn!r} is not a dotted name like 'package.module.function'")
        try:
            obj = importlib.import_module(module)
            for part in attr.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"fn: cannot import {fn!r} ({exc})") from None
        fn = obj
    if not callable(fn):
        raise TypeError(f"fn: expected a function or a dotted name, got {type(fn).__name__}")
    return fn


def _name(fn) -> str:
    target = fn.func if isinstance(fn, functools.partial) else fn
    module = getattr(target, "__module__", None) or type(target).__module__
    qual = getattr(target, "__qualname__", None) or type(target).__qualname__
    return f"{module}.{qual}"


def _describe(value):
    """A deterministic JSON description of a fixed argument (for the store's identity)."""
    try:
        return _plain(value, "fixed")
    except (TypeError, ValueError):
        pass
    if hasattr(value, "detach") and hasattr(value, "shape"):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray) and value.dtype.kind != "O":
        import hashlib

        digest = hashlib.sha1(np.ascontiguousarray(value).tobytes()).hexdigest()[:12]
        return f"array{tuple(value.shape)} {value.dtype} sha1:{digest}"
    t = type(value)
    return f"<{t.__module__}.{t.__qualname__}>"


def _identity(fn, params: list[str]) -> dict:
    fixed: dict = {}
    if isinstance(fn, functools.partial):
        if fn.args:
            fixed["*args"] = [_describe(a) for a in fn.args]
        fixed.update({k: _describe(v) for k, v in sorted(fn.keywords.items())})
    return {"fn": _name(fn), "fixed": fixed, "params": list(params)}


def _signature(fn):
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):  # some builtins and C callables
        return None


def _takes_seed(fn, sig) -> bool:
    if sig is None or "seed" not in sig.parameters:
        return False
    if isinstance(fn, functools.partial) and "seed" in fn.keywords:
        return False  # the caller fixed the seed on purpose
    kind = sig.parameters["seed"].kind
    return kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _check_call(fn, sig, point: dict, pass_seed: bool):
    if sig is None:
        return
    kwargs = dict(point, **({"seed": 0} if pass_seed else {}))
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values())
    if not accepts_any:
        for name in point:
            if name not in sig.parameters:
                raise ValueError(f"grid: parameter {name!r} is not an argument of "
                                 f"{_name(fn)}{sig}")
    try:
        sig.bind(**kwargs)
    except TypeError as exc:
        raise ValueError(f"fn: {_name(fn)}{sig} cannot be called with the grid's "
                         f"parameters {sorted(point)}: {exc}") from None


# ------------------------------------------------------------------ one point
def _is_tensor(x) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def _split_result(result, point: dict) -> tuple[dict, dict]:
    """Scalars (for the JSON record) and arrays (for safetensors) of ``fn``'s result."""
    if not isinstance(result, Mapping):
        raise TypeError(f"fn: must return a dict of results (numbers, strings, arrays), got "
                        f"{type(result).__name__} for point {point}")
    scalars, arrays = {}, {}
    for name, v in result.items():
        if not isinstance(name, str):
            raise TypeError(f"fn: result keys must be strings, got {name!r} for point {point}")
        if name in point:
            raise ValueError(f"fn: result {name!r} has the name of a parameter; rename it "
                             f"(point {point})")
        if name in META_COLUMNS:
            raise ValueError(f"fn: result {name!r} clashes with a column the sweep adds "
                             f"({', '.join(META_COLUMNS)}); rename it (point {point})")
        if _is_tensor(v):
            v = v.detach().cpu().numpy()
        if isinstance(v, list | tuple):
            try:
                arr = np.asarray(v)
            except ValueError:  # ragged
                arr = np.asarray(v, dtype=object)
            if arr.dtype.kind not in "biufc":
                raise TypeError(f"fn: result {name!r} is a {type(v).__name__} that is not a "
                                f"rectangular array of numbers, which a sweep cannot store "
                                f"(point {point})")
            v = arr
        if isinstance(v, np.ndarray) and v.ndim == 0:
            v = v[()]
        if isinstance(v, np.ndarray):
            if v.dtype.kind not in "biufc":
                raise TypeError(f"fn: result {name!r} is an array of dtype {v.dtype}; only "
                                f"numeric arrays can be stored (point {point})")
            arrays[name] = np.ascontiguousarray(v)
        elif isinstance(v, np.generic):
            if v.dtype.kind not in "biufc":
                raise TypeError(f"fn: result {name!r} is a numpy {v.dtype} scalar, which a "
                                f"sweep cannot store (point {point})")
            scalars[name] = v.item()
        elif v is None or isinstance(v, bool | str):
            scalars[name] = v
        elif isinstance(v, numbers.Integral):
            scalars[name] = int(v)
        elif isinstance(v, numbers.Real):
            scalars[name] = float(v)
        elif isinstance(v, numbers.Complex):
            scalars[name] = complex(v)
        else:
            raise TypeError(f"fn: result {name!r} is a {type(v).__name__}, which a sweep "
                            f"cannot store; return numbers, strings, booleans, None or "
                            f"numeric arrays (point {point})")
    return scalars, arrays


def compute_point(fn, point: dict, seed: int, pass_seed: bool) -> tuple[dict, dict]:
    """Run ``fn(**point[, seed=seed])`` and return ``(record, arrays)``.

    This is what a Dask worker executes. An exception raised by ``fn`` becomes a record
    with ``status="error"``, its message and traceback; a result the store cannot hold
    becomes ``status="invalid"`` (``run`` turns that into a TypeError, since the function,
    not the point, needs fixing).
    """
    record = {"key": point_key(point), "point": point, "seed": seed, "status": "ok",
              "result": {}, "error": None, "traceback": None,
              "host": socket.gethostname(), "pid": os.getpid()}
    arrays: dict = {}
    t0 = time.perf_counter()
    try:
        out = fn(**point, seed=seed) if pass_seed else fn(**point)
    except Exception as exc:
        record.update(status="error", error=f"{type(exc).__name__}: {exc}",
                      traceback=traceback.format_exc())
    else:
        try:
            record["result"], arrays = _split_result(out, point)
        except (TypeError, ValueError) as exc:
            record.update(status="invalid", error=str(exc), exc_type=type(exc).__name__)
    record["seconds"] = time.perf_counter() - t0
    record["finished"] = datetime.now(UTC).isoformat(timespec="milliseconds")
    return record, arrays


# ------------------------------------------------------------------ execution
def _in_process(fn, todo, seeds, pass_seed, accept):
    for point, seed in zip(todo, seeds):
        accept(*compute_point(fn, point, seed, pass_seed))


#: points shorter than this are sent to Dask workers in batches lasting about this long
BATCH_SECONDS = 0.1


def compute_remote(payload: bytes, items: list, pass_seed: bool) -> list:
    """:func:`compute_point` for a Dask worker: ``items`` is a list of ``(point, seed)``
    pairs (usually one) and ``fn`` arrives as pickled bytes.

    Unpickling ``fn`` here, inside the task, turns "the worker cannot import fn" into an
    answer the client can report; left to Dask it would stall the task.
    """
    import pickle

    try:
        fn = pickle.loads(payload)
    except Exception as exc:
        return [({"status": "unloadable", "error": f"{type(exc).__name__}: {exc}"}, {})]
    return [compute_point(fn, point, seed, pass_seed) for point, seed in items]


def _cannot_run(fn, why: str) -> RuntimeError:
    return RuntimeError(
        f"fn: {_name(fn)} could not run on the Dask workers ({why}). Workers must be able to "
        "import fn: use a function from a package installed on the workers (or "
        "functools.partial of one), or a function defined in the notebook or script itself.")


def _killed(point, seed, exc) -> dict:
    return {"key": point_key(point), "point": point, "seed": seed, "status": "error",
            "result": {}, "seconds": None, "error": f"KilledWorker: {exc}",
            "traceback": "every worker that ran this point died (out of memory? a crash in "
                         "native code?)\n" + str(exc),
            "finished": datetime.now(UTC).isoformat(timespec="milliseconds")}


def _on_dask(client, fn, todo, seeds, pass_seed, accept):
    """Run the points on Dask workers; ``accept`` each ``(record, arrays)`` as it arrives.

    The first points go one per task. Once the first results are in, points that took less
    than :data:`BATCH_SECONDS` are grouped so that a task lasts about that long (Dask's
    per-task overhead is a few milliseconds; this keeps it small for quick functions while
    every point is still written within a fraction of a second). All remaining tasks are
    then submitted at once, so the scheduler (and an adaptive cluster) sees the whole queue.

    Worker death: the scheduler reruns the tasks of a dead worker elsewhere; only this
    process writes, once per point, so a rerun point is never written twice. A task that
    Dask gives up on (``KilledWorker``: its workers kept dying) is split into single
    points; a point blamed once is retried alone, and a point blamed twice is recorded as
    failed, so that points that only shared a worker with a crashing one are not.
    """
    try:
        import cloudpickle
        from distributed import CancelledError, as_completed
        from distributed.scheduler import KilledWorker
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("client: running on Dask needs dask.distributed; install the "
                          "cluster extra: pip install 'dynalens[cluster]'") from None

    # the workers must have the toolkit; a task they cannot unpickle would hang, not fail
    answers = client.run(exec, "import toolkit.sweep", on_error="return")
    broken = {w: a for w, a in answers.items() if isinstance(a, BaseException)}
    if broken:
        worker, exc = next(iter(broken.items()))
        raise RuntimeError(f"client: {len(broken)} worker(s) cannot import the toolkit ("
                           f"{worker}: {type(exc).__name__}: {exc}); install dynalens (and the "
                           "packages fn needs) in the workers' environment")
    try:
        payload = cloudpickle.dumps(fn)  # by reference if importable, else by value
    except Exception as exc:
        raise TypeError(f"fn: cannot be sent to Dask workers ({type(exc).__name__}: {exc})") \
            from None

    token = uuid.uuid4().hex[:8]
    short = _name(fn).rpartition(".")[2].replace("-", "_").strip("<>") or "point"
    nthreads = max(1, sum(client.nthreads().values()))
    # results are fetched here, not by as_completed(with_results=True): when a worker dies
    # between a task finishing and its result being gathered, that gather raises inside
    # as_completed's own bookkeeping and the future is never yielded (the sweep hangs)
    done = as_completed([], loop=client.loop)
    which: dict = {}  # task key -> its (point, seed) items
    pending: set = set()
    serial = itertools.count()
    strikes: dict[str, int] = {}  # point key -> times Dask declared it KilledWorker
    suspects: collections.deque = collections.deque()  # points blamed once, to run alone
    suspect = [None]  # key of the suspect task running now

    def submit(batches):
        # explicit keys: readable on the dashboard, unique per call and per attempt so that
        # a previous (interrupted or failed) task is never mistaken for this one
        keys = [f"{short}-{point_key(b[0][0])}-{token}{next(serial)}" for b in batches]
        futures = client.map(compute_remote, [payload] * len(batches), batches,
                             [pass_seed] * len(batches), key=keys, pure=False)
        for f, b in zip(futures, batches):
            which[f.key] = b
        pending.update(futures)
        done.update(futures)
        return [f.key for f in futures]

    items = list(zip(todo, seeds))
    n_first = 2 * nthreads
    rest = items[n_first:]
    submit([[it] for it in items[:n_first]])
    durations: list[float] = []
    try:
        for batch in done.batches():
            for fut in batch:
                pending.discard(fut)
                group = which.pop(fut.key)
                try:
                    # a result lost with its worker is recomputed; this waits for that
                    answer, exc = fut.result(), None
                except CancelledError:
                    raise RuntimeError("client: the sweep's tasks were cancelled (did the "
                                       "cluster shut down?); run again to resume") from None
                except Exception as error:
                    exc = error
                if exc is not None:
                    if not isinstance(exc, KilledWorker):
                        raise _cannot_run(fn, f"{type(exc).__name__}: {exc}") from exc
                    if len(group) > 1:  # find the culprit: one point per task
                        submit([[it] for it in group])
                        continue
                    # Dask also blames tasks that merely waited on a dying worker. A point
                    # blamed once becomes a suspect; suspects run one at a time, so a
                    # second blame can only be its own doing, and that records it as failed
                    pk = point_key(group[0][0])
                    strikes[pk] = strikes.get(pk, 0) + 1
                    if fut.key == suspect[0]:
                        suspect[0] = None
                    if strikes[pk] < 2:
                        suspects.append(group[0])
                        continue
                    answer = [(_killed(*group[0], exc), {})]
                elif fut.key == suspect[0]:
                    suspect[0] = None
                for record, arrays in answer:
                    if record["status"] == "unloadable":
                        raise _cannot_run(fn, record["error"])
                    if record.get("seconds") is not None:
                        durations.append(record["seconds"])
                    accept(record, arrays)
            if suspects and suspect[0] is None:
                suspect[0] = submit([[suspects.popleft()]])[0]
            if rest and (len(durations) >= nthreads or not pending):
                typical = sorted(durations)[len(durations) // 2] if durations else 1.0
                size = int(BATCH_SECONDS / max(typical, 1e-6))
                size = max(1, min(size, len(rest) // (4 * nthreads)))  # keep the tail balanced
                submit([rest[i:i + size] for i in range(0, len(rest), size)])
                rest = []
    finally:
        if pending:
            client.cancel(list(pending))


def run(fn, grid, store, client=None, *, retry_failed: bool = False, progress: bool = True,
        desc: str | None = None):
    """Run ``fn(**point)`` for every point of ``grid``, saving each result under ``store``.

    Parameters
    ----------
    fn : a function (or ``functools.partial`` of one, or a dotted name such as
        ``"toolkit.sweep.tasks.alrnn_point"``) returning a dict of results: numbers,
        strings, booleans or None are stored in the point's JSON record; numpy arrays,
        torch tensors and lists of numbers are stored with ``toolkit.io`` next to it.
    grid : a dict of lists (every combination) or a list of dicts (the points).
    store : a folder. Each finished point is written there at once and atomically; a
        re-run with the same ``fn`` and parameters computes only the points that have no
        record yet. A folder holding another sweep is an error (see ``StoreMismatch``).
    client : None runs the points here, one after another. A ``dask.distributed.Client``
        runs them on its workers (a ``LocalCluster``, a dask-jobqueue ``SLURMCluster`` /
        ``PBSCluster``, or ``Client("tcp://scheduler:8786")``). Workers send each result
        back and this process writes it, so the store need not be on a filesystem the
        workers can see, and a point is written exactly once even when a worker dies and
        the scheduler reruns its task elsewhere. Points that take under
        ``BATCH_SECONDS`` (0.1 s) are grouped into tasks of about that length, to keep
        Dask's per-task overhead small.
    retry_failed : compute again the points whose record says they failed.
    progress, desc : show a progress bar (``tqdm.auto``: a widget in notebooks, text
        otherwise), labelled ``desc`` (default: the function's name).

    Seeds: if ``fn`` has a ``seed`` argument (not already fixed by a partial) and the grid
    has no ``seed`` parameter, each point gets ``seed = point_seed(point)``, the first
    32 bits of its key (SHA-256 of the point's canonical JSON). The same point therefore
    computes the same on any machine, in process or on any worker. Put ``seed`` in the
    grid to choose seeds yourself (e.g. ``seed=[0, 1, 2]`` for repeats).

    Failures: an exception raised by ``fn`` is recorded (message and traceback) and the
    other points go on; a result that cannot be stored raises a TypeError at once, since
    ``fn`` needs fixing. A point whose workers kept dying (Dask's ``KilledWorker``) is
    recorded as failed.

    Returns
    -------
    pandas.DataFrame with one row per grid point, in grid order: the parameters, the
    result scalars, then ``status`` ("ok" or "error"), ``error``, ``traceback``, ``seed``,
    ``seconds``, ``key`` and ``arrays`` (path of the point's arrays or None; read them with
    :func:`load_arrays`). ``df.attrs["store"]`` holds the folder.
    """
    fn = _resolve(fn)
    points = expand_grid(grid)
    params = list(points[0])
    clash = [p for p in params if p in META_COLUMNS and p != "seed"]
    if clash:
        raise ValueError(f"grid: parameter {clash[0]!r} clashes with a column the sweep adds "
                         f"({', '.join(META_COLUMNS)}); rename it")
    sig = _signature(fn)
    pass_seed = "seed" not in params and _takes_seed(fn, sig)
    _check_call(fn, sig, points[0], pass_seed)
    if client is not None and not hasattr(client, "submit"):
        raise TypeError(f"client: expected a dask.distributed.Client or None, got "
                        f"{type(client).__name__}")

    st = SweepStore.open(Path(store), _identity(fn, params))
    records, broken = st.records()
    keys = [point_key(p) for p in points]
    redo = set(broken)
    if retry_failed:
        redo |= {k for k in keys if k in records and records[k]["status"] != "ok"}
    todo = [p for p, k in zip(points, keys) if k not in records or k in redo]
    seeds = [int(p["seed"]) if "seed" in params and isinstance(p["seed"], numbers.Integral)
             else point_seed(p) for p in todo]

    from tqdm.auto import tqdm

    bar = tqdm(total=len(points), initial=len(points) - len(todo), unit="point",
               desc=desc or _name(fn).rpartition(".")[2], disable=not progress,
               dynamic_ncols=True)
    n_failed = sum(1 for k in keys if k in records and k not in redo
                   and records[k]["status"] != "ok")

    def accept(record, arrays):
        nonlocal n_failed
        if record["status"] == "invalid":
            exc = ValueError if record.get("exc_type") == "ValueError" else TypeError
            raise exc(record["error"])
        key = record["key"]
        stored = st.write(record, arrays, replace=key in redo)
        if stored is None:  # another process recorded it meanwhile: keep theirs
            stored = st.records()[0].get(key, record)
        records[key] = stored
        n_failed += stored["status"] != "ok"
        bar.update(1)
        if n_failed:
            bar.set_postfix(failed=n_failed, refresh=False)

    try:
        if todo:
            if client is None:
                _in_process(fn, todo, seeds, pass_seed, accept)
            else:
                _on_dask(client, fn, todo, seeds, pass_seed, accept)
    finally:
        bar.close()

    frame = records_frame([records[k] for k in keys], params, st)
    if n_failed:
        warnings.warn(f"{n_failed} of {len(points)} points failed; see the 'error' and "
                      "'traceback' columns (df[df.status != 'ok']). Pass retry_failed=True "
                      "to compute them again.", RuntimeWarning, stacklevel=2)
    return frame
