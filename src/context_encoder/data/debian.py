"""Wider sets of real photographs and photographic textures, built offline from Debian
packages (``context-encoder data debian``): evaluation and tuning beyond scikit-image's
18 photos, with nothing downloaded at run time.

The packages (fetch them once with ``apt-get download``, no root needed; see
:data:`PACKAGES`) and what is taken from each:

* ``lomiri-wallpapers-16.04``, ``lomiri-wallpapers-20.04``: the Ubuntu community's
  photographs (landscapes, plants, animals, objects; 2-26 megapixels), the files of
  :data:`PHOTOS` only (the packages' drawn and rendered wallpapers are left out);
* ``opencv-doc``: the photographs among OpenCV's example images (:data:`OPENCV_PHOTOS`:
  street scenes, buildings, fruit, animals, plants, objects, an aerial view; 0.1-1.4
  megapixels; one of each stereo or before/after pair, so no scene is in both splits; the
  drawn, rendered, grey and calibration images are left out);
* ``extremetuxracer-data``: the game's terrain textures, 256 px photographs of rock, ice,
  snow, grass, gravel, paving (``terrains/*.png``);
* ``colobot-common-textures``: the game's photographic textures (:data:`COLOBOT_TEXTURES`:
  clouds, weathered plaster, rock, water; 256-1024 px; its atlases of tiles and drawn
  effects are left out).

Each file goes to the ``tune`` or the ``report`` split by a hash of its name (CRC-32, even
or odd: :func:`split_of`), never by crop, so a choice made on ``tune`` is judged on photos
it never saw. From each file, crops of 128, 256 and 512 px (those that fit: most textures
give 128 and 256 only): the photo shrunk so that its shorter side is at most 4 crops wide, then
:data:`CROPS_PER_FILE` crops drawn at random places (seeded by the file name and size) and
kept half from the flattest, half from the most detailed of twice as many candidates, so
both kinds are there. Written as ``OUT/<set>-<split>-<size>/<file>-<k>.png``, e.g.
``photos-report-256``; ``context-encoder evaluate --data OUT/photos-report-256 --size 256``
scores a method on one.

Not used, on purpose: ``gnome-backgrounds``, ``mate-backgrounds``,
``plasma-workspace-wallpapers`` and ``supertuxkart-data``, kept for an independent check
of this project.
"""

from __future__ import annotations

import io
import logging
import subprocess
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

__all__ = ["COLOBOT_TEXTURES", "CROPS_PER_FILE", "CROP_SIZES", "OPENCV_PHOTOS", "PACKAGES",
           "PACKAGE_NAMES", "PHOTOS", "SPLITS", "DebianSource", "build_debian_sets", "crops_of",
           "split_of"]

logger = logging.getLogger(__name__)

#: The photographs among the lomiri wallpapers (by looking at each; the others are drawn).
PHOTOS: tuple[str, ...] = (
    "Bridge_by_Sander_Klootwijk.jpg", "Dragonfly_by_Bolly.jpg", "Picture_0B_by_freespace.jpg",
    "Picture_1A_by_freespace.jpg", "Wine_by_Jakkub_Mede.jpg",
    "aitzgorri_by_Aitzol_Berasategi.jpg", "analogpattern_by_Peter_Nerlich.jpg",
    "free_by_Peter_Nerlich.jpg", "friends_by_Aitzol_Berasategi.jpg",
    "greentock_by_Peter_Nerlich.jpg", "life_by_Aitzol_Berasategi.jpg",
    "picosdeeuropa_by_Aitzol_Berasategi.jpg", "seeding_by_Clements_Engelhardt.jpg",
    "sunset_by_Aitzol_Berasategi.jpg", "Infinite-Sea_by_Aury88.jpg",
    "Kleiber_by_Lukas_Baubkus.jpg",
)

#: The colour photographs among OpenCV's example images (by looking at each), one of each
#: pair of views of a scene (aloeL not aloeR, leuvenA not leuvenB, graf1 not graf3, ...).
OPENCV_PHOTOS: tuple[str, ...] = (
    "000.jpg", "aero1.jpg", "aloeL.jpg", "apple.jpg", "baboon.jpg", "board.jpg",
    "building.jpg", "butterfly.jpg", "chicky_512.png", "ela_original.jpg", "fruits.jpg",
    "graf1.png", "home.jpg", "left.jpg", "leuvenA.jpg", "messi5.jpg", "orange.jpg",
    "plant.jpg", "rubberwhale1.png", "scenetext01.jpg", "scenetext02.jpg", "scenetext03.jpg",
    "scenetext04.jpg", "scenetext05.jpg", "scenetext06.jpg", "squirrel_cls.jpg", "stuff.jpg",
)

#: The photographic textures of colobot (by looking at each; not its tile atlases).
COLOBOT_TEXTURES: tuple[str, ...] = (
    "cloud02.png", "cloud03.png", "cloud04.png", "cloud09.png", "dirty01.png", "dirty02.png",
    "dirty03.png", "dirty06.png", "dirty08.png", "dirty09.png", "mix01.png", "moon103.png",
    "terra002.png", "water12.png", "water16.png",
)


@dataclass(frozen=True)
class DebianSource:
    """Which files of a package go to which set."""

    package: str
    set: str  # "photos" or "textures"
    pattern: str  # fnmatch pattern of the paths inside the package
    names: tuple[str, ...] = ()  # only these file names (empty: every match)


PACKAGES: tuple[DebianSource, ...] = (
    DebianSource("lomiri-wallpapers-16.04", "photos", "*/usr/share/backgrounds/*", PHOTOS),
    DebianSource("lomiri-wallpapers-20.04", "photos", "*/usr/share/backgrounds/*", PHOTOS),
    DebianSource("opencv-doc", "photos", "*/usr/share/doc/opencv-doc/examples/*",
                 OPENCV_PHOTOS),
    DebianSource("extremetuxracer-data", "textures", "*/usr/share/games/etr/terrains/*.png"),
    DebianSource("colobot-common-textures", "textures",
                 "*/usr/share/games/colobot/textures/*", COLOBOT_TEXTURES),
)
#: ``apt-get download`` these (in a folder of their own) before ``data debian``.
PACKAGE_NAMES: tuple[str, ...] = tuple(dict.fromkeys(s.package for s in PACKAGES))
SPLITS: tuple[str, ...] = ("tune", "report")
CROP_SIZES: tuple[int, ...] = (128, 256, 512)
CROPS_PER_FILE = 6
_MAX_SIDE_IN_CROPS = 4  # the photo's shorter side is shrunk to at most this many crops


def split_of(name: str) -> str:
    """``"tune"`` or ``"report"`` for a file name: CRC-32 of the name, even or odd."""
    return SPLITS[zlib.crc32(name.encode()) % 2]


def _members(deb: Path, source: DebianSource) -> Iterator[tuple[str, bytes]]:
    """(file name, bytes) of the package's files that ``source`` takes, read from the .deb
    through ``dpkg-deb --fsys-tarfile`` (nothing is installed)."""
    try:
        tar_bytes = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], check=True,
                                   capture_output=True).stdout
    except FileNotFoundError as e:
        raise OSError("reading .deb files needs dpkg-deb (Debian's dpkg)") from e
    except subprocess.CalledProcessError as e:
        raise OSError(f"{deb}: not a readable Debian package "
                      f"({e.stderr.decode(errors='replace').strip()[:200]})") from e
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        for m in tar:
            name = m.name.rsplit("/", 1)[-1]
            if not m.isfile() or not fnmatch(m.name, source.pattern):
                continue
            if source.names and name not in source.names:
                continue
            f = tar.extractfile(m)
            if f is not None:
                yield name, f.read()


def _detail(crop: np.ndarray) -> float:
    g = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.mean(np.square(np.diff(g, axis=0))) + np.mean(np.square(np.diff(g, axis=1))))


def crops_of(rgb: np.ndarray, name: str, size: int, count: int = CROPS_PER_FILE
             ) -> list[np.ndarray]:
    """``count`` crops of ``size`` px from one image (none when it is smaller): half the
    flattest and half the most detailed of ``2 * count`` drawn at random places (seeded by
    ``name`` and ``size``), after shrinking the shorter side to at most
    ``_MAX_SIDE_IN_CROPS * size``."""
    h, w = rgb.shape[:2]
    f = min(1.0, _MAX_SIDE_IN_CROPS * size / min(h, w))
    if f < 1.0:
        rgb = cv2.resize(rgb, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
        h, w = rgb.shape[:2]
    if min(h, w) < size:
        return []
    rng = np.random.default_rng([zlib.crc32(name.encode()), size])
    places = dict.fromkeys(zip(rng.integers(0, h - size + 1, 2 * count).tolist(),
                               rng.integers(0, w - size + 1, 2 * count).tolist(), strict=True))
    cands = [rgb[y : y + size, x : x + size] for y, x in places]  # distinct places only
    if len(cands) <= count:
        return [np.ascontiguousarray(c) for c in cands]
    order = np.argsort([_detail(c) for c in cands], kind="stable")
    keep = list(order[: count // 2]) + list(order[len(order) - (count - count // 2):])
    return [np.ascontiguousarray(cands[i]) for i in sorted(keep)]


def build_debian_sets(debs: str | Path, out: str | Path) -> dict[str, int]:
    """Write the crop folders (see the module docstring) from the ``.deb`` files in
    ``debs`` into ``out``; returns the crops written per folder. Packages of
    :data:`PACKAGE_NAMES` missing from ``debs`` are named, all at once, in an ``OSError``
    before anything is written."""
    debs, out = Path(debs), Path(out)
    found = {name: sorted(debs.glob(f"{name}_*.deb")) for name in PACKAGE_NAMES}
    missing = [name for name, paths in found.items() if not paths]
    if missing:
        raise OSError(f"no {', '.join(f'{m}_*.deb' for m in missing)} in {str(debs)!r}: "
                      f"fetch them with 'apt-get download {' '.join(missing)}' there")
    counts: dict[str, int] = {}
    for source in PACKAGES:
        for name, data in _members(found[source.package][-1], source):
            try:
                rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
            except Exception as e:  # a file PIL cannot read: named, skipped
                logger.warning("%s: %s is not a readable image (%s); skipped",
                               source.package, name, e)
                continue
            stem = name.rsplit(".", 1)[0]
            for size in CROP_SIZES:
                folder = out / f"{source.set}-{split_of(name)}-{size}"
                for k, crop in enumerate(crops_of(rgb, name, size)):
                    folder.mkdir(parents=True, exist_ok=True)
                    Image.fromarray(crop).save(folder / f"{stem}-{k}.png")
                    counts[folder.name] = counts.get(folder.name, 0) + 1
    return dict(sorted(counts.items()))
