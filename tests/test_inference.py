"""Tests of context_encoder.inference: the Inpainter and the file helpers it re-exports
(the inpaint command: tests/test_inpaint_cli.py).

Tiny randomly initialised generators are exported with ``save_generator`` into temporary
folders; no shipped weights are needed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import context_encoder.inference.pipeline.host as host
from context_encoder import Generator, ModelConfig
from context_encoder.checkpoint import CheckpointError, save_generator
from context_encoder.config import MEAN_RGB
from context_encoder.inference import (
    STAGES,
    BaselineInpainter,
    Inpainter,
    box_mask,
    load_image,
    load_mask,
    save_image,
)
from context_encoder.inference.pipeline.host import HostPipeline
from context_encoder.inference.windows import WindowGeometry

FULL_CFG = ModelConfig(image_size=64, task="full", bottleneck="channelwise", enc_width=8,
                       dec_width=8, disc_width=8)
CENTER_CFG = ModelConfig(image_size=128, task="center", bottleneck="channelwise", enc_width=4,
                         dec_width=4, disc_width=4)


def _model(cfg: ModelConfig) -> Generator:
    torch.manual_seed(0)
    return Generator(cfg).eval()


@pytest.fixture(scope="module")
def full_inp() -> Inpainter:
    return Inpainter(_model(FULL_CFG), FULL_CFG, device="cpu", precision="fp32")


@pytest.fixture(scope="module")
def center_inp() -> Inpainter:
    return Inpainter(_model(CENTER_CFG), CENTER_CFG, device="cpu", precision="fp32")


@pytest.fixture(scope="module")
def model_files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    full = save_generator(_model(FULL_CFG), root / "full.safetensors")
    center = save_generator(_model(CENTER_CFG), root / "center.safetensors")
    data = full.read_bytes()
    broken = root / "broken.safetensors"
    broken.write_bytes(data[: len(data) // 2])
    return {"full": full, "center": center, "broken": broken}


def _rand(shape, dtype=np.uint8, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    hi = 65536 if dtype == np.uint16 else 256
    return rng.integers(0, hi, size=shape, dtype=np.int64).astype(dtype)


def _holes(h: int, w: int) -> np.ndarray:
    """Several holes: the four corners, a border strip and one inside."""
    m = np.zeros((h, w), dtype=bool)
    ch, cw = max(1, h // 6), max(1, w // 6)
    m[:ch, :cw] = True
    m[-ch:, -cw:] = True
    m[:ch, -cw:] = True
    m[-ch:, :cw] = True
    m[h // 2 : h // 2 + ch, w // 3 : w // 3 + cw] = True
    m[h // 3, :] = True if h > 8 else m[h // 3, :]
    if m.all():
        m[h // 2, w // 2] = False
    return m


def _check(out: np.ndarray, img: np.ndarray, mask: np.ndarray) -> None:
    assert out.shape == img.shape and out.dtype == img.dtype
    assert np.array_equal(out[~mask], img[~mask]), "pixels outside the hole changed"
    assert (out[mask] != img[mask]).any(), "the hole did not change"


# -- the library -----------------------------------------------------------------------
@pytest.mark.parametrize("which", ["full", "center"])
@pytest.mark.parametrize("hw", [(64, 64), (37, 300), (500, 200), (130, 97), (3, 50)])
def test_any_size_several_holes_border_and_corners(which, hw, full_inp, center_inp):
    inp = full_inp if which == "full" else center_inp
    img = _rand((*hw, 3))
    mask = _holes(*hw)
    _check(inp.inpaint_array(img, mask), img, mask)


def test_sixteen_bit_rgb_and_gray(full_inp):
    img = _rand((80, 120, 3), np.uint16)
    mask = _holes(80, 120)
    _check(full_inp.inpaint_array(img, mask), img, mask)
    gray = _rand((80, 120), np.uint16, seed=1)
    _check(full_inp.inpaint_array(gray, mask), gray, mask)


def test_rgba_alpha_kept_everywhere(full_inp):
    img = _rand((70, 90, 4))
    mask = _holes(70, 90)
    out = full_inp.inpaint_array(img, mask)
    assert np.array_equal(out[..., 3], img[..., 3])
    _check(out[..., :3], img[..., :3], mask)
    assert np.array_equal(out[~mask], img[~mask])


@pytest.mark.parametrize("shape", [(60, 70), (60, 70, 1)])
def test_grayscale(shape, center_inp):
    img = _rand(shape)
    mask = np.zeros((60, 70), bool)
    mask[20:35, 10:40] = True
    out = center_inp.inpaint_array(img, mask)
    assert out.shape == img.shape
    _check(out, img, mask)


def test_float_input_kept_in_range(full_inp):
    img = _rand((40, 50, 3)).astype(np.float32) / 255.0
    mask = _holes(40, 50)
    out = full_inp.inpaint_array(img, mask)
    _check(out, img, mask)
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_center_model_rectangular_box(center_inp):
    img = _rand((200, 300, 3))
    mask = box_mask(img.shape, "40,60,180,30")  # wide and flat
    _check(center_inp.inpaint_array(img, mask), img, mask)


def test_many_small_holes_are_grouped_and_fast(full_inp):
    img = _rand((256, 256, 3))
    mask = np.zeros((256, 256), bool)
    mask[::9, ::11] = True  # ~700 one-pixel holes
    calls: list[int] = []
    gen = full_inp.generator
    hook = gen.register_forward_hook(lambda m, i, o: calls.append(o.shape[0]))
    try:
        out = full_inp.inpaint_array(img, mask)
    finally:
        hook.remove()
    _check(out, img, mask)
    assert sum(calls) <= 100  # ~700 holes share windows (about one per 32x32 px here)


def test_windows_of_a_list_run_in_one_batch(full_inp):
    imgs = [_rand((100, 100, 3), seed=s) for s in range(2)]
    mask = np.zeros((100, 100), bool)
    mask[2:10, 2:10] = True
    mask[80:95, 70:90] = True
    calls: list[int] = []
    hook = full_inp.generator.register_forward_hook(lambda m, i, o: calls.append(o.shape[0]))
    try:
        outs = full_inp(imgs, mask)
    finally:
        hook.remove()
    assert len(calls) == 1 and calls[0] >= 2
    assert isinstance(outs, list) and len(outs) == 2
    for out, img in zip(outs, imgs, strict=True):
        _check(out, img, mask)


def _mixed_masks(size: int) -> list[np.ndarray]:
    """A center square, two holes far apart, a hole at the border, a hole beside the center."""
    boxes = [[(32, 32, 64, 64)], [(40, 40, 40, 40), (2, 2, 10, 10)], [(0, 50, 20, 30)],
             [(44, 44, 40, 40), (100, 60, 12, 12)]]
    out = []
    for group in boxes:
        m = np.zeros((size, size), bool)
        for b in group:
            m |= box_mask((size, size), [v * size // 128 for v in b])
        out.append(m)
    return out


@pytest.mark.parametrize("which", ["full", "center"])
def test_skipping_the_smooth_fill_changes_no_pixel(which, full_inp, center_inp, monkeypatch):
    inp = full_inp if which == "full" else center_inp
    size = inp.config.image_size
    imgs = [_rand((size, size, 3), seed=s) for s in range(4)]
    imgs += [_rand((200, 150, 3), seed=8), _rand((40, 50, 3), seed=9)]  # small: enlarged
    masks = _mixed_masks(size) + [_holes(200, 150), box_mask((40, 50), "20,15,5,5")]
    calls = {"smooth": 0}
    real = host.smooth_fill

    def counted(*a):
        calls["smooth"] += 1
        return real(*a)

    monkeypatch.setattr(host, "smooth_fill", counted)
    device = Inpainter(inp.generator, inp.config, device="cpu", precision="fp32",
                       pipeline="device")
    skipped, skipped_device = inp(imgs, masks), device(imgs, masks)
    assert 1 <= calls["smooth"] < len(imgs)  # some images need it, some do not
    calls["smooth"] = 0
    monkeypatch.setattr(WindowGeometry, "needs_smooth_context", lambda self, mask, g: True)
    forced, forced_device = inp(imgs, masks), device(imgs, masks)
    assert calls["smooth"] == len(imgs)
    for a, b in zip(skipped + skipped_device, forced + forced_device, strict=True):
        assert np.array_equal(a, b)
    monkeypatch.setattr(HostPipeline, "pool", staticmethod(lambda n: host._Serial()))
    serial = inp(imgs, masks)  # the threads change nothing either
    for a, b in zip(forced, serial, strict=True):
        assert np.array_equal(a, b)


def test_shrunk_window_blanks_every_pixel_a_hole_touches(monkeypatch):
    # A 190 px window shrunk to 128: hole pixels cut at a corner weigh under 1e-3 in some
    # model pixels; those must be blanked too, or the pixels under the hole leak in.
    inp = Inpainter.from_pretrained("facades-freeform-128", device="cpu", precision="fp32")
    mask = box_mask((132, 137), "31,10,95,76")
    img = np.random.default_rng(0).random((132, 137, 3), dtype=np.float32)
    other = img.copy()
    other[mask] = 1.0 - other[mask]  # different content under the hole only
    a, b = inp(img, mask), inp(other, mask)
    assert np.array_equal(a[mask], b[mask])
    monkeypatch.setattr(WindowGeometry, "needs_smooth_context", lambda self, mask, g: True)
    assert np.array_equal(inp(img, mask), a)


def test_stage_hook_times_each_stage_and_changes_nothing(full_inp):
    imgs = [_rand((100, 120, 3), seed=s) for s in range(3)]
    masks = [_holes(100, 120)] * 3
    plain = full_inp(imgs, masks)
    seen: list[tuple[str, float]] = []
    full_inp.stage_hook = lambda stage, seconds: seen.append((stage, seconds))
    try:
        timed = full_inp(imgs, masks)
        full_inp(imgs[0], masks[0])
    finally:
        full_inp.stage_hook = None
    assert [s for s, _ in seen] == list(STAGES) * 2  # each stage once per call, in order
    assert all(t >= 0.0 for _, t in seen)
    for a, b in zip(plain, timed, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("overlap", [0, 4, 7])
def test_center_window_follows_the_config_geometry(overlap):
    """The blanked square, the predicted square and the window side all come from the
    config: another overlap moves them."""
    cfg = ModelConfig(image_size=64, task="center", bottleneck="channelwise", enc_width=4,
                      dec_width=4, disc_width=4, overlap=overlap)
    a, b = cfg.blank_span
    assert (a, b) == (16 + overlap, 48 - overlap)
    inp = Inpainter(_model(cfg), cfg, device="cpu", precision="fp32", feather=0)
    img = _rand((64, 64, 3))
    mask = np.zeros((64, 64), bool)
    mask[a:b, a:b] = True  # exactly the blanked square: the window is the whole image
    assert int(inp.geometry.side(b - a, 64)) == 64
    seen = []
    hook = inp.generator.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    try:
        out = inp.inpaint_array(img, mask)
    finally:
        hook.remove()
    x = seen[0][0].permute(1, 2, 0).float().numpy()  # the model input, H x W x 3 in [-1, 1]
    fill = np.array(MEAN_RGB, np.float32) / 255.0 * 2.0 - 1.0
    blank = np.zeros((64, 64), bool)
    blank[a:b, a:b] = True
    assert np.allclose(x[blank], fill, atol=1e-6)
    assert np.allclose(x[~blank], img[~blank] / 255.0 * 2.0 - 1.0, atol=1e-6)
    _check(out, img, mask)


def test_list_with_list_of_masks(center_inp):
    imgs = [_rand((50, 60, 3)), _rand((90, 40))]
    masks = [box_mask((50, 60), "0,0,10,10"), box_mask((90, 40), "30,80,10,10")]
    outs = center_inp(imgs, masks)
    for out, img, m in zip(outs, imgs, masks, strict=True):
        _check(out, img, m)
    with pytest.raises(ValueError, match="2 images but 1 masks"):
        center_inp(imgs, masks[:1])


def test_empty_mask_returns_input_with_warning(full_inp):
    img = _rand((40, 40, 3))
    with pytest.warns(UserWarning, match="empty"):
        out = full_inp.inpaint_array(img, np.zeros((40, 40), bool))
    assert np.array_equal(out, img)


def test_full_mask_raises(full_inp):
    with pytest.raises(ValueError, match="whole"):
        full_inp.inpaint_array(_rand((40, 40, 3)), np.ones((40, 40), np.uint8))


def test_mask_size_mismatch_names_both_sizes(full_inp):
    with pytest.raises(ValueError, match=r"30x20.*50x40"):
        full_inp.inpaint_array(_rand((40, 50, 3)), np.ones((20, 30), bool))


def test_three_channel_mask_any(full_inp):
    img = _rand((40, 50, 3))
    m3 = np.zeros((40, 50, 3), np.uint8)
    m3[5:10, 5:10, 2] = 1  # only the blue channel is set
    out = full_inp.inpaint_array(img, m3)
    _check(out, img, m3.any(axis=2))


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "I;16"])
def test_pil_in_pil_out(mode, full_inp):
    arr = _rand((48, 64, 4 if mode == "RGBA" else 3))
    if mode == "L":
        arr = arr[..., 0]
    if mode == "I;16":
        arr = _rand((48, 64), np.uint16)
    img = Image.fromarray(arr[..., :3] if mode == "RGB" else arr)
    assert img.mode == mode
    mask = Image.fromarray((_holes(48, 64) * 255).astype(np.uint8))
    out = full_inp(img, mask)
    assert isinstance(out, Image.Image) and out.mode == mode and out.size == img.size
    m = _holes(48, 64)
    a, b = np.asarray(img), np.asarray(out)
    assert np.array_equal(a[~m], b[~m]) and not np.array_equal(a[m], b[m])


def test_from_pretrained_and_errors(model_files):
    inp = Inpainter.from_pretrained(model_files["full"], device="cpu")
    assert inp.config == FULL_CFG and "full" in repr(inp)
    with pytest.raises(CheckpointError, match="unknown model"):
        Inpainter.from_pretrained("no-such-model-xyz", device="cpu")
    with pytest.raises(CheckpointError, match="broken.safetensors"):
        Inpainter.from_pretrained(model_files["broken"], device="cpu")


def test_baseline_inpainter_with_callable():
    def grey(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
        out = img.copy()
        out[mask] = 128
        return out

    img = _rand((30, 40), np.uint16)
    mask = _holes(30, 40)
    out = BaselineInpainter(grey)(img, mask)
    _check(out, img, mask)
    assert np.all(out[mask] == 128 * 257)


# -- masks and files -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("box", "match"),
    [
        ("1,2,3", "malformed"),
        ("a,b,c,d", "malformed"),
        ("1,2,0,5", "positive"),
        ("-1,0,5,5", "left edge"),
        ("0,-2,5,5", "top edge"),
        ("90,0,20,5", "right edge"),
        ("0,75,5,10", "bottom edge"),
    ],
)
def test_box_mask_errors(box, match):
    with pytest.raises(ValueError, match=match):
        box_mask((80, 100, 3), box)


def test_box_mask():
    m = box_mask((80, 100), " 10, 20 ,30,40")
    assert m.sum() == 30 * 40 and m[20, 10] and m[59, 39] and not m[60, 40]
    assert box_mask((80, 100), (0, 0, 100, 80)).all()


def test_load_mask(tmp_path):
    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[3, 4, 0] = 1  # dark red: still a hole
    Image.fromarray(rgb).save(tmp_path / "m.png")
    m = load_mask(tmp_path / "m.png", (20, 30, 3))
    assert m.dtype == bool and m.sum() == 1 and m[3, 4]
    with pytest.raises(ValueError, match=r"m\.png.*30x20.*31x20"):
        load_mask(tmp_path / "m.png", (20, 31))
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="cannot read mask.*bad.png"):
        load_mask(tmp_path / "bad.png", (20, 30))


@pytest.mark.parametrize(
    ("shape", "dtype", "ext"),
    [
        ((20, 30, 3), np.uint16, ".png"),
        ((20, 30, 4), np.uint16, ".png"),
        ((20, 30), np.uint16, ".tif"),
        ((20, 30, 3), np.uint16, ".tiff"),
        ((20, 30, 4), np.uint8, ".png"),
        ((20, 30), np.uint8, ".bmp"),
        ((20, 30, 4), np.uint8, ".webp"),
    ],
)
def test_save_load_roundtrip_lossless(tmp_path, shape, dtype, ext):
    arr = _rand(shape, dtype)
    path = save_image(arr, tmp_path / f"x{ext}", {})
    if ext == ".webp":  # lossy: only shape and type
        back, info = load_image(path)
        assert back.shape == arr.shape and back.dtype == arr.dtype
        return
    back, info = load_image(path)
    assert back.dtype == arr.dtype and np.array_equal(back, arr)
    assert info["bits"] == (16 if dtype == np.uint16 else 8)


def test_save_jpeg_from_16_bit_rgba_warns_and_converts(tmp_path):
    arr = _rand((20, 30, 4), np.uint16)
    with pytest.warns(UserWarning, match="alpha"):
        save_image(arr, tmp_path / "x.jpg")
    back, info = load_image(tmp_path / "x.jpg")
    assert back.shape == (20, 30, 3) and back.dtype == np.uint8 and info["format"] == "JPEG"


def test_save_errors_leave_no_file(tmp_path):
    with pytest.raises(ValueError, match=r"x\.gif.*unknown extension"):
        save_image(_rand((5, 5, 3)), tmp_path / "x.gif")
    with pytest.raises(ValueError, match=r"cannot write image.*y\.png"):
        save_image(np.zeros((5, 5, 2), np.uint8), tmp_path / "y.png")
    assert list(tmp_path.iterdir()) == []


def test_load_image_errors(tmp_path):
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff garbage")
    with pytest.raises(ValueError, match=r"cannot read image .*bad\.jpg"):
        load_image(tmp_path / "bad.jpg")
    with pytest.raises(ValueError, match=r"cannot read image .*missing\.png"):
        load_image(tmp_path / "missing.png")


def test_load_image_modes_and_exif(tmp_path):
    la = Image.fromarray(_rand((10, 12, 2)), "LA")
    la.save(tmp_path / "la.png")
    arr, info = load_image(tmp_path / "la.png")
    assert arr.shape == (10, 12, 4) and info["mode"] == "LA"
    save_image(arr, tmp_path / "la2.png", info)
    assert Image.open(tmp_path / "la2.png").mode == "LA"
    assert np.array_equal(np.asarray(Image.open(tmp_path / "la2.png")), np.asarray(la))

    img = Image.fromarray(_rand((10, 20, 3)))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
    img.save(tmp_path / "o.jpg", exif=exif)
    arr, _ = load_image(tmp_path / "o.jpg")
    assert arr.shape == (20, 10, 3)


def test_load_16_bit_png_with_exif_orientation_matches_pil(tmp_path):
    import cv2

    arr = _rand((6, 9, 3), np.uint16)
    ok, enc = cv2.imencode(".png", cv2.cvtColor(arr, cv2.COLOR_RGB2BGR))
    assert ok
    # reference orientation handling: PIL on an 8-bit copy with the same EXIF
    for orientation in range(1, 9):
        eight = Image.fromarray((arr >> 8).astype(np.uint8))
        exif = eight.getexif()
        exif[0x0112] = orientation
        eight.save(tmp_path / "e.png", exif=exif)
        with Image.open(tmp_path / "e.png") as im:
            raw_exif = im.info["exif"]
        expected, _ = load_image(tmp_path / "e.png")
        # write the 16-bit file with the same eXIf chunk
        data = bytes(enc)
        chunk = _png_chunk(b"eXIf", raw_exif[6:] if raw_exif.startswith(b"Exif\x00\x00") else raw_exif)
        (tmp_path / "s.png").write_bytes(data[:33] + chunk + data[33:])
        got, info = load_image(tmp_path / "s.png")
        assert info["bits"] == 16
        assert np.array_equal((got >> 8).astype(np.uint8), expected), orientation


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    import struct
    import zlib

    return (struct.pack(">I", len(payload)) + kind + payload
            + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))
