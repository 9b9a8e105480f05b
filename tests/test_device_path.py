"""The tensor path of the Inpainter (``pipeline="device"``, run here on the CPU) against the
NumPy/OpenCV path (``pipeline="host"``): pixels outside the holes bit-identical, pixels
inside within 1/255, over images of many sizes and holes and every kind of model; and its
operations (context_encoder.inference.pipeline.torch_ops) against their OpenCV counterparts."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest
import torch

from context_encoder import Generator, ModelConfig
from context_encoder.inference import STAGES, Inpainter, box_mask
from context_encoder.inference import windows as W
from context_encoder.inference.pipeline import torch_ops as ops
from context_encoder.inference.pipeline.device import Upload


def _rand(shape, seed=0, dtype=np.uint8) -> np.ndarray:
    hi = 65536 if dtype == np.uint16 else 256
    return np.random.default_rng(seed).integers(0, hi, size=shape).astype(dtype)


def _holes(h: int, w: int) -> np.ndarray:
    """Holes in the four corners, a strip across, and one inside."""
    m = np.zeros((h, w), bool)
    ch, cw = max(1, h // 6), max(1, w // 6)
    m[:ch, :cw] = m[-ch:, -cw:] = m[:ch, -cw:] = m[-ch:, :cw] = True
    m[h // 2 : h // 2 + ch, w // 3 : w // 3 + cw] = True
    if h > 8:
        m[h // 3, :] = True
    if m.all():
        m[h // 2, w // 2] = False
    return m


def _cases() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Images of many sizes with several holes each: at the borders, tiny images, large
    images whose windows are shrunk, small ones whose windows are enlarged, many specks."""
    images, masks = [], []
    for seed, (h, w) in enumerate([(128, 128), (37, 300), (500, 200), (130, 97), (3, 50),
                                   (2, 3), (64, 64)]):
        images.append(_rand((h, w, 3), seed))
        masks.append(_holes(h, w))
    big = np.zeros((400, 640), bool)
    big[150:330, 200:500] = True  # a 300 px hole: its window is shrunk to the model's size
    big[5:9, 620:640] = True  # a small one at the border
    images.append(_rand((400, 640, 3), 11))
    masks.append(big)
    specks = np.zeros((90, 160), bool)
    specks[::7, ::9] = True
    images.append(_rand((90, 160, 3), 12))
    masks.append(specks)
    images.append(_rand((1, 2, 3), 13))
    masks.append(np.array([[True, False]]))
    images.append(_rand((128, 128, 3), 14))
    masks.append(box_mask((128, 128), "32,32,64,64"))  # the center model's own hole
    return images, masks


def _pair(inp: Inpainter, **kw) -> tuple[Inpainter, Inpainter]:
    """The same generator behind both pipelines."""
    args = dict(device="cpu", precision="fp32", feather=inp.feather, **kw)
    return (Inpainter(inp.generator, inp.config, pipeline="host", **args),
            Inpainter(inp.generator, inp.config, pipeline="device", **args))


def _assert_same(host: list[np.ndarray], device: list[np.ndarray], images, masks) -> None:
    """Outside the holes: the input, bit for bit; inside: within 1/255 (8-bit images) or
    1e-5 (float images: float rounding only, no systematic difference)."""
    for a, b, img, m in zip(host, device, images, masks, strict=True):
        assert a.shape == b.shape == img.shape and a.dtype == b.dtype == img.dtype
        assert np.array_equal(b[~m], img[~m]), "pixels outside the holes changed"
        assert np.array_equal(a[~m], img[~m])
        diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
        limit = 1.0 if img.dtype == np.uint8 else 1e-5
        assert diff.max() <= limit, f"{img.shape}: {diff.max()} apart in the holes"


def _tiny(task: str, size: int, **kw) -> Inpainter:
    cfg = ModelConfig(image_size=size, task=task, bottleneck="channelwise", enc_width=4,
                      dec_width=4, disc_width=4, **kw)
    torch.manual_seed(0)
    return Inpainter(Generator(cfg).eval(), cfg, device="cpu", precision="fp32")


@pytest.fixture(scope="module", params=["tiny-full", "tiny-center", "facades-center-128",
                                        "facades-freeform-128", "conftest-tiny"])
def model(request) -> Inpainter:
    if request.param == "tiny-full":
        return _tiny("full", 64)
    if request.param == "tiny-center":
        return _tiny("center", 64, overlap=4)
    if request.param == "conftest-tiny":
        return Inpainter.from_pretrained(request.getfixturevalue("tiny_model"), device="cpu",
                                         precision="fp32")
    return Inpainter.from_pretrained(request.param, device="cpu", precision="fp32")


def test_device_path_matches_host_path(model, caplog):
    caplog.set_level(logging.DEBUG, logger="context_encoder.inference.pipeline.device")
    images, masks = _cases()
    host, device = _pair(model)
    _assert_same(host(images, masks), device(images, masks), images, masks)
    floats, fmasks = [img.astype(np.float32) / 255.0 for img in images[::2]], masks[::2]
    _assert_same(host(floats, fmasks), device(floats, fmasks), floats, fmasks)
    one = [device(img, m) for img, m in zip(images[:2], masks[:2], strict=True)]
    _assert_same(host(images[:2], masks[:2]), one, images[:2], masks[:2])  # one at a time
    assert "not planned" not in caplog.text  # every call's taps came in its one upload


@pytest.mark.parametrize("feather", [0, 1, 3])
def test_feather_widths_and_small_batches(feather):
    inp = _tiny("full", 64)
    inp.feather = feather
    images, masks = _cases()
    host, device = _pair(inp, batch_size=3)
    _assert_same(host(images, masks), device(images, masks), images, masks)


def test_image_types_and_sketches():
    inp = _tiny("full", 64, conv="gated", guide="sketch")
    host, device = _pair(inp)
    images = [_rand((80, 120, 3), 1, np.uint16), _rand((70, 90, 4), 2), _rand((60, 70), 3),
              _rand((40, 50, 3), 4).astype(np.float32) / 255.0]
    masks = [_holes(*img.shape[:2]) for img in images]
    sketches = [None, None, None, None]
    sketches[0] = np.zeros((80, 120), bool)
    sketches[0][:, 60] = True
    sketches[2] = _holes(60, 70)
    a, b = host(images, masks, sketches), device(images, masks, sketches)
    for x, y, img, m in zip(a, b, images, masks, strict=True):
        assert np.array_equal(y[~m], img[~m])
        scale = {np.dtype(np.uint16): 65535.0, np.dtype(np.uint8): 255.0}.get(img.dtype, 1.0)
        assert np.abs(x.astype(np.float64) - y.astype(np.float64)).max() <= scale / 255.0 + 1e-6
    assert np.array_equal(b[1][..., 3], images[1][..., 3])  # alpha kept


def test_stage_hook_and_generator_batches():
    inp = _tiny("full", 64)
    _, device = _pair(inp, batch_size=2)
    images, masks = _cases()
    plain = device(images, masks)
    seen, sizes = [], []
    device.stage_hook = lambda stage, seconds: seen.append(stage)
    hook = device.generator.register_forward_hook(lambda m, i, o: sizes.append(o.shape[0]))
    try:
        timed = device(images, masks)
    finally:
        hook.remove()
    assert seen == list(STAGES)
    assert max(sizes) == 2 and sum(sizes) > 2 * len(images)  # every window, in batches of 2
    for a, b in zip(plain, timed, strict=True):
        assert np.array_equal(a, b)


def test_compile_mode_pads_to_static_batches(monkeypatch):
    inp = _tiny("full", 64)
    compiled, shapes = [], []

    def fake_compile(module, **kw):
        compiled.append(kw)

        def run(*args):
            shapes.append(tuple(args[0].shape))
            return module(*args)
        return run

    monkeypatch.setattr(torch, "compile", fake_compile)
    eager = Inpainter(inp.generator, inp.config, device="cpu", precision="fp32",
                      pipeline="device", batch_size=8)
    static = Inpainter(inp.generator, inp.config, device="cpu", precision="fp32",
                       pipeline="device", batch_size=8, compile_mode="reduce-overhead")
    assert [static.static_batch(n) for n in (1, 2, 3, 5, 8, 9)] == [1, 2, 4, 8, 8, 8]
    images, masks = (c[:7] for c in _cases())
    for a, b in zip(eager(images, masks), static(images, masks), strict=True):
        assert np.abs(a.astype(np.int64) - b.astype(np.int64)).max() <= 1
    assert compiled == [{"mode": "reduce-overhead", "dynamic": False}]  # compiled once
    assert {s[0] for s in shapes} <= {1, 2, 4, 8} and all(s[1:] == (3, 64, 64) for s in shapes)


def test_pipeline_choice():
    inp = _tiny("full", 64)
    assert Inpainter(inp.generator, inp.config, device="cpu").pipeline == "host"
    with pytest.raises(ValueError, match="pipeline must be one of auto, device, host"):
        Inpainter(inp.generator, inp.config, device="cpu", pipeline="gpu")
    with pytest.raises(ValueError, match="compile_mode must be None or one of default"):
        Inpainter(inp.generator, inp.config, device="cpu", compile_mode="fast")


# -- the operations ----------------------------------------------------------------------
def _taps(key):
    idx, w = ops.host_taps(key)
    return torch.from_numpy(idx), torch.from_numpy(w)


@pytest.fixture(params=["fused", "per-tap"])
def fuse(request, monkeypatch):
    """Both ways of applying taps: all at once, and one at a time (large batches)."""
    if request.param == "per-tap":
        monkeypatch.setattr(ops, "FUSE_LIMIT", 0)


@pytest.mark.parametrize(("n_in", "n_out"), [(148, 128), (128, 148), (1000, 128), (3, 128),
                                             (1, 64), (128, 1), (147, 74), (74, 147)])
def test_resize_matches_opencv(n_in, n_out, fuse):
    a = np.random.default_rng(0).random((n_in, n_in + 3, 3), dtype=np.float32)
    for kind in (ops.AREA, ops.LINEAR, ops.CUBIC):
        if kind == ops.AREA and n_in < n_out:
            continue
        ref = cv2.resize(a, (n_out + 1, n_out), interpolation=kind).reshape(n_out, n_out + 1, 3)
        got = ops.resize(torch.from_numpy(a)[None], (n_out, n_out + 1), kind, _taps)[0]
        np.testing.assert_allclose(got.numpy(), ref, atol=1e-6)


@pytest.mark.parametrize("hw", [(128, 128), (37, 300), (3, 50), (1, 7), (2, 2), (513, 129)])
def test_push_pull_and_feather_match_opencv(hw, fuse):
    rng = np.random.default_rng(1)
    rgb = rng.random((*hw, 3), dtype=np.float32)
    pred = rng.random((*hw, 3), dtype=np.float32)
    for density in (0.05, 0.5):
        hole = rng.random(hw) < density
        hole[0, 0] = False
        got = ops.push_pull(torch.from_numpy(rgb)[None], torch.from_numpy(hole)[None], _taps)
        np.testing.assert_allclose(got[0].numpy(), W.smooth_fill(rgb, hole), atol=1e-6)
        for px in (1, 2, 4):
            stencil = tuple(torch.from_numpy(a) for a in ops.feather_stencil(px))
            got = ops.feather(torch.from_numpy(rgb)[None], torch.from_numpy(hole)[None],
                            torch.from_numpy(pred)[None], px, stencil)[0].numpy()
            ref = W.feather_seam(rgb, hole, pred, px)
            np.testing.assert_allclose(got, ref, atol=1e-6)
            assert np.array_equal(got[~hole], pred[~hole])


def test_upload_is_one_buffer_with_typed_views():
    up = Upload()
    up.reserve("a", (3, 5), np.float32)
    up.reserve("b", (7,), np.int64)
    up.reserve("c", (2, 2), np.uint8)
    host = up.host(pin=False)
    host["a"][...] = np.arange(15).reshape(3, 5) / 2
    host["b"][...] = np.arange(7) - 3
    host["c"][...] = [[1, 2], [3, 4]]
    dev = up.send(torch.device("cpu"))
    assert dev["a"].dtype == torch.float32 and dev["b"].dtype == torch.int64
    assert torch.equal(dev["a"], torch.arange(15).view(3, 5) / 2)
    assert torch.equal(dev["b"], torch.arange(7) - 3)
    assert dev["c"].tolist() == [[1, 2], [3, 4]]
    assert all(t.untyped_storage().data_ptr() == up.buffer.untyped_storage().data_ptr()
               for t in dev.values())  # views of the one buffer: nothing copied on the CPU


@pytest.mark.slow
def test_compiled_generator_gives_the_same_pixels():
    inp = _tiny("full", 64)
    compiled = Inpainter(inp.generator, inp.config, device="cpu", precision="fp32",
                         pipeline="device", compile_mode="default")
    img, mask = _rand((64, 64, 3), 5), _holes(64, 64)
    _assert_same([inp(img, mask)], [compiled(img, mask)], [img], [mask])


# -- on a GPU (skipped without one) ------------------------------------------------------
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@cuda
@pytest.mark.parametrize("name", ["facades-center-128", "facades-freeform-128"])
def test_cuda_device_path_matches_cpu_host_path(name):
    """The tensor path on the GPU (fp32, no TF32 in its resampling) against the host path
    on the CPU; then with CUDA graphs for the generator."""
    host = Inpainter.from_pretrained(name, device="cpu", precision="fp32")
    images, masks = _cases()
    expected = host(images, masks)
    for mode in (None, "reduce-overhead"):
        gpu = Inpainter.from_pretrained(name, device="cuda", precision="fp32", compile_mode=mode)
        assert gpu.pipeline == "device"
        _assert_same(expected, gpu(images, masks), images, masks)
        _assert_same(expected[:1], [gpu(images[0], masks[0])], images[:1], masks[:1])
