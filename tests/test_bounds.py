"""Every option that sizes work has a bound: an absurd value is refused before anything is
allocated or written, with exit status 2 and one line naming the option."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from context_encoder.cli import main
from context_encoder.runtime import check_fits, check_workers, device_memory


@pytest.fixture()
def photo(tmp_path):
    path = tmp_path / "in.png"
    Image.fromarray(np.full((48, 48, 3), 120, np.uint8)).save(path)
    return path


CASES = [
    (["train", "--width", "100000"], "lower --width (now 100000)"),
    (["train", "--bottleneck-dim", "10000000"], "--bottleneck-dim (10000000)"),
    (["train", "--mask", "mixed", "--refine-width", "100000"], "--refine-width (100000)"),
    (["train", "--batch-size", "10000000"], "--batch-size 10000000"),
    (["train", "--load-size", "1000000"], "--load-size 1000000: at most 4096 px"),
    (["train", "--workers", "100000"], "--workers 100000: at most"),
    (["evaluate", "--count", "1000000000"], "lower the count (--count)"),
    (["evaluate", "--size", "100000"], "or the size (--size)"),
    (["demo", "--count", "100000000"], "lower --count"),
    (["features", "--seeds", "100000"], "--seeds must be in 1..20"),
    (["features", "--steps", "100000000"], "--steps must be in 1..100,000"),
    (["features", "--image-size", "100000"], "--image-size must be in 16..1024"),
    (["inpaint", "{photo}", "--box", "1,1,9,9", "--feather", "100000"], "--feather must be in 0..64"),
    (["inpaint", "{photo}", "--box", "1,1,9,9", "--adapt", "1000000000"], "--adapt"),
]


@pytest.mark.parametrize(("argv", "words"), CASES, ids=[" ".join(c[0][:3]) for c in CASES])
def test_an_absurd_value_is_one_line_and_exit_2(argv, words, photo, tmp_path, capsys):
    out = tmp_path / "out"
    argv = [a.format(photo=photo) for a in argv]
    argv += ["-o", str(out / "o.png")] if argv[0] == "inpaint" else ["--out", str(out)] \
        if argv[0] in ("train", "demo") else []
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and words in err, err
    assert "Traceback" not in err
    assert not out.exists()  # nothing written


def test_check_fits_names_what_and_the_fix():
    check_fits(1, "one byte", "never")
    with pytest.raises(ValueError, match=r"^x would need about .* GB, over 50% of this machine's "
                                         r".* GB: lower x$"):
        check_fits(device_memory(), "x", "lower x", share=0.5)


def test_check_workers_allows_a_few_per_core():
    check_workers(None)
    check_workers(8)
    with pytest.raises(ValueError, match="--workers 10000: at most"):
        check_workers(10_000)


@pytest.mark.parametrize(("argv", "words"), [
    (["serve", "--workers", "100000"], "--workers (workers) 100000: at most"),
    (["serve", "--max-uploads", "1000000"], "lower --max-uploads, --max-queue"),
    (["serve", "--max-megapixels", "1000000"], "or --max-megapixels"),
    (["inpaint", "{photo}", "--box", "1,1,9,9", "--max-megapixels", "1e12"],
     "lower --max-megapixels"),
])
def test_limits_no_accepted_input_could_meet_are_refused(argv, words, photo, tmp_path, capsys):
    out = tmp_path / "o.png"
    argv = [a.format(photo=photo) for a in argv]
    if argv[0] == "inpaint":
        argv += ["-o", str(out)]
    else:
        argv += ["--port", "0"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and words in err, err
    assert not out.exists()
