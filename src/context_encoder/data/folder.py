"""Any folder of images as a training or evaluation set, with the paper's preprocessing:
shorter side resized to ``load_size``, a random ``size`` crop, a random horizontal flip,
values in [-1, 1]. Unreadable files are skipped with a warning and counted."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..io.images import IMAGE_EXTENSIONS, probe_image, read_rgb8

__all__ = ["IMAGE_EXTENSIONS", "MAX_LOAD_SIZE", "ImageFolderDataset", "center_square",
           "find_images", "read_image_rgb", "shorter_side_to"]

logger = logging.getLogger(__name__)

#: Largest shorter side (px) a training image is resized to before its random crop.
MAX_LOAD_SIZE = 4096



def find_images(root: str | Path) -> list[Path]:
    """All image files under ``root`` (recursive), sorted; a clear error if there are none."""
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"data folder {str(root)!r} does not exist")
    if root.is_file():
        return [root]
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise ValueError(
            f"no images in {str(root)!r} (looked for {', '.join(IMAGE_EXTENSIONS)}, recursively)"
        )
    return files


def read_image_rgb(path: str | Path) -> np.ndarray:
    """Read an image as HxWx3 uint8 RGB with its EXIF orientation applied (an alpha
    channel composited over white). Raises ``ImageError`` naming the file."""
    return read_rgb8(path)


def shorter_side_to(rgb: np.ndarray, side: int, at_least: int) -> np.ndarray:
    """``rgb`` (HxWx3 uint8) resized (bicubic) so that its shorter side is ``side`` and
    neither side is under ``at_least``."""
    h, w = rgb.shape[:2]
    scale = side / min(h, w)
    nh, nw = max(at_least, round(h * scale)), max(at_least, round(w * scale))
    return np.array(Image.fromarray(rgb).resize((nw, nh), Image.BICUBIC))  # writable


def center_square(rgb: np.ndarray, size: int) -> np.ndarray:
    """``rgb`` (HxWx3 uint8) with its shorter side to ``size`` and the centre cropped:
    ``(size, size, 3)``, as the folders are read for evaluation."""
    a = shorter_side_to(rgb, size, size)
    y, x = (a.shape[0] - size) // 2, (a.shape[1] - size) // 2
    return np.ascontiguousarray(a[y:y + size, x:x + size])


class ImageFolderDataset(torch.utils.data.Dataset):
    """Images under ``root``, preprocessed as in the paper.

    ``train=True``: shorter side to ``load_size``, random ``size`` crop, random flip.
    ``train=False``: shorter side to ``load_size``, center crop, no flip.
    Items are 3x``size``x``size`` float tensors in [-1, 1]. An index may be an int or an
    ``(index, seed)`` pair; the pair makes the random crop and flip reproducible.
    A file that cannot be read is skipped (the next readable one is returned), warned
    about by name once, and counted in ``bad_files``.
    """

    def __init__(
        self,
        root: str | Path,
        size: int = 128,
        load_size: int | None = None,
        train: bool = True,
    ) -> None:
        self.root = Path(root)
        self.files = find_images(root)
        self.size = size
        self.load_size = load_size if load_size is not None else max(size, round(size * 350 / 128))
        if not size <= self.load_size <= MAX_LOAD_SIZE:
            raise ValueError(f"load_size ({self.load_size}) must be in size ({size}).."
                             f"{MAX_LOAD_SIZE}")
        self.train = train
        self.bad_files: set[Path] = set()

    def __len__(self) -> int:
        return len(self.files)

    def _prepare(self, a: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        a = shorter_side_to(a, self.load_size, self.size)
        nh, nw = a.shape[:2]
        if self.train:
            y = int(rng.integers(0, nh - self.size + 1))
            x = int(rng.integers(0, nw - self.size + 1))
        else:
            y, x = (nh - self.size) // 2, (nw - self.size) // 2
        a = a[y : y + self.size, x : x + self.size]
        if self.train and rng.random() < 0.5:
            a = a[:, ::-1]
        t = torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1).float()  # (3, H, W)
        return t / 127.5 - 1.0

    def __getitem__(self, key: int | tuple[int, int]) -> torch.Tensor:
        index, seed = key if isinstance(key, tuple) else (key, key)
        if not 0 <= index < len(self.files):
            raise IndexError(index)
        rng = np.random.default_rng([seed, index])
        for k in range(len(self.files)):
            path = self.files[(index + k) % len(self.files)]
            if path in self.bad_files:
                continue
            try:
                return self._prepare(read_image_rgb(path), rng)
            except ValueError as e:
                self.bad_files.add(path)
                warnings.warn(f"skipping {e}", stacklevel=2)
                logger.warning("skipping unreadable image %s (%d skipped so far)", path,
                               len(self.bad_files))
        raise ValueError(f"no readable images in {str(self.root)!r}")

    def check(self) -> int:
        """Read every file's header before training starts: returns the number of readable
        files and records the bad ones (skipped later). Raises ``ValueError`` if none is
        readable or if an image is smaller than the crop."""
        ok = 0
        for path in self.files:
            try:
                w, h = probe_image(path)
            except ValueError:
                self.bad_files.add(path)
                logger.warning("skipping unreadable image %s", path)
                continue
            if min(w, h) < self.size:
                raise ValueError(
                    f"image {str(path)!r} is {w}x{h}, smaller than the {self.size}x{self.size} "
                    f"crop; remove it or train with a smaller --image-size"
                )
            ok += 1
        if ok == 0:
            raise ValueError(f"no readable images in {str(self.root)!r}")
        return ok
