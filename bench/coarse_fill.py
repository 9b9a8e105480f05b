"""Telea and Navier-Stokes on large holes: the plain method against ``coarse_to_fine``
(``context_encoder.inference.auto``), the way ``auto`` fills a hole of over 65,536 pixels.

    python bench/coarse_fill.py        # about 1 min on 2 cores

Five scikit-image photos at 1024 x 1024 (retina cropped; the others resized), each with
the largest component of the LaMa "thick" masks of seeds 0, 3 and 5 (41-47% of the photo).
Prints PSNR over the hole and seconds per fill for each method, both ways.
"""

from __future__ import annotations

import math
import time

import cv2
import numpy as np
from skimage import data

from context_encoder.baselines import get_baseline
from context_encoder.inference.auto import coarse_to_fine
from photos_quality import _largest_thick_hole


def photos() -> dict[str, np.ndarray]:
    def big(rgb: np.ndarray) -> np.ndarray:
        return cv2.resize(rgb, (1024, 1024), interpolation=cv2.INTER_CUBIC)

    return {"retina": data.retina()[200:1224, 200:1224],
            "hubble_deep_field": big(data.hubble_deep_field()),
            "astronaut": big(data.astronaut()),
            "coffee": big(data.coffee()),
            "gravel": big(np.dstack([data.gravel()] * 3))}


def psnr(out: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> float:
    err = (out[hole].astype(np.float64) - truth[hole]) / 255.0
    return -10.0 * math.log10(float(np.mean(err**2)))


def timed(fill, *args) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    out = fill(*args)
    return out, time.perf_counter() - t0


def main() -> None:
    rows: dict[str, list[tuple[float, float, float, float]]] = {"telea": [], "ns": []}
    for name, img in photos().items():
        for seed in (0, 3, 5):
            hole = _largest_thick_hole(seed)
            for method_name, acc in rows.items():
                method = get_baseline(method_name)
                plain, t_plain = timed(method, img, hole)
                coarse, t_coarse = timed(coarse_to_fine, method, img, hole)
                acc.append((psnr(plain, img, hole), psnr(coarse, img, hole), t_plain, t_coarse))
                print(f"{name} seed {seed} {method_name}: {acc[-1][0]:.2f} dB {t_plain:.2f} s, "
                      f"coarse-to-fine {acc[-1][1]:.2f} dB {t_coarse:.2f} s", flush=True)
    for method_name, acc in rows.items():
        r = np.array(acc)
        gain = r[:, 1] - r[:, 0]
        print(f"{method_name}: plain {r[:, 0].mean():.2f} dB, {r[:, 2].min():.2f}-{r[:, 2].max():.2f} s; "
              f"coarse-to-fine {r[:, 1].mean():.2f} dB, {r[:, 3].min():.2f}-{r[:, 3].max():.2f} s; "
              f"better in {int((gain > 0).sum())} of {len(r)} ({gain.min():+.2f} to {gain.max():+.2f} dB)")


if __name__ == "__main__":
    main()
