"""Fill holes in images of any size with a trained Context Encoder.

The generator works on a fixed ``S x S`` window (64, 128 or 256 px), so an image of any
size is inpainted hole by hole (:mod:`.windows` holds the geometry, :mod:`.inpainter` the
classes):

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

:class:`AutoInpainter` (:mod:`.auto`) chooses, for each group of holes, between the models and
the classical methods by filling probe holes of the same shape cut into known pixels.
"""

from ..io.images import box_mask, load_image, load_mask, save_image
from .auto import AUTO, AdaptedInpainter, AutoInpainter, GroupChoice, describe
from .inpainter import STAGES, BaselineInpainter, Inpainter, InpainterBase

__all__ = [
    "AUTO",
    "STAGES",
    "AdaptedInpainter",
    "AutoInpainter",
    "BaselineInpainter",
    "GroupChoice",
    "Inpainter",
    "InpainterBase",
    "box_mask",
    "describe",
    "load_image",
    "load_mask",
    "save_image",
]
