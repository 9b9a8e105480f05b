"""Labelled image sets for the transfer protocols: the facades' own attributes (embedded,
the default) and any folder of class subfolders (``DIR/cat/*.jpg``, ``DIR/dog/*.png``).

A set holds three splits (train, val, test) of 8-bit images at one size, their labels and
the class names. Images stay uint8 ``(N, 3, S, S)`` until a batch is used
(:meth:`Split.batch` gives floats in [-1, 1], the encoder's range).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..data.facades.attributes import ATTRIBUTES, facade_attributes, label_split_id
from ..data.facades.render import render_chw
from ..data.folder import IMAGE_EXTENSIONS, center_square, read_image_rgb

__all__ = ["FACADE_ATTRIBUTE", "LabelledSet", "Split", "facade_set", "folder_set"]

logger = logging.getLogger(__name__)

#: The embedded benchmark's attribute: the wall material (3 classes).
FACADE_ATTRIBUTE = "wall"
#: Labelled facades per class in each split (the test and val splits are class-balanced,
#: so their accuracy is also the mean per-class accuracy and chance is 1 / classes).
FACADE_PER_CLASS = {"train": 500, "val": 50, "test": 250}
#: A folder's share of each class for val and test (at least one image each).
FOLDER_FRACTIONS = {"val": 0.1, "test": 0.2}


@dataclass
class Split:
    """One split: uint8 images ``(N, 3, S, S)`` and int64 labels ``(N,)``."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, index: torch.Tensor | slice) -> tuple[torch.Tensor, torch.Tensor]:
        """Images in [-1, 1] (float32) and labels of ``index``."""
        return self.images[index].float().div_(127.5).sub_(1.0), self.labels[index]

    def per_class(self, n: int | None, seed: int) -> np.ndarray:
        """Indices of ``n`` images of each class drawn with ``seed`` (all of a class with
        fewer; every index for ``None``), sorted."""
        if n is None:
            return np.arange(len(self))
        if n < 1:
            raise ValueError(f"labels per class must be >= 1 (or all), got {n}")
        rng = np.random.default_rng([seed, 0x1AB])
        labels = self.labels.numpy()
        keep = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:n]
                               for c in np.unique(labels)])
        return np.sort(keep)

    def subset(self, index: np.ndarray) -> Split:
        i = torch.from_numpy(np.asarray(index, dtype=np.int64))
        return Split(self.images[i], self.labels[i])


@dataclass
class LabelledSet:
    """A labelled image set: three splits, the class names, and what it is."""

    name: str
    classes: tuple[str, ...]
    train: Split
    val: Split
    test: Split
    size: int
    skipped: int = 0  # unreadable files left out (a folder)

    @property
    def chance(self) -> float:
        """The accuracy of always answering the test split's largest class (1 / classes on
        a class-balanced split)."""
        return float(self.test.labels.bincount().max()) / max(len(self.test), 1)

    def describe(self) -> str:
        skipped = f", {self.skipped} unreadable file(s) skipped" if self.skipped else ""
        return (f"{self.name}: {len(self.classes)} classes ({', '.join(self.classes)}), "
                f"{len(self.train)} train / {len(self.val)} val / {len(self.test)} test images "
                f"at {self.size} px{skipped}")


def _facade_split(split: str, attribute: str, per_class: int, size: int) -> Split:
    """The first ``per_class`` facades of each class of ``split``, in index order."""
    classes = len(ATTRIBUTES[attribute])
    chosen: list[tuple[int, int]] = []
    counts = [0] * classes
    index = 0
    while min(counts) < per_class:
        label = facade_attributes(split, index, size)[attribute]
        if counts[label] < per_class:
            counts[label] += 1
            chosen.append((index, label))
        index += 1
    split_id = label_split_id(split)
    images = np.stack([render_chw(split_id, i, size) for i, _ in chosen])
    return Split(torch.from_numpy(images), torch.tensor([c for _, c in chosen]))


def facade_set(attribute: str = FACADE_ATTRIBUTE, size: int = 128,
               per_class: dict[str, int] | None = None) -> LabelledSet:
    """The embedded labelled set: facades labelled by one of their generator's decisions
    (``data.facades.attributes.ATTRIBUTES``), class-balanced splits that share no building
    with each other nor with the inpainting splits."""
    if attribute not in ATTRIBUTES:
        raise ValueError(f"unknown facade attribute {attribute!r}; choose from "
                         f"{', '.join(ATTRIBUTES)}")
    counts = {**FACADE_PER_CLASS, **(per_class or {})}
    splits = {s: _facade_split(s, attribute, counts[s], size) for s in ("train", "val", "test")}
    return LabelledSet(f"facades ({attribute})", ATTRIBUTES[attribute], size=size, **splits)


def folder_set(root: str | Path, size: int = 128, seed: int = 0) -> LabelledSet:
    """A folder of class subfolders (``root/<class>/<image>``, images found recursively in
    each) as a labelled set: each class split into train, val and test
    (:data:`FOLDER_FRACTIONS`, drawn with ``seed``). Unreadable images are skipped, warned
    about and counted; a folder with fewer than two classes, or a class with fewer than
    three readable images, is refused naming it."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"labelled folder {str(root)!r} does not exist or is not a folder")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(class_dirs) < 2:
        raise ValueError(f"labelled folder {str(root)!r} has {len(class_dirs)} class "
                         "subfolder(s); give at least two (root/<class>/<images>)")
    rng = np.random.default_rng([seed, 0xF01])
    parts: dict[str, list[tuple[np.ndarray, int]]] = {"train": [], "val": [], "test": []}
    skipped = 0
    for label, folder in enumerate(class_dirs):
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
        images = []
        for path in files:
            try:
                images.append(center_square(read_image_rgb(path), size).transpose(2, 0, 1))
            except ValueError as e:
                skipped += 1
                logger.warning("skipping %s", e)
        if len(images) < 3:
            raise ValueError(f"class {folder.name!r} in {str(root)!r} has {len(images)} "
                             f"readable image(s) (of {len(files)} file(s)); a class needs at "
                             "least 3 (train, val and test)")
        order = rng.permutation(len(images))
        n_val = max(1, round(len(images) * FOLDER_FRACTIONS["val"]))
        n_test = max(1, round(len(images) * FOLDER_FRACTIONS["test"]))
        for k, i in enumerate(order):
            part = "val" if k < n_val else "test" if k < n_val + n_test else "train"
            parts[part].append((images[i], label))
    splits = {name: Split(torch.from_numpy(np.stack([a for a, _ in items])),
                          torch.tensor([c for _, c in items]))
              for name, items in parts.items()}
    return LabelledSet(str(root), tuple(p.name for p in class_dirs), size=size,
                       skipped=skipped, **splits)
