"""Transfer evaluation: encoders x protocols x labels per class, each over several seeds,
as the table, JSON and report of ``context-encoder features`` show it."""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from ..config import ModelConfig
from .encoder import Encoder
from .labelled import LabelledSet
from .protocols import DEFAULT_RECIPE, PROTOCOLS, Recipe, extract, finetune, linear_probe

__all__ = ["RANDOM", "EncoderSource", "Result", "encoder_source", "run_transfer",
           "results_table"]

logger = logging.getLogger(__name__)

#: The encoder name that means the paper's random Gaussian init (drawn anew per seed).
RANDOM = "random"
#: The architecture of ``random`` when no other encoder gives one: the shipped models'.
DEFAULT_RANDOM_CONFIG = ModelConfig(task="full", bottleneck="channelwise")


@dataclass
class EncoderSource:
    """An encoder to evaluate: its name in the results and how to get it for a seed (a
    pretrained one is loaded once; a random one is drawn from the seed)."""

    name: str
    make: Callable[[int], Encoder]
    fixed: bool  # the same weights for every seed (features can be extracted once)


def encoder_source(spec: str | Encoder, random_config: ModelConfig | None = None,
                   name: str | None = None) -> EncoderSource:
    """``random`` (the paper's init, of ``random_config``'s architecture), a shipped model's
    name, an exported file, a run folder, or an ``Encoder`` already built."""
    if isinstance(spec, Encoder):
        enc = spec
        return EncoderSource(name or enc.source, lambda seed: enc, fixed=True)
    if spec == RANDOM:
        config = random_config or DEFAULT_RANDOM_CONFIG

        def draw(seed: int) -> Encoder:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                return Encoder(config).eval()

        return EncoderSource(name or RANDOM, draw, fixed=False)
    enc = Encoder.from_pretrained(spec)
    return EncoderSource(name or enc.source, lambda seed: enc, fixed=True)


@dataclass
class Result:
    """One encoder under one protocol with one number of labels per class, over seeds."""

    encoder: str
    protocol: str
    labels_per_class: int | str  # "all" for every label
    accuracies: list[float]
    val_accuracies: list[float]
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def accuracy_mean(self) -> float:
        return statistics.fmean(self.accuracies)

    @property
    def accuracy_std(self) -> float:
        """The sample standard deviation over seeds (0 for one seed)."""
        return statistics.stdev(self.accuracies) if len(self.accuracies) > 1 else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        extra = d.pop("extra")
        return {"encoder": self.encoder, "protocol": self.protocol,
                "labels_per_class": self.labels_per_class,
                "accuracy_mean": self.accuracy_mean, "accuracy_std": self.accuracy_std,
                **{k: v for k, v in d.items() if k not in ("encoder", "protocol",
                                                           "labels_per_class")},
                "val_accuracy_mean": statistics.fmean(self.val_accuracies), **extra}


def run_transfer(sources: Sequence[EncoderSource], data: LabelledSet,
                 protocols: Sequence[str] = PROTOCOLS,
                 labels_per_class: Sequence[int | None] = (None,), seeds: int = 3,
                 recipe: Recipe = DEFAULT_RECIPE, device: torch.device | str = "cpu",
                 log: Callable[[str], None] = logger.info) -> list[Result]:
    """Every source under every protocol and number of labels per class (``None`` = all),
    ``seeds`` runs each (seeds 0 .. seeds-1); ``log`` gets one line per finished run."""
    if isinstance(protocols, str):
        raise TypeError(f"protocols must be a sequence of names, such as [{protocols!r}]")
    unknown = sorted(set(protocols) - set(PROTOCOLS))
    if unknown:
        raise ValueError(f"unknown protocol(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(PROTOCOLS)}")
    if seeds < 1:
        raise ValueError(f"seeds must be >= 1, got {seeds}")
    smallest = int(data.train.labels.bincount().min())
    for n in labels_per_class:
        if n is not None and n > smallest:
            log(f"labels per class {n}: the smallest class has {smallest} training images, "
                f"so each class gives at most that many")
    names = _unique([s.name for s in sources])
    results = []
    for source, name in zip(sources, names, strict=True):
        features: dict[str, torch.Tensor] | None = None
        for protocol in protocols:
            for n in labels_per_class:
                start = time.perf_counter()
                runs: list[dict[str, float]] = []
                for seed in range(seeds):
                    index = data.train.per_class(n, seed)
                    if protocol == "linear" and source.fixed and n is None and runs:
                        runs.append(runs[0])  # the same encoder and labels: the same fit
                    elif protocol == "linear":
                        encoder = source.make(seed)
                        if features is None or not source.fixed:
                            features = {s: extract(encoder, getattr(data, s), device)
                                        for s in ("train", "val", "test")}
                        runs.append(linear_probe(features, data, index, recipe))
                    else:
                        runs.append(finetune(source.make(seed), data, index, seed, recipe,
                                             device))
                    log(f"{name} {protocol} {n or 'all'}/class seed {seed}: "
                        f"test {runs[-1]['accuracy']:.3f} val {runs[-1]['val_accuracy']:.3f}")
                extra: dict[str, Any] = {"train_images": len(index)}
                if protocol == "linear":
                    extra["weight_decays"] = [r["weight_decay"] for r in runs]
                results.append(Result(name, protocol, "all" if n is None else n,
                                      [r["accuracy"] for r in runs],
                                      [r["val_accuracy"] for r in runs],
                                      time.perf_counter() - start, extra))
    return results


def _unique(names: list[str]) -> list[str]:
    """``names`` with a repeated one numbered (``ce``, ``ce (2)``): two run folders of the
    same name stay two rows and two bars."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def results_table(results: Sequence[Result], chance: float | None = None) -> str:
    """The results as a Markdown table (accuracy in %, mean +- spread over seeds)."""
    lines = ["| encoder | protocol | labels/class | accuracy (%) | seeds |",
             "|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.encoder} | {r.protocol} | {r.labels_per_class} | "
                     f"{100 * r.accuracy_mean:.1f} ± {100 * r.accuracy_std:.1f} | "
                     f"{len(r.accuracies)} |")
    if chance is not None:
        lines.append(f"\nChance (always the test split's largest class): {100 * chance:.1f}%.")
    return "\n".join(lines)
