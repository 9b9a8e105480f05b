"""ONNX Runtime against the PyTorch path on the CPU, for a shipped model: the generator alone
at batch 1 and 64, and whole ``Inpainter`` calls (64 validation facades of 128 px with the
model's holes; one 512x512 facade with one 64x64 hole). Median of ``--iters`` timed calls
after two warm-up calls; PyTorch in fp32 and in ``--precision auto`` (bf16 where the CPU
has it), ONNX Runtime in fp32.

    python bench/onnx_speed.py --model facades-freeform-128 --json docs/onnx-speed-cpu.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from context_encoder.data import render_facade
from context_encoder.inference import Inpainter
from context_encoder.masks import get_mask_generator
from context_encoder.onnx_model import export_onnx, input_names
from context_encoder.runtime import describe_machine


def median_ms(fn, iters: int) -> float:
    """Median milliseconds of ``iters`` calls of ``fn`` after two warm-up calls."""
    for _ in range(2):
        fn()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return round(1000 * statistics.median(times), 2)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="facades-freeform-128")
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--json", type=Path)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = export_onnx(a.model, Path(tmp) / "m.onnx")
        paths = {"pytorch fp32": Inpainter.from_pretrained(a.model, device="cpu",
                                                           precision="fp32"),
                 "pytorch auto": Inpainter.from_pretrained(a.model, device="cpu"),
                 "onnxruntime": Inpainter.from_pretrained(path)}
        cfg = paths["onnxruntime"].config
        s = cfg.image_size
        rng = np.random.default_rng(0)
        kind = "center" if cfg.task == "center" else "thick"
        facades = [render_facade("val", i, s) for i in range(64)]
        masks = [get_mask_generator(kind)((s, s), rng) for _ in facades]
        big = render_facade("val", 99, 512)
        hole = np.zeros((512, 512), bool)
        hole[224:288, 224:288] = True
        rows = {}
        for name, inp in paths.items():
            gen = inp.generator
            row = {}
            for batch in (1, 64):
                args = [torch.rand(batch, 3, s, s) * 2 - 1]
                if "mask" in input_names(cfg):
                    args.append((torch.rand(batch, 1, s, s) > 0.7).float())
                if "sketch" in input_names(cfg):
                    args.append(torch.zeros(batch, 1, s, s))
                if inp.amp_dtype is not None:
                    args = [t.to(inp.amp_dtype) for t in args]
                with torch.inference_mode():
                    row[f"generator batch {batch} ms"] = median_ms(
                        lambda g=gen, x=args: g(*x), a.iters)
            row["inpainter 64 facades ms"] = median_ms(
                lambda f=inp: f(facades, masks), a.iters)
            row["inpainter 512 px, one hole ms"] = median_ms(lambda f=inp: f(big, hole), a.iters)
            rows[name] = row
            print(name, row, flush=True)
    if a.json:
        a.json.write_text(json.dumps({
            "command": "python bench/onnx_speed.py " + f"--model {a.model} --iters {a.iters}",
            "machine": describe_machine(),
            "threads": torch.get_num_threads(), "results": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
