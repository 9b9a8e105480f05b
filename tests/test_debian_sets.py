"""The wider photo and texture sets built from Debian packages: which files, which split,
which crops, and the errors when a package is missing."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from context_encoder.data.debian import (
    PACKAGES,
    PHOTOS,
    build_debian_sets,
    crops_of,
    split_of,
)


def test_the_split_follows_the_file_name_only():
    assert {split_of(p) for p in PHOTOS} == {"tune", "report"}
    assert all(split_of(p) == split_of(p) for p in PHOTOS)


def test_crops_are_flat_and_detailed_at_distinct_places():
    rng = np.random.default_rng(0)
    img = np.zeros((600, 800, 3), np.uint8)
    img[:, 400:] = rng.integers(0, 255, (600, 400, 3))  # right half noisy, left half flat
    crops = crops_of(img, "x.jpg", 128)
    assert len(crops) == 6 and all(c.shape == (128, 128, 3) for c in crops)
    spread = sorted(float(c.std()) for c in crops)
    assert spread[0] < 5 and spread[-1] > 30  # both kinds are there
    assert crops_of(img, "x.jpg", 1024) == []  # larger than the image
    assert len(crops_of(img[:128, :128], "y.png", 128)) == 1  # one place only


def _deb(tmp_path, package: str, files: dict[str, np.ndarray]):
    root = tmp_path / package
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {package}\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\n"
        "Description: test\n")
    for path, img in files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(target)
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root),
                    str(tmp_path / "debs" / f"{package}_1.0_all.deb")], check=True,
                   capture_output=True)


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs Debian's dpkg-deb")
def test_builds_the_crop_folders_from_the_packages(tmp_path):
    rng = np.random.default_rng(1)
    photo = rng.integers(0, 255, (300, 400, 3), np.uint8)
    (tmp_path / "debs").mkdir()
    _deb(tmp_path, "lomiri-wallpapers-16.04", {
        f"/usr/share/backgrounds/{PHOTOS[0]}": photo,
        "/usr/share/backgrounds/drawn.png": photo})  # not a listed photograph
    _deb(tmp_path, "lomiri-wallpapers-20.04", {})
    _deb(tmp_path, "opencv-doc", {
        "/usr/share/doc/opencv-doc/examples/data/graf1.png": photo[:200, :200],  # 128 only
        "/usr/share/doc/opencv-doc/examples/data/graf3.png": photo})  # the pair's other view
    with pytest.raises(OSError, match="apt-get download extremetuxracer-data "
                                      "colobot-common-textures'"):
        build_debian_sets(tmp_path / "debs", tmp_path / "out")
    assert not (tmp_path / "out").exists()  # refused before writing anything
    _deb(tmp_path, "extremetuxracer-data", {
        "/usr/share/games/etr/terrains/rock.png": photo[:256, :256]})
    _deb(tmp_path, "colobot-common-textures", {})
    counts = build_debian_sets(tmp_path / "debs", tmp_path / "out")
    stem = PHOTOS[0].rsplit(".", 1)[0]
    expected = {f"photos-{split_of(PHOTOS[0])}-128": 6, f"photos-{split_of(PHOTOS[0])}-256": 6,
                f"textures-{split_of('rock.png')}-128": 6,
                f"textures-{split_of('rock.png')}-256": 1}
    graf = f"photos-{split_of('graf1.png')}-128"  # 200 px: 128 px crops only
    expected[graf] = expected.get(graf, 0) + 6
    assert counts == dict(sorted(expected.items()))
    written = sorted(p.name for p in (tmp_path / "out").rglob("*.png"))
    assert f"{stem}-0.png" in written and not any(n.startswith("drawn") for n in written)
    assert not any(n.startswith("graf3") for n in written)
    assert {s.package for s in PACKAGES} == {
        "lomiri-wallpapers-16.04", "lomiri-wallpapers-20.04", "opencv-doc",
        "extremetuxracer-data", "colobot-common-textures"}
