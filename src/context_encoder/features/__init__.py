"""Feature learning by inpainting, the paper's other half: the encoder of a trained model as
pretrained features (:class:`Encoder`), labelled image sets (the facades' own attributes,
:func:`facade_set`, or any folder of class subfolders, :func:`folder_set`), and the two
transfer protocols that ``context-encoder features`` runs (:func:`run_transfer`): a linear
probe on frozen features, and fine-tuning the whole encoder with few labels."""

from .encoder import Encoder
from .labelled import FACADE_ATTRIBUTE, LabelledSet, Split, facade_set, folder_set
from .protocols import PROTOCOLS, Recipe, accuracy, extract, finetune, fit_classifier, linear_probe
from .transfer import (
    DEFAULT_RANDOM_CONFIG,
    RANDOM,
    EncoderSource,
    Result,
    encoder_source,
    results_table,
    run_transfer,
)

__all__ = [
    "DEFAULT_RANDOM_CONFIG",
    "FACADE_ATTRIBUTE",
    "PROTOCOLS",
    "RANDOM",
    "Encoder",
    "EncoderSource",
    "LabelledSet",
    "Recipe",
    "Result",
    "Split",
    "accuracy",
    "encoder_source",
    "extract",
    "facade_set",
    "finetune",
    "fit_classifier",
    "folder_set",
    "linear_probe",
    "results_table",
    "run_transfer",
]
