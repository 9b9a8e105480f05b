"""Watching the training losses without making the step wait for the device.

Each step's ``g_loss`` and ``d_loss`` stay on the device: :meth:`LossWatch.update` writes
them into a device buffer (two small kernels, nothing read back) and :meth:`LossWatch.check`
reads the buffer back in one transfer when the trainer asks: every ``check_every`` steps and
before it logs, validates or saves a checkpoint. On a GPU the host thus queues step after
step without waiting for any, and a non-finite loss still stops the run, naming its step,
before a checkpoint can hold its weights.
"""

from __future__ import annotations

import math
import warnings

import torch
import torch.distributed as dist

from ..errors import TrainingError

__all__ = ["COLLAPSE_STEPS", "D_LOSS_RANGE", "LossWatch"]

#: Steps in a row with d_loss outside ``D_LOSS_RANGE`` before the collapse warning.
COLLAPSE_STEPS = 200
#: A discriminator loss outside this range means D wins or loses outright.
D_LOSS_RANGE = (1e-3, 20.0)

_NONE = torch.iinfo(torch.int64).max  # "no non-finite step" (the minimum over ranks)


class LossWatch:
    """Device-side watch over a run's ``g_loss`` and ``d_loss`` from step ``start`` on.

    ``world > 1`` (DistributedDataParallel): :meth:`check` is a collective, so every rank
    calls it at the same steps and all stop together. ``every`` (the check interval) and
    ``out`` (the run folder) are named in the error.
    """

    def __init__(self, device: torch.device, *, start: int = 0, every: int = 1,
                 world: int = 1, out: str = "") -> None:
        self.device, self.every, self.world, self.out = device, every, world, out
        self.checked = start  # the last step whose losses were read back
        self.collapsed_run = 0  # steps in a row with d_loss outside D_LOSS_RANGE
        self.warned_collapse = False
        self.has_d = True  # False once a step came without a D loss
        self._losses = torch.zeros(max(every, 1), 2, device=device)  # (steps, (g, d))
        self._count = 0  # rows filled since the last check

    def update(self, step: int, metrics: dict[str, torch.Tensor]) -> None:
        """Keep step ``step``'s ``g_loss`` and ``d_loss`` (0-d device tensors) for the next
        check; reads nothing back. Steps come in order, one call each."""
        if step != self.checked + self._count + 1:
            raise ValueError(f"step {step} after step {self.checked + self._count}")
        if self._count == len(self._losses):  # more steps than ``every`` between checks
            self._losses = torch.cat([self._losses, torch.zeros_like(self._losses)])
        d = metrics.get("d_loss")
        if d is None:  # reconstruction only (lambda_adv 0): no D to watch
            self.has_d, d = False, metrics["g_loss"]
        self._losses[self._count] = torch.stack((metrics["g_loss"], d))
        self._count += 1

    def check(self, step: int) -> None:
        """Read the losses since the last check back (waits for the device): raise
        :class:`TrainingError` if one was not finite; warn once if the discriminator has
        looked collapsed for ``COLLAPSE_STEPS`` steps in a row."""
        first, rows = self.checked + 1, self._losses[:self._count].tolist()
        self.checked, self._count = step, 0
        bad = next((first + i for i, (g, d) in enumerate(rows)
                    if not (math.isfinite(g) and math.isfinite(d))), _NONE)
        if self.world > 1:  # every rank stops together, none waits in a collective
            flag = torch.tensor(bad, dtype=torch.int64, device=self.device)
            dist.all_reduce(flag, op=dist.ReduceOp.MIN)
            bad = int(flag.item())
        if bad != _NONE:
            g, d = rows[bad - first] if first <= bad < first + len(rows) else ("?", "?")
            span = f"steps {first}-{step}" if first < step else f"step {step}"
            raise TrainingError(
                f"loss became non-finite at step {bad} (g_loss={g}"
                f"{f', d_loss={d}' if self.has_d else ''}; the losses "
                f"of {span} were read back together, every {self.every} steps); stopped, the "
                f"last good checkpoint is kept in {self.out!r}. Try a lower --lr or "
                "--precision fp32.")
        self._watch_collapse(rows, step)

    def _watch_collapse(self, rows: list[list[float]], step: int) -> None:
        if not self.has_d:
            return
        low, high = D_LOSS_RANGE
        for _, d in rows:
            self.collapsed_run = self.collapsed_run + 1 if d < low or d > high else 0
            if self.collapsed_run >= COLLAPSE_STEPS and not self.warned_collapse:
                self.warned_collapse = True
                warnings.warn(
                    f"the discriminator looks collapsed (d_loss={d:.2e}, outside {D_LOSS_RANGE} "
                    f"for {COLLAPSE_STEPS} steps in a row, seen at step {step}); the "
                    "adversarial term no longer teaches the generator", stacklevel=4)
