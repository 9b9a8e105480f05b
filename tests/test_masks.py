"""Tests for ``context_encoder.masks``: shapes, coverage statistics, determinism, registry.

Coverage ranges asserted below (1000 draws at 128x128, seed 0) were measured when the module
was written; measured means: block 0.145, region 0.224, freeform 0.207, thin 0.226,
medium 0.255, thick 0.342, mixed 0.208.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest


def _load_masks() -> ModuleType:
    """Import the module normally; if the package ``__init__`` is broken, load the file alone."""
    try:
        from context_encoder import masks

        return masks
    except ImportError:
        path = Path(__file__).resolve().parents[1] / "src" / "context_encoder" / "masks.py"
        spec = importlib.util.spec_from_file_location("_context_encoder_masks", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module


M = _load_masks()

RANDOM_KINDS = [k for k in M.MASK_KINDS if k != "center"]
N_DRAWS = 1000


@pytest.fixture(scope="module")
def fractions() -> dict[str, np.ndarray]:
    """Hole fractions of 1000 draws at 128x128 per kind (computed once)."""
    out = {}
    for kind in M.MASK_KINDS:
        gen = M.get_mask_generator(kind)
        rng = np.random.default_rng(0)
        out[kind] = np.array([M.hole_fraction(gen((128, 128), rng)) for _ in range(N_DRAWS)])
    return out


# ---------------------------------------------------------------------------- basics


def test_mask_kinds_complete() -> None:
    assert M.MASK_KINDS == (
        "center",
        "block",
        "region",
        "freeform",
        "thin",
        "medium",
        "thick",
        "mixed",
    )


@pytest.mark.parametrize("kind", M.MASK_KINDS)
@pytest.mark.parametrize("size", [128, (128, 128), (96, 160), (160, 64)])
def test_dtype_shape_not_empty(kind: str, size: int | tuple[int, int]) -> None:
    gen = M.get_mask_generator(kind)
    rng = np.random.default_rng(1)
    hw = (size, size) if isinstance(size, int) else size
    for _ in range(20):
        mask = gen(size, rng)
        assert mask.dtype == np.bool_
        assert mask.shape == hw
        assert mask.any()
        assert not mask.all()


@pytest.mark.parametrize("kind", RANDOM_KINDS)
@pytest.mark.parametrize("size", [8, (8, 13), (33, 17), (256, 256)])
def test_small_odd_and_large_sizes(kind: str, size: int | tuple[int, int]) -> None:
    gen = M.get_mask_generator(kind)
    rng = np.random.default_rng(2)
    hw = (size, size) if isinstance(size, int) else size
    for _ in range(10):
        mask = gen(size, rng)
        assert mask.shape == hw and mask.dtype == np.bool_ and mask.any()


@pytest.mark.parametrize("size", [7, (8, 4), (0, 64), (64,), "128", (64.0, 64)])
def test_bad_sizes_raise(size: object) -> None:
    with pytest.raises(ValueError):
        M.block_mask(size, np.random.default_rng(0))  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", RANDOM_KINDS)
def test_rng_must_be_a_generator(kind: str) -> None:
    with pytest.raises(TypeError, match="Generator"):
        M.get_mask_generator(kind)(64, None)


# ---------------------------------------------------------------------------- coverage


def test_region_coverage_always_in_range(fractions: dict[str, np.ndarray]) -> None:
    f = fractions["region"]
    assert f.min() >= 0.2 and f.max() <= 0.3


@pytest.mark.parametrize("kind", ["thin", "medium", "thick"])
def test_lama_coverage_at_most_half(kind: str, fractions: dict[str, np.ndarray]) -> None:
    f = fractions[kind]
    assert f.min() > 0.0 and f.max() <= 0.5
    assert 0.1 <= f.mean() <= 0.45


def test_block_coverage(fractions: dict[str, np.ndarray]) -> None:
    # 1-4 blocks with side fractions U(0.1, 0.4): ~0.0625 per block before overlaps.
    f = fractions["block"]
    assert f.min() > 0.0
    assert 0.08 <= f.mean() <= 0.25


def test_freeform_coverage(fractions: dict[str, np.ndarray]) -> None:
    f = fractions["freeform"]
    assert f.min() > 0.0
    assert 0.1 <= f.mean() <= 0.35


def test_mixed_coverage(fractions: dict[str, np.ndarray]) -> None:
    f = fractions["mixed"]
    assert f.min() > 0.0
    assert 0.1 <= f.mean() <= 0.35


def test_center_coverage(fractions: dict[str, np.ndarray]) -> None:
    assert np.all(fractions["center"] == 56 * 56 / 128**2)


# ---------------------------------------------------------------------------- randomness


@pytest.mark.parametrize("kind", M.MASK_KINDS)
def test_same_seed_same_masks(kind: str) -> None:
    gen = M.get_mask_generator(kind)
    a = M.batch_masks(gen, 16, (96, 128), np.random.default_rng(0))
    b = M.batch_masks(gen, 16, (96, 128), np.random.default_rng(0))
    assert np.array_equal(a, b)


@pytest.mark.parametrize("kind", RANDOM_KINDS)
def test_different_seeds_differ(kind: str) -> None:
    gen = M.get_mask_generator(kind)
    a = M.batch_masks(gen, 4, 128, np.random.default_rng(0))
    b = M.batch_masks(gen, 4, 128, np.random.default_rng(1))
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("kind", RANDOM_KINDS)
def test_masks_differ_within_batch(kind: str) -> None:
    batch = M.batch_masks(M.get_mask_generator(kind), 8, 128, np.random.default_rng(3))
    assert batch.shape == (8, 128, 128) and batch.dtype == np.bool_
    distinct = {m.tobytes() for m in batch}
    assert len(distinct) >= 2


def test_batch_masks_empty_and_validation() -> None:
    gen = M.get_mask_generator("block")
    assert M.batch_masks(gen, 0, (32, 48), np.random.default_rng(0)).shape == (0, 32, 48)
    with pytest.raises(ValueError):
        M.batch_masks(gen, -1, 32, np.random.default_rng(0))
    with pytest.raises(ValueError, match="shape"):
        M.batch_masks(lambda size, rng: np.zeros((4, 4), bool), 2, 32, np.random.default_rng(0))


# ---------------------------------------------------------------------------- center


def test_center_mask_geometry() -> None:
    mask = M.center_mask(128)
    expected = np.zeros((128, 128), dtype=bool)
    expected[36:92, 36:92] = True
    assert np.array_equal(mask, expected)
    assert mask.sum() == 56 * 56
    # symmetric about the image center
    assert np.array_equal(mask, mask[::-1, ::-1])


def test_center_mask_non_square_and_overlap() -> None:
    mask = M.center_mask((96, 160), np.random.default_rng(0))
    ys, xs = np.nonzero(mask)
    assert (ys.min(), ys.max() + 1, xs.min(), xs.max() + 1) == (28, 68, 44, 116)
    assert mask.sum() == 40 * 72
    assert M.center_mask(128, overlap=0).sum() == 64 * 64
    assert M.center_box(128, overlap=0) == (32, 32, 64, 64)
    assert M.center_box(128) == (32, 32, 64, 64)
    assert M.center_box(128, overlap=4) == (36, 36, 56, 56)


@pytest.mark.parametrize(
    "size, overlap", [((127, 128), 4), ((128, 131), 4), (128, -1), (128, 16 * 2), (16, 4)]
)
def test_center_mask_bad_arguments(size: tuple[int, int] | int, overlap: int) -> None:
    with pytest.raises(ValueError):
        M.center_mask(size, overlap=overlap)


# ---------------------------------------------------------------------------- kinds' options


def test_block_options_bound_exactly() -> None:
    gen = M.get_mask_generator("block", min_blocks=1, max_blocks=1, min_frac=0.25, max_frac=0.25)
    for mask in M.batch_masks(gen, 20, 128, np.random.default_rng(0)):
        assert mask.sum() == 32 * 32


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_blocks": 3, "max_blocks": 2},
        {"min_blocks": 0},
        {"min_frac": 0.5, "max_frac": 0.4},
        {"min_frac": 0.0},
        {"max_frac": 1.5},
    ],
)
def test_block_bad_options(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        M.block_mask(64, np.random.default_rng(0), **kwargs)


def test_region_custom_and_forced_fallback_ranges() -> None:
    rng = np.random.default_rng(0)
    for lo, hi in [(0.1, 0.15), (0.3, 0.4), (0.6, 0.62), (0.25, 0.25)]:
        for _ in range(20):
            f = M.hole_fraction(M.region_mask(64, rng, min_cover=lo, max_cover=hi))
            assert lo <= f <= hi


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_cover": 0.4, "max_cover": 0.3},
        {"min_cover": 0.0},
        {"max_cover": 1.0},
        {"threshold": 1.2},
        {"cell_frac": 0.0},
    ],
)
def test_region_bad_options(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        M.region_mask(64, np.random.default_rng(0), **kwargs)


def test_freeform_options() -> None:
    rng = np.random.default_rng(0)
    no_box = M.batch_masks(
        M.get_mask_generator("freeform", add_box=False, min_width=2, max_width=3), 50, 128, rng
    )
    assert all(m.any() for m in no_box)
    assert no_box.mean() < 0.1  # thin brushes only
    with pytest.raises(ValueError):
        M.freeform_mask(128, rng, min_width=10, max_width=5)
    with pytest.raises(ValueError):
        M.freeform_mask(128, rng, min_vertex=5, max_vertex=4)
    with pytest.raises(ValueError):
        M.freeform_mask(128, rng, max_strokes=0, min_strokes=0, add_box=False)


@pytest.mark.parametrize("kind", ["thin", "medium", "thick"])
def test_lama_max_cover_option(kind: str) -> None:
    gen = M.get_mask_generator(kind, max_cover=0.2)
    for mask in M.batch_masks(gen, 100, 128, np.random.default_rng(0)):
        assert 0.0 < M.hole_fraction(mask) <= 0.2
    with pytest.raises(ValueError):
        M.get_mask_generator(kind, max_cover=0.0)(128, np.random.default_rng(0))


def test_mixed_weights() -> None:
    rng = np.random.default_rng(0)
    only_center = M.get_mask_generator("mixed", weights={"center": 1.0, "block": 0.0})
    for mask in M.batch_masks(only_center, 5, 128, rng):
        assert np.array_equal(mask, M.center_mask(128))
    assert M.DEFAULT_MIXED_WEIGHTS == {"freeform": 0.5, "block": 0.2, "region": 0.2, "thick": 0.1}
    for bad in ({"mixed": 1.0}, {"nope": 1.0}, {"block": 0.0}, {"block": -1.0}):
        with pytest.raises(ValueError):
            M.get_mask_generator("mixed", weights=bad)
        with pytest.raises(ValueError):
            M.mixed_mask(64, rng, weights=bad)


def test_mixed_uses_several_generators() -> None:
    # region masks always cover 20-30 %; block masks are unions of rectangles. Both must occur.
    batch = M.batch_masks(M.get_mask_generator("mixed"), 200, 64, np.random.default_rng(0))
    fr = batch.reshape(200, -1).mean(axis=1)
    assert fr.std() > 0.03
    assert len({m.tobytes() for m in batch}) == 200


# ---------------------------------------------------------------------------- registry


def test_get_mask_generator_unknown_kind() -> None:
    with pytest.raises(ValueError, match="'blobs'") as info:
        M.get_mask_generator("blobs")
    for kind in M.MASK_KINDS:
        assert kind in str(info.value)


def test_get_mask_generator_unknown_option() -> None:
    with pytest.raises(TypeError, match="'min_blobs'"):
        M.get_mask_generator("block", min_blobs=2)
    with pytest.raises(TypeError, match="'overlap'"):
        M.get_mask_generator("thick", overlap=4)
    with pytest.raises(TypeError, match="'size'"):
        M.get_mask_generator("region", size=64)


def test_get_mask_generator_binds_options() -> None:
    gen = M.get_mask_generator("center", overlap=0)
    assert gen(128, np.random.default_rng(0)).sum() == 64 * 64
    gen = M.get_mask_generator("region", min_cover=0.4, max_cover=0.5)
    f = M.hole_fraction(gen((64, 96), np.random.default_rng(0)))
    assert 0.4 <= f <= 0.5


def test_hole_fraction() -> None:
    mask = np.zeros((4, 8), dtype=bool)
    mask[:2, :2] = True
    assert M.hole_fraction(mask) == pytest.approx(4 / 32)
    assert M.hole_fraction(mask.astype(np.float32)) == pytest.approx(4 / 32)
    with pytest.raises(ValueError):
        M.hole_fraction(np.zeros((0, 4), dtype=bool))
