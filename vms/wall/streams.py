"""Which stream a tile should show, by its size on screen, with hysteresis.

A tile switches to the main stream once it is clearly bigger than the sub stream
(so the sub stream would be upscaled) and back only once it is clearly smaller,
so resizing a window across the threshold does not flap between streams.
"""

from __future__ import annotations

UP = 1.5  # tile area / sub-stream area above which main is worth its cost
DOWN = 1.0  # ... and below which sub is enough again


def choose(current: str, tile_w: int, tile_h: int, sub_w: int | None, sub_h: int | None,
           has_main: bool = True, has_sub: bool = True) -> str:
    if not has_sub:
        return "main"
    if not has_main or not sub_w or not sub_h:
        return "sub"
    ratio = (tile_w * tile_h) / (sub_w * sub_h)
    if current == "main":
        return "sub" if ratio < DOWN else "main"
    return "main" if ratio > UP else "sub"
