"""The seconds and tenths the simulator burned into a frame, read by matching it against the
simulator's own rendering of each of the 600 possible stamps (``vms.sim.media.clips``).

OCR read this clock wrong now and then on CI (a 7 as a 2, one digit 5 s off, nothing at
all); the stamp is drawn by our own code in a known font at a known place, so comparing
pixels with each candidate is exact and fails only when the picture is not that clock.
"""

from __future__ import annotations

from functools import cache

import av
import numpy as np
from PIL import Image, ImageDraw

from vms.sim.media.clips import LOOP_SECONDS, font

CANDIDATES = LOOP_SECONDS * 10  # 00.0 .. 59.9
# Mean squared error (0..1 grey) of a match. Measured on every frame of the simulator's
# 720p and 360p loops as decoded: the right stamp is at most 0.0003, the next best at least
# 8 times that (a stamp one digit off).
MAX_ERROR = 0.001  # a stamp one digit off is 0.0015 or more
MARGIN = 4.0  # the best must be this much better than the next, or the reading is unsure


def _box(w: int, h: int) -> tuple[int, int, int, int]:
    s = h / 720.0  # as render_frame lays the stamp out
    return w - int(330 * s), h - int(74 * s), w, h


@cache
def _templates(w: int, h: int) -> np.ndarray:
    """Every stamp, as the simulator draws it, in the clock's black box (grey, 0..1)."""
    s = h / 720.0
    x0, y0, x1, y1 = _box(w, h)
    face = font(max(10, int(50 * s)))
    out = np.empty((CANDIDATES, y1 - y0, x1 - x0), dtype=np.float32)
    for v in range(CANDIDATES):
        img = Image.new("RGB", (x1 - x0, y1 - y0), (0, 0, 0))
        ImageDraw.Draw(img).text((w - int(316 * s) - x0, h - int(66 * s) - y0),
                                 f"··:··:{v // 10:02d}.{v % 10}", font=face,
                                 fill=(120, 255, 120))
        out[v] = np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    return out


def burned_clock(frame: av.VideoFrame) -> float | None:
    """Seconds and tenths (0.0 to 59.9) of the stamp in ``frame``; None if none matches."""
    img = np.asarray(frame.to_image().convert("L"), dtype=np.float32) / 255.0
    h, w = img.shape
    x0, y0, x1, y1 = _box(w, h)
    errors = ((_templates(w, h) - img[y0:y1, x0:x1][None]) ** 2).mean(axis=(1, 2))
    best, runner_up = (int(i) for i in np.argsort(errors)[:2])
    if errors[best] > MAX_ERROR or errors[runner_up] < MARGIN * errors[best]:
        print(f"burned clock: no sure match (best {best / 10:.1f} s, error "
              f"{errors[best]:.4f}; next {runner_up / 10:.1f} s, {errors[runner_up]:.4f})")
        return None
    return best / 10
