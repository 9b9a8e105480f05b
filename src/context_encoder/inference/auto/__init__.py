"""``auto``: choose how to fill each hole by testing the methods on the photo itself.

Self-validation (the idea of Noise2Self and of gap-filling studies that cut artificial gaps
into known data): probe holes of the hole's own shape are cut into KNOWN pixels near it,
every candidate method fills the probes, and the fill that comes closest to the known truth
on the probes fills the real hole: a mix of the candidates' fills, weighted as the probes
say (a single candidate when one is far ahead).

What is probed (:mod:`.units`): each group of holes on its own when an image has at most
``ProbeSettings.units`` groups; beyond that (a scan's dust: thousands of tiny holes), one
typical group per size class, whose choice the class shares; probing and filling run on
crops around the holes, so time and memory follow the pixels to fill and their context,
not the number of holes or the photo's size (``python bench/auto_cost.py``).

How :func:`choose_filler` works, for one hole (a boolean mask; the inpainter's group of
components filled together):

1. Cost first. The photo is shrunk (area averaging) until the hole holds at most
   ``ProbeSettings.pixels`` pixels and its bounding box is at most ``ProbeSettings.side``
   px, so probing costs about the same on a 1-megapixel photo as on a thumbnail.
2. Placement (:func:`place_probes`). The probe is the hole's pixel pattern, translated and
   optionally flipped. A probe keeps ``margin`` px away from the unknown pixels (the hole and
   any other hole) and from the other probes; positions whose centre is within ``reach``
   hole sides of the hole's centre are tried first (in an order drawn from ``rng``), then
   the rest of the image. When no position fits, the pattern is shrunk (``shrink`` sizes);
   when even the smallest does not fit, no probe is placed.
3. Filling. Each probe gets a square tile around it (twice its side plus margins); the
   tiles, side by side, form one small mosaic, and each candidate fills all probes of the
   mosaic in one call (a model batches its windows). Unknown pixels inside a tile are first
   filled with a quick Telea fill: they are context there, never scored.
4. Choice (:func:`blend_weights`). From the candidates' errors on the probe pixels, the
   weights (>= 0, summing to 1) whose mix of fills has the least squared error, with a
   ridge that spreads them a little; weights under ``min_weight`` are dropped. Mixing
   helps because the methods' errors differ: Telea's and Navier-Stokes' smooth fills,
   PatchMatch's copied texture and a model's prediction go wrong in different places.
   When the probes had to be smaller than the hole (no room for its own size), learned
   models are favoured by ``model_bonus_db`` per halving of the probe size: a model fills a
   small probe at a zoom it never trained at, while its lead over diffusion grows with the
   hole. With ``blend=False`` the single best candidate wins instead, ``default`` (first
   candidate unless named) keeping the choice unless another beats it by more than
   ``switch_db``. Without any probe (no room), :class:`Choice` names ``default`` with
   ``reason`` saying why.
5. Detail (:func:`~.choose.spend_on_detail`). A blend is closest on average and smooth:
   where fills disagree on texture, their mean washes it out. So the blend's lead over
   each candidate alone is partly spent on detail: the high frequencies of one candidate's
   fill (the fill minus its Gaussian blur, :func:`~.choose.high_pass`; usually PatchMatch's
   or a model's) are added to the blend, the most that the probes say costs at most
   ``detail_budget_db`` of the blend's PSNR while staying at least at the best single
   candidate's (``detail_floor_db`` above it, and ``detail_floor_per_halving_db`` more per
   halving of the probe size: probes smaller than the hole overstate the blend's lead).
   ``auto-closest`` names the blend alone (``detail_budget_db=0``).

The defaults (:class:`ProbeSettings`) were chosen on the "tune" split: 128 px crops of the
"tune" photos of :mod:`context_encoder.data.photos` and validation facades 1000-1059 (never
those ``evaluate`` reports on), thick and center holes, candidates Telea, NS, biharmonic,
PatchMatch and the shipped model for the hole kind (``python bench/auto_rule.py collect``
then ``fit``); ``docs/auto.md`` gives the figures on those sets and on the report split.

The pieces: :mod:`.candidates` (what can fill), :mod:`.probes` (where probe holes go),
:mod:`.choose` (probing and the blend), :mod:`.units` (what is probed, on which crop),
:mod:`.settings` (:class:`ProbeSettings`,
:class:`Choice`) and :mod:`.inpainter` (:class:`AutoInpainter`).
"""

from .candidates import (
    CLASSICAL_CANDIDATES,
    FillFn,
    baseline_filler,
    classical_candidates,
    coarse_to_fine,
    inpainter_filler,
)
from .choose import blend_weights, choose_filler
from .inpainter import AUTO, AUTO_CLOSEST, AUTO_METHODS, AutoInpainter
from .probes import place_probes
from .settings import Choice, ProbeSettings

__all__ = [
    "AUTO",
    "AUTO_CLOSEST",
    "AUTO_METHODS",
    "CLASSICAL_CANDIDATES",
    "AutoInpainter",
    "Choice",
    "FillFn",
    "ProbeSettings",
    "baseline_filler",
    "blend_weights",
    "choose_filler",
    "classical_candidates",
    "coarse_to_fine",
    "inpainter_filler",
    "place_probes",
]
