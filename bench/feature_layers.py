"""Which layer do the features come from? The linear probe of ``context-encoder features``
(every label, frozen encoder) on each stage's map averaged over space, and on all stages'
together, for the equal-budget encoders of ``bench/table2.py`` (read from its run folder),
random weights and the shipped models.

    python bench/table2.py                      # first: the pretraining runs in runs/table2
    python bench/feature_layers.py [--runs runs/table2] [--attribute wall] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from context_encoder.checkpoint import list_pretrained
from context_encoder.features import Encoder, extract, facade_set, linear_probe
from context_encoder.io.files import atomic_write_text

EQUAL_BUDGET = ("ce-region", "ce-center", "autoencoder")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", default="runs/table2", help="bench/table2.py's run folder")
    p.add_argument("--attribute", default="wall")
    p.add_argument("--json", help="write the table here")
    args = p.parse_args()
    encoders = {name: Encoder.from_pretrained(Path(args.runs) / name, which="last")
                for name in EQUAL_BUDGET}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        encoders = {"random": Encoder(encoders["ce-region"].config), **encoders}
    encoders.update({f"shipped: {n}": Encoder.from_pretrained(n) for n in list_pretrained()})
    data = facade_set(args.attribute, next(iter(encoders.values())).config.image_size)
    print(data.describe())
    stages = len(next(iter(encoders.values())).channels)
    columns: list[int | None] = [*range(stages), None]
    head = " | ".join(f"stage {s + 1}" if s is not None else "all stages" for s in columns)
    print(f"| encoder | {head} |\n|---|{'---|' * len(columns)}")
    table = {}
    everything = np.arange(len(data.train))
    for name, enc in encoders.items():
        row = []
        for stage in columns:
            feats = {s: extract(enc, getattr(data, s), stage=stage)
                     for s in ("train", "val", "test")}
            row.append(linear_probe(feats, data, everything)["accuracy"])
        table[name] = row
        print(f"| {name} | " + " | ".join(f"{100 * a:.1f}" for a in row) + " |", flush=True)
    if args.json:
        atomic_write_text(Path(args.json), json.dumps(
            {"data": data.describe(), "columns": [s + 1 if s is not None else "all"
                                                  for s in columns],
             "accuracy": table}, indent=2) + "\n")


if __name__ == "__main__":
    main()
