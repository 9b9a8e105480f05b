"""``context-encoder features``: how well encoders' features transfer to a labelled task."""

from __future__ import annotations

from typing import Any

from ..checkpoint import list_pretrained
from ..data.facades.render import MAX_SIZE, MIN_SIZE
from ..errors import UsageError
from ..io.files import check_output_dir, check_output_file
from ..runtime import resolve_device

__all__ = ["add_parser"]

#: The headline settings when --labels-per-class is not given: per protocol.
_DEFAULT_LABELS = {"linear": None, "finetune": 10}
#: Upper bounds of the options that size the work: runs per setting (each one is the whole
#: protocol again) and fine-tuning steps (batch 32; the default is 150).
MAX_SEEDS = 20
MAX_STEPS = 100_000


def _labels(text: str) -> list[int | None]:
    values: list[int | None] = []
    for part in text.split(","):
        part = part.strip()
        if part == "all":
            values.append(None)
        elif part.isdigit() and int(part) > 0:
            values.append(int(part))
        else:
            raise UsageError(f"--labels-per-class: expected positive integers or 'all', "
                             f"separated by commas, got {text!r}")
    return values


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "features", help="measure how encoders' features transfer to a labelled task",
        description="Linear probe on frozen features and fine-tuning with few labels, for "
                    "one or more encoders, over several seeds (the paper's feature-learning "
                    "evaluation).")
    p.add_argument("--encoder", action="append", default=None, metavar="NAME|PATH|RUN|random",
                   help="a shipped model, an exported file, a run folder, or 'random' (the "
                        "paper's init, with the first other encoder's architecture); "
                        "repeatable (default: random and every shipped model)")
    p.add_argument("--data", default="facades",
                   help="'facades' (the generator's own labels, see --attribute) or a folder "
                        "of class subfolders (DIR/<class>/<images>)")
    p.add_argument("--attribute", default=None,
                   help="facades: the label, wall (default), window or shutters")
    p.add_argument("--protocol", default="both", choices=("linear", "finetune", "both"))
    p.add_argument("--labels-per-class", default=None, metavar="N[,N...]",
                   help="labelled training images per class, e.g. 10,100,all (default: all "
                        "for linear, 10 for finetune)")
    p.add_argument("--seeds", type=int, default=3, help="runs per setting (default 3)")
    p.add_argument("--steps", type=int, default=None,
                   help="fine-tuning steps (default 150, batch 32)")
    p.add_argument("--image-size", type=int, default=None,
                   help="image side (default: the training size of the first encoder other "
                        "than random)")
    p.add_argument("--device", default="auto")
    p.add_argument("--json", dest="json_out", help="write the results as JSON here")
    p.add_argument("--report", help="write an HTML report with a bar chart into this folder")
    p.set_defaults(func=_run)


def _run(args: Any) -> int:
    from ..features import (
        DEFAULT_RANDOM_CONFIG,
        RANDOM,
        Encoder,
        Recipe,
        encoder_source,
        facade_set,
        folder_set,
        results_table,
        run_transfer,
    )
    from ..features.labelled import FACADE_ATTRIBUTE
    from ..features.report import results_record, write_json, write_report

    if args.json_out:
        check_output_file(args.json_out, "--json file")
    if args.report:
        check_output_dir(args.report, "--report folder")
    labels_per_class = _labels(args.labels_per_class) if args.labels_per_class else None
    if not 1 <= args.seeds <= MAX_SEEDS:
        raise UsageError(f"--seeds must be in 1..{MAX_SEEDS}, got {args.seeds}")
    if args.steps is not None and not 1 <= args.steps <= MAX_STEPS:
        raise UsageError(f"--steps must be in 1..{MAX_STEPS:,}, got {args.steps}")
    if args.image_size is not None and not MIN_SIZE <= args.image_size <= MAX_SIZE:
        raise UsageError(f"--image-size must be in {MIN_SIZE}..{MAX_SIZE}, got "
                         f"{args.image_size}")
    if args.data != "facades" and args.attribute is not None:
        raise UsageError("--attribute is for --data facades; a folder's labels are its "
                         "subfolders")
    specs = args.encoder or [RANDOM, *list_pretrained()]
    loaded = {s: Encoder.from_pretrained(s) for s in dict.fromkeys(specs) if s != RANDOM}
    random_config = next(iter(loaded.values())).config if loaded else DEFAULT_RANDOM_CONFIG
    size = args.image_size or random_config.image_size
    for spec in dict.fromkeys(specs):
        config = loaded[spec].config if spec in loaded else random_config
        reduction = 2 ** config.num_down
        if size % reduction:
            raise UsageError(f"--image-size {size}: encoder {spec!r} needs a multiple of "
                             f"{reduction}")
        if config.image_size != size:
            print(f"note: encoder {spec!r} was trained at {config.image_size} px and is "
                  f"scored on {size} px images")
    sources = [encoder_source(RANDOM, random_config) if s == RANDOM else
               encoder_source(loaded[s]) for s in specs]
    data = (facade_set(args.attribute or FACADE_ATTRIBUTE, size) if args.data == "facades"
            else folder_set(args.data, size))
    print(data.describe())
    recipe = Recipe() if args.steps is None else Recipe(steps=args.steps)
    protocols = ["linear", "finetune"] if args.protocol == "both" else [args.protocol]
    device = resolve_device(args.device)
    results = []
    for protocol in protocols:
        labels = labels_per_class or [_DEFAULT_LABELS[protocol]]
        results += run_transfer(sources, data, [protocol], labels, args.seeds, recipe, device,
                                log=lambda line: print(f"  {line}", flush=True))
    print(results_table(results, data.chance))
    record = results_record(results, data, seeds=args.seeds, finetune_steps=recipe.steps)
    if args.json_out:
        print(f"wrote {write_json(record, args.json_out)}")
    if args.report:
        print(f"wrote {write_report(results, data, args.report, record)}")
    return 0
