"""Fill holes in images of any size: with a trained Context Encoder, a classical method, a
model fine-tuned on the photo, or ``auto``, which tests them on the photo itself.

Start at :func:`load_inpainter` (a name in, an inpainter out) and
:meth:`~.base.InpainterBase.fill` (an image and its mask in, a :class:`Filled` out: the
image and what filled each hole). The modules, from the call down:

* :mod:`.factory`: :func:`load_inpainter`, the one way from a name to an inpainter;
* :mod:`.files`: image files and folders (pairing with masks and sketches, the outputs
  planned so that no input is ever overwritten), beneath ``context-encoder inpaint``;
* :mod:`.base`: the call convention every inpainter shares and its result;
* :mod:`.inpainter` (:class:`Inpainter`, a trained generator), :mod:`.classical`
  (:class:`BaselineInpainter`), :mod:`.adapt` (test-time adaptation,
  :class:`AdaptedInpainter`), :mod:`.auto` (:class:`AutoInpainter`, the probes and the blend);
* :mod:`.windows`: where each hole is seen by the model (the geometry below);
* :mod:`.pipeline`: the pixel work around the generator, on the host or on the device.

The generator works on a fixed ``S x S`` window (64, 128 or 256 px), so an image of any
size is inpainted hole by hole:

1. The mask (non-zero = hole) is split into connected components (8-connectivity);
   nearby components whose context windows would not grow by merging are grouped.
2. Each group gets a square context window around its bounding box, with the ratio of
   hole to context the model was trained with:

   * ``task="full"`` models: window side ``2 * bbox side``, at most the image's longer
     side (or S if larger) and at least ``min(S, longer image side)``, shifted to stay
     inside the image where it fits; an image of at most S px is thus seen whole, at its
     own scale, as in training;
   * ``task="center"`` models: the bbox is centered and must map inside the blanked
     square (``ModelConfig.blank_span``, ``blank_size`` px at model scale), so the side
     is ``ceil(bbox side * S / blank_size)``, at least ``min(hole_size, longer side)``.

   A window that reaches past the image is filled by reflection (replication for a
   one-pixel-wide image). The window is resized to ``S x S`` (area when shrinking,
   cubic when growing), the model input is built exactly as in training (mean colour in
   the hole; for a center model the whole blanked square), all windows of all images of
   one call run through the generator in batches, and each prediction is resized back.
3. Only hole pixels are written. Within ``feather`` px of the hole's edge the prediction
   is blended (weight 0.5 at the edge up to 1) with a local smooth estimate of the known
   colours around it, which hides the seam. Pixels outside the hole are bit-identical to
   the input, always.

8- and 16-bit images, grayscale (the mean of the RGB prediction is used), RGB and RGBA
(alpha is kept unchanged, in the hole as well) are supported, as numpy arrays or PIL
images. Files are read and written by :mod:`context_encoder.io.images`, re-exported here:
:func:`load_image` (``max_pixels``: 40 megapixels by default, checked from the header
before decoding; ``None`` for no limit) and :func:`save_image` keep mode and bit depth;
:func:`load_mask` and :func:`box_mask` build masks.
"""

from ..io.images import box_mask, load_image, load_mask, save_image
from .adapt import AdaptedInpainter
from .auto import AUTO, AUTO_CLOSEST, AUTO_METHODS, AutoInpainter
from .base import Filled, GroupChoice, InpainterBase, describe
from .classical import BaselineInpainter
from .factory import METHODS, load_inpainter
from .files import FileResult, inpaint_files
from .inpainter import STAGES, Inpainter

__all__ = [
    "AUTO",
    "AUTO_CLOSEST",
    "AUTO_METHODS",
    "METHODS",
    "STAGES",
    "AdaptedInpainter",
    "AutoInpainter",
    "BaselineInpainter",
    "FileResult",
    "Filled",
    "GroupChoice",
    "Inpainter",
    "InpainterBase",
    "box_mask",
    "describe",
    "inpaint_files",
    "load_image",
    "load_inpainter",
    "load_mask",
    "save_image",
]
