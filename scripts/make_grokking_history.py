"""Train Nanda et al.'s one-layer transformer on (a + b) mod p and save its probe history.

    python scripts/make_grokking_history.py            # p = 113, 15k epochs (1-2 h, 1 CPU thread)
    python scripts/make_grokking_history.py --quick    # p = 59, 2.5k epochs (minutes)
    python scripts/make_grokking_history.py --from-checkpoints DIR   # redo only the Fourier pass

Recipe (Nanda et al. 2023): 1 layer, d = 128, 4 heads, d_mlp = 512, ReLU, no LayerNorm,
30% of the p² pairs for training, full batch, AdamW lr 1e-3, wd 1, β = (0.9, 0.98),
10-step linear warm-up, cross-entropy in float64. Seeded: the same command gives the same
file.

Two passes. Training logs loss and accuracy on train and test, and the weight norms, every
``--log-every`` epochs and keeps a checkpoint every ``--fourier-every`` epochs. The Fourier
pass then loads each checkpoint and adds the Fourier probes (embedding Gini, key
frequencies, restricted and excluded losses, ...) at those steps. The merged
:class:`toolkit.probes.ProbeHistory` is saved with ``toolkit.io.save`` (the full run into
``toolkit/grokking/data/``, with the final model beside it).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "toolkit" / "grokking" / "data"
HISTORY_NAME = "nanda_transformer_p113.safetensors"
MODEL_NAME = "nanda_transformer_p113_model.safetensors"


def parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small run for a smoke test")
    ap.add_argument("--p", type=int, default=None)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--fourier-every", type=int, default=None)
    ap.add_argument("--checkpoint-dir", type=Path, default=None,
                    help="where checkpoints go (default: a fresh temporary folder)")
    ap.add_argument("--from-checkpoints", type=Path, default=None,
                    help="skip training: read the phase-1 history and checkpoints from DIR")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--overwrite", action="store_true")
    ap.add_argument("--progress", action="store_true")
    args = ap.parse_args(argv)
    if args.p is None:
        args.p = 59 if args.quick else 113
    if args.epochs is None:
        args.epochs = 2500 if args.quick else 15000
    if args.fourier_every is None:
        args.fourier_every = 250 if args.quick else 100
    if args.out is None:
        args.out = (Path(tempfile.gettempdir()) / "nanda_transformer_quick.safetensors"
                    if args.quick else DATA / HISTORY_NAME)
    return args


def train_phase(args, task, ckpt_dir: Path):
    from toolkit import probes
    from toolkit.grokking.models import Transformer
    from toolkit.grokking.train import train

    model = Transformer(args.p, 128, 4, 512, activation="relu", seed=args.seed)
    tick = {"t": time.time()}

    def report(step, values):
        if step % (10 * args.log_every) == 0:
            now = time.time()
            print(f"epoch {step:6d}  train loss {values.get('train/loss', np.nan):.3g}  "
                  f"test loss {values.get('test/loss', np.nan):.3g}  test acc "
                  f"{values.get('test/accuracy', np.nan):.3f}  "
                  f"({now - tick['t']:.0f} s)", flush=True)
            tick["t"] = now

    history = train(
        model, task.splits(), args.epochs, optimizer="adamw", lr=args.lr, weight_decay=1.0,
        betas=(0.9, 0.98), warmup_steps=10, seed=args.seed,
        probes=[probes.loss_and_accuracy(), probes.weight_norm(per_parameter=True)],
        log_every=args.log_every, on_log=report, progress=args.progress,
        meta=dict(model="Transformer", task="add", p=args.p, train_fraction=0.3,
                  data_seed=args.seed, epochs=args.epochs, script="make_grokking_history.py"),
        checkpoint_every=args.fourier_every, checkpoint_dir=ckpt_dir)
    return model, history


def fourier_phase(history, task, ckpt_dir: Path):
    """Fourier probes at every checkpoint, with the key frequencies of the final model
    (as Nanda et al. do for the restricted and excluded losses)."""
    import toolkit as tk
    from toolkit.grokking.fourier import (
        fourier_probe,
        key_frequencies_of_logits,
        model_logits,
        neuron_frequencies,
    )

    files = sorted(ckpt_dir.glob("step_*.safetensors"))
    if not files:
        return history, None
    final = tk.io.load(files[-1])
    # key frequencies as Nanda et al.: those of the final model's single-frequency neurons
    keys = [int(k) for k in neuron_frequencies(final).key]
    probe = fourier_probe(task, frequencies=keys, activation="relu")
    data = task.splits()
    extra = {}
    for path in files:
        extra[int(path.stem.split("_")[1])] = probe(tk.io.load(path), data)
    merged = merge(history, extra)
    logit_keys = key_frequencies_of_logits(model_logits(final), task.p)
    meta = dict(merged.meta, key_frequencies=keys,
                logit_key_frequencies=[int(k) for k in logit_keys])
    return type(merged)(merged.steps, merged.values, meta), final


def merge(history, extra: dict):
    """The history with ``extra[step] = {name: value}`` added (new steps inserted in order)."""
    from toolkit.probes import ProbeHistory

    steps = sorted(set(history.steps.tolist()) | set(extra))
    index = {s: i for i, s in enumerate(steps)}
    names = list(history.values) + sorted({k for row in extra.values() for k in row}
                                          - set(history.values))
    values = {n: np.full(len(steps), np.nan) for n in names}
    for n, v in history.values.items():
        values[n][[index[s] for s in history.steps.tolist()]] = v
    for s, row in extra.items():
        for n, v in row.items():
            values[n][index[s]] = v
    return ProbeHistory(np.array(steps, dtype=np.int64), values, dict(history.meta))


def main(argv=None):
    args = parse(argv)
    torch.set_num_threads(args.threads)
    import toolkit as tk
    from toolkit.grokking.tasks import modular_task

    if args.out.exists() and not args.overwrite:
        sys.exit(f"{args.out} exists; pass --overwrite to replace it")
    task = modular_task("add", args.p, 0.3, seed=args.seed)
    t0 = time.time()
    if args.from_checkpoints is not None:
        ckpt_dir = args.from_checkpoints
        history = tk.io.load(ckpt_dir / "phase1_history.safetensors")
    else:
        ckpt_dir = args.checkpoint_dir or Path(tempfile.mkdtemp(prefix="nanda_ckpt_"))
        print(f"checkpoints in {ckpt_dir}", flush=True)
        _, history = train_phase(args, task, ckpt_dir)
        tk.io.save(history, ckpt_dir / "phase1_history.safetensors", overwrite=True)
    print(f"training done in {time.time() - t0:.0f} s; Fourier pass ...", flush=True)
    t1 = time.time()
    history, model = fourier_phase(history, task, ckpt_dir)
    # meta["seconds"] is the training time (from fit); add the Fourier pass's
    meta = dict(history.meta, fourier_pass_seconds=time.time() - t1)
    history = type(history)(history.steps, history.values, meta)
    tk.io.save(history, args.out, overwrite=args.overwrite)
    if model is not None and not args.quick:
        tk.io.save(model, args.out.with_name(MODEL_NAME), overwrite=args.overwrite)
    print(f"saved {args.out} ({args.out.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
