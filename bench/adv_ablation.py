"""The paper's ablation: what the adversarial loss buys. The same model, the same start and
the same budget, fine-tuned with the reconstruction loss alone (``--lambda-adv 0``), with the
paper's joint loss (0.001) and with a ten times stronger adversarial weight (0.01), then
scored on validation facades with PSNR and the realism measures (gradient energy over the
hole, sliced Wasserstein distance of Laplacian-pyramid patches; see
``context_encoder.metrics``), with a grid like the paper's first figure.

    python bench/adv_ablation.py                       # train (resumable), score, grid
    python bench/adv_ablation.py --steps 1000 --count 200 --json docs/adv-ablation-cpu.json \\
        --grid docs/adv_ablation.png

Every arm starts from the shipped ``facades-center-128`` (trained with the joint loss) and
runs ``--steps`` steps of batch 64 at the paper's learning rate with the same seed, so the
arms differ only in the loss. Runs live in ``runs/ablation/ARM`` and resume where they
stopped.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from context_encoder.runtime import describe_machine

ARMS = {"reconstruction": 0.0, "joint (paper)": 0.001, "joint, 10x adversarial": 0.01}
START = "facades-center-128"


def _slug(arm: str) -> str:
    return {"reconstruction": "rec", "joint (paper)": "joint", "joint, 10x adversarial": "adv10x"}[arm]


def train(root: Path, steps: int) -> dict[str, float]:
    """Train (or resume) every arm; seconds each took in this call."""
    took = {}
    for arm, lam in ARMS.items():
        out = root / _slug(arm)
        cmd = [sys.executable, "-m", "context_encoder", "train", "--out", str(out),
               "--steps", str(steps), "--no-progress"]
        if (out / "last.json").exists():
            cmd += ["--resume"]
        else:
            cmd += ["--init", START, "--mask", "center", "--bottleneck", "channelwise",
                    "--lambda-adv", str(lam), "--seed", "0", "--val-every", "500",
                    "--ckpt-every", "250", "--sample-every", "100000", "--val-count", "100"]
        t0 = time.perf_counter()
        print(" ".join(cmd[1:]), flush=True)
        subprocess.run(cmd, check=True)
        took[arm] = round(time.perf_counter() - t0, 1)
    return took


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", type=Path, default=Path("runs/ablation"))
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--count", type=int, default=200, help="validation facades scored")
    p.add_argument("--json", type=Path)
    p.add_argument("--grid", type=Path)
    p.add_argument("--train-only", action="store_true")
    a = p.parse_args()
    took = train(a.root, a.steps)
    if a.train_only:
        return
    from context_encoder.evaluation import evaluate, example_grid, markdown_table
    from context_encoder.io.images import save_image

    runs = {arm: str(a.root / _slug(arm)) for arm in ARMS}
    res = evaluate(models=[START, *runs.values()], methods=[], mask="center", count=a.count,
                   device="cpu", keep_examples=4)
    print(markdown_table(res))
    names = dict(zip([START, *runs.values()], res.methods, strict=True))
    rows = {"start (" + START + ")": res.methods[names[START]]}
    rows.update({arm: res.methods[names[run]] for arm, run in runs.items()})
    print(f"{'arm':<28} {'PSNR':>6} {'L2':>7} {'detail':>6} {'SWD':>5}")
    for arm, m in rows.items():
        print(f"{arm:<28} {m['psnr']:6.2f} {m['l2']:7.4f} {m['detail']:6.2f} {m['swd']:5.0f}")
    if a.grid:
        save_image(example_grid(res), a.grid)
    if a.json:
        keep = ("l1", "l2", "psnr", "psnr_full", "ssim", "detail", "swd")
        a.json.write_text(json.dumps({
            "command": "python bench/adv_ablation.py " + " ".join(sys.argv[1:]),
            "machine": describe_machine(), "steps": a.steps,
            "count": a.count, "start": START, "lambda_adv": ARMS,
            "grid_columns": ["input", START, *ARMS, "ground truth"],
            "train_seconds_this_call": took,
            "results": {arm: {k: round(m[k], 4) for k in keep} for arm, m in rows.items()},
        }, indent=1) + "\n")


if __name__ == "__main__":
    main()
