"""AutoInpainter: the per-group choice, what it reports, determinism, untouched pixels."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from context_encoder.config import ModelConfig
from context_encoder.inference import AutoInpainter, GroupChoice, Inpainter, describe
from context_encoder.inference.auto.choose import DETAIL_SUFFIX
from context_encoder.models import Generator

TINY_FULL = ModelConfig(64, "full", "channelwise", enc_width=8, dec_width=8, disc_width=8)


@pytest.fixture(scope="module")
def tiny_model() -> Inpainter:
    torch.manual_seed(0)
    return Inpainter(Generator(TINY_FULL).eval(), TINY_FULL, device="cpu", precision="fp32",
                     name="tiny")


def _photo(h: int = 96, w: int = 128, seed: int = 0) -> np.ndarray:
    """A smooth gradient with a little noise, 8-bit."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = np.stack([x / w, y / h, 0.5 + 0.2 * np.sin(x / 9)], axis=-1) * 200 + 20
    rgb += np.random.default_rng(seed).normal(0, 2, rgb.shape)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def _holes(h: int = 96, w: int = 128) -> np.ndarray:
    m = np.zeros((h, w), dtype=bool)
    m[10:22, 12:30] = True  # two holes far apart: two groups
    m[60:75, 90:110] = True
    return m


def test_describe_counts_holes_per_method():
    cs = [GroupChoice((0, 0, 1, 1), 2, 5, "telea"), GroupChoice((0, 0, 1, 1), 1, 3, "tiny"),
          GroupChoice((0, 0, 1, 1), 1, 3, "ns"), GroupChoice((0, 0, 1, 1), 1, 3, "tiny")]
    assert describe(cs) == "telea (2 holes), tiny (2 holes), ns (1 hole)"
    assert describe([]) == "nothing to fill"


def test_fills_only_the_hole_and_reports_each_group(tiny_model):
    auto = AutoInpainter([tiny_model], methods=["telea", "ns"])
    img, mask = _photo(), _holes()
    filled = auto.fill(img, mask)
    out, choices = filled.image, filled.choices
    assert out.dtype == img.dtype and out.shape == img.shape
    assert np.array_equal(out[~mask], img[~mask])
    assert filled.chosen and np.array_equal(auto(img, mask), out)
    assert len(choices) == 2 and sum(c.holes for c in choices) == 2
    assert sum(c.pixels for c in choices) == mask.sum()
    for c in choices:
        y0, x0, y1, x1 = c.box
        assert mask[y0:y1, x0:x1].sum() == c.pixels
        blend = {k: w for k, w in c.weights.items() if not k.endswith(DETAIL_SUFFIX)}
        detail = {k.removesuffix(DETAIL_SUFFIX): w for k, w in c.weights.items()
                  if k.endswith(DETAIL_SUFFIX)}
        assert set(c.scores) == {"telea", "ns", "tiny"} and set(blend) <= set(c.scores)
        assert len(detail) <= 1 and set(detail) <= set(c.scores)
        assert c.method == "+".join(blend) + "".join(f" with {d} detail" for d in detail)
        assert abs(sum(blend.values()) - 1) < 1e-9
    assert filled.method == describe(choices)
    # every group's pixels are its candidates' fills (each with every hole unknown) mixed
    # by its weights, plus a candidate's detail where it adds it; mixed before rounding
    from context_encoder.inference import BaselineInpainter
    from context_encoder.inference.auto.choose import high_pass

    def fill(name):
        return (tiny_model(img, mask) if name == "tiny" else BaselineInpainter(name)(img, mask)
                ).astype(np.float64)

    for c in choices:
        y0, x0, y1, x1 = c.box
        ref = sum(w * (fill(name) if not name.endswith(DETAIL_SUFFIX) else 255 * high_pass(
            fill(name.removesuffix(DETAIL_SUFFIX)) / 255, auto.probes.detail_sigma))
            for name, w in c.weights.items())
        diff = np.abs(out[y0:y1, x0:x1].astype(np.float64) - np.clip(ref, 0, 255)[y0:y1, x0:x1])
        assert diff[mask[y0:y1, x0:x1]].max() <= 1.0


def test_smooth_photo_keeps_the_classical_default(tiny_model):
    """A random model gets little or no share beside Telea on a smooth gradient."""
    auto = AutoInpainter([tiny_model], methods=["telea"])
    choices = auto.fill(_photo(), _holes()).choices
    assert all(next(iter(c.weights)) == "telea" and c.weights.get("tiny", 0.0) < 0.2
               for c in choices)


def test_deterministic_and_independent_of_the_batch(tiny_model):
    auto = AutoInpainter([tiny_model], methods=["telea", "ns", "biharmonic"], seed=3)
    img, mask = _photo(seed=1), _holes()
    first = auto.fill(img, mask)
    with pytest.warns(UserWarning, match="empty"):
        both = auto.fill_many([_photo(seed=2), img], [np.zeros_like(mask), mask])
    assert both[0].choices == () and both[1].choices == first.choices
    assert both[0].method == "nothing to fill"
    assert np.array_equal(both[1].image, first.image)
    other = AutoInpainter([tiny_model], methods=["telea", "ns", "biharmonic"], seed=3)
    again = other.fill(img, mask)
    assert np.array_equal(again.image, first.image) and again.choices == first.choices


def test_pil_and_float_and_gray_inputs(tiny_model):
    auto = AutoInpainter([tiny_model], methods=["telea"])
    img, mask = _photo(), _holes()
    pil = auto(Image.fromarray(img), Image.fromarray(mask.astype(np.uint8) * 255))
    assert isinstance(pil, Image.Image) and pil.mode == "RGB"
    f = img.astype(np.float32) / 255
    out = auto(f, mask)
    assert out.dtype == np.float32 and np.array_equal(out[~mask], f[~mask])
    gray = img[..., 0]
    g = auto(gray, mask)
    assert g.shape == gray.shape and np.array_equal(g[~mask], gray[~mask])


def test_classical_only_and_errors(tiny_model):
    auto = AutoInpainter([], methods=["telea", "ns"])
    filled = auto.fill(_photo(), _holes())
    out, choices = filled.image, filled.choices
    assert choices and all({k.removesuffix(DETAIL_SUFFIX) for k in c.weights} <= {"telea", "ns"}
                           for c in choices)  # the mix and any detail added: these two only
    assert np.array_equal(out[~_holes()], _photo()[~_holes()])
    with pytest.raises(ValueError, match="unknown"):
        AutoInpainter([tiny_model], methods=["no-such-method"])
    with pytest.raises(ValueError, match="adapt"):
        AutoInpainter([], methods=["telea"], adapt_steps=2)
    with pytest.raises(ValueError, match="at least one"):
        AutoInpainter([], methods=[])


def test_adapted_model_is_a_candidate(tiny_model):
    torch.set_num_threads(1)
    auto = AutoInpainter([tiny_model], methods=["telea"], adapt_steps=2)
    img, mask = _photo(), _holes()
    filled = auto.fill(img, mask)
    assert np.array_equal(filled.image[~mask], img[~mask])
    assert all("tiny+adapt" in c.scores for c in filled.choices)
    before = [p.clone() for p in tiny_model.generator.parameters()]
    auto(img, mask)
    assert all(torch.equal(a, b) for a, b in zip(before, tiny_model.generator.parameters(),
                                                  strict=True))


def test_a_named_method_reports_itself(tiny_model):
    """Every inpainter says what filled the holes, without auto's probing."""
    from context_encoder.inference import BaselineInpainter

    img, mask = _photo(), _holes()
    for inp, name in ((tiny_model, "tiny"), (BaselineInpainter("telea"), "telea")):
        filled = inp.fill(img, mask)
        assert not filled.chosen and filled.method == name
        (c,) = filled.choices
        assert (c.method, c.holes, c.pixels, c.reason) == (name, 2, mask.sum(), "named")
        assert c.box == (10, 12, 75, 110)
        assert np.array_equal(filled.image, inp(img, mask))


def test_load_inpainter_names():
    """One factory: auto, a classical method, or a model (a shipped name or a path)."""
    from context_encoder.inference import BaselineInpainter, load_inpainter

    assert isinstance(load_inpainter("telea"), BaselineInpainter)
    with pytest.raises(ValueError, match="classical method"):
        load_inpainter("ns", adapt_steps=3)
    with pytest.raises(ValueError, match="no-such-model"):
        load_inpainter("no-such-model")


def test_many_holes_are_probed_once_per_size_class(tiny_model, monkeypatch):
    """Dust: hundreds of one-pixel holes and a few larger ones cost one probing per size
    class, the classes share their choice, and every hole pixel is filled."""
    from context_encoder.inference.auto import inpainter as auto_module

    calls = []
    real = auto_module.choose_filler

    def counting(rgb01, hole, *args, **kwargs):
        calls.append(int(hole.sum()))
        return real(rgb01, hole, *args, **kwargs)

    monkeypatch.setattr(auto_module, "choose_filler", counting)
    img = np.tile(_photo(), (3, 3, 1))  # 288 x 384
    rng = np.random.default_rng(0)
    mask = np.zeros(img.shape[:2], bool)
    mask.flat[rng.choice(mask.size, 600, replace=False)] = True
    mask[100:120, 200:220] = True
    mask[200:230, 40:60] = True
    filled = AutoInpainter([tiny_model], methods=["telea", "ns"]).fill(img, mask)
    groups = len(filled.choices)
    assert groups > AutoInpainter([tiny_model]).probes.units
    assert len(calls) <= 8 < groups
    shared = [c for c in filled.choices if c.reason.endswith("shared")]
    assert len(shared) == groups - len(calls)
    assert sum(c.pixels for c in filled.choices) == mask.sum()
    assert np.array_equal(filled.image[~mask], img[~mask])
    assert not np.array_equal(filled.image[mask], img[mask])


def test_a_few_holes_are_probed_one_by_one():
    from context_encoder.inference.auto.units import probe_units

    assert probe_units([5, 9, 7], [3, 4, 3], limit=3) == [(0, [0]), (1, [1]), (2, [2])]
    units = probe_units([1, 1, 2, 50, 60, 1], [1, 1, 2, 8, 9, 1], limit=3)
    # classes by the side's power of two (1; 2; 8; 9 -> 16), each probed on its median group
    assert units == [(1, [0, 1, 5]), (2, [2]), (3, [3]), (4, [4])]


def test_probing_and_filling_run_on_a_crop_around_the_holes(tiny_model, monkeypatch):
    """A small hole in a large photo: the candidates see its neighbourhood, not the photo."""
    from context_encoder.inference.auto import inpainter as auto_module

    seen = []
    real = auto_module.choose_filler

    def recording(rgb01, hole, *args, **kwargs):
        seen.append(rgb01.shape[:2])
        return real(rgb01, hole, *args, **kwargs)

    monkeypatch.setattr(auto_module, "choose_filler", recording)
    img = np.tile(_photo(), (12, 12, 1))  # 1152 x 1536
    mask = np.zeros(img.shape[:2], bool)
    mask[500:516, 700:716] = True
    auto = AutoInpainter([tiny_model], methods=["telea", "ns"])
    fills = []
    monkeypatch.setattr(auto, "_candidates", lambda rgb, hole: (
        fills.append(rgb.shape[:2]) or AutoInpainter._candidates(auto, rgb, hole)))
    out = auto(img, mask)
    assert seen and all(h * w < img.shape[0] * img.shape[1] / 20 for h, w in seen + fills)
    assert np.array_equal(out[~mask], img[~mask])


def test_auto_closest_is_named_and_adds_no_detail(tiny_model, tmp_path):
    from context_encoder.cli import main
    from context_encoder.inference import AUTO_CLOSEST, METHODS, load_inpainter

    assert AUTO_CLOSEST in METHODS
    inp = load_inpainter(AUTO_CLOSEST, models=[tiny_model])
    assert inp.probes.detail_budget_db == 0.0 and load_inpainter(
        "auto", models=[tiny_model]).probes.detail_budget_db > 0
    filled = inp.fill(_photo(), _holes())
    assert filled.chosen and len(filled.choices) == 2
    Image.fromarray(_photo()).save(tmp_path / "p.png")
    assert main(["inpaint", str(tmp_path / "p.png"), "--box", "10,10,20,12", "--method",
                 AUTO_CLOSEST, "-o", str(tmp_path / "o.png")]) == 0
