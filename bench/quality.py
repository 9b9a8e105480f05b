"""Does the fast path cost quality? Train the same model twice from the same seed, once in
plain fp32 (NCHW) and once with the project's default fast settings (bf16 autocast where
the hardware runs it fast, channels-last), and compare validation PSNR over the hole at the
same number of steps.

    python bench/quality.py [--steps 300] [--batch-size 32] [--bottleneck channelwise]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

from context_encoder.io.files import atomic_write_text
from context_encoder.training import TrainConfig, Trainer


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--bottleneck", default="channelwise")
    p.add_argument("--mask", default="center")
    p.add_argument("--val-count", type=int, default=200)
    p.add_argument("--json")
    args = p.parse_args()
    out = {}
    for name, opts in (("fp32", {"precision": "fp32", "channels_last": False}),
                       ("fast", {"precision": "auto", "channels_last": None})):
        with tempfile.TemporaryDirectory() as tmp:
            cfg = TrainConfig(steps=args.steps, batch_size=args.batch_size, mask=args.mask,
                              bottleneck=args.bottleneck, val_count=args.val_count,
                              val_every=args.steps, ckpt_every=args.steps, out=tmp,
                              progress=False, **opts)
            tr = Trainer(cfg)
            t0 = time.perf_counter()
            res = tr.fit()
            out[name] = {"val_psnr": round(res["val"]["psnr"], 3),
                         "val_l1": round(res["val"]["l1"], 5),
                         "seconds": round(time.perf_counter() - t0, 1),
                         "precision": str(tr.amp_dtype or "fp32"),
                         "channels_last": tr.channels_last}
        print(name, out[name], flush=True)
    out["psnr_difference_db"] = round(out["fast"]["val_psnr"] - out["fp32"]["val_psnr"], 3)
    out["config"] = vars(args)
    print(json.dumps(out))
    if args.json:
        atomic_write_text(args.json, json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
