"""Datasets: any image folder, and the procedural facades (the embedded default)."""

from .facades import FACADE_SPLITS, FacadesDataset, render_facade
from .folder import (
    IMAGE_EXTENSIONS,
    ImageFolderDataset,
    center_square,
    find_images,
    read_image_rgb,
)

__all__ = [
    "FACADE_SPLITS",
    "IMAGE_EXTENSIONS",
    "FacadesDataset",
    "ImageFolderDataset",
    "center_square",
    "find_images",
    "read_image_rgb",
    "render_facade",
]
