"""Print the README's quality tables from ``context-encoder evaluate --json`` files.

    python bench/eval_tables.py docs/eval-center-500.json docs/eval-thick-500.json
    python bench/eval_tables.py out/demo/summary.json     # make demo's results, both masks

Each table lists every method of the file by PSNR over the hole, then the margin of each model
(a method that is not a classical one) over the best classical method on the same holes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

CLASSICAL = ("mean", "telea", "ns", "biharmonic", "patchmatch")


def tables(path: Path) -> list[str]:
    data = json.loads(path.read_text())
    results = [data] if "methods" in data else list(data.values())  # demo: {mask: result}
    return [table(r, path) for r in results]


def table(result: dict, path: Path) -> str:
    methods = result["methods"]
    rows = sorted(methods.items(), key=lambda kv: -kv[1]["psnr"])
    lines = [
        f"{result['mask']} holes, {result['count']} validation facades (`{path.as_posix()}`):",
        "",
        "| method | PSNR hole (dB) | L1 hole | L2 hole | SSIM | s/image |",
        "|---|---|---|---|---|---|",
    ]
    for name, m in rows:
        lines.append(f"| {name} | {m['psnr']:.2f} | {m['l1']:.2%} | {m['l2']:.2%} | "
                     f"{m['ssim']:.3f} | {m['seconds_per_image']:.4f} |")
    classical = {k: v for k, v in methods.items() if k in CLASSICAL}
    if classical:
        best_name, best = max(classical.items(), key=lambda kv: kv[1]["psnr"])
        lines.append("")
        for name, m in rows:
            if name not in CLASSICAL:
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
