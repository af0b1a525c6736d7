"""Make the emulators shipped in toolkit/hmmrnn/pretrained/ (seeded, rerunnable).

    python scripts/make_hmmrnn_pretrained.py                  # all four, one after another
    python scripts/make_hmmrnn_pretrained.py linear_chain_2   # one
    python scripts/make_hmmrnn_pretrained.py --out /tmp/x     # somewhere else

Each emulator is trained from scratch with ``tk.hmmrnn.train`` (statistics objective,
see its docstring) and saved with ``tk.io`` together with how it was made and its
``compare`` figures (2,000 sequences). The 2-state chain also keeps its training
checkpoints (``linear_chain_2_checkpoints/``) for the training-evolution analysis.
One thread per job, as on the shared 2-core machine it was made on.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "toolkit" / "hmmrnn" / "pretrained"

#: network size, seed, steps and trainer settings per emulator (the reference's size:
#: hidden 150, noise 100).
#:
#: Kick neurons (the 2-state recipe below ends this search): in the 2-state emulator
#: trained plainly (shipped until 2026-11-22), silencing the recurrent input of the
#: detected kick set (8 units) cuts the switch rate by 26%, random sets of 8 raise it by a
#: median 16%: the trigger is spread over the population. Most of that 26% is the rare symbol: its
#: frequency falls from 0.0097 to 0.0037, while switches between the two frequent symbols
#: (rare symbol removed) fall only from 0.048 to 0.042 (500 sequences). Variants of the
#: 2-state recipe tried to concentrate it (1,500 steps each, detector and 20 control sets
#: of the same size):
#:   hidden 50: kick −32%, controls +44%;  noise dimension 10: −19%, +20%;
#:   L1 on W_hh (``l1_recurrent``) 1e-5: −16%, +12% (emulation bars met);
#:   1e-4: −8% (switch rate 26% off);
#:   group penalty on the rows of W_in (``l1_input``: few units take noise) 1e-3: −37%, +29%;
#:   3e-3: −40%, +23% (bigram 0.028 off); 1e-2: −51%, +31% (bigram 0.070 off);
#:   3e-3 with L1 on W_hh 1e-5: −26%, +18%;
#:   Sinkhorn fine-tuning of the shipped model at batch 1024: lost the temporal structure.
#: So the trigger concentrates when noise enters through few units, but the network then
#: gets fragile to any ablation and emulates worse. A robustness term answers the second
#: half (``dropout_units``: half of each batch runs with a fresh random set of units'
#: recurrent input silenced, both halves matched to the HMM; kick set size, kick set
#: change, random sets' median change):
#:   dropout 8: 8, −22%, +2.5% (bigram 0.023);  8 with group 1e-3: 6, −19%, +9%;
#:   8 with group 1e-2: 4, −17%, +2%;  16 with group 3e-3: 5, −34%, +3% (bigram 0.027);
#:   the same with network seed 1: 3, −24%, +1% (switch rate 12% off);
#:   16 with group 1e-2: 7, −39%, +5% (switch rate 10% off, bigram 0.039);
#:   32 with group 3e-3: 6, −23%, +2%;  32 with group 1e-2: 3, −13%, +0.3% (emulation off);
#:   (dropout applied to the whole batch instead of half: 9, −23%, +16%: the intact
#:   network is then the one it never trained on).
#: Letting the detector go on to smaller steps (``min_step=0.005``) on the "16 with group
#: 3e-3" network: 10 units −43% / +10%, 13 units −49% by the detector's own measure;
#: the "16 with group 1e-2" network saturates at −40% (8 units).
#: Training longer (2,500 steps) spreads it again: 16 with group 1e-2: 4, −18%, +2%;
#: 16 with group 5e-3: 4, −17%, +2% (switch rate 10% off; both bigram > 0.03).
#: More of the same: 24 with group 3e-3: 4, −25%, +1% (switch rate 12% off); 16 with
#: group 3e-3, network seed 2: 4, −14%, +3% (bigram 0.072); hidden 50 with dropout 5:
#: 3, −15%, +7%; the same with group 3e-3: 3, −20%, +7%.
#: Without the detector's stopping rule (greedy to 20 units, 512 sequences), on "16 with
#: group 3e-3": 10 units −42% / +8%, 12 −45% / +14%, 15 −49% / +14%, 18 −50% / +22%;
#: on "dropout 8": 15 units −36% / +34%. The shipped run's own earlier checkpoints (steps
#: 350–1,000) give 8 units −22 to −27% with controls +23 to +42%: the share does not
#: peak earlier in training. A continuous relaxation of the detector (per-unit gains in
#: (0, 1) fitted by gradient with an L1 cost on 1 − gain, then thresholded) found weaker
#: sets than the greedy search (13 units −25% on the shipped model).
#: Random ablations stop mattering, but the kick set's share stays at 17–40%, and none
#: of these variants meets both halves of the bar with the emulation bars: none is shipped.
#: A second stage that retrains only the readout (``train(..., parameters="readout")``,
#: χ² on words of 3, lr 3e-3, seed 9; the dynamics, and so the kick neurons, stay as the
#: first stage left them) repairs much of what the penalties cost the emulation. Greedy
#: sets (512 sequences) against 20 random sets of the same size, 500 fresh sequences:
#:   "16 with group 3e-3" + 2,000 readout steps: switch rate −1%, bigram median 0.0199
#:     (0.0375 before), marginals 0.003, log-likelihood gap 0.001; 15 units −52% / +16%,
#:     12 units −47% / +10%; the detector with ``min_step=0.005`` stops at 13 units:
#:     −49% / +8 to +12% on three noise seeds;
#:   "16 with group 1e-2" + 1,000 readout steps (seed 5): 8 units −51% / +4%, 10 units
#:     −54% / +4%, but bigram 0.026; with 3,000 steps (seed 9) bigram 0.021 (0.023–0.027
#:     with words of 2 or 4), dwell-time TV 0.12, and the detector's default set (6 units)
#:     −44 to −48%.
#:   In both the rare symbol comes in bursts, P(1 | 1) 0.026–0.031 (shipped model 0.016,
#:   HMM 0.01): that is the bigram error, and a linear readout without bias cannot undo it.
#:   Also tried: the noise weights retrained with the readout (group penalty kept): no
#:   better; all weights retrained (300 steps, lr 3e-4 or 1e-3): the trigger spreads again
#:   (15 units −37 to −41%); group 5e-3 or words of 3 in the first stage: weak kick sets
#:   (15 units −40%; 2 units −15%).
#: So the first network meets the 2-state emulation bars (narrowly) and the second has a
#: kick set that meets the kick bar, but neither does both.
#: Shipped (2-state chain): dropout 16 with group 7e-3 (1,500 steps), then 4,000 readout
#: steps with the χ² weights of rare words undamped (``soften=1e-4``; the default 0.01
#: damps the weight of P(1, 1) ≈ 1e-4 twelvefold, so the rare symbol's bursts and its
#: split between the clusters cost almost nothing). The detector's default set is 4 units;
#: silencing them changes the switch rate by −52 to −57% on three fresh noise seeds
#: (500 sequences, 20 random sets of 4: medians −2 to +2%, of absolute changes 2–4%);
#: emulation: switch rate −3%, bigram median 0.010, marginals 0.008. The same
#: readout stage with the default softening left the bigram at 0.024 (0.022 with 1e-4 and
#: 2,000 steps).
#: ``keep``: the checkpoint steps shipped (dense early, where the
#: mechanism appears; ~150 KB each).
CONFIGS = {
    "linear_chain_2": dict(n_hidden=150, n_noise=100, seed=0, n_steps=1500,
                           checkpoint_every=50, keep=[*range(0, 550, 50), 750, 1000, 1250, 1500],
                           train=dict(dropout_units=16, l1_input=7e-3),
                           readout=dict(n_steps=4000, lr=3e-3, word_length=3,
                                        divergence="chi2", soften=1e-4, seed=9)),
    "linear_chain_3": dict(n_hidden=150, n_noise=100, seed=0, n_steps=1500, train=dict()),
    "fully_connected_3": dict(n_hidden=150, n_noise=100, seed=0, n_steps=1500, train=dict()),
    "cyclic_4": dict(n_hidden=150, n_noise=100, seed=0, n_steps=1500, train=dict()),
}


def train_recipe(rnn, hmm, cfg: dict, progress: bool = False, **first_stage):
    """Train ``rnn`` in place by the recipe ``cfg`` (one of CONFIGS): the first stage,
    then, if the recipe has one, the readout-only stage. Returns the first stage's history."""
    import toolkit.hmmrnn as hr

    history = hr.train(rnn, hmm, cfg["n_steps"], seed=cfg["seed"], progress=progress,
                       **first_stage, **cfg["train"])
    if cfg.get("readout"):  # second stage: the emission map only, dynamics fixed
        readout = dict(cfg["readout"])
        hr.train(rnn, hmm, readout.pop("n_steps"), parameters="readout", progress=progress,
                 **readout)
    return history


def make(name: str, out: Path, threads: int = 1, progress: bool = True) -> dict:
    import toolkit as tk
    import toolkit.hmmrnn as hr

    torch.set_num_threads(threads)
    cfg = CONFIGS[name]
    hmm = hr.make_hmm(name)
    rnn = hr.NoiseRNN(cfg["n_hidden"], cfg["n_noise"], hmm.n_symbols, seed=cfg["seed"])
    ckpt = None
    if cfg.get("checkpoint_every"):
        ckpt = out / f"{name}_checkpoints_all"
        if ckpt.exists():
            shutil.rmtree(ckpt)
    t0 = time.perf_counter()
    history = train_recipe(rnn, hmm, cfg, progress=progress,
                           checkpoint_every=cfg.get("checkpoint_every"), checkpoint_dir=ckpt)
    seconds = time.perf_counter() - t0
    em = hr.compare(rnn, hmm, n_sequences=2000, seed=12345)
    info = {"hmm": name, "n_hidden": cfg["n_hidden"], "n_noise": cfg["n_noise"],
            "seed": cfg["seed"], "n_steps": cfg["n_steps"], "train": cfg["train"],
            "readout": cfg.get("readout"),
            "threads": threads, "seconds": round(seconds, 1),
            "best_step": history.meta.get("best_step"),
            "errors": {k: round(float(v), 5) for k, v in em.errors().items()},
            "passes": {k: bool(v) for k, v in em.passes().items()},
            "switch_rate": round(em.switch_rate_rnn, 5),
            "log_likelihood": round(em.log_likelihood_rnn, 5),
            "made_by": "scripts/make_hmmrnn_pretrained.py"}
    out.mkdir(parents=True, exist_ok=True)
    tk.io.save(rnn, out / f"{name}.safetensors", overwrite=True, metadata=info)
    if ckpt is not None:
        shipped = out / f"{name}_checkpoints"
        if shipped.exists():
            shutil.rmtree(shipped)
        shipped.mkdir()
        for step in cfg["keep"]:
            src = ckpt / f"step_{step:07d}.safetensors"
            shutil.copy2(src, shipped / src.name)
        shutil.rmtree(ckpt)
    return info


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", default=list(CONFIGS))
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    for name in args.names:
        if name not in CONFIGS:
            parser.error(f"unknown emulator {name!r}; choose from {list(CONFIGS)}")
    for name in args.names:
        info = make(name, args.out, args.threads)
        print(json.dumps(info), flush=True)


if __name__ == "__main__":
    main()
