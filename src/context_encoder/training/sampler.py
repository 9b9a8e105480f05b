"""Training data: a sampler of ``(index, sample number)`` keys, the dataset that turns a
key into an ``(image, mask)`` pair (with a training sketch for a sketch-guided model), and
the copy of each batch to the training device (:func:`device_batches`).

Data order, crops, flips, masks and sketches are functions of ``(seed, global sample
number)``, so a run resumed from a checkpoint at step k continues exactly as if it had not
stopped, and every rank of a distributed run sees different samples.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import signal
import sys
from collections.abc import Iterable, Iterator

import numpy as np
import torch

from ..data import FacadesDataset, ImageFolderDataset
from ..masks import get_mask_generator
from ..sketch import sketch_batch

__all__ = ["StepSampler", "TrainSamples", "device_batches", "make_image_dataset", "train_loader"]

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class StepSampler(torch.utils.data.Sampler):
    """Yields, for each step from ``start`` to ``stop``, this rank's batch of keys
    ``(index, sample_number)``; each epoch is a fresh permutation of the data."""

    def __init__(self, n: int, batch: int, seed: int, start: int, stop: int,
                 rank: int = 0, world: int = 1) -> None:
        self.n, self.batch, self.seed = n, batch, seed
        self.start, self.stop, self.rank, self.world = start, stop, rank, world
        self._epoch, self._perm = -1, np.empty(0, dtype=np.int64)

    def _index(self, p: int) -> int:
        epoch = p // self.n
        if epoch != self._epoch:
            self._epoch = epoch
            self._perm = np.random.default_rng([self.seed, 7, epoch]).permutation(self.n)
        return int(self._perm[p % self.n])

    def __len__(self) -> int:
        return self.stop - self.start

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for step in range(self.start, self.stop):
            base = (step * self.world + self.rank) * self.batch
            yield [(self._index(p), p) for p in range(base, base + self.batch)]


class TrainSamples(torch.utils.data.Dataset):
    """(image, mask) for a key; the mask, uint8 (1, S, S) with 1 = hole (a quarter of the
    bytes of a float one to move and pin; the trainer makes it float on its device), is
    drawn from ``(seed, sample number)``. The center model's hole is fixed, so its mask is
    all zeros (the trainer blanks the square).

    With ``sketch=True`` (a sketch-guided model) a third tensor, the training sketch
    (1, S, S) of the image's edges inside the hole (:func:`..sketch.sketch_batch`), is
    drawn from ``(seed, sample number)`` as well: in the loader's workers, and the same on
    a resumed run."""

    def __init__(self, images: torch.utils.data.Dataset, mask_kind: str, size: int,
                 seed: int, *, sketch: bool = False) -> None:
        self.images, self.size, self.seed, self.sketch = images, size, seed, sketch
        self.gen = None if mask_kind == "center" else get_mask_generator(mask_kind)
        if sketch and self.gen is None:
            raise ValueError("training sketches are for the full-image model, not center")

    def __len__(self) -> int:
        return len(self.images)  # type: ignore[arg-type]

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, ...]:
        index, p = key
        if isinstance(self.images, ImageFolderDataset):
            img = self.images[(index, self.seed * 1_000_003 + p)]
        else:
            img = self.images[index]
        if self.gen is None:
            mask = torch.zeros(1, self.size, self.size, dtype=torch.uint8)
        else:
            m = self.gen((self.size, self.size), np.random.default_rng([self.seed, 11, p]))
            mask = torch.from_numpy(m.astype(np.uint8))[None]  # (1, S, S)
        if not self.sketch:
            return img, mask
        rng = np.random.default_rng([self.seed, 17, p])
        return img, mask, sketch_batch(img[None], mask[None], rng)[0]  # (1, S, S)


def make_image_dataset(data: str, size: int, *, split: str, load_size: int | None,
                       train: bool) -> torch.utils.data.Dataset:
    """The embedded facades (``data == "facades"``) or an image folder, checked up front."""
    if data == "facades":
        return FacadesDataset(split=split, size=size, length=None if train else 500,
                              flip=train)
    ds = ImageFolderDataset(data, size=size, load_size=load_size, train=train)
    n_ok = ds.check()
    logger.info("%s: %d images (%d unreadable, skipped)", data, n_ok, len(ds.bad_files))
    return ds


def _die_with_parent(parent: int, worker_id: int) -> None:
    """``worker_init_fn``: the worker is killed as soon as the training process dies
    (Linux ``PR_SET_PDEATHSIG``), instead of lingering until PyTorch's watchdog notices."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))
        except (OSError, AttributeError) as e:  # no prctl: PyTorch's watchdog remains
            logger.debug("worker %d: prctl unavailable (%s)", worker_id, e)
    if os.getppid() != parent:  # forked by a helper process, or the parent already died
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os._exit(1)
        except OSError:
            pass


def train_loader(samples: TrainSamples, sampler: StepSampler, workers: int,
                 pin_memory: bool) -> torch.utils.data.DataLoader:
    """Batches of ``(images (B, 3, S, S), masks (B, 1, S, S)[, sketches (B, 1, S, S)])``
    in the sampler's order; ``workers`` processes decode ahead and exit with the training
    process."""
    return torch.utils.data.DataLoader(
        samples, batch_sampler=sampler, num_workers=workers, pin_memory=pin_memory,
        prefetch_factor=4 if workers > 0 else None, persistent_workers=False,
        worker_init_fn=functools.partial(_die_with_parent, os.getpid()) if workers else None,
    )


def _to_device(batch: Iterable[torch.Tensor], device: torch.device) -> list[torch.Tensor]:
    """The batch's tensors on ``device``, uint8 masks as float (1 = hole); the copies do not
    wait for the device (pinned host memory on CUDA)."""
    out = []
    for t in batch:
        t = t.to(device, non_blocking=True)
        out.append(t.float() if t.dtype == torch.uint8 else t)
    return out


def device_batches(batches: Iterable[Iterable[torch.Tensor]], device: torch.device
                   ) -> Iterator[list[torch.Tensor]]:
    """Each batch of ``batches`` (a :func:`train_loader`'s) on ``device``, in order.

    On CUDA the next batch is copied on a side stream while the current one trains, so the
    copy overlaps the step instead of running between steps; elsewhere this is a plain copy.
    """
    if device.type != "cuda":
        for batch in batches:
            yield _to_device(batch, device)
        return
    copies, compute = torch.cuda.Stream(device), torch.cuda.current_stream(device)

    def ahead(batch: Iterable[torch.Tensor]) -> list[torch.Tensor]:
        with torch.cuda.stream(copies):
            return _to_device(batch, device)

    pending: list[torch.Tensor] | None = None
    for batch in batches:
        nxt = ahead(batch)
        if pending is not None:
            yield pending
        compute.wait_stream(copies)  # the step that takes ``nxt`` waits for its copy
        for t in nxt:
            t.record_stream(compute)  # its memory is not reused before that step is done
        pending = nxt
    if pending is not None:
        yield pending
