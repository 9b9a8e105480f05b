"""The trainer: the paper's recipe on one CPU, one GPU, or many processes via torchrun.

One GAN step (:meth:`Trainer.train_step`), visible in one place:

1. G predicts the missing region from the masked input.
2. D learns on the real region (label 1) and on the detached prediction (label 0).
3. G learns from ``lambda_rec * weighted L2 + lambda_adv * adversarial`` with D frozen.

The step reads nothing back from the device: its metrics are 0-d device tensors, which
:class:`.watch.LossWatch` (non-finite losses, a collapsed D) and :class:`.logging.RunLog`
(windowed means) read back every few steps. On a GPU the host thus queues steps ahead of
the device, and ``--compile`` can hand G and D to ``torch.compile``.

A sketch-guided model (``--guide sketch``, DeepFill v2) gets a training sketch with each
sample (edges of the truth inside the hole, :class:`.sampler.TrainSamples`); G follows it
and D reads it beside both the real and the fake image.

:meth:`Trainer.fit` is the loop around it: log, validate, save a checkpoint.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from ..checkpoint import (
    RunConfig,
    clean_stale_temporaries,
    find_checkpoint,
    load_generator,
    read_checkpoint,
    read_model_config,
    restore_train_state,
    save_checkpoint,
    train_state,
)
from ..config import REPRODUCIBILITY_KEYS, ModelConfig, TrainConfig
from ..data.folder import MAX_LOAD_SIZE
from ..errors import TrainingError
from ..io.files import atomic_write_text
from ..losses import center_loss_weights, discriminator_loss, full_loss_weights, generator_loss
from ..masks import NO_HOLE, composite
from ..models import (
    MEAN_FILL,
    Discriminator,
    Generator,
    activation_count,
    model_input,
    parameter_count,
)
from ..models.warm_start import gated_from_plain
from ..runtime import (
    check_fits,
    check_workers,
    default_workers,
    resolve_device,
    resolve_precision,
)
from .logging import RunLog
from .sampler import StepSampler, TrainSamples, device_batches, make_image_dataset, train_loader
from .validation import fixed_masks, save_grid, validate
from .watch import LossWatch

__all__ = ["Trainer"]

logger = logging.getLogger(__name__)


def _differences(a: ModelConfig, b: ModelConfig) -> dict[str, tuple[Any, Any]]:
    """``{key: (a's value, b's value)}`` where two model configs differ."""
    da, db = a.to_dict(), b.to_dict()
    return {k: (da.get(k), db.get(k)) for k in sorted(set(da) | set(db)) if da.get(k) != db.get(k)}


def _warm_starts(source: ModelConfig, target: ModelConfig) -> bool:
    """Whether a generator of config ``source`` starts one of ``target`` that differs from
    it: a plain unguided one becomes gated and/or sketch-guided
    (:func:`~context_encoder.models.warm_start.gated_from_plain`), and/or a single-stage one
    gets a new refinement stage, which starts at zero (the same function)."""
    diff = set(_differences(source, target))
    if not diff or not diff <= {"conv", "guide", "refine_width"}:
        return False
    if "refine_width" in diff and source.refine_width != 0:
        return False
    if source.refine_width and diff & {"conv", "guide"}:
        return False  # gated_from_plain converts the first stage only
    return not diff & {"conv", "guide"} or (source.conv == "plain" and source.guide == "none")


class Trainer:
    """Trains a Context Encoder from a ``TrainConfig``.

    ``Trainer(cfg).fit()`` runs to ``cfg.steps``; with ``resume=True`` it continues the run
    in ``cfg.out`` from its last checkpoint. ``cfg.init`` starts the generator from a
    shipped or exported model of the same model config, or from a plain one for a gated
    and/or sketch-guided config (``gated_from_plain``), or from a single-stage one for a
    config with a refinement stage (D starts fresh in both). Under ``torchrun``
    (WORLD_SIZE > 1) it uses DistributedDataParallel; each rank sees different samples and
    only rank 0 writes.
    """

    def __init__(self, cfg: TrainConfig, *, resume: bool = False) -> None:
        self.cfg = cfg
        self.model_config = cfg.model_config()
        self.run_config = RunConfig.of(cfg)
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
        self._check_sizes()
        if cfg.init is not None and not resume:
            self._check_init(cfg.init)
        self.train_images = make_image_dataset(cfg.data, cfg.image_size, split="train",
                                               load_size=cfg.load_size, train=True)
        if cfg.val_data is None and cfg.data != "facades":
            warnings.warn(f"no --val-data: validating on training images from {cfg.data}; "
                          "best.json then measures fit, not generalisation", stacklevel=2)
        self.val_images = make_image_dataset(cfg.val_data or cfg.data, cfg.image_size,
                                             split="val", load_size=cfg.load_size, train=False)
        self.total_steps = cfg.steps
        if cfg.epochs is not None:
            per_step = cfg.batch_size * self.world
            self.total_steps = max(1, math.ceil(cfg.epochs * len(self.train_images) / per_step))
        if self.is_main:
            clean_stale_temporaries(self.out)

        self._start_distributed()
        self._build(resume)
        self.fill = torch.from_numpy(MEAN_FILL).to(self.device).view(1, 3, 1, 1)
        self.center_weights = center_loss_weights(self.model_config, cfg.overlap_weight,
                                                  self.device)
        self.last_val: dict[str, float] = {}
        self.check_every = cfg.check_every or cfg.log_every
        self.watch = LossWatch(self.device, start=self.step, every=self.check_every,
                               world=self.world, out=str(self.out))

    # -- setup ------------------------------------------------------------------------
    def _check_out_dir(self, resume: bool) -> None:
        if self.out.exists() and not self.out.is_dir():
            raise TrainingError(f"--out {str(self.out)!r} is a file; name a folder for the run "
                                "(nothing was written)")
        has_ckpt = (self.out / "last.json").exists()
        if not resume:
            if has_ckpt:
                raise TrainingError(
                    f"{str(self.out)!r} already holds a run; pass --resume to continue it or "
                    "choose another --out (nothing was overwritten)")
            return
        if not has_ckpt:
            raise TrainingError(f"--resume: no checkpoint in {str(self.out)!r}")
        saved, _ = RunConfig.read(find_checkpoint(self.out))
        diff = _differences(saved.model, self.model_config)
        if diff:
            raise TrainingError(
                f"--resume: the run in {str(self.out)!r} has another model config "
                f"(saved vs asked: {diff}); use the same options or another --out")
        defaults = TrainConfig()  # a key saved before its option existed had its default
        changed = sorted(k for k in REPRODUCIBILITY_KEYS
                         if saved.train.get(k, getattr(defaults, k)) != getattr(self.cfg, k))
        if changed:
            warnings.warn(
                f"--resume with changed training options ({', '.join(changed)}): the run "
                "will differ from one trained uninterrupted with either setting", stacklevel=3)

    def _check_sizes(self) -> None:
        """Refuse, before anything is allocated, options that size work beyond the machine:
        a generator whose weights, gradients and Adam state (16 bytes a parameter) would
        take more than half the device's memory; a batch whose layer outputs (4 bytes each,
        :func:`activation_count`) would not fit beside it; a ``--load-size`` of over
        :data:`MAX_LOAD_SIZE` px; more data-loading processes than the cores can run."""
        cfg = self.cfg
        params = parameter_count(self.model_config)
        check_fits(params * 16, f"a generator of {params:,} parameters (weights, gradients "
                   "and Adam state)", f"lower --width (now {cfg.width}), --bottleneck-dim "
                   f"({cfg.bottleneck_dim}) or --refine-width ({cfg.refine_width})",
                   device=self.device, share=0.5)
        per_image = activation_count(self.model_config) * 4
        check_fits(params * 16 + cfg.batch_size * per_image,
                   f"--batch-size {cfg.batch_size} ({per_image / 1e6:.0f} MB of layer outputs "
                   "an image, beside the model)", "lower --batch-size", device=self.device)
        if cfg.load_size is not None and cfg.load_size > MAX_LOAD_SIZE:
            raise TrainingError(f"--load-size {cfg.load_size}: at most {MAX_LOAD_SIZE} px (the "
                                "shorter side each training image is resized to)")
        check_workers(cfg.workers)

    def _check_init(self, source: str) -> None:
        """``--init``: the model must have this run's model config (read from its metadata),
        or be one it warm-starts from (``_warm_starts``): the plain one of a gated and/or
        guided config, and/or the single-stage one of a config with a refinement stage."""
        theirs = read_model_config(source)
        diff = _differences(theirs, self.model_config)
        if diff and not _warm_starts(theirs, self.model_config):
            raise TrainingError(
                f"--init {source!r}: its model config differs from this run's in "
                + ", ".join(f"{k} ({a!r} vs {b!r})" for k, (a, b) in diff.items())
                + f"; the model's config is {theirs.to_dict()}, this run's is "
                f"{self.model_config.to_dict()}: give the options that match it")

    def _start_distributed(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        if self.world > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")

    def _build(self, resume: bool) -> None:
        """G, D, their optimizers and the loss scaler: fresh from the seed, then from
        ``--init`` (the generator) or from the last checkpoint (everything)."""
        cfg = self.cfg
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
        self.opt_g = torch.optim.Adam(self._g_groups(), **opt_kw)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr, **opt_kw)
        self.scaler = torch.amp.GradScaler(self.device.type,
                                           enabled=self.amp_dtype == torch.float16)
        self.step = 0
        self.best_psnr = -math.inf
        if resume:
            self._load_last()
        elif cfg.init is not None:
            gen, info = load_generator(cfg.init)
            state = gen.state_dict()
            source = info["config"]
            if _warm_starts(source, self.model_config):  # D starts fresh
                single = replace(self.model_config, refine_width=source.refine_width)
                if (source.conv, source.guide) != (single.conv, single.guide):
                    state = gated_from_plain(state, single)
                state = {**self.G.state_dict(), **state}  # a new refiner keeps its own start
            self.G.load_state_dict(state)
            logger.info("generator initialised from %s (step %s)", info["source"], info["step"])
        self.G_ddp: nn.Module = self.G
        self.D_ddp: nn.Module = self.D
        if self.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.G_ddp = nn.parallel.DistributedDataParallel(self.G, device_ids=ids)
            self.D_ddp = nn.parallel.DistributedDataParallel(self.D, device_ids=ids)
        # What the step calls: G, D (both DDP-wrapped on several ranks), D frozen.
        self.G_step: Callable[..., torch.Tensor] = self.G_ddp
        self.D_step: Callable[..., torch.Tensor] = self.D_ddp
        self.D_frozen: Callable[..., torch.Tensor] = self.D
        if cfg.compile != "none":
            self._compile(cfg.compile)

    def _g_groups(self) -> list[dict[str, Any]]:
        """The generator's parameter groups: one at ``lr * g_lr_mult``, and a refinement
        stage's (``--refine-width``) in a second one at ``refine_lr_mult`` times that."""
        lr = self.cfg.lr * self.cfg.g_lr_mult
        if self.G.refine is None:
            return [{"params": list(self.G.parameters()), "lr": lr}]
        refine = list(self.G.refine.parameters())
        ids = {id(p) for p in refine}
        return [{"params": [p for p in self.G.parameters() if id(p) not in ids], "lr": lr},
                {"params": refine, "lr": lr * self.cfg.refine_lr_mult}]

    def _compile(self, mode: str) -> None:
        """``--compile``: the step calls G and D through ``torch.compile`` (compiled on their
        first steps); the modules themselves, their state dicts and the checkpoints stay the
        plain ones. ``reduce-overhead`` adds CUDA graphs (on CUDA)."""
        kw: dict[str, Any] = {} if mode == "default" else {"mode": mode}
        self.G_step = torch.compile(self.G_ddp, **kw)
        self.D_step = torch.compile(self.D_ddp, **kw)
        self.D_frozen = self.D_step if self.D_ddp is self.D else torch.compile(self.D, **kw)
        logger.info("G and D compiled with torch.compile (mode %s)", mode)

    def _load_last(self) -> None:
        ck = read_checkpoint(find_checkpoint(self.out, "last"), map_location=self.device)
        self.G.load_state_dict(ck["generator"])
        self.D.load_state_dict(ck["discriminator"])
        self.step, self.best_psnr = restore_train_state(ck["state"], self.opt_g, self.opt_d,
                                                        self.scaler)
        # The saved optimizer state carries the learning rates it ran with; a --lr or
        # --g-lr-mult given on resume must win over them (the warning above says they changed).
        for group, wanted in zip(self.opt_g.param_groups, self._g_groups(), strict=True):
            group["lr"] = wanted["lr"]
        for group in self.opt_d.param_groups:
            group["lr"] = self.cfg.lr
        logger.info("resumed %s at step %d", self.out, self.step)

    def _loader(self) -> torch.utils.data.DataLoader:
        cfg = self.cfg
        samples = TrainSamples(self.train_images, cfg.mask, cfg.image_size, cfg.seed,
                               sketch=self.model_config.guide == "sketch")
        sampler = StepSampler(len(samples), cfg.batch_size, cfg.seed, self.step,
                              self.total_steps, self.rank, self.world)
        workers = cfg.workers if cfg.workers is not None else default_workers(self.device,
                                                                              self.world)
        return train_loader(samples, sampler, workers, pin_memory=self.device.type == "cuda")

    # -- the GAN step -----------------------------------------------------------------
    def _autocast(self) -> contextlib.AbstractContextManager:
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
            a, b = self.model_config.center_span
            x = model_input(real, self.model_config, channels_last=False)
            return x, real[..., a:b, a:b], self.center_weights, None
        x = model_input(real, self.model_config, mask[:, 0], channels_last=False)  # (B, 3, S, S)
        return x, real, full_loss_weights(mask, self.cfg.context_weight), mask

    def train_step(self, real: torch.Tensor, mask: torch.Tensor,
                   sketch: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """One GAN step on a batch; ``mask`` (B, 1, S, S), 1 = hole, float or the loader's
        uint8; ``sketch`` (B, 1, S, S) for a sketch-guided model, which G follows and D reads
        beside the real and the fake image alike. Returns the step's metrics as 0-d tensors
        on the device: nothing is read back, so the host does not wait for the step."""
        cfg = self.cfg
        if cfg.compile == "reduce-overhead":
            torch.compiler.cudagraph_mark_step_begin()  # the last step's graph outputs are free
        if self.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        x, target, weights, hole = self.make_input(real, mask.float())

        # 1. G predicts the missing region.
        with self._autocast():
            pred = self.G_step(x, hole, sketch) if hole is not None else self.G_step(x)
        fake = pred if hole is None else composite(pred, real, hole)  # what D judges

        adversarial = cfg.lambda_adv > 0  # else reconstruction only: no D at all
        d_metrics = self._train_d(target, fake, sketch) if adversarial else {}

        # 3. G on reconstruction + adversarial loss, D frozen.
        self.D.requires_grad_(False)
        self.opt_g.zero_grad(set_to_none=True)
        with self._autocast():
            adv_logits = self.D_frozen(fake, sketch) if adversarial else None
        g_loss, g_metrics = generator_loss(pred, target, weights, adv_logits,
                                           cfg.lambda_rec, cfg.lambda_adv)
        self.scaler.scale(g_loss).backward()
        self.scaler.step(self.opt_g)
        self.scaler.update()
        self.D.requires_grad_(True)
        return {**d_metrics, **g_metrics}

    def _train_d(self, target: torch.Tensor, fake: torch.Tensor,
                 sketch: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """2. D on real and on the detached fake: separate passes, as in the paper, and one
        backward through both (with DDP, the real pass runs under no_sync so that the
        gradients are all-reduced once, during that backward)."""
        self.D.requires_grad_(True)
        self.opt_d.zero_grad(set_to_none=True)
        no_sync = self.D_ddp.no_sync() if self.world > 1 else contextlib.nullcontext()
        with no_sync, self._autocast():
            real_logits = self.D_step(target, sketch)
        with self._autocast():
            fake_logits = self.D_step(fake.detach(), sketch)
        d_loss, d_metrics = discriminator_loss(real_logits, fake_logits)
        self.scaler.scale(d_loss).backward()
        self.scaler.step(self.opt_d)
        return d_metrics

    # -- validation -------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, real: torch.Tensor, mask: torch.Tensor,
                sketch: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(composited full image, hole mask) for a validation batch (``sketch``: a guided
        model's sketch, (B, 1, S, S))."""
        x, _, _, hole = self.make_input(real, mask)
        with self._autocast():
            pred = self.G(x, hole, sketch) if hole is not None else self.G(x)
        pred = pred.float()
        if self.cfg.mask == NO_HOLE:  # the autoencoder: its output, scored over the image
            return pred, torch.ones_like(real[:, :1])
        if hole is None:
            a, b = self.model_config.center_span
            out = real.clone()
            out[..., a:b, a:b] = pred
            hole = torch.zeros_like(real[:, :1])
            hole[..., a:b, a:b] = 1
            return out, hole
        return composite(pred, real, hole), hole

    def validate(self) -> tuple[dict[str, float], torch.Tensor]:
        """Mean hole metrics over ``val_count`` validation images (G in eval mode), and
        the sample grid's images."""
        cfg = self.cfg
        n = min(cfg.val_count, len(self.val_images))  # type: ignore[arg-type]
        masks = fixed_masks(cfg.mask, self.model_config, n, cfg.seed)
        was_training = self.G.training
        self.G.eval()
        try:
            return validate(self.predict, self.val_images, masks, self.device, self.fill,
                            sketch=self.model_config.guide == "sketch")
        finally:
            self.G.train(was_training)

    # -- the loop ---------------------------------------------------------------------
    def _end_of_step(self, log: RunLog) -> None:
        """Check the losses, log, validate (and save a sample grid), checkpoint: each when
        its turn comes. The losses are checked before anything is logged, validated or
        saved, so no checkpoint holds the weights of a step whose loss was not finite."""
        cfg, step = self.cfg, self.step
        last = step == self.total_steps
        logged = step % cfg.log_every == 0 or last
        validated = step % cfg.val_every == 0 or last
        saved = step % cfg.ckpt_every == 0 or last
        if logged or validated or saved or step % self.check_every == 0:
            self.watch.check(step)  # the same steps on every rank: a collective
        if logged:
            log.train(step)
        if not self.is_main:
            return
        if validated:
            self.last_val, grid = self.validate()
            log.val(step, self.last_val)
            if step % cfg.sample_every == 0 or last:
                save_grid(grid, self.out / "samples" / f"step-{step:08d}.png")
            logger.info("step %d val %s", step, self.last_val)
        if saved:
            # only a checkpoint validated at its own step can be the best
            psnr = self.last_val.get("psnr", -math.inf) if validated else -math.inf
            is_best = psnr > self.best_psnr
            if is_best:
                self.best_psnr = psnr
            state = train_state(step, self.opt_g, self.opt_d, self.scaler, self.best_psnr)
            save_checkpoint(self.out, step, generator=self.G, discriminator=self.D,
                            state=state, config=self.run_config, keep_last=cfg.keep_last,
                            is_best=is_best)

    def fit(self) -> dict[str, Any]:
        """Train to the last step; returns the final validation metrics and timings."""
        if self.is_main:
            (self.out / "samples").mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.out / "config.json",
                              json.dumps(self.run_config.to_dict(), indent=2))
        log = RunLog(self.out, start=self.step, total=self.total_steps, enabled=self.is_main,
                     progress=self.cfg.progress)
        self.G.train()
        self.D.train()
        t_start = time.perf_counter()
        ok = False
        try:
            for real, *rest in device_batches(self._loader(), self.device):  # mask[, sketch]
                m = self.train_step(real, *rest)
                self.step += 1
                self.watch.update(self.step, m)
                log.step(m, images=real.shape[0] * self.world)
                self._end_of_step(log)
            ok = True
        finally:
            log.close()
            if self.world > 1 and dist.is_initialized():
                if ok:
                    dist.barrier()
                dist.destroy_process_group()
        return {"step": self.step, "val": self.last_val,
                "seconds": time.perf_counter() - t_start}
