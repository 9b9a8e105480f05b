"""The trainer: the paper's recipe on one CPU, one GPU, or many processes via torchrun.

One GAN step (``Trainer.train_step``), visible in one place:

1. G predicts the missing region from the masked input.
2. D learns on the real region (label 1) and on the detached prediction (label 0).
3. G learns from ``lambda_rec * weighted L2 + lambda_adv * adversarial`` with D frozen.

Data order, crops, flips and masks are functions of ``(seed, global sample number)``, so a
run resumed from a checkpoint at step k continues exactly as if it had not stopped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import time
import warnings
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from .checkpoint import find_checkpoint, read_checkpoint, save_checkpoint
from .config import REPRODUCIBILITY_KEYS, TrainConfig, mean_fill_value
from .data import FacadesDataset, ImageFolderDataset
from .errors import TrainingError
from .losses import (
    center_loss_weights,
    discriminator_loss,
    full_loss_weights,
    generator_loss,
)
from .masks import get_mask_generator
from .models import Discriminator, Generator
from .runtime import default_workers, resolve_device, resolve_precision

__all__ = ["TrainConfig", "Trainer", "TrainingError"]

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------
# Data: a sampler of (index, sample number) keys; the dataset draws crops and masks from it


class _StepSampler(torch.utils.data.Sampler):
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


class _TrainSamples(torch.utils.data.Dataset):
    """(image, mask) for a key; the mask is drawn from ``(seed, sample number)``."""

    def __init__(self, images: torch.utils.data.Dataset, mask_kind: str, size: int,
                 seed: int, overlap: int) -> None:
        self.images, self.size, self.seed = images, size, seed
        self.mask_kind = mask_kind
        self.gen = None if mask_kind == "center" else get_mask_generator(mask_kind)
        self.overlap = overlap

    def __len__(self) -> int:
        return len(self.images)  # type: ignore[arg-type]

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        index, p = key
        if isinstance(self.images, ImageFolderDataset):
            img = self.images[(index, self.seed * 1_000_003 + p)]
        else:
            img = self.images[index]
        if self.gen is None:
            mask = torch.zeros(1, self.size, self.size)
        else:
            m = self.gen((self.size, self.size), np.random.default_rng([self.seed, 11, p]))
            mask = torch.from_numpy(m).float()[None]  # (1, S, S)
        return img, mask


def make_image_dataset(data: str, size: int, *, split: str, load_size: int | None,
                       train: bool) -> torch.utils.data.Dataset:
    if data == "facades":
        return FacadesDataset(split=split, size=size, length=None if train else 500,
                              flip=train)
    ds = ImageFolderDataset(data, size=size, load_size=load_size, train=train)
    n_ok = ds.check()
    logger.info("%s: %d images (%d unreadable, skipped)", data, n_ok, len(ds.bad_files))
    return ds


def fixed_masks(kind: str, size: int, count: int, seed: int, overlap: int) -> torch.Tensor:
    """Deterministic validation masks (count, 1, S, S); for ``center`` the blanked square."""
    gen = get_mask_generator(kind, overlap=overlap) if kind == "center" else get_mask_generator(kind)
    rng = np.random.default_rng([seed, 13])
    return torch.from_numpy(np.stack([gen((size, size), rng) for _ in range(count)])).float()[:, None]


# --------------------------------------------------------------------------------------


class Trainer:
    """Trains a Context Encoder from a ``TrainConfig``.

    ``Trainer(cfg).fit()`` runs to ``cfg.steps``; with ``resume=True`` it continues the run
    in ``cfg.out`` from its last checkpoint. Under ``torchrun`` (WORLD_SIZE > 1) it uses
    DistributedDataParallel; each rank sees different samples and only rank 0 writes.
    """

    def __init__(self, cfg: TrainConfig, *, resume: bool = False) -> None:
        self.cfg = cfg
        self.model_config = cfg.model_config()
        self.out = Path(cfg.out)
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.is_main = self.rank == 0
        self.device = resolve_device(cfg.device)
        self.amp_dtype = resolve_precision(cfg.precision, self.device)
        self.channels_last = (cfg.channels_last if cfg.channels_last is not None
                              else self.device.type in ("cuda", "cpu"))

        # Everything that can fail on bad input is checked before any work or writing.
        self._check_out_dir(resume)
        self.train_images = make_image_dataset(cfg.data, cfg.image_size, split="train",
                                               load_size=cfg.load_size, train=True)
        val_src = cfg.val_data or cfg.data
        if cfg.val_data is None and cfg.data != "facades":
            warnings.warn(f"no --val-data: validating on training images from {cfg.data}; "
                          "best.json then measures fit, not generalisation", stacklevel=2)
        self.val_images = make_image_dataset(val_src, cfg.image_size, split="val",
                                             load_size=cfg.load_size, train=False)
        if cfg.epochs is not None:
            per_step = cfg.batch_size * self.world
            self.total_steps = max(1, math.ceil(cfg.epochs * len(self.train_images) / per_step))
        else:
            self.total_steps = cfg.steps

        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        if self.world > 1 and not dist.is_initialized():
            backend = "nccl" if self.device.type == "cuda" else "gloo"
            dist.init_process_group(backend)

        torch.manual_seed(cfg.seed)
        self.G = Generator(self.model_config).to(self.device)
        self.D = Discriminator(self.model_config).to(self.device)
        if self.channels_last:
            self.G = self.G.to(memory_format=torch.channels_last)
            self.D = self.D.to(memory_format=torch.channels_last)
        opt_kw: dict[str, Any] = {"betas": (cfg.beta1, 0.999)}
        if self.device.type in ("cuda", "cpu"):
            opt_kw["fused"] = True  # one kernel per parameter group instead of a dozen passes
        else:
            opt_kw["foreach"] = True
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr * cfg.g_lr_mult, **opt_kw)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr, **opt_kw)
        self.scaler = torch.amp.GradScaler(
            self.device.type, enabled=self.amp_dtype == torch.float16
        )
        self.step = 0
        self.best_psnr = -math.inf
        if resume:
            self._load_last()
        self.G_ddp: nn.Module = self.G
        self.D_ddp: nn.Module = self.D
        if self.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.G_ddp = nn.parallel.DistributedDataParallel(self.G, device_ids=ids)
            self.D_ddp = nn.parallel.DistributedDataParallel(self.D, device_ids=ids)

        fill = torch.tensor(mean_fill_value(), device=self.device).view(1, 3, 1, 1)
        self.fill = fill
        self.center_weights = center_loss_weights(self.model_config, cfg.overlap_weight,
                                                  self.device)
        self._collapse_steps = 0
        self._warned_collapse = False

    # -- setup ------------------------------------------------------------------------
    def _run_config(self) -> dict[str, Any]:
        return {"model": self.model_config.to_dict(), "train": asdict(self.cfg)}

    def _check_out_dir(self, resume: bool) -> None:
        has_ckpt = (self.out / "last.json").exists()
        if resume:
            if not has_ckpt:
                raise TrainingError(f"--resume: no checkpoint in {str(self.out)!r}")
            saved = json.loads((find_checkpoint(self.out) / "config.json").read_text())
            if saved.get("model") != self.model_config.to_dict():
                diff = {k: (v, self.model_config.to_dict().get(k))
                        for k, v in saved.get("model", {}).items()
                        if self.model_config.to_dict().get(k) != v}
                raise TrainingError(
                    f"--resume: the run in {str(self.out)!r} has another model config "
                    f"(saved vs asked: {diff}); use the same options or another --out"
                )
            changed = sorted(k for k in REPRODUCIBILITY_KEYS
                             if saved.get("train", {}).get(k) != getattr(self.cfg, k))
            if changed:
                warnings.warn(
                    f"--resume with changed training options ({', '.join(changed)}): the run "
                    "will differ from one trained uninterrupted with either setting",
                    stacklevel=2,
                )
        elif has_ckpt:
            raise TrainingError(
                f"{str(self.out)!r} already holds a run; pass --resume to continue it or "
                "choose another --out (nothing was overwritten)"
            )

    def _load_last(self) -> None:
        ck = read_checkpoint(find_checkpoint(self.out, "last"), map_location=self.device)
        self.G.load_state_dict(ck["generator"])
        self.D.load_state_dict(ck["discriminator"])
        st = ck["state"]
        self.opt_g.load_state_dict(st["opt_g"])
        self.opt_d.load_state_dict(st["opt_d"])
        # The saved optimizer state carries the learning rates it ran with; a --lr or
        # --g-lr-mult given on resume must win over them (the warning above says they changed).
        for opt, lr in ((self.opt_g, self.cfg.lr * self.cfg.g_lr_mult), (self.opt_d, self.cfg.lr)):
            for group in opt.param_groups:
                group["lr"] = lr
        if "scaler" in st and st["scaler"]:
            self.scaler.load_state_dict(st["scaler"])
        self.step = int(st["step"])
        self.best_psnr = float(st.get("best_psnr", -math.inf))
        torch.set_rng_state(st["torch_rng"].cpu())
        logger.info("resumed %s at step %d", self.out, self.step)

    def _loader(self) -> torch.utils.data.DataLoader:
        cfg = self.cfg
        samples = _TrainSamples(self.train_images, cfg.mask, cfg.image_size, cfg.seed, cfg.overlap)
        sampler = _StepSampler(len(samples), cfg.batch_size, cfg.seed, self.step,
                               self.total_steps, self.rank, self.world)
        workers = cfg.workers
        if workers is None:
            workers = default_workers(self.device, self.world)
        return torch.utils.data.DataLoader(
            samples, batch_sampler=sampler, num_workers=workers,
            pin_memory=self.device.type == "cuda",
            prefetch_factor=4 if workers > 0 else None,
            persistent_workers=False,
        )

    # -- the GAN step -----------------------------------------------------------------
    def _autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def make_input(self, real: torch.Tensor, mask: torch.Tensor):
        """(generator input, target, loss weights, hole mask of the target) for a batch.

        center: the input is the image with its central square (less the overlap ring)
        filled with the mean colour; the target is the central half of the image.
        full: the input is the image with the hole filled with the mean colour (the mask
        goes in as a fourth channel); the target is the whole image.
        """
        if self.model_config.task == "center":
            (a, b), (ba, bb) = self.model_config.center_span, self.model_config.blank_span
            x = real.clone()
            x[..., ba:bb, ba:bb] = self.fill
            return x, real[..., a:b, a:b], self.center_weights, None
        x = real * (1 - mask) + self.fill * mask  # (B, 3, S, S)
        return x, real, full_loss_weights(mask, self.cfg.context_weight), mask

    def train_step(self, real: torch.Tensor, mask: torch.Tensor) -> dict[str, float]:
        cfg = self.cfg
        if self.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        x, target, weights, hole = self.make_input(real, mask)

        # 1. G predicts the missing region.
        with self._autocast():
            pred = self.G_ddp(x, hole) if hole is not None else self.G_ddp(x)
        fake = pred if hole is None else hole * pred + (1 - hole) * real  # what D judges

        # 2. D on real and on the detached fake (separate passes, as in the paper; with DDP
        #    the first backward only accumulates, the second synchronises).
        self.D.requires_grad_(True)
        self.opt_d.zero_grad(set_to_none=True)
        sync_ctx = self.D_ddp.no_sync() if self.world > 1 else contextlib.nullcontext()
        with sync_ctx:
            with self._autocast():
                real_logits = self.D_ddp(target)
            d_real = torch.nn.functional.binary_cross_entropy_with_logits(
                real_logits.float(), torch.ones_like(real_logits, dtype=torch.float32))
            self.scaler.scale(d_real).backward()
        with self._autocast():
            fake_logits = self.D_ddp(fake.detach())
        d_loss, d_metrics = discriminator_loss(real_logits.detach(), fake_logits)
        d_fake = d_loss - d_metrics["d_real"]  # the fake half carries the graph
        self.scaler.scale(d_fake).backward()
        self.scaler.step(self.opt_d)

        # 3. G on reconstruction + adversarial loss, D frozen.
        self.D.requires_grad_(False)
        self.opt_g.zero_grad(set_to_none=True)
        with self._autocast():
            adv_logits = self.D(fake) if cfg.lambda_adv > 0 else None
        g_loss, g_metrics = generator_loss(pred, target, weights, adv_logits,
                                           cfg.lambda_rec, cfg.lambda_adv)
        finite = math.isfinite(g_loss.item()) and math.isfinite(d_metrics["d_loss"])
        if self.world > 1:  # every rank stops together, none waits in a collective
            flag = torch.tensor([1.0 if finite else 0.0], device=self.device)
            dist.all_reduce(flag, op=dist.ReduceOp.MIN)
            finite = bool(flag.item())
        if not finite:
            raise TrainingError(
                f"loss became non-finite at step {self.step + 1} (g_loss={g_loss.item()}, "
                f"d_loss={d_metrics['d_loss']}); stopped, the last good checkpoint is kept "
                f"in {str(self.out)!r}. Try a lower --lr or --precision fp32."
            )
        self.scaler.scale(g_loss).backward()
        self.scaler.step(self.opt_g)
        self.scaler.update()
        self.D.requires_grad_(True)
        return {**d_metrics, **g_metrics}

    # -- validation -------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, real: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(composited full image, hole mask) in eval mode for a validation batch."""
        x, _, _, hole = self.make_input(real, mask)
        with self._autocast():
            pred = self.G(x, hole) if hole is not None else self.G(x)
        pred = pred.float()
        if hole is None:
            a, b = self.model_config.center_span
            out = real.clone()
            out[..., a:b, a:b] = pred
            hole = torch.zeros_like(real[:, :1])
            hole[..., a:b, a:b] = 1
            return out, hole
        return hole * pred + (1 - hole) * real, hole

    @torch.no_grad()
    def validate(self) -> tuple[dict[str, float], torch.Tensor]:
        from .metrics import torch_hole_metrics

        cfg = self.cfg
        n = min(cfg.val_count, len(self.val_images))  # type: ignore[arg-type]
        masks = fixed_masks("center" if cfg.mask == "center" else cfg.mask,
                            cfg.image_size, n, cfg.seed, cfg.overlap)
        was_training = self.G.training
        self.G.eval()
        totals: dict[str, float] = {}
        grid_rows = []
        for i in range(0, n, 50):
            real = torch.stack([self.val_images[j] for j in range(i, min(n, i + 50))])
            real = real.to(self.device)
            m = masks[i : i + len(real)].to(self.device)
            out, hole = self.predict(real, m)
            res = torch_hole_metrics(out, real, hole.bool())
            for k, v in res.items():
                totals[k] = totals.get(k, 0.0) + v * len(real)
            if i == 0:
                shown = real[:8] * (1 - hole[:8]) + self.fill * hole[:8]
                grid_rows = [shown, out[:8], real[:8]]
        self.G.train(was_training)
        return {k: v / n for k, v in totals.items()}, torch.cat(grid_rows).cpu()

    # -- the loop ---------------------------------------------------------------------
    def _save(self, is_best: bool) -> None:
        state = {
            "step": self.step,
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else {},
            "torch_rng": torch.get_rng_state(),
            "best_psnr": self.best_psnr,
        }
        save_checkpoint(self.out, self.step, generator=self.G, discriminator=self.D,
                        state=state, config=self._run_config(), keep_last=self.cfg.keep_last,
                        is_best=is_best)

    def _watch_discriminator(self, m: dict[str, float]) -> None:
        collapsed = m.get("d_loss", 1.0) < 1e-3 or m.get("d_loss", 0.0) > 20
        self._collapse_steps = self._collapse_steps + 1 if collapsed else 0
        if self._collapse_steps >= 200 and not self._warned_collapse:
            self._warned_collapse = True
            warnings.warn(
                f"the discriminator looks collapsed (d_loss={m['d_loss']:.2e} for 200 steps "
                f"at step {self.step}); the adversarial term no longer teaches the generator",
                stacklevel=2,
            )

    def fit(self) -> dict[str, Any]:
        """Train to the last step; returns the final validation metrics and timings."""
        cfg = self.cfg
        writer = None
        if self.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "samples").mkdir(exist_ok=True)
            (self.out / "config.json").write_text(json.dumps(self._run_config(), indent=2))
            try:
                from torch.utils.tensorboard import SummaryWriter

                writer = SummaryWriter(str(self.out / "tensorboard"), purge_step=self.step)
            except ImportError:
                logger.warning("tensorboard is not installed; no event files written")
        bar = None
        if self.is_main and cfg.progress:
            from tqdm import tqdm

            bar = tqdm(total=self.total_steps, initial=self.step, unit="step", dynamic_ncols=True)
        self.G.train()
        self.D.train()
        window: dict[str, float] = {}
        n_window, t_window, imgs = 0, time.perf_counter(), 0
        t_start = time.perf_counter()
        last_val: dict[str, float] = {}
        val_step = -1
        ok = False
        metrics_file = self.out / "metrics.jsonl"
        try:
            for real, mask in self._loader():
                real = real.to(self.device, non_blocking=True)
                mask = mask.to(self.device, non_blocking=True)
                m = self.train_step(real, mask)
                self.step += 1
                imgs += real.shape[0] * self.world
                n_window += 1
                for k, v in m.items():
                    window[k] = window.get(k, 0.0) + v
                self._watch_discriminator(m)
                if bar is not None:
                    bar.update(1)
                if self.step % cfg.log_every == 0 or self.step == self.total_steps:
                    dt = time.perf_counter() - t_window
                    avg = {k: v / n_window for k, v in window.items()}
                    avg["img_per_s"] = imgs / dt
                    if bar is not None:
                        bar.set_postfix(g=f"{avg['g_rec']:.4f}", d=f"{avg['d_loss']:.3f}",
                                        ips=f"{avg['img_per_s']:.1f}")
                    if self.is_main:
                        with open(metrics_file, "a") as f:
                            f.write(json.dumps({"step": self.step, **avg}) + "\n")
                        if writer is not None:
                            for k, v in avg.items():
                                writer.add_scalar(f"train/{k}", v, self.step)
                    window, n_window, imgs, t_window = {}, 0, 0, time.perf_counter()
                is_last = self.step == self.total_steps
                if self.is_main and (self.step % cfg.val_every == 0 or is_last):
                    last_val, grid = self.validate()
                    val_step = self.step
                    with open(metrics_file, "a") as f:
                        f.write(json.dumps({"step": self.step, **{f"val_{k}": v
                                            for k, v in last_val.items()}}) + "\n")
                    if writer is not None:
                        for k, v in last_val.items():
                            writer.add_scalar(f"val/{k}", v, self.step)
                    if self.step % cfg.sample_every == 0 or is_last:
                        save_grid(grid, self.out / "samples" / f"step-{self.step:08d}.png", nrow=8)
                    logger.info("step %d val %s", self.step, last_val)
                if self.is_main and (self.step % cfg.ckpt_every == 0 or is_last):
                    # only a checkpoint validated at its own step can be the best
                    psnr = last_val.get("psnr", -math.inf) if val_step == self.step else -math.inf
                    is_best = psnr > self.best_psnr
                    if is_best:
                        self.best_psnr = psnr
                    self._save(is_best)
            ok = True
        finally:
            if bar is not None:
                bar.close()
            if writer is not None:
                writer.close()
            if self.world > 1 and dist.is_initialized():
                if ok:
                    dist.barrier()
                dist.destroy_process_group()
        return {"step": self.step, "val": last_val,
                "seconds": time.perf_counter() - t_start}


def save_grid(images: torch.Tensor, path: Path, nrow: int = 8) -> None:
    """Save (N, 3, H, W) images in [-1, 1] as a PNG grid, ``nrow`` per row."""
    from PIL import Image

    n, _, h, w = images.shape
    rows = math.ceil(n / nrow)
    grid = np.full((rows * (h + 2), nrow * (w + 2), 3), 255, dtype=np.uint8)
    arr = ((images.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    for i in range(n):
        r, c = divmod(i, nrow)
        grid[r * (h + 2) + 1 : r * (h + 2) + 1 + h, c * (w + 2) + 1 : c * (w + 2) + 1 + w] = arr[i]
    tmp = path.with_suffix(".tmp.png")
    Image.fromarray(grid).save(tmp)
    os.replace(tmp, path)
