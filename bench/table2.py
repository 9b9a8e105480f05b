"""The paper's Table 2 on this machine: what the encoder learns by inpainting, measured by
transfer to a labelled task, against random weights, an autoencoder and a supervised
ceiling.

Every pretrained row is the same architecture (the shipped models': 128 px, channel-wise
bottleneck, ``--width``) trained with the same budget (``--steps`` x ``--batch-size``
unlabelled facades of the train split, reconstruction loss only, as the paper trained for
features):

  * ``ce-region``: a Context Encoder with the paper's random-region masks
    (``train --mask region --lambda-adv 0``);
  * ``ce-center``: a Context Encoder with the center hole (``train --mask center
    --lambda-adv 0``);
  * ``autoencoder``: the same network with no hole, reconstructing its whole input
    (``train --mask none --lambda-adv 0``);
  * ``random``: the paper's Gaussian init, drawn anew per seed;
  * ``supervised``: the encoder trained from random weights on every label of the task
    (``--supervised-steps`` steps of ``--batch-size``; the paper's "ImageNet" row);
  * ``shipped``: the encoders of the shipped models (trained far longer, with the
    adversarial loss, for inpainting).

Then ``context-encoder features``' two protocols on the labelled facades (``--attribute``,
default the wall material): a linear probe on frozen features with every label, and
fine-tuning the whole encoder with ``--labels-per-class`` labels per class, ``--seeds``
seeds each.

    python bench/table2.py [--out runs/table2] [--json docs/table2-cpu.json]
    python bench/table2.py --quick        # tiny configurations, for the test suite

The runs are kept under ``--out``; a second call reuses finished pretraining runs and
resumes unfinished ones.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from context_encoder.checkpoint import list_pretrained
from context_encoder.config import ModelConfig, TrainConfig
from context_encoder.features import (
    Encoder,
    Recipe,
    encoder_source,
    facade_set,
    fit_classifier,
    results_table,
    run_transfer,
)
from context_encoder.io.files import atomic_write_text
from context_encoder.training import Trainer

#: name -> the ``train`` options of an unsupervised pretraining row
PRETRAINING = {
    "ce-region": {"mask": "region"},
    "ce-center": {"mask": "center"},
    "autoencoder": {"mask": "none"},
}


def pretrain(name: str, out: Path, args: argparse.Namespace) -> Encoder:
    """Train (or finish, or reuse) one pretraining run; its last checkpoint's encoder."""
    run = out / name
    cfg = TrainConfig(**PRETRAINING[name], lambda_adv=0.0, image_size=args.image_size,
                      bottleneck="channelwise", width=args.width, batch_size=args.batch_size,
                      steps=args.steps, seed=0, out=str(run), val_count=args.val_count,
                      val_every=args.steps, ckpt_every=max(args.steps // 4, 1),
                      sample_every=args.steps, log_every=max(args.steps // 10, 1),
                      progress=False)
    last = run / "last.json"
    if last.exists():  # reuse or resume only a run of these very options
        saved = json.loads((run / "config.json").read_text())["train"]
        asked = vars(cfg)
        differ = sorted(k for k in ("mask", "image_size", "width", "batch_size", "lambda_adv",
                                    "bottleneck", "seed") if saved.get(k) != asked.get(k))
        if differ:
            raise SystemExit(f"{run} was trained with other {', '.join(differ)}; give another "
                             "--out")
    done = last.exists() and json.loads(last.read_text()).get("step") == args.steps
    if not done:
        start = time.perf_counter()
        Trainer(cfg, resume=last.exists()).fit()
        print(f"{name}: {args.steps} steps of {args.batch_size} in "
              f"{time.perf_counter() - start:.0f} s", flush=True)
    return Encoder.from_pretrained(run, which="last")


def supervised(data, args: argparse.Namespace, config: ModelConfig) -> Encoder:
    """The ceiling: the encoder trained from random weights on every label of the task."""
    start = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        encoder = Encoder(config)
    fit_classifier(encoder, data.train, len(data.classes), seed=0,
                   recipe=Recipe(steps=args.supervised_steps, batch_size=args.batch_size))
    encoder.source = "supervised"
    print(f"supervised: {args.supervised_steps} steps of {args.batch_size} in "
          f"{time.perf_counter() - start:.0f} s", flush=True)
    return encoder.eval()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="runs/table2", help="pretraining runs (kept, resumed)")
    p.add_argument("--json", help="write the results here")
    p.add_argument("--attribute", default="wall", help="the facade attribute to classify")
    p.add_argument("--image-size", type=int, default=128)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--steps", type=int, default=2000, help="pretraining steps per row")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--supervised-steps", type=int, default=1000)
    p.add_argument("--val-count", type=int, default=100)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--labels-per-class", type=int, default=10, help="for fine-tuning")
    p.add_argument("--finetune-steps", type=int, default=Recipe.steps)
    p.add_argument("--no-shipped", action="store_true", help="leave the shipped rows out")
    p.add_argument("--quick", action="store_true",
                   help="tiny configurations (the test suite's): seconds, not an hour")
    args = p.parse_args()
    per_class = None
    if args.quick:
        args.image_size, args.width, args.steps, args.supervised_steps = 64, 8, 4, 4
        args.batch_size, args.val_count, args.seeds, args.finetune_steps = 4, 4, 2, 3
        args.no_shipped, per_class = True, {"train": 12, "val": 4, "test": 8}
    start = time.perf_counter()
    out = Path(args.out)
    data = facade_set(args.attribute, args.image_size, per_class)
    print(data.describe(), flush=True)
    encoders = {name: pretrain(name, out, args) for name in PRETRAINING}
    config = encoders["ce-region"].config
    sources = [encoder_source(enc, name=name) for name, enc in encoders.items()]
    sources.insert(0, encoder_source("random", random_config=config))
    sources.append(encoder_source(supervised(data, args, config), name="supervised"))
    if not args.no_shipped:
        sources += [encoder_source(name, name=f"shipped: {name}") for name in list_pretrained()]
    recipe = Recipe(steps=args.finetune_steps)
    results = run_transfer(sources, data, ["linear"], [None], args.seeds, recipe,
                           log=lambda line: print(line, flush=True))
    results += run_transfer(sources, data, ["finetune"], [args.labels_per_class], args.seeds,
                            recipe, log=lambda line: print(line, flush=True))
    results.sort(key=lambda r: (r.protocol != "linear", [s.name for s in sources].index(r.encoder)))
    print(results_table(results, data.chance))
    seconds = time.perf_counter() - start
    print(f"{seconds / 60:.1f} min in all")
    if args.json:
        record = {
            "command": "python bench/table2.py " + " ".join(
                f"--{k.replace('_', '-')}" + ("" if v is True else f" {v}")
                for k, v in vars(args).items()
                if k not in ("json", "out", "quick") and v not in (None, False)),
            "data": data.describe(), "chance": data.chance,
            "budget": {"steps": args.steps, "batch_size": args.batch_size,
                       "supervised_steps": args.supervised_steps},
            "machine": f"{platform.processor() or platform.machine()}, "
                       f"{torch.get_num_threads()} threads, torch {torch.__version__}",
            "seconds": seconds, "results": [r.to_dict() for r in results],
        }
        atomic_write_text(Path(args.json), json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
