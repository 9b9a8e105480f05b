"""context_encoder: Context Encoders (Pathak et al., CVPR 2016) for inpainting.

Train on your own images, fill holes in any photo, and compare with classical methods.
"""

from .config import MEAN_RGB, ModelConfig
from .models import Discriminator, Generator

__version__ = "0.1.0"

__all__ = ["MEAN_RGB", "Discriminator", "Generator", "ModelConfig", "__version__"]
