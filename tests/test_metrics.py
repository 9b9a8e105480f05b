"""Tests for the inpainting metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from context_encoder.metrics import (
    AREA_BINS,
    PSNR_CAP,
    aggregate,
    area_bin,
    hole_fraction,
    hole_metrics,
    mean_l1,
    mean_l2,
    psnr,
    ssim,
    torch_hole_metrics,
)


def _image(h: int = 32, w: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _mask(h: int = 32, w: int = 32) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = True
    return m


def test_identical_images() -> None:
    img = _image()
    r = hole_metrics(img, img, _mask())
    assert r["l1"] == 0.0 and r["l2"] == 0.0
    assert r["psnr"] == PSNR_CAP and r["psnr_full"] == PSNR_CAP
    assert r["ssim"] == pytest.approx(1.0)
    assert psnr(img, img) == PSNR_CAP
    assert all(math.isfinite(v) for v in r.values())


def test_known_constant_error() -> None:
    target = np.full((16, 16, 3), 100, np.uint8)
    pred = target.copy()
    mask = _mask(16, 16)
    pred[mask] += 51  # 0.2 in [0, 1] units, hole only
    r = hole_metrics(pred, target, mask)
    assert r["l1"] == pytest.approx(0.2)
    assert r["l2"] == pytest.approx(0.04)
    assert r["psnr"] == pytest.approx(10 * math.log10(1 / 0.04))  # 13.979 dB
    # The hole is a quarter of the image.
    assert r["psnr_full"] == pytest.approx(10 * math.log10(1 / 0.01))
    assert mean_l1(pred, target, mask) == pytest.approx(0.2)
    assert mean_l2(pred, target) == pytest.approx(0.01)


def test_float_and_uint8_agree() -> None:
    a, b, m = _image(seed=1), _image(seed=2), _mask()
    ru = hole_metrics(a, b, m)
    rf = hole_metrics(a / 255.0, b.astype(np.float32) / 255.0, m)
    for key in ru:
        assert rf[key] == pytest.approx(ru[key], rel=1e-5, abs=1e-6)


def test_mask_restricts_computation() -> None:
    a, m = _image(seed=3), _mask()
    b = a.copy()
    b[~m] = 255 - b[~m]  # errors only outside the hole
    r = hole_metrics(a, b, m)
    assert r["l1"] == 0.0 and r["psnr"] == PSNR_CAP
    assert r["psnr_full"] < 20 and r["ssim"] < 0.9  # whole-image metrics do see them
    # Only the hole's errors count.
    c = a.copy()
    c[m] = 0
    c[~m] = 255 - c[~m]
    d = a.copy()
    d[m] = 0
    assert mean_l1(c, a, m) == pytest.approx(mean_l1(d, a, m))


def test_validation_errors() -> None:
    a = _image()
    with pytest.raises(ValueError, match="empty"):
        hole_metrics(a, a, np.zeros((32, 32), bool))
    with pytest.raises(ValueError, match=r"16x16 .* 32x32"):
        hole_metrics(a, a, np.ones((16, 16), bool))
    with pytest.raises(ValueError, match="differ"):
        psnr(a, a[:16])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        mean_l1(a * 2.0 - 1.0, a / 255.0)


def test_grayscale_and_tiny_images() -> None:
    g = _image()[..., 0]
    r = hole_metrics(g, 255 - g, _mask())
    assert 0 < r["l1"] <= 1 and math.isfinite(r["ssim"])
    tiny = _image(4, 5)  # SSIM window must shrink to 3
    assert math.isfinite(ssim(tiny, tiny[::-1]))
    assert math.isnan(hole_metrics(tiny[:2], tiny[:2], np.ones((2, 5)))["ssim"])


def test_aggregate() -> None:
    out = aggregate([{"l1": 0.1, "psnr": 20.0}, {"l1": 0.3, "psnr": 30.0}, {"l1": 0.2}])
    assert out == pytest.approx({"l1": 0.2, "psnr": 25.0})
    with pytest.raises(ValueError):
        aggregate([])


@pytest.mark.parametrize("mask_layout", ["b1hw", "bhw", "hw"])
def test_torch_matches_numpy(mask_layout: str) -> None:
    rng = np.random.default_rng(4)
    preds = [rng.integers(0, 256, (16, 20, 3), dtype=np.uint8) for _ in range(3)]
    targets = [rng.integers(0, 256, (16, 20, 3), dtype=np.uint8) for _ in range(3)]
    targets[1] = preds[1].copy()  # one perfect image -> capped PSNR in the mean
    mask = _mask(16, 20)
    masks = [mask] * 3
    if mask_layout != "hw":
        masks[2] = np.zeros_like(mask)
        masks[2][:5, :7] = True
    expected = aggregate(
        hole_metrics(p, t, m) for p, t, m in zip(preds, targets, masks, strict=True)
    )

    def to_t(xs: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).float() / 127.5 - 1.0

    if mask_layout == "b1hw":
        tm = torch.from_numpy(np.stack(masks))[:, None]
    elif mask_layout == "bhw":
        tm = torch.from_numpy(np.stack(masks)).float()
    else:
        tm = torch.from_numpy(mask)
    got = torch_hole_metrics(to_t(preds), to_t(targets), tm)
    assert set(got) == {"l1", "l2", "psnr"}
    for key in got:
        assert got[key] == pytest.approx(expected[key], rel=1e-5)
    assert got["psnr"] > 10 * math.log10(1 / got["l2"])  # mean of per-image PSNRs


def test_torch_errors() -> None:
    x = torch.zeros(2, 3, 8, 8)
    with pytest.raises(ValueError, match="empty for batch item"):
        m = torch.zeros(2, 1, 8, 8, dtype=torch.bool)
        m[0, 0, 2:4, 2:4] = True
        torch_hole_metrics(x, x, m)
    with pytest.raises(ValueError, match="does not match"):
        torch_hole_metrics(x, x, torch.ones(2, 8, 7, dtype=torch.bool))
    with pytest.raises(ValueError, match="differ"):
        torch_hole_metrics(x, x[:1], torch.ones(8, 8))


def test_area_bins() -> None:
    assert AREA_BINS == tuple(f"{10 * i}-{10 * i + 10}%" for i in range(10))
    assert area_bin(0.0) == "0-10%"
    assert area_bin(0.0999) == "0-10%"
    for k in range(10):  # k/10 lands in its own bin despite float rounding
        assert area_bin(k / 10) == AREA_BINS[k]
    assert area_bin(0.1 + 0.2) == "30-40%"
    assert area_bin(0.95) == "90-100%"
    assert area_bin(1.0) == "90-100%"
    for bad in (-0.01, 1.01, float("nan")):
        with pytest.raises(ValueError):
            area_bin(bad)
    assert area_bin(hole_fraction(_mask())) == "20-30%"  # 16x16 hole in 32x32 = 0.25


# -- realism: detail and the distance in distribution ------------------------------------
def _realism_set():
    import cv2
    from skimage import data

    images = [cv2.resize(im, (128, 128), interpolation=cv2.INTER_AREA)
              for im in (data.astronaut(), data.chelsea(), data.coffee(), data.rocket())]
    mask = np.zeros((128, 128), bool)
    mask[32:96, 32:96] = True
    return images, mask


def _blurred(im, mask, sigma):
    import cv2

    out = im.copy()
    out[mask] = cv2.GaussianBlur(im, (0, 0), sigma)[mask]
    return out


def test_the_truth_scores_perfectly_on_detail_and_swd():
    from context_encoder.metrics import gradient_ratio, sliced_wasserstein

    images, mask = _realism_set()
    assert all(gradient_ratio(im, im, mask) == 1.0 for im in images)
    swd = sliced_wasserstein(images, images, [mask] * len(images))
    assert swd["swd"] == 0.0 and set(swd) == {"swd", "swd_128", "swd_64", "swd_32", "swd_16"}


def test_growing_blur_scores_worse_on_both():
    from context_encoder.metrics import gradient_ratio, sliced_wasserstein

    images, mask = _realism_set()
    details, swds = [], []
    for sigma in (0.7, 1.5, 3.0):
        fills = [_blurred(im, mask, sigma) for im in images]
        details.append(np.mean([gradient_ratio(f, im, mask) for f, im in zip(fills, images, strict=True)]))
        swds.append(sliced_wasserstein(fills, images, [mask] * len(images))["swd"])
    assert 1.0 > details[0] > details[1] > details[2] > 0.0
    assert 0.0 < swds[0] < swds[1] < swds[2]


def test_noise_is_not_rewarded_as_detail():
    """Noise adds gradient energy (detail over 1: more than the truth, not a match) and
    moves the patch distribution away from the truth's."""
    from context_encoder.metrics import gradient_ratio, sliced_wasserstein

    images, mask = _realism_set()
    rng = np.random.default_rng(0)
    noisy = [np.where(mask[..., None], np.clip(im + rng.normal(0, 20, im.shape), 0, 255),
                      im).astype(np.uint8) for im in images]
    assert all(gradient_ratio(n, im, mask) > 1.5 for n, im in zip(noisy, images, strict=True))
    assert sliced_wasserstein(noisy, images, [mask] * 4)["swd"] > 0.5 * sliced_wasserstein(
        [_blurred(im, mask, 1.5) for im in images], images, [mask] * 4)["swd"]


def test_detail_is_part_of_hole_metrics_and_swd_is_deterministic():
    from context_encoder.metrics import sliced_wasserstein

    images, mask = _realism_set()
    fills = [_blurred(im, mask, 1.0) for im in images]
    assert hole_metrics(fills[0], images[0], mask)["detail"] < 1.0
    a = sliced_wasserstein(fills, images, [mask] * 4)
    assert a == sliced_wasserstein(fills, images, [mask] * 4)
    with pytest.raises(ValueError, match="at least one image"):
        sliced_wasserstein([], [], [])
