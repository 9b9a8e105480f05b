"""Print the quality tables of docs/results.md and docs/models.md from ``context-encoder evaluate --json`` files.

    python bench/eval_tables.py docs/eval-center-500.json docs/eval-thick-500.json
    python bench/eval_tables.py out/demo/summary.json     # make demo's results, both masks

Each table is the one ``evaluate`` and ``demo`` print, followed by the margin of each model (a
method that is not a baseline) over the best baseline on the same holes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from context_encoder.baselines import BASELINES
from context_encoder.evaluation import EvalResult, markdown_table


def tables(path: Path) -> list[str]:
    try:
        data = json.loads(path.read_text())
        results = {"": data} if "methods" in data else data  # demo: {setting: result}
        return [table(EvalResult(count=r["count"], mask=r["mask"], methods=r["methods"]), path,
                      "photo crops" if key.startswith("photos") else "validation facades")
                for key, r in results.items()]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise SystemExit(f"{path}: not an evaluate --json or demo summary file ({e!r})") from e


def table(res: EvalResult, path: Path, what: str = "validation facades") -> str:
    lines = [f"{res.mask} holes, {res.count} {what} (`{path.as_posix()}`):", "",
             markdown_table(res)]
    baselines = {k: v for k, v in res.methods.items() if k in BASELINES}
    if baselines:
        best_name, best = max(baselines.items(), key=lambda kv: kv[1]["psnr"])
        lines.append("")
        for name, m in sorted(res.methods.items(), key=lambda kv: -kv[1]["psnr"]):
            if name not in BASELINES:
                lines.append(f"`{name}`: {m['psnr'] - best['psnr']:+.2f} dB over the best "
                             f"classical method ({best_name}, {best['psnr']:.2f} dB).")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    print("\n\n".join(t for p in args.files for t in tables(p)))


if __name__ == "__main__":
    main()
