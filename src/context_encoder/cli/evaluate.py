"""``context-encoder evaluate``: score models and classical methods the paper's way."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..evaluation import EVAL_MASKS, default_model_for, evaluate, markdown_table, write_report

__all__ = ["add_parser"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("evaluate", help="score models and classical methods")
    p.add_argument("--model", action="append", default=None,
                   help="shipped model name or path (repeatable; default: the shipped model "
                        "for the mask kind)")
    p.add_argument("--data", default="facades", help="'facades' (val split) or an image folder")
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
        models = args.model or [default_model_for(args.mask)]
        methods = None
        if args.methods is not None:
            methods = [] if args.methods == "none" else [
                m.strip() for m in args.methods.split(",") if m.strip()]
        res = evaluate(models=models, methods=methods, data=args.data, mask=args.mask,
                       count=args.count, seed=args.seed, size=args.size, device=args.device)
        print(f"{res.count} images, {res.mask} holes")
        print(markdown_table(res))
        if args.json_out:
            Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json_out).write_text(json.dumps(res.to_json(), indent=2))
            print(f"wrote {args.json_out}")
        if args.report:
            print(f"wrote {write_report(res, args.report)}")
        return 0

    p.set_defaults(func=run)
