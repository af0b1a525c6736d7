"""The one training-loop shape shared by every trainer (AL-RNN, HMM-RNN, grokking).

A trainer supplies a ``step(i) -> loss`` function that performs one optimisation step;
:func:`fit` runs it with probes at a logging interval, a progress bar, divergence checks,
last-good and best-state keeping, optional checkpoints and a live-plot callback, and
returns a :class:`~toolkit.probes.ProbeHistory`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ._checks import positive
from .probes.core import HistoryRecorder, Probe, ProbeHistory

__all__ = ["fit", "TrainingDiverged", "snapshot", "restore"]


class TrainingDiverged(RuntimeError):
    """Training stopped because the loss or the parameters stopped being finite or exploded.

    The model has been restored to its last good state; ``history`` holds everything
    logged up to the failure, ``step`` the step at which it happened.
    """

    def __init__(self, message: str, history: ProbeHistory, step: int):
        super().__init__(message)
        self.history = history
        self.step = step


def snapshot(model) -> dict:
    """A detached copy of a module's state (cheap for the toolkit's small models)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def restore(model, state: dict):
    model.load_state_dict(state)
    return model


def _finite_params(model) -> bool:
    import torch

    return all(bool(torch.isfinite(p).all()) for p in model.parameters())


def fit(
    step: Callable[[int], float],
    model,
    n_steps: int,
    *,
    probes: Sequence[Probe] = (),
    data=None,
    log_every: int = 100,
    score: Callable | None = None,
    score_every: int | None = None,
    restore_best: bool = True,
    max_loss: float | None = None,
    on_divergence: str = "raise",
    checkpoint_every: int | None = None,
    checkpoint_dir: str | Path | None = None,
    on_log: Callable[[int, dict], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    progress: bool = True,
    desc: str = "training",
    meta: dict | None = None,
) -> ProbeHistory:
    """Run ``step(i)`` for i = 0..n_steps−1 and return the logged history.

    Parameters
    ----------
    step : performs one optimisation step and returns its loss (float or 0-d tensor).
    model : the torch module being trained (for probes, snapshots, checkpoints).
    probes, data : each probe is called as ``probe(model, data)`` every ``log_every`` steps
        (and at the last step). The loss of the logged step is recorded as ``"loss"``.
    score : optional ``score(model) -> float`` (lower is better), logged as ``"score"``
        every ``score_every`` steps; with ``restore_best`` the best-scoring state is
        loaded into the model at the end.
    max_loss : a loss above this counts as divergence (NaN/inf always does).
    on_divergence : "raise" (default) raises :class:`TrainingDiverged`; "stop" returns the
        history with ``meta["stop_reason"] == "diverged"``. Either way the model holds its
        last good state (parameters finite, loss finite, at a logged step).
    checkpoint_every, checkpoint_dir : save the model with ``toolkit.io`` every so many
        steps as ``step_0001000.safetensors``; existing files are never overwritten.
    on_log : ``on_log(step, values)`` after each logging step (e.g. ``LiveCurves.update``).
    should_stop : polled every step; True ends training early ("stopped").
    """
    n_steps = positive(n_steps, "n_steps", integer=True)
    log_every = positive(log_every, "log_every", integer=True)
    score_every = log_every if score_every is None else positive(score_every, "score_every",
                                                                  integer=True)
    if on_divergence not in ("raise", "stop"):
        raise ValueError(f"on_divergence: choose 'raise' or 'stop', got {on_divergence!r}")
    for p in probes:
        if not isinstance(p, Probe):
            raise TypeError(f"probes: expected Probe objects, got {type(p).__name__}")
    ckpt_dir = None
    if checkpoint_every is not None:
        positive(checkpoint_every, "checkpoint_every", integer=True)
        if checkpoint_dir is None:
            raise ValueError("checkpoint_dir: required when checkpoint_every is set")
        ckpt_dir = Path(checkpoint_dir)
        clash = [ckpt_dir / _ckpt_name(s) for s in range(checkpoint_every, n_steps + 1,
                                                          checkpoint_every)]
        clash = [p for p in clash if p.exists()]
        if clash:
            raise FileExistsError(f"checkpoint_dir: {clash[0]} already exists; choose a new "
                                  "folder (checkpoints are never overwritten)")

    from tqdm.auto import tqdm

    recorder = HistoryRecorder()
    # A state is good once the loss computed *from* it (at the next step) was finite: keep
    # the latest snapshot and the one before, since the latest may be the one that failed.
    good = (0, snapshot(model))
    previous = good
    best_state, best_score, best_step = None, math.inf, None
    reason = "completed"
    t_start = time.perf_counter()
    probe_time = 0.0
    bar = tqdm(total=n_steps, desc=desc, disable=not progress, leave=True)
    failed_step = None
    n_log = 0
    message = None

    def record(done, loss, is_log, is_score, last):
        """Log probes / score at step ``done``; True when the parameters went non-finite."""
        nonlocal n_log, best_score, best_step, best_state, probe_time
        nonlocal reason, failed_step, message, good, previous
        t0 = time.perf_counter()
        values = {"loss": loss}
        if is_log:
            n_log += 1
            for p in probes:
                if (n_log - 1) % p.every == 0 or last:
                    values.update(p(model, data))
        if is_score:
            s = float(score(model))
            values["score"] = s
            if math.isfinite(s) and s < best_score:
                best_score, best_step, best_state = s, done, snapshot(model)
        probe_time += time.perf_counter() - t0
        if not _finite_params(model):
            reason, failed_step = "diverged", done
            recorder.log(done, values)
            message = (f"training diverged at step {done}: parameters are no longer "
                       f"finite. The model holds its last good state (step {good[0]}).")
            return True
        previous, good = good, (done, snapshot(model))
        recorder.log(done, values)
        bar.set_postfix(loss=f"{loss:.4g}", refresh=False)
        if on_log is not None:
            on_log(done, values)
        return False

    try:
        for i in range(n_steps):
            loss = step(i)
            loss = float(loss.item() if hasattr(loss, "item") else loss)
            bar.update(1)
            done = i + 1
            bad = not math.isfinite(loss) or (max_loss is not None and loss > max_loss)
            if bad:
                reason, failed_step = "diverged", done
                why = "not finite" if not math.isfinite(loss) else f"above max_loss={max_loss:g}"
                recorder.log(done, {"loss": loss})
                if good[0] >= done - 1:
                    good = previous
                message = (f"training diverged at step {done}: loss {loss:.4g} is {why}. "
                           f"The model holds its last good state (step {good[0]}); try a "
                           "smaller learning rate or stronger gradient clipping.")
                break
            is_log = done % log_every == 0 or done == n_steps
            is_score = score is not None and (done % score_every == 0 or done == n_steps)
            if (is_log or is_score) and record(done, loss, is_log, is_score, done == n_steps):
                break
            if ckpt_dir is not None and done % checkpoint_every == 0:
                from . import io

                io.save(model, ckpt_dir / _ckpt_name(done), metadata={"step": done})
            if should_stop is not None and should_stop():
                reason = "stopped"
                # a run stopped between logs still logs and scores its last step, so it
                # reports where it ended and always has a best state to restore
                need_score = score is not None and not is_score
                if not is_log or need_score:
                    record(done, loss, not is_log, need_score, True)
                break
    finally:
        bar.close()

    if reason == "diverged":
        restore(model, good[1])
    elif best_state is not None and restore_best:
        restore(model, best_state)
    info = dict(meta or {})
    info.update(stop_reason=reason, steps_run=int(failed_step or done),
                seconds=time.perf_counter() - t_start, probe_seconds=probe_time,
                best_step=best_step, best_score=best_score if best_step else None)
    history = recorder.freeze(info)
    if reason == "diverged":
        if on_divergence == "raise":
            raise TrainingDiverged(message, history, failed_step)
        import warnings

        warnings.warn(message, RuntimeWarning, stacklevel=2)
    return history


def _ckpt_name(step: int) -> str:
    return f"step_{step:07d}.safetensors"

