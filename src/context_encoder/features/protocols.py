"""The two transfer protocols, as self-supervised learning papers run them:

* **linear**: the encoder frozen (eval mode); its pooled features (:meth:`Encoder.forward`)
  standardised on the train split; a multinomial logistic regression fitted by L-BFGS for
  each L2 weight in :attr:`Recipe.weight_decays`, the one with the best validation accuracy
  kept, and scored on the test split.
* **finetune**: a copy of the whole encoder with a new linear head on its pooled features,
  trained together (Adam, cross-entropy, random horizontal flips) for a fixed number of
  steps on the few labelled images, then scored on the test split. This is what the paper
  reports (all layers fine-tuned; no frozen probe).

Each run is a function of its seed: which labelled images are drawn (``labels_per_class``),
the head's init, the batches and flips, and for a random encoder its weights.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .encoder import Encoder
from .labelled import LabelledSet, Split

__all__ = ["DEFAULT_RECIPE", "PROTOCOLS", "Recipe", "accuracy", "extract", "fit_classifier", "finetune",
           "linear_probe"]

PROTOCOLS: tuple[str, ...] = ("linear", "finetune")
_EVAL_BATCH = 200


@dataclass(frozen=True)
class Recipe:
    """The protocols' settings (the defaults are the ones the docs' figures used)."""

    weight_decays: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)  # linear: L2 grid
    linear_iters: int = 100  # linear: L-BFGS iterations per weight
    steps: int = 150  # finetune: optimiser steps
    batch_size: int = 32  # finetune
    lr: float = 2e-4  # finetune: the encoder's learning rate (the paper's Adam rate)
    head_lr: float = 2e-3  # finetune: the new head's


DEFAULT_RECIPE = Recipe()


@torch.no_grad()
def extract(encoder: Encoder, split: Split, device: torch.device | str = "cpu",
            stage: int | None = -1) -> torch.Tensor:
    """The frozen encoder's features of every image of ``split``, float32 on the CPU (the
    encoder runs in eval mode on ``device``, and is left there in its own mode): the map of ``stage`` averaged over space (the last stage:
    ``encoder(x)``, (N, num_features)), or with ``stage=None`` every stage's, concatenated."""
    was_training = encoder.training
    encoder.eval().to(device)

    def pooled(x: torch.Tensor) -> torch.Tensor:
        maps = encoder.forward_features(x.to(device))
        chosen = maps if stage is None else [maps[stage]]
        return torch.cat([m.float().mean(dim=(2, 3)) for m in chosen], 1).cpu()

    try:
        return torch.cat([pooled(split.batch(slice(i, i + _EVAL_BATCH))[0])
                          for i in range(0, len(split), _EVAL_BATCH)])
    finally:
        encoder.train(was_training)


def _fit_logistic(x: torch.Tensor, y: torch.Tensor, classes: int, weight_decay: float,
                  iters: int) -> nn.Linear:
    head = nn.Linear(x.shape[1], classes)
    nn.init.zeros_(head.weight)
    nn.init.zeros_(head.bias)
    opt = torch.optim.LBFGS(head.parameters(), lr=1.0, max_iter=iters,
                            line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(head(x), y) + weight_decay * head.weight.square().sum() / 2
        loss.backward()
        return loss

    opt.step(closure)
    return head


def _hit_rate(logits: torch.Tensor, y: torch.Tensor) -> float:
    return float((logits.argmax(1) == y).float().mean())


def linear_probe(features: dict[str, torch.Tensor], data: LabelledSet, train_index: np.ndarray,
                 recipe: Recipe = DEFAULT_RECIPE) -> dict[str, float]:
    """Logistic regression on frozen ``features`` (``extract`` of each split: train, val,
    test) with the labelled images ``train_index`` of the train split: test and validation
    accuracy and the L2 weight chosen on validation."""
    i = torch.from_numpy(np.asarray(train_index, dtype=np.int64))
    x, y = features["train"][i], data.train.labels[i]
    mean, std = x.mean(0), x.std(0, unbiased=False).clamp_min(1e-6)
    z = {k: (v - mean) / std for k, v in features.items()}
    best: tuple[float, float, nn.Linear] | None = None
    for wd in recipe.weight_decays:
        head = _fit_logistic(z["train"][i], y, len(data.classes), wd, recipe.linear_iters)
        with torch.no_grad():
            val = _hit_rate(head(z["val"]), data.val.labels)
        if best is None or val >= best[0]:  # ties: the stronger weight
            best = (val, wd, head)
    assert best is not None
    val, wd, head = best
    with torch.no_grad():
        test = _hit_rate(head(z["test"]), data.test.labels)
    return {"accuracy": test, "val_accuracy": val, "weight_decay": wd}


def fit_classifier(encoder: Encoder, split: Split, classes: int, seed: int,
                   recipe: Recipe = DEFAULT_RECIPE, device: torch.device | str = "cpu",
                   progress: Callable[[int], None] | None = None) -> nn.Sequential:
    """Train ``encoder`` (in place) and a new linear head on ``split`` for ``recipe.steps``
    steps; returns ``nn.Sequential(encoder, head)`` in eval mode. The supervised baseline is
    this from random weights with every label."""
    device = torch.device(device)
    rng = np.random.default_rng([seed, 0xF7])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        head = nn.Linear(encoder.num_features, classes)
    model = nn.Sequential(encoder, head).to(device).train()
    opt = torch.optim.Adam([{"params": encoder.parameters(), "lr": recipe.lr},
                            {"params": head.parameters(), "lr": recipe.head_lr}],
                           betas=(0.9, 0.999))
    n = len(split)
    for step in range(recipe.steps):
        index = rng.choice(n, recipe.batch_size, replace=n < recipe.batch_size)
        x, y = split.batch(torch.from_numpy(index))
        flip = torch.from_numpy(rng.random(len(index)) < 0.5)
        x[flip] = x[flip].flip(-1)
        loss = F.cross_entropy(model(x.to(device)), y.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if progress is not None:
            progress(step + 1)
    return model.eval()


@torch.no_grad()
def accuracy(model: nn.Module, split: Split, device: torch.device | str | None = None) -> float:
    """Top-1 accuracy of ``model`` (images -> logits) on ``split``, in eval mode, on
    ``device`` (default: where the model's weights are)."""
    if device is None:
        device = next(model.parameters()).device
    model.eval()
    hits = 0
    for i in range(0, len(split), _EVAL_BATCH):
        x, y = split.batch(slice(i, i + _EVAL_BATCH))
        hits += int((model(x.to(device)).argmax(1).cpu() == y).sum())
    return hits / max(len(split), 1)


def finetune(encoder: Encoder, data: LabelledSet, train_index: np.ndarray, seed: int,
             recipe: Recipe = DEFAULT_RECIPE, device: torch.device | str = "cpu") -> dict[str, float]:
    """Fine-tune a copy of ``encoder`` with a new head on the labelled images
    ``train_index`` of the train split: test and validation accuracy and the seconds."""
    start = time.perf_counter()
    model = fit_classifier(copy.deepcopy(encoder), data.train.subset(train_index),
                           len(data.classes), seed, recipe, device)
    return {"accuracy": accuracy(model, data.test, device),
            "val_accuracy": accuracy(model, data.val, device),
            "seconds": time.perf_counter() - start}
