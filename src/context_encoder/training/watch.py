"""Watching the training losses without making the step wait for the device.

Each step's losses stay on the device: :meth:`LossWatch.update` folds them into a few device
tensors (the first step whose losses were not finite, with those losses, and the longest run
of steps with a collapsed discriminator) and :meth:`LossWatch.check` reads them back, one
transfer, when the trainer asks: every ``check_every`` steps and before it validates, logs or
saves a checkpoint. On a GPU the host thus queues step after step without waiting for any,
and a non-finite loss still stops the run before a checkpoint can hold its weights.
"""

from __future__ import annotations

import warnings

import torch
import torch.distributed as dist

from ..errors import TrainingError

__all__ = ["COLLAPSE_STEPS", "D_LOSS_RANGE", "LossWatch"]

#: Steps in a row with d_loss outside ``D_LOSS_RANGE`` before the collapse warning.
COLLAPSE_STEPS = 200
#: A discriminator loss outside this range means D wins or loses outright.
D_LOSS_RANGE = (1e-3, 20.0)

_NONE = torch.iinfo(torch.int64).max  # "no non-finite step yet" (the minimum over ranks)


class LossWatch:
    """Device-side watch over a run's ``g_loss`` and ``d_loss`` from step ``start`` on.

    ``world > 1`` (DistributedDataParallel): :meth:`check` is a collective, so every rank
    calls it at the same steps and all stop together. ``out`` is named in the error.
    """

    def __init__(self, device: torch.device, *, start: int = 0, every: int = 1,
                 world: int = 1, out: str = "") -> None:
        self.every, self.world, self.out = every, world, out
        self.checked = start  # the last step whose losses were read back
        self.warned_collapse = False
        zero = torch.zeros((), dtype=torch.int64, device=device)
        self._first_bad = torch.full((), _NONE, dtype=torch.int64, device=device)
        self._bad_losses = torch.zeros(2, device=device)  # (g_loss, d_loss) at that step
        self._run, self._longest = zero, zero.clone()  # collapsed steps in a row
        self._last_d = torch.zeros((), device=device)

    def update(self, step: int, metrics: dict[str, torch.Tensor]) -> None:
        """Fold step ``step``'s ``g_loss`` and ``d_loss`` (0-d device tensors) in; reads
        nothing back."""
        losses = torch.stack((metrics["g_loss"], metrics["d_loss"])).float()  # (2,)
        first = ~torch.isfinite(losses).all() & (self._first_bad == _NONE)
        self._first_bad = torch.where(first, step, self._first_bad)
        self._bad_losses = torch.where(first, losses, self._bad_losses)
        d = self._last_d = losses[1]
        collapsed = (d < D_LOSS_RANGE[0]) | (d > D_LOSS_RANGE[1])  # False for NaN
        self._run = (self._run + 1) * collapsed
        self._longest = torch.maximum(self._longest, self._run)

    def check(self, step: int) -> None:
        """Read the watch back (waits for the device): raise :class:`TrainingError` if a
        loss of any step since the last check was not finite; warn once if the
        discriminator has looked collapsed for ``COLLAPSE_STEPS`` steps in a row."""
        first = self._first_bad.clone()
        if self.world > 1:  # every rank stops together, none waits in a collective
            dist.all_reduce(first, op=dist.ReduceOp.MIN)
        bad, longest = torch.stack((first, self._longest)).tolist()
        covered, self.checked = (self.checked + 1, step), step
        if bad != _NONE:
            here = bool(torch.equal(first, self._first_bad))
            g, d = self._bad_losses.tolist() if here else ("?", "?")
            span = (f"steps {covered[0]}-{covered[1]}" if covered[0] < covered[1]
                    else f"step {covered[1]}")
            raise TrainingError(
                f"loss became non-finite at step {bad} (g_loss={g}, d_loss={d}; the losses "
                f"of {span} were read back together, every {self.every} steps); stopped, the "
                f"last good checkpoint is kept in {self.out!r}. Try a lower --lr or "
                "--precision fp32.")
        if longest >= COLLAPSE_STEPS and not self.warned_collapse:
            self.warned_collapse = True
            warnings.warn(
                f"the discriminator looks collapsed (d_loss={self._last_d.item():.2e}, "
                f"outside {D_LOSS_RANGE} for {COLLAPSE_STEPS} steps in a row by step {step}); "
                "the adversarial term no longer teaches the generator", stacklevel=3)
