"""Choosing a filler by self-validation: placement, choice, determinism, fallbacks."""

from __future__ import annotations

import numpy as np
import pytest

from context_encoder.inference.auto import (
    Choice,
    ProbeSettings,
    baseline_filler,
    blend_weights,
    choose_filler,
    place_probes,
)

WINNER = ProbeSettings(blend=False)  # the single best candidate, no mixing

PERIOD = 6


def _half_and_half(h: int = 96, w: int = 192) -> np.ndarray:
    """Left half a smooth gradient, right half a hard periodic texture."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    smooth = np.stack([x / w, y / h, 0.5 + 0 * x], axis=-1) * 0.8 + 0.1
    rng = np.random.default_rng(0)
    tile = rng.random((PERIOD, PERIOD, 3)).astype(np.float32)
    texture = np.tile(tile, (h // PERIOD + 1, w // PERIOD + 1, 1))[:h, :w]
    return np.where((x < w // 2)[..., None], smooth, texture).astype(np.float32)


def _copy_period(rgb01: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A texture filler: each hole pixel copies the nearest known pixel a whole number of
    periods to its left or right; right for a periodic texture, poor on a gradient."""
    out = rgb01.copy()
    ys, xs = np.nonzero(mask)
    todo = np.ones(ys.size, dtype=bool)
    w = mask.shape[1]
    for k in range(1, w // PERIOD + 1):
        for xx in (xs - k * PERIOD, xs + k * PERIOD):
            ok = todo & (xx >= 0) & (xx < w)
            ok[ok] = ~mask[ys[ok], xx[ok]]
            out[ys[ok], xs[ok]] = rgb01[ys[ok], xx[ok]]
            todo &= ~ok
    return out


CANDIDATES = {"telea": baseline_filler("telea"), "copy": _copy_period}


def _square(shape: tuple[int, int], y: int, x: int, side: int) -> np.ndarray:
    m = np.zeros(shape, dtype=bool)
    m[y : y + side, x : x + side] = True
    return m


@pytest.mark.parametrize(("x", "expected"), [(40, "telea"), (136, "copy")])
def test_sensible_choice_on_gradient_and_texture(x, expected):
    img = _half_and_half()
    hole = _square(img.shape[:2], 40, x, 14)
    choice = choose_filler(img, hole, CANDIDATES, np.random.default_rng(0), probes=WINNER)
    assert choice.method == expected and choice.weights == {expected: 1.0}
    assert choice.probes == ProbeSettings().count and not choice.fallback
    assert set(choice.scores) == set(CANDIDATES)
    mixed = choose_filler(img, hole, CANDIDATES, np.random.default_rng(0))
    assert next(iter(mixed.weights)) == expected and mixed.weights[expected] > 0.5
    assert mixed.method.split("+")[0] == expected


def test_probes_avoid_hole_unknown_and_each_other():
    rng = np.random.default_rng(1)
    for trial in range(5):
        hole = np.zeros((80, 120), dtype=bool)
        hole[rng.integers(0, 60) :, :][:12, rng.integers(0, 100) :][:, :15] = True
        hole[30:34, 10:60] = True  # two components
        other = _square(hole.shape, 5, 100, 10)
        s = ProbeSettings(count=5, margin=3)
        probes, sizes = place_probes(hole, np.random.default_rng(trial), unknown=other,
                                     settings=s)
        assert probes and len(probes) == len(sizes) <= 5
        from context_encoder.inference.auto.probes import dilate as _dilate

        guard = _dilate(hole | other, s.margin)
        for i, p in enumerate(probes):
            assert not (p & guard).any()
            for q in probes[i + 1 :]:
                assert not (_dilate(p, s.margin) & q).any()


def test_probe_has_the_hole_shape():
    hole = np.zeros((100, 100), dtype=bool)
    hole[45:55, 40:60] = True
    hole[55:60, 40:45] = True  # an L shape
    probes, sizes = place_probes(hole, np.random.default_rng(0),
                                 settings=ProbeSettings(flips=False))
    assert sizes == [1.0] * len(probes)
    for p in probes:
        ys, xs = np.nonzero(p)
        crop = p[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        assert np.array_equal(crop, hole[45:60, 40:60])


def test_deterministic_for_a_given_rng():
    img = _half_and_half()
    hole = _square(img.shape[:2], 30, 80, 20)
    a = choose_filler(img, hole, CANDIDATES, np.random.default_rng(5))
    b = choose_filler(img, hole, CANDIDATES, np.random.default_rng(5))
    assert a.method == b.method and a.scores == b.scores and a.probes == b.probes
    pa, _ = place_probes(hole, np.random.default_rng(5))
    pb, _ = place_probes(hole, np.random.default_rng(5))
    assert all(np.array_equal(x, y) for x, y in zip(pa, pb, strict=True))


def test_no_room_returns_the_default():
    img = _half_and_half(48, 48)
    hole = np.ones((48, 48), dtype=bool)
    hole[:2] = False  # a 2-pixel strip of context: no probe fits, even shrunk
    choice = choose_filler(img, hole, CANDIDATES, np.random.default_rng(0), default="copy")
    assert choice == Choice("copy", scale=choice.scale, size=0.0, reason=choice.reason)
    assert choice.fallback and "no room" in choice.reason
    first = choose_filler(img, hole, CANDIDATES, np.random.default_rng(0))
    assert first.method == "telea"  # without a default: the first candidate


def test_large_hole_is_probed_smaller_or_by_component():
    img = _half_and_half()
    hole = _square(img.shape[:2], 3, 10, 90)  # no room for a second 90 px square
    choice = choose_filler(img, hole, CANDIDATES, np.random.default_rng(0))
    assert choice.probes >= 1 and choice.size < 1.0


def test_candidate_sees_only_crops_and_all_probes_masked():
    img = np.random.default_rng(0).random((400, 600, 3)).astype(np.float32)
    hole = _square(img.shape[:2], 180, 280, 12)
    seen = []

    def spy(rgb01, mask):
        seen.append((rgb01.shape, int(mask.sum())))
        return rgb01

    choice = choose_filler(img, hole, {"spy": spy}, np.random.default_rng(0))
    (shape, masked), = seen
    assert shape[0] < 400 and shape[0] * shape[1] < 400 * 600 / 4
    assert masked >= choice.probes * 144


def test_switch_margin_keeps_the_default():
    img = _half_and_half()
    hole = _square(img.shape[:2], 40, 136, 14)
    plain = choose_filler(img, hole, CANDIDATES, np.random.default_rng(0), default="telea",
                          probes=ProbeSettings(switch_db=0.0, blend=False))
    assert plain.method == "copy"
    gain = plain.scores["copy"] - plain.scores["telea"]
    kept = choose_filler(img, hole, CANDIDATES, np.random.default_rng(0), default="telea",
                         probes=ProbeSettings(switch_db=gain + 1.0, blend=False))
    assert kept.method == "telea"


def test_the_winner_fills_alone():
    """Without blending the probes' winner takes all the weight (AutoInpainter then runs
    only its fill: tests/test_auto.py checks each group is its weights' mix of fills)."""
    img = _half_and_half()
    hole = _square(img.shape[:2], 40, 136, 14)
    choice = choose_filler(img, hole, CANDIDATES, np.random.default_rng(0), probes=WINNER)
    assert choice.method == "copy" and choice.weights == {"copy": 1.0}


def _gram(errors: np.ndarray) -> np.ndarray:
    return errors @ errors.T / errors.shape[1]


def test_blend_of_independent_errors_halves_them():
    e = np.random.default_rng(0).normal(size=(2, 20000))
    g = _gram(e)
    w = blend_weights(g, ["a", "b"])
    assert set(w) == {"a", "b"} and abs(w["a"] - 0.5) < 0.05
    v = np.array([w["a"], w["b"]])
    assert v @ g @ v < 0.6 * min(g[0, 0], g[1, 1])  # about half of either error


def test_blend_lets_a_far_better_candidate_take_all_and_drops_crumbs():
    e = np.random.default_rng(1).normal(size=(3, 20000)) * np.array([[1.0], [0.1], [1.0]])
    w = blend_weights(_gram(e), ["a", "b", "c"], min_weight=0.05)
    assert list(w) == ["b"] and w["b"] == 1.0
    w0 = blend_weights(_gram(e), ["a", "b", "c"], min_weight=0.0)
    assert list(w0)[0] == "b" and abs(sum(w0.values()) - 1.0) < 1e-9 and w0["b"] > 0.95


def test_blend_favour_shifts_weight():
    e = np.random.default_rng(2).normal(size=(2, 20000)) * np.array([[1.0], [1.5]])
    plain = blend_weights(_gram(e), ["a", "b"])
    favoured = blend_weights(_gram(e), ["a", "b"], favour={"b": 6.0})
    assert plain["a"] > plain.get("b", 0) and favoured["b"] > favoured.get("a", 0)
    with pytest.raises(ValueError, match="2x2"):
        blend_weights(np.eye(3), ["a", "b"])
    with pytest.raises(ValueError, match="non-finite"):
        blend_weights(np.array([[1.0, np.nan], [np.nan, 1.0]]), ["a", "b"])
    three = blend_weights(np.diag([1.0, 1.1, 1.2]), ["a", "b", "c"], min_weight=0.45)  # ~1/3 each
    assert list(three) == ["a"] and three["a"] == 1.0


def test_a_candidate_returning_nan_is_named():
    img = _half_and_half()
    hole = _square(img.shape[:2], 40, 40, 14)
    bad = {"telea": CANDIDATES["telea"], "broken": lambda rgb, m: np.full_like(rgb, np.nan)}
    with pytest.raises(ValueError, match="'broken' returned NaN"):
        choose_filler(img, hole, bad, np.random.default_rng(0))


def test_errors_name_the_problem():
    img = _half_and_half(32, 32)
    hole = _square((32, 32), 10, 10, 5)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="hole shape"):
        choose_filler(img, hole[:-1], CANDIDATES, rng)
    with pytest.raises(ValueError, match="empty"):
        choose_filler(img, np.zeros((32, 32), bool), CANDIDATES, rng)
    with pytest.raises(ValueError, match="float"):
        choose_filler((img * 255).astype(np.uint8), hole, CANDIDATES, rng)
    with pytest.raises(ValueError, match="not a candidate"):
        choose_filler(img, hole, CANDIDATES, rng, default="ns")
    with pytest.raises(ValueError, match="at least one candidate"):
        choose_filler(img, hole, {}, rng)
    with pytest.raises(TypeError, match="Generator"):
        choose_filler(img, hole, CANDIDATES, 0)
    with pytest.raises(ValueError, match="count"):
        ProbeSettings(count=0)


def test_classical_candidates_leave_out_slow_methods_on_large_inputs():
    from context_encoder.inference.auto.candidates import (
        BIHARMONIC_MAX_HOLE,
        classical_candidates,
    )

    names = ["telea", "biharmonic", "patchmatch"]
    assert list(classical_candidates(names)) == names
    assert list(classical_candidates(names, hole_pixels=100)) == names
    big = classical_candidates(names, hole_pixels=BIHARMONIC_MAX_HOLE + 1)
    assert list(big) == ["telea", "patchmatch"]


def test_at_most_pixels_fills_a_large_image_at_a_smaller_scale():
    """The method sees the image halved until it fits the limit; the fill comes back at
    full size into the hole only; a small image gets the method itself."""
    from context_encoder.inference.auto.candidates import at_most_pixels

    seen = []

    def method(u8, hole):
        seen.append(u8.shape)
        out = u8.copy()
        out[hole] = 200
        return out

    rng = np.random.default_rng(0)
    u8 = rng.integers(0, 100, (300, 400, 3), dtype=np.uint8)
    hole = np.zeros((300, 400), bool)
    hole[100:180, 150:260] = True
    out = at_most_pixels(method, u8, hole, limit=20_000)
    assert seen == [(75, 100, 3)]  # 120,000 px halved twice
    np.testing.assert_array_equal(out[~hole], u8[~hole])
    inner = np.zeros_like(hole)
    inner[108:172, 158:252] = True  # a flat fill stays flat away from the hole's edge
    assert np.abs(out[inner].astype(int) - 200).max() <= 2
    seen.clear()
    assert np.array_equal(at_most_pixels(method, u8, hole, limit=120_000), method(u8, hole))
    assert seen == [(300, 400, 3), (300, 400, 3)]


def test_coarse_to_fine_runs_large_holes_mostly_at_a_coarser_scale():
    """Above COARSE_MIN_HOLE hole pixels the method runs on the halved photo and then on the
    hole's band at full size only; known pixels stay; smaller holes get the method itself."""
    from context_encoder.baselines import telea
    from context_encoder.inference.auto.candidates import (
        COARSE_BAND,
        COARSE_MIN_HOLE,
        coarse_to_fine,
    )

    calls: list[tuple[tuple[int, ...], int]] = []

    def spy(u8: np.ndarray, hole: np.ndarray) -> np.ndarray:
        calls.append((u8.shape, int(np.count_nonzero(hole))))
        return telea(u8, hole)

    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (600, 600, 3), dtype=np.uint8)
    big = np.zeros((600, 600), bool)
    big[100:500, 100:500] = True  # 160,000 pixels: halved once to 40,000
    assert big.sum() > COARSE_MIN_HOLE >= big.sum() / 4
    out = coarse_to_fine(spy, img, big)
    np.testing.assert_array_equal(out[~big], img[~big])
    assert (out[big] != 0).any()
    (low_shape, low_hole), (full_shape, band) = calls
    assert low_shape == (300, 300, 3) and low_hole == 200 * 200
    ring = 400 * 400 - (400 - 2 * COARSE_BAND) ** 2
    assert full_shape == img.shape and band == ring  # only the band at full size
    calls.clear()
    small = np.zeros((600, 600), bool)
    small[100:200, 100:200] = True
    np.testing.assert_array_equal(coarse_to_fine(spy, img, small), telea(img, small))
    assert calls == [((600, 600, 3), 100 * 100)]
    with pytest.raises(ValueError, match="does not match"):
        coarse_to_fine(spy, img, big[:500])


def test_coarse_to_fine_keeps_full_size_when_the_context_vanishes_at_the_coarse_scale():
    """Context in 1-px rows only: every 2x2 block of the halved photo touches the hole, so
    no context would be left there and the method runs once, at full size."""
    from context_encoder.baselines import telea
    from context_encoder.inference.auto import coarse_to_fine

    shapes: list[tuple[int, ...]] = []

    def spy(u8: np.ndarray, hole: np.ndarray) -> np.ndarray:
        shapes.append(u8.shape)
        return telea(u8, hole)

    img = np.random.default_rng(1).integers(0, 256, (400, 400, 3), dtype=np.uint8)
    hole = np.ones((400, 400), bool)
    hole[::5, :] = False  # known rows, 1 px thick
    assert hole.sum() > 65_536
    np.testing.assert_array_equal(coarse_to_fine(spy, img, hole), telea(img, hole))
    assert shapes == [(400, 400, 3)]


def test_spend_on_detail_adds_the_detail_the_budget_and_floor_allow():
    """Two fills with independent errors of the same size: their mean halves the error
    (+3 dB on the probes) but, one being flat, keeps a quarter of the textured one's detail.
    Adding the textured fill's high frequencies (uncorrelated with its error, energy 1e-3)
    restores detail at a small cost: half of them give the truth's detail for 0.21 dB, a
    quarter 0.56 of it for 0.04 dB. The budget and the floor decide how much is taken."""
    from context_encoder.inference.auto.choose import (
        detail_key,
        option_detail,
        option_psnr,
        spend_on_detail,
    )

    names = ["flat", "textured"]
    ext = [*names, *(detail_key(n) for n in names)]  # errors, then the fills' detail
    gram = np.diag([1e-2, 1e-2, 0.0, 1e-3])
    t = 4e-2  # the textured fill and its detail have the truth's gradients; flat has none
    dgram = np.array([[0, 0, 0, 0], [0, t, 0, t], [0, 0, 0, 0], [0, t, 0, t]], float)
    blend = {"flat": 0.5, "textured": 0.5}
    half = {**blend, "textured detail": 0.5}
    p = option_psnr(gram, ext, [blend, {"textured": 1.0}, half])
    assert p[0] == pytest.approx(p[1] + 3.01, abs=0.01) and p[0] - p[2] == pytest.approx(
        0.21, abs=0.01)
    assert option_detail(dgram, t, ext, blend) == pytest.approx(0.25, abs=0.01)
    assert option_detail(dgram, t, ext, half) == pytest.approx(1.0, abs=1e-3)

    def spend(**kw):
        return spend_on_detail(gram, dgram, t, names, blend, steps=(0.25, 0.5, 0.75, 1.0), **kw)

    assert spend(budget_db=0.5, floor_db=0.2) == half  # more detail than the truth: no gain
    assert spend(budget_db=0.1, floor_db=0.2) == {**blend, "textured detail": 0.25}
    assert spend(budget_db=0.5, floor_db=2.98) == blend  # the floor: above one fill alone
    assert spend(budget_db=0.0, floor_db=-5.0) == blend
    flat_only = np.diag([1e-2, 1e-2, 0.0, 0.0])  # detail that changes nothing is not taken
    assert spend_on_detail(flat_only, dgram * 0, t, names, blend, budget_db=0.5, floor_db=0.0,
                           steps=(0.5,)) == blend


def test_the_detail_floor_rises_as_the_probes_shrink():
    """Probes smaller than the hole overstate the blend's lead, so the floor the detail must
    keep rises by ``detail_floor_per_halving_db`` per halving of the probe size: the same
    hole takes the texture's detail with a flat floor and none with a steep one."""
    img = _half_and_half()
    hole = _square(img.shape[:2], 24, 110, 48)  # too large for probes of its own size

    def choose(per_halving: float):
        return choose_filler(img, hole, CANDIDATES, np.random.default_rng(0), probes=ProbeSettings(
            detail_budget_db=5.0, detail_floor_db=-10.0, detail_floor_per_halving_db=per_halving))

    flat, steep = choose(0.0), choose(100.0)
    assert flat.size == steep.size < 1.0
    assert "copy detail" in flat.weights and not any(k.endswith(" detail") for k in steep.weights)
    assert {k: v for k, v in flat.weights.items() if k != "copy detail"} == steep.weights
    with pytest.raises(ValueError, match="detail_floor_per_halving_db"):
        ProbeSettings(detail_floor_per_halving_db=-1.0)


def test_detail_products_give_a_blends_gradient_energy():
    from context_encoder.inference.auto.choose import detail_products
    from context_encoder.metrics import neighbour_differences

    rng = np.random.default_rng(0)
    a, b, t = (rng.random((16, 16, 3)) for _ in range(3))
    mask = np.zeros((16, 16), bool)
    mask[4:12, 3:13] = True
    dgram, energy = detail_products([a, b], t, mask)
    w = np.array([0.3, 0.7])
    d = neighbour_differences(w[0] * a + w[1] * b, mask)
    assert w @ dgram @ w == pytest.approx(float(d @ d) / d.size)
    assert energy == pytest.approx(float(np.square(neighbour_differences(t, mask)).mean()))
