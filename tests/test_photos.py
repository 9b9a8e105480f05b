"""The bundled real-photo set: offline, deterministic, disjoint splits."""

from __future__ import annotations

import logging
import socket

import numpy as np
import pytest

from context_encoder.data import photos
from context_encoder.data.photos import (
    PHOTO_SPLITS,
    TEXTURES,
    available_photos,
    load_photo,
    photo_crops,
    photo_images,
)


def test_splits_are_disjoint_and_share_textures():
    tune, report = set(PHOTO_SPLITS["tune"]), set(PHOTO_SPLITS["report"])
    assert not tune & report
    assert tune & TEXTURES and report & TEXTURES
    assert TEXTURES <= tune | report


@pytest.mark.parametrize("size", [128, 256])
def test_shapes_and_dtype(size):
    imgs = photo_images("tune", size=size, count=5)
    assert len(imgs) == 5
    for im in imgs:
        assert im.shape == (size, size, 3) and im.dtype == np.uint8


def test_deterministic_and_seeded():
    a = photo_images("report", size=128, count=6)
    b = photo_images("report", size=128, count=6)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    c = photo_images("report", size=128, count=6, seed=1)
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))


def test_crop_major_order_and_count():
    names = available_photos("tune")
    crops = photo_crops("tune", size=128, per_photo=2)
    assert len(crops) == 2 * len(names)
    assert [c.photo for c in crops[: len(names)]] == names
    assert all(c.index == 0 for c in crops[: len(names)])
    assert len(photo_crops("tune", size=128, count=3)) == 3


def test_texture_filter():
    tex = photo_crops("report", size=128, per_photo=1, textures=True)
    assert tex and all(c.texture for c in tex)
    rest = photo_crops("report", size=128, per_photo=1, textures=False)
    assert rest and not any(c.texture for c in rest)


def test_grayscale_becomes_rgb():
    cam = load_photo("camera")
    assert cam.shape[2] == 3 and np.array_equal(cam[..., 0], cam[..., 2])


def test_loads_offline(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")

    photos._load.cache_clear()
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    try:
        for split in PHOTO_SPLITS:
            assert len(available_photos(split)) == len(PHOTO_SPLITS[split])
    finally:
        photos._load.cache_clear()


def test_unloadable_photo_is_skipped(monkeypatch, caplog):
    monkeypatch.setitem(PHOTO_SPLITS, "tune", ("camera", "no_such_photo"))
    with caplog.at_level(logging.WARNING, logger="context_encoder.data.photos"):
        assert available_photos("tune") == ["camera"]
    assert "no_such_photo" in caplog.text


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="unknown photo split 'val'"):
        photo_images("val")
    with pytest.raises(ValueError, match="unknown photo 'lena'"):
        load_photo("lena")
    with pytest.raises(ValueError, match="per_photo"):
        photo_images("tune", per_photo=0)
