"""``context-encoder evaluate``: score models and classical methods the paper's way."""

from __future__ import annotations

from typing import Any

from ..evaluation import (
    EVAL_MASKS,
    check_output_dir,
    check_output_file,
    default_model_for,
    evaluate,
    markdown_table,
    write_json,
    write_report,
)
from ..inference.adapt import check_steps

__all__ = ["add_parser"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("evaluate", help="score models and classical methods")
    p.add_argument("--model", action="append", default=None,
                   help="shipped model name or path (.safetensors, .onnx, run folder), or "
                        "'auto' (per hole, the mix of the other models and the classical methods "
                        "that best fills test holes cut into the photo, with detail added where that "
                        "costs little) or 'auto-closest' (the mix alone) "
                        "(repeatable; default: the shipped model for the mask kind)")
    p.add_argument("--adapt", type=int, default=0, metavar="STEPS",
                   help="fine-tune every model (and auto's) on each image first (default 0)")
    p.add_argument("--data", default="facades",
                   help="'facades' (val split), 'photos' (scikit-image's photographs, report "
                        "split), 'photos-tune' (the split defaults were tuned on), 'textures' "
                        "(brick, grass) or an image folder")
    p.add_argument("--mask", default="center", choices=EVAL_MASKS)
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--methods", default=None,
                   help="comma-separated baselines (default: every one available); 'none' for "
                        "models only")
    p.add_argument("--device", default="auto")
    p.add_argument("--json", dest="json_out", help="write the metrics as JSON here")
    p.add_argument("--report", help="write an HTML report into this folder")

    def run(args) -> int:
        check_steps(args.adapt, "--adapt")
        # Bad output paths fail here, not after the whole evaluation has run.
        if args.json_out:
            check_output_file(args.json_out, "--json file")
        if args.report:
            check_output_dir(args.report, "--report folder")
        models = args.model or [default_model_for(args.mask)]
        methods = None
        if args.methods is not None:
            methods = [] if args.methods == "none" else [
                m.strip() for m in args.methods.split(",") if m.strip()]
        res = evaluate(models=models, methods=methods, data=args.data, mask=args.mask,
                       count=args.count, seed=args.seed, size=args.size, device=args.device,
                       adapt=args.adapt)
        skipped = (f" ({len(res.skipped)} unreadable file(s) skipped: "
                   f"{', '.join(res.skipped)})" if res.skipped else "")
        print(f"{res.count} images scored{skipped}, {res.mask} holes")
        print(markdown_table(res))
        if args.json_out:
            write_json(res, args.json_out)
            print(f"wrote {args.json_out}")
        if args.report:
            print(f"wrote {write_report(res, args.report)}")
        return 0

    p.set_defaults(func=run)
