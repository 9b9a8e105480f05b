"""context_encoder: Context Encoders (Pathak et al., CVPR 2016) for inpainting.

Train on your own images, fill holes in any photo, compare with classical methods, and use
what the encoder learned as pretrained features (``Encoder``).
The networks and configs import eagerly; the heavier pieces (``Inpainter``, ``Trainer``,
datasets) load on first use.
"""

from typing import Any

from .config import MEAN_RGB, ModelConfig
from .models import Discriminator, Generator

__version__ = "0.1.0"

_LAZY = {
    "Inpainter": "inference",
    "load_inpainter": "inference",
    "TrainConfig": "training",
    "Trainer": "training",
    "FacadesDataset": "data",
    "ImageFolderDataset": "data",
    "get_mask_generator": "masks",
    "Encoder": "features",
}

__all__ = ["MEAN_RGB", "Discriminator", "Generator", "ModelConfig", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
