"""The in-browser fill against the Python paths: the static site of ``export --format web``
served by a plain static file server, opened in headless Chromium (Debian's, WebAssembly:
no GPU here), a 512x512 facade with one 64x64 hole drawn as a rectangle, Inpaint pressed.
The page's own figure (its status line: from the press to the result shown) for the first
fill, which loads the model and compiles the runtime, and the median of ``--iters`` fills
after it (undo, fill again); beside it the same fill by ``Inpainter`` in Python (PyTorch in
``--precision auto`` and ONNX Runtime), median of ``--iters`` calls after two warm-ups, and
the browser's mean absolute difference from the server's fill inside the hole.

    python bench/web_speed.py --json docs/web-speed-cpu.json
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import json
import re
import statistics
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

CHROMIUM = "/usr/bin/chromium"
#: Headless Chromium that asks nothing of any other host (the browser tests use these too).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic", "--disable-dev-shm-usage"]


@contextlib.contextmanager
def static_server(root: str | Path) -> Iterator[str]:
    """A plain static file server for ``root`` on 127.0.0.1 (a free port), in a thread;
    yields its base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return None

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _page_ms(page) -> tuple[float, str]:
    page.click("#inpaint")
    page.wait_for_selector("#status[data-state='done'], #status[data-state='error']",
                           timeout=300_000)
    status = page.text_content("#status") or ""
    if page.get_attribute("#status", "data-state") != "done":
        raise RuntimeError(status)
    return float(re.search(r"Done in (\d+) ms", status).group(1)), status


def main() -> None:
    from context_encoder.data import render_facade
    from context_encoder.inference import Inpainter
    from context_encoder.runtime import describe_machine
    from context_encoder.server.static_site import export_site
    from onnx_speed import median_ms  # bench/ is on the path when this script runs

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="facades-freeform-128")
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--json", type=Path)
    a = p.parse_args()
    from playwright.sync_api import sync_playwright

    img = render_facade("val", 99, 512)
    hole = np.zeros((512, 512), bool)
    hole[224:288, 224:288] = True
    with tempfile.TemporaryDirectory() as tmp:
        site = export_site(a.model, Path(tmp) / "site")
        src = Path(tmp) / "facade.png"
        Image.fromarray(img).save(src)
        with static_server(site) as url, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1100, "height": 760})
            page.goto(url + "/")
            page.wait_for_selector("#model option", state="attached")
            page.set_input_files("#file-input", str(src))
            page.wait_for_function("document.getElementById('canvas').width === 512")
            page.click("#tool-rect")
            box = page.locator("#canvas").bounding_box()
            k = box["width"] / 512
            page.mouse.move(box["x"] + 224 * k + 0.3 * k, box["y"] + 224 * k + 0.3 * k)
            page.mouse.down()
            page.mouse.move(box["x"] + 287.7 * k, box["y"] + 287.7 * k, steps=5)
            page.mouse.up()
            drawn = page.evaluate("""() => { const c = document.getElementById('canvas');
                const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                const out = []; for (let i = 3; i < d.length; i += 4) out.push(d[i] ? 1 : 0);
                return out; }""")
            page_hole = np.asarray(drawn, bool).reshape(512, 512)
            first, status = _page_ms(page)
            shown = page.evaluate("document.getElementById('image-canvas').toDataURL()")
            fills = []
            for _ in range(a.iters):
                page.click("#undo")
                fills.append(_page_ms(page)[0])
            browser.close()
        import base64
        import io

        got = np.asarray(Image.open(io.BytesIO(base64.b64decode(shown.split(",", 1)[1])))
                         .convert("RGB"))
        onnx = next((site / "models").glob("*.onnx"))
        python = {"pytorch auto": Inpainter.from_pretrained(a.model, device="cpu"),
                  "onnxruntime": Inpainter.from_pretrained(onnx)}
        ref = python["onnxruntime"](img, page_hole)  # what the server answers for this model
        mad = float(np.abs(got[page_hole].astype(int) - ref[page_hole].astype(int)).mean())
        rows = {"browser first fill ms (loads the model)": first,
                "browser fill ms": statistics.median(fills),
                "browser vs server, mean abs diff in the hole (8-bit levels)": round(mad, 3),
                "browser provider": status.split("(")[-1].split(")")[0]}
        for name, inp in python.items():
            rows[f"python {name} ms"] = median_ms(lambda f=inp: f(img, page_hole), a.iters)
    print(json.dumps(rows, indent=1))
    if a.json:
        a.json.write_text(json.dumps({
            "command": f"python bench/web_speed.py --model {a.model} --iters {a.iters}",
            "machine": describe_machine(), "browser": "Debian's Chromium, headless, one "
            "WebAssembly thread (the static server sends no cross-origin isolation headers)",
            "image": "512x512 validation facade, one 64x64 hole", "results": rows},
            indent=1) + "\n")


if __name__ == "__main__":
    main()
