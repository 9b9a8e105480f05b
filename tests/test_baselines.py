"""Tests for the classical inpainting baselines."""

from __future__ import annotations

import numpy as np
import pytest

from context_encoder import baselines
from context_encoder.baselines import (
    BASELINES,
    available_baselines,
    get_baseline,
    is_available,
    mean_fill,
)
from context_encoder.config import MEAN_RGB

RUNNABLE = available_baselines()


def _textured(h: int = 48, w: int = 48, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([4 * x, 3 * y, 2 * (x + y)], axis=-1).astype(np.float64)
    return np.clip(base + rng.normal(0, 8, (h, w, 3)), 0, 255).astype(np.uint8)


def _center_mask(h: int = 48, w: int = 48, size: int = 16) -> np.ndarray:
    mask = np.zeros((h, w), dtype=bool)
    top, left = (h - size) // 2, (w - size) // 2
    mask[top : top + size, left : left + size] = True
    return mask


def _psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    d = (a.astype(np.float64) - b.astype(np.float64))[mask] / 255.0
    mse = float(np.mean(d**2))
    return 100.0 if mse == 0 else 10 * np.log10(1.0 / mse)


def test_registry_names() -> None:
    assert list(BASELINES) == ["mean", "telea", "ns", "biharmonic", "patchmatch"]
    assert RUNNABLE[:4] == ["mean", "telea", "ns", "biharmonic"]
    assert ("patchmatch" in RUNNABLE) == is_available("patchmatch")
    assert get_baseline("ns") is baselines.navier_stokes


@pytest.mark.parametrize("name", ["nope", "Telea", ""])
def test_unknown_name_raises(name: str) -> None:
    with pytest.raises(ValueError, match="unknown method"):
        get_baseline(name)
    with pytest.raises(ValueError, match="choose from"):
        is_available(name)


@pytest.mark.parametrize("name", RUNNABLE)
def test_contract(name: str) -> None:
    image = _textured()
    original = image.copy()
    mask = _center_mask()
    # A hole of saturated white: no method (not even mean fill) leaves it as is.
    image[mask] = 255
    before = image.copy()
    out = get_baseline(name)(image, mask)
    assert out.shape == image.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[~mask], image[~mask])
    assert not np.array_equal(out[mask], image[mask])
    np.testing.assert_array_equal(image, before)  # input not modified
    if name != "mean":  # any context method beats a white hole by far
        assert _psnr(out, original, mask) > _psnr(image, original, mask) + 5


@pytest.mark.parametrize("name", RUNNABLE)
def test_mask_dtypes_and_shapes(name: str) -> None:
    image = _textured(32, 40)
    mask = _center_mask(32, 40, 8)
    fn = get_baseline(name)
    ref = fn(image, mask)
    np.testing.assert_array_equal(fn(image, mask.astype(np.uint8) * 255), ref)
    np.testing.assert_array_equal(fn(image, mask[..., None].astype(np.float32)), ref)
    rgb_mask = np.zeros((32, 40, 3), np.uint8)
    rgb_mask[..., 2] = mask * 255  # the one mask rule: non-zero in any colour channel
    np.testing.assert_array_equal(fn(image, rgb_mask), ref)
    with pytest.raises(ValueError, match=r"mask size 39x32 .* 40x32"):
        fn(image, mask[:, :39])
    with pytest.raises(ValueError, match="uint8"):
        fn(image.astype(np.float32), mask)


@pytest.mark.parametrize("name", RUNNABLE)
def test_gray_and_rgba(name: str) -> None:
    rgb = _textured(32, 32)
    mask = _center_mask(32, 32, 8)
    fn = get_baseline(name)
    gray = rgb[..., 1].copy()
    out = fn(gray, mask)
    assert out.shape == gray.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[~mask], gray[~mask])

    alpha = np.random.default_rng(1).integers(0, 256, (32, 32), dtype=np.uint8)
    rgba = np.dstack([rgb, alpha])
    out4 = fn(rgba, mask)
    assert out4.shape == rgba.shape
    np.testing.assert_array_equal(out4[..., 3], alpha)  # alpha untouched, hole included
    np.testing.assert_array_equal(out4[..., :3], fn(rgb, mask))


@pytest.mark.parametrize("name", RUNNABLE)
def test_empty_mask_is_identity(name: str) -> None:
    image = _textured(24, 24)
    out = get_baseline(name)(image, np.zeros((24, 24), bool))
    np.testing.assert_array_equal(out, image)
    assert out is not image


def test_mean_fill_exact() -> None:
    image = _textured()
    mask = _center_mask()
    out = mean_fill(image, mask)
    assert (out[mask] == np.asarray(MEAN_RGB, np.uint8)).all()
    full = mean_fill(image, np.ones(mask.shape, bool))  # needs no context
    assert (full == np.asarray(MEAN_RGB, np.uint8)).all()


@pytest.mark.parametrize("name", ["telea", "ns", "biharmonic"])
def test_smooth_gradient_filled_accurately(name: str) -> None:
    h = w = 64
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    image = np.stack([2 * x + 40, 2 * y + 30, x + y + 60], axis=-1).round().astype(np.uint8)
    mask = _center_mask(h, w, 16)
    holed = image.copy()
    holed[mask] = 0
    out = get_baseline(name)(holed, mask)
    assert _psnr(out, image, mask) > 30


@pytest.mark.parametrize("name", ["telea", "ns", "biharmonic"])
def test_full_mask_rejected_for_context_methods(name: str) -> None:
    with pytest.raises(ValueError, match="whole image"):
        get_baseline(name)(_textured(16, 16), np.ones((16, 16), bool))


def test_bad_image_shape() -> None:
    with pytest.raises(ValueError, match="HxW"):
        mean_fill(np.zeros((8, 8, 2), np.uint8), np.ones((8, 8), bool))


def test_patchmatch_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(baselines, "_load_patchmatch", lambda: None)
    assert not is_available("patchmatch")
    assert "patchmatch" not in available_baselines()
    with pytest.raises(RuntimeError, match=r'pip install "context-encoder\[patchmatch\]"'):
        baselines.patchmatch(_textured(16, 16), _center_mask(16, 16, 4))


def test_patchmatch_repeatable() -> None:
    if not is_available("patchmatch"):
        pytest.skip("pypatchmatch not installed")
    image, mask = _textured(), _center_mask()
    a = baselines.patchmatch(image, mask)
    b = baselines.patchmatch(image, mask)
    np.testing.assert_array_equal(a, b)
