"""Does the sketch help? Fine-tune a gated, sketch-guided model (DeepFill v2's options) from
``facades-freeform-128`` (warm start: it begins as the same function, the sketch ignored)
on the facades with mixed masks, then measure PSNR over the hole on validation facades with
thick holes for:

  * ``facades-freeform-128``, the plain model it starts from;
  * the guided model with no sketch (the aim: at most 0.3 dB below it);
  * the guided model with the true edges of the hidden region as the sketch (every stroke
    of the training sketches, none dropped or cut; target: at least +1.5 dB);
  * with ``--control``, the plain model fine-tuned the same steps on the same data, which
    separates what the sketch and the gates bring from what more training brings.

    python bench/guided_quality.py [--steps 2000] [--batch-size 32] [--count 500]
                                   [--control] [--out DIR] [--json out.json]
    python bench/guided_quality.py --model RUN_OR_FILE [--control-model RUN_OR_FILE]

With ``--model`` nothing is trained: the guided model is read from a run folder (its best
checkpoint), a checkpoint or an exported file (the runs of ``docs/train-guided-cpu.sh`` or
``docs/train-guided-gpu.sh``, or the shipped ``facades-guided-128``), and ``--control-model``
names the plain model fine-tuned alike.

The run folder (``--out``, a temporary one by default) keeps the checkpoints and a grid
``guided_thick.png``: masked input with the sketch in white, the plain model, the guided
model without and with the sketch, the truth. Weights are never written into the package.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from context_encoder.checkpoint import load_generator, read_model_config
from context_encoder.io.files import atomic_write_text
from context_encoder.models import MEAN_FILL
from context_encoder.runtime import resolve_device
from context_encoder.training import (
    TrainConfig,
    Trainer,
    fixed_masks,
    make_image_dataset,
    save_grid,
)
from context_encoder.training.validation import validate

BASE = "facades-freeform-128"


def predictor(gen: torch.nn.Module, fill: torch.Tensor):
    """``predict(real, mask, sketch=None) -> (composite, mask)`` of a full-image generator."""

    @torch.no_grad()
    def predict(real: torch.Tensor, mask: torch.Tensor, sketch: torch.Tensor | None = None):
        x = real * (1 - mask) + fill * mask  # (B, 3, S, S), the hole in the mean colour
        pred = gen(x, mask) if sketch is None else gen(x, mask, sketch)
        return mask * pred + (1 - mask) * real, mask

    return predict


def fine_tune(args: argparse.Namespace, out: Path, **model: str) -> tuple[Trainer, float]:
    """A run of ``args.steps`` from ``BASE`` with ``model`` options (conv, guide)."""
    base = read_model_config(BASE)
    cfg = TrainConfig(init=BASE, mask=args.mask, image_size=base.image_size,
                      bottleneck=base.bottleneck, bottleneck_dim=base.bottleneck_dim,
                      width=base.enc_width, batch_size=args.batch_size, steps=args.steps,
                      lr=args.lr, seed=args.seed, workers=args.workers, device=args.device,
                      val_count=min(args.count, 100), val_every=args.steps,
                      ckpt_every=args.steps, sample_every=args.steps, progress=False,
                      out=str(out), **model)
    trainer = Trainer(cfg)
    t0 = time.perf_counter()
    trainer.fit()
    trainer.G.eval()
    return trainer, time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-5, help="as facades-freeform-128 was trained")
    p.add_argument("--mask", default="mixed", help="training holes")
    p.add_argument("--count", type=int, default=500, help="validation facades")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--device", default="auto")
    p.add_argument("--control", action="store_true",
                   help="also fine-tune the plain model the same steps")
    p.add_argument("--model", help="score this guided model instead of training one")
    p.add_argument("--control-model", help="with --model: the plain model fine-tuned alike")
    p.add_argument("--out", help="run folder (default: a temporary one)")
    p.add_argument("--json")
    args = p.parse_args()
    root = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="guided-quality-"))

    if args.control and args.model:
        p.error("--control trains a control beside a trained model; with --model, name the "
                "control with --control-model")
    if args.model:
        device = resolve_device(args.device)
        guided_g, info = load_generator(args.model, device=device)
        config, seconds = info["config"], None
        if config.guide != "sketch":
            p.error(f"--model {args.model} takes no sketch (guide={config.guide!r})")
    else:
        guided, seconds = fine_tune(args, root / "guided", conv="gated", guide="sketch")
        device, config, guided_g = guided.device, guided.model_config, guided.G
    fill = torch.from_numpy(MEAN_FILL).to(device).view(1, 3, 1, 1)
    images = make_image_dataset("facades", config.image_size, split="val", load_size=None,
                                train=False)
    count = min(args.count, len(images))  # type: ignore[arg-type]
    masks = fixed_masks("thick", config, count, args.seed)

    plain, _ = load_generator(BASE, device=device)
    base_m, base_grid = validate(predictor(plain, fill), images, masks, device, fill)
    m, grid = validate(predictor(guided_g, fill), images, masks, device, fill, sketch=True)
    result = {"psnr": {BASE: base_m["psnr"], "guided, no sketch": m["psnr"],
                       "guided, true edges": m["psnr_sketch"]}}
    control_g = None
    if args.control_model:
        control_g = load_generator(args.control_model, device=device)[0]
    elif args.control:
        control_g = fine_tune(args, root / "plain")[0].G
    if control_g is not None:  # plain convolutions; with the sketch input, scored both ways
        guided_control = control_g.config.guide == "sketch"
        c = validate(predictor(control_g, fill), images, masks, device, fill,
                     sketch=guided_control)[0]
        result["psnr"]["plain, fine-tuned alike"] = c["psnr"]
        if guided_control:
            result["psnr"]["plain, fine-tuned alike, true edges"] = c["psnr_sketch"]
    result["vs_base_db"] = {k: round(v - base_m["psnr"], 3) for k, v in result["psnr"].items()}
    result["psnr"] = {k: round(v, 3) for k, v in result["psnr"].items()}
    result.update(train_seconds=None if seconds is None else round(seconds, 1),
                  images=count, holes="thick",
                  device=str(device), config=vars(args), run=str(root))
    k = base_grid.shape[0] // 3  # rows: masked input, output, truth
    save_grid(torch.cat([grid[:k], base_grid[k:2 * k], grid[k:]]), root / "guided_thick.png")
    print(json.dumps(result, indent=2))
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
