import numpy as np
import pytest
import torch

from context_encoder.sketch import edge_map, sketch_batch, sketch_from_image


def boxes_image(size=96, step=12, box=6):
    """Dark outlined boxes on a light wall: (size / step)^2 separate strokes."""
    img = np.full((size, size, 3), 220, np.uint8)
    for y in range(3, size - box, step):
        for x in range(3, size - box, step):
            img[y:y + box, x:x + box] = 40
    return img


def n_strokes(binary):
    import cv2

    return cv2.connectedComponents(binary.astype(np.uint8), connectivity=8)[0] - 1


def test_strokes_only_inside_the_hole_and_binary():
    img = boxes_image()
    hole = np.zeros(img.shape[:2], np.uint8)
    hole[20:70, 10:60] = 255
    for seed in range(20):
        s = sketch_from_image(img, hole, np.random.default_rng(seed), p_empty=0.0, keep=1.0)
        assert s.dtype == np.float32 and s.shape == hole.shape
        assert set(np.unique(s)) <= {0.0, 1.0}
        assert s.any() and not s[hole == 0].any()


def test_deterministic_for_a_generator_state():
    img, hole = boxes_image(), np.ones((96, 96), bool)
    a = [sketch_from_image(img, hole, np.random.default_rng(7)) for _ in range(2)]
    np.testing.assert_array_equal(*a)
    rng = np.random.default_rng(7)
    draws = [sketch_from_image(img, hole, rng, p_empty=0.0) for _ in range(5)]
    assert any(not np.array_equal(draws[0], d) for d in draws[1:])  # the stream moves on


def test_float_and_uint8_images_agree():
    img = boxes_image()
    np.testing.assert_array_equal(edge_map(img), edge_map(img.astype(np.float32) / 255))
    np.testing.assert_array_equal(edge_map(img), edge_map(img[..., 0]))  # gray == gray RGB
    assert edge_map(img).sum() > 0


def test_stroke_dropout_fraction_as_asked():
    img, hole = boxes_image(), np.ones((96, 96), bool)
    total = n_strokes(edge_map(img))
    assert total == 64
    rng = np.random.default_rng(0)
    kept = [n_strokes(sketch_from_image(img, hole, rng, keep=0.3, p_empty=0.0, cut=0.0))
            for _ in range(30)]
    assert abs(np.mean(kept) / total - 0.3) < 0.04
    whole = sketch_from_image(img, hole, rng, keep=1.0, p_empty=0.0, cut=0.0)
    np.testing.assert_array_equal(whole, edge_map(img))  # no dropout, no gaps: every edge


def test_cuts_thin_the_strokes():
    img, hole = boxes_image(), np.ones((96, 96), bool)
    edges = edge_map(img)
    s = sketch_from_image(img, hole, np.random.default_rng(0), keep=1.0, p_empty=0.0, cut=0.1)
    assert s.sum() < 0.8 * edges.sum() and not s[~edges].any()  # a subset, with gaps


def test_empty_sketch_probability_honoured():
    img, hole = boxes_image(64), np.ones((64, 64), bool)
    rng = np.random.default_rng(1)
    empty = [not sketch_from_image(img, hole, rng, keep=1.0, p_empty=0.3).any()
             for _ in range(2000)]
    assert abs(np.mean(empty) - 0.3) < 0.04


def test_clear_errors():
    img, hole, rng = boxes_image(), np.ones((96, 96), bool), np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"hole must be \(H, W\) = \(96, 96\)"):
        sketch_from_image(img, hole[:50], rng)
    with pytest.raises(ValueError, match=r"\(H, W, 3\) RGB or \(H, W\) gray"):
        sketch_from_image(img[..., :2], hole, rng)
    with pytest.raises(ValueError, match=r"float image must hold values in \[0, 1\]"):
        sketch_from_image(img.astype(np.float32) / 127.5 - 1, hole, rng)
    with pytest.raises(ValueError, match="uint8 or float"):
        sketch_from_image(img.astype(np.int32), hole, rng)
    with pytest.raises(ValueError, match="keep must be"):
        sketch_from_image(img, hole, rng, keep=(0.8, 0.2))
    with pytest.raises(ValueError, match="p_empty must be a probability"):
        sketch_from_image(img, hole, rng, p_empty=1.5)
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        sketch_from_image(img, hole, 0)


def test_batch_helper():
    img = torch.from_numpy(boxes_image(64)).permute(2, 0, 1).float() / 127.5 - 1
    images = img.expand(3, -1, -1, -1).contiguous()  # (3, 3, 64, 64) in [-1, 1]
    holes = torch.zeros(3, 1, 64, 64)
    holes[..., 8:40, 8:40] = 1
    out = sketch_batch(images, holes, np.random.default_rng(0), p_empty=0.0, keep=1.0, cut=0.0)
    assert out.shape == (3, 1, 64, 64) and out.dtype == torch.float32
    assert out.sum() > 0 and not out[holes == 0].any()
    ref = sketch_from_image(boxes_image(64), holes[0, 0].numpy(), np.random.default_rng(0),
                            p_empty=0.0, keep=1.0, cut=0.0)
    np.testing.assert_array_equal(out[0, 0].numpy(), ref)
    with pytest.raises(ValueError, match=r"holes must be \(B, 1, H, W\) = \(3, 1, 64, 64\)"):
        sketch_batch(images, holes[:2], np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"images must be \(B, 3, S, S\)"):
        sketch_batch(images[:, :1], holes, np.random.default_rng(0))
