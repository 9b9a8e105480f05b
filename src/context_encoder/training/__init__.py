"""Training: the GAN step and its loop (:mod:`.trainer`), the data order (:mod:`.sampler`),
validation and sample grids (:mod:`.validation`) and the run's logs (:mod:`.logging`).

``Trainer(TrainConfig(...)).fit()`` trains a model; ``context-encoder train`` is its CLI.
"""

from ..config import TrainConfig
from ..errors import TrainingError
from ..runtime import default_workers
from .sampler import StepSampler, TrainSamples, make_image_dataset
from .trainer import Trainer
from .validation import fixed_masks, save_grid

__all__ = [
    "StepSampler",
    "TrainConfig",
    "TrainSamples",
    "Trainer",
    "TrainingError",
    "default_workers",
    "fixed_masks",
    "make_image_dataset",
    "save_grid",
]
