"""Long work that can be watched and stopped: ticks, progress on stderr, cancellation."""

from __future__ import annotations

import io
import threading

import pytest

from context_encoder.work import Cancelled, Progress, tick, watched


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_tick_outside_watched_does_nothing():
    tick("anything", 1, 2)


def test_stop_raises_cancelled_with_the_reason_and_how_far_it_got():
    with watched(stop=lambda: "the client has gone"), pytest.raises(Cancelled) as e:
        tick("adapting", 3, 10)
    assert e.value.reason == "the client has gone"
    assert e.value.progress == "adapting: 3 of 10 done"
    assert str(e.value) == "stopped (the client has gone), adapting: 3 of 10 done"


def test_hooks_belong_to_their_thread_and_are_restored():
    seen = []
    with watched(progress=lambda *a: seen.append(a)):
        t = threading.Thread(target=tick, args=("other thread", 1, 1))
        t.start()
        t.join()
        with watched(stop=lambda: None):
            tick("inner", 1, 2)  # the inner hooks have no progress
        tick("outer", 1, 2)
    tick("after", 1, 1)
    assert seen == [("outer", 1, 2)]


@pytest.mark.parametrize("tty", [False, True])
def test_progress_waits_then_writes_at_most_every_interval(monkeypatch, tty):
    from context_encoder import work

    clock = _Clock()
    monkeypatch.setattr(work.time, "monotonic", clock)
    out = io.StringIO()
    out.isatty = lambda: tty  # type: ignore[method-assign]
    p = Progress(out, after=2.0, every=1.0)
    for step in range(1, 11):  # 10 steps, 0.5 s apart
        clock.now = step * 0.5
        p("adapting", step, 10)
    text = out.getvalue()
    shown = ["adapting: 5/10", "adapting: 7/10", "adapting: 9/10", "adapting: 10/10"]
    if tty:
        assert text == "".join("\r" + s for s in shown) + "\n"
    else:
        assert text == "".join(s + "\n" for s in shown)


def test_short_work_shows_nothing():
    out = io.StringIO()
    p = Progress(out, after=60.0)
    for step in range(1, 4):
        p("probing", step, 3)
    assert out.getvalue() == ""


def test_ctrl_c_stops_a_long_adaptation_cleanly(tmp_path):
    """inpaint --adapt 1000 shows its progress, and Ctrl-C ends it with status 130, one line,
    no traceback and no output file."""
    import os
    import signal
    import subprocess
    import sys

    import numpy as np
    from PIL import Image

    Image.fromarray(np.random.default_rng(0).integers(0, 255, (96, 96, 3), np.uint8)).save(
        tmp_path / "in.png")
    out = tmp_path / "out.png"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "context_encoder", "inpaint", str(tmp_path / "in.png"),
         "--box", "30,30,24,24", "--model", "facades-freeform-128", "--adapt", "1000",
         "-o", str(out)], stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stderr is not None
    line = proc.stderr.readline()  # the first progress line (after 2 s of adapting)
    assert line.startswith("adapting the model (steps): "), line
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    assert proc.wait(30) == 130
    assert rest.strip().splitlines()[-1] == "interrupted" and "Traceback" not in rest
    assert not out.exists()
