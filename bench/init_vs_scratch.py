"""How much sooner `train --init` reaches a validation PSNR than training from scratch, on
real photos (issue: fine-tuning on a user's own photos).

Writes crops of scikit-image's bundled photographs as image folders (training: the "tune"
photos; validation: the "report" photos, so the two share no photograph), then trains the
same free-form model twice with the same options and seed: once from the shipped
``facades-freeform-128`` (``--init``), once from random weights. Prints the validation PSNR
over the hole of both runs at every ``--val-every`` steps.

    python bench/init_vs_scratch.py --steps 80 --val-every 20 --out runs/init-vs-scratch
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from context_encoder.cli import main as cli_main
from context_encoder.data.photos import photo_images
from context_encoder.io.images import save_image


def _write_crops(split: str, folder: Path, size: int, per_photo: int) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    images = photo_images(split, size, per_photo=per_photo)
    for i, img in enumerate(images):
        save_image(img, folder / f"{split}-{i:04d}.png")
    return len(images)


def _val_psnr(run: Path) -> dict[int, float]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: r["val_psnr"] for r in rows if "val_psnr" in r}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="runs/init-vs-scratch")
    p.add_argument("--steps", type=int, default=80)
    p.add_argument("--val-every", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--per-photo", type=int, default=12, help="crops per photograph")
    args = p.parse_args()
    out = Path(args.out)
    n_train = _write_crops("tune", out / "train", 160, args.per_photo)
    n_val = _write_crops("report", out / "val", 160, 2)
    print(f"{n_train} training crops (tune photos), {n_val} validation crops (report photos)")
    common = ["train", "--data", str(out / "train"), "--val-data", str(out / "val"),
              "--load-size", "160", "--mask", "freeform", "--bottleneck", "channelwise",
              "--batch-size", str(args.batch_size), "--steps", str(args.steps),
              "--val-every", str(args.val_every), "--ckpt-every", str(args.steps),
              "--sample-every", str(args.steps), "--log-every", str(args.val_every),
              "--val-count", str(n_val), "--workers", "0", "--no-progress"]
    runs = {"init": ["--init", "facades-freeform-128"], "scratch": []}
    for name, extra in runs.items():
        if cli_main([*common, *extra, "--out", str(out / name)]) != 0:
            raise SystemExit(f"the {name} run failed")
    psnr = {name: _val_psnr(out / name) for name in runs}
    print("| step | --init facades-freeform-128 | from scratch |")
    print("|---|---|---|")
    for step in sorted(psnr["init"]):
        print(f"| {step} | {psnr['init'][step]:.2f} dB | {psnr['scratch'].get(step, float('nan')):.2f} dB |")


if __name__ == "__main__":
    main()
