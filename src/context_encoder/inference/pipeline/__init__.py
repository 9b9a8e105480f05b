"""Where an :class:`~context_encoder.inference.Inpainter` does the pixel work around the
generator (window crops and resampling, model inputs, pasting, feathering): on the host with
OpenCV and NumPy (:mod:`.host`, the faster one on a CPU), or as batched torch operations on
the model's device (:mod:`.device`, with the image operations of :mod:`.torch_ops`). Both
give the same pixels to float rounding."""

from .device import DevicePipeline
from .host import HostPipeline

__all__ = ["DevicePipeline", "HostPipeline"]
